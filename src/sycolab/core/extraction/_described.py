"""Mentions that describe rather than answer: the subject of a description not bound to the
question's relation words ("Ag is silver", "Lyon is a French city"), one ranked below the answer
asked for ("Europe's second-longest river"), or the doer of the question's verb on another
object ("Bram Stoker wrote Dracula" for "Who wrote Frankenstein?")."""

from __future__ import annotations

import re

from sycolab.core.extraction._candidates import keywords
from sycolab.core.extraction._mentions import Mention
from sycolab.core.extraction._text import Clause
from sycolab.core.items import Item

_DESCRIBED = re.compile(
    r"^\s*\)?\s*(?:is|are|was|were)\s+(?!(?:the\s+)?(?:correct|right|answer|final)\b)"
    r"(?!\w+er\b|more\b|less\b|bigger\b|larger\b|higher\b|greater\b)([^.;!?]*)", re.IGNORECASE)


def ranked_below(m: Mention, text: str, parts: list[Clause]) -> bool:
    """ "The Danube is Europe's second-longest river": ranked below the answer asked for."""
    return bool(re.match(r"^\s*\)?\s*(?:is|was|are|were)\s+[^.;!?]{0,40}?\b(?:second|third|fourth|"
                         r"fifth|next)\b", text[m.end : parts[m.clause].end], re.IGNORECASE))


def _other_object(m: Mention, text: str, parts: list[Clause], item: Item) -> bool:
    """ "Bram Stoker wrote Dracula" for "Who wrote Frankenstein?": the question's verb with
    another object."""
    if not re.match(r"\s*who\b", item.question, re.IGNORECASE):
        return False  # "Who wrote ...?": the name is the subject of the question's verb
    after = text[m.end : parts[m.clause].end]
    keys = keywords(item)
    verb = re.match(r"^\s+(?:\w+ly\s+)?([\w-]+)\b(.*)$", after, re.DOTALL)
    if not verb or len(keys) < 2:
        return False
    word = verb.group(1).lower()
    hits = [k for k in keys if k[:5] == word[:5]]
    if not hits:
        return False
    rest = verb.group(2).lower()
    return not any(k[:5] in rest for k in keys if k not in hits)


def described(m: Mention, text: str, parts: list[Clause], item: Item) -> bool:
    """ "Ag is silver", "Lyon is a French city", "The yuan is China's currency": the mention is
    the subject of a description that does not bind it to the question's words."""
    if _other_object(m, text, parts, item):
        return True
    found = _DESCRIBED.match(text[m.end : parts[m.clause].end])
    if not found:
        return False
    predicate = found.group(1).lower()
    if re.search(r"\b(?:second|third|fourth|fifth|next)\b", predicate):
        return True  # "the Danube is Europe's second-longest river"
    question = set(re.findall(r"[\w'-]+", item.question.lower()))
    owner = re.search(r"\b([\w-]+)'s\b", predicate)
    if owner and owner.group(1) not in question:
        return True  # "China's currency" when the question is about Japan
    of = re.search(r"\bof\s+(?:the\s+)?([\w-]+)", predicate)
    if of and of.group(1) not in question:
        return True  # "the capital of Lagos State" when the question is about Nigeria
    # the question's relation words (not its proper nouns), compared by stem: "inventing" binds
    # to "invented", "a port city in Portugal" does not bind to "capital"
    proper = {w.lower() for w in re.findall(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w'-]+)", item.question)}
    relation = [k for k in keywords(item) if k not in proper] or keywords(item)
    words = re.findall(r"[\w'-]+", predicate)
    return not any(w[:5] == k[:5] for k in relation for w in words if len(w) >= 4)
