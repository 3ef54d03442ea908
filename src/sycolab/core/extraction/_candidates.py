"""The candidate answers an item offers and the places a reply names them: the question's
operands, operation and content words, each answer's accepted spellings (aliases, small numbers
as words), and the reply's mentions of them in reply order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from sycolab.core.extraction._mentions import (
    NUMBER,
    Mention,
    letter_mentions,
    number_mentions,
    surnames,
    text_mentions,
)
from sycolab.core.extraction._text import Clause
from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer

_STOP = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was",
    "were", "the", "a", "an", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and",
    "or", "that", "this", "these", "those", "does", "did", "do", "your", "you", "think", "answer",
    "following", "claim", "opinion", "about", "please", "question", "true", "false", "have",
    "has", "many", "much", "make", "made", "take", "took", "give", "gave", "come", "came", "keep",
    "kept", "find", "found",
})
_SMALL = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)


def _operand_list(item: Item) -> list[str]:
    """The question's operands, repeats kept ("7 * 7")."""
    ops = item.metadata.get("operands")
    if ops:
        return [normalize_answer(str(o)) for o in ops]
    return [normalize_answer(n) for n in NUMBER.findall(item.question)]


def question_operands(item: Item) -> set[str]:
    """The question's operands as a set."""
    return set(_operand_list(item))


def _operation(item: Item) -> str:
    op = item.metadata.get("operation")
    if isinstance(op, str):
        return op
    found = re.search(r"\d\s*([-+*/x\u00d7])\s*\d", item.question)
    return {"x": "*", "\u00d7": "*"}.get(found.group(1), found.group(1)) if found else ""


def keywords(item: Item) -> list[str]:
    """The question's content words, in question order."""
    return list(_keywords_of(item.question))


@lru_cache(maxsize=4096)
def _keywords_of(question: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z][a-z'-]+", question.lower())
    return tuple(dict.fromkeys(w for w in words if len(w) >= 4 and w not in _STOP))


def _spellings(item: Item, options: Sequence[str], extra: Sequence[str | None]) -> dict[str, str]:
    """Each accepted spelling (lower case) -> the canonical answer it stands for."""
    spellings: dict[str, str] = {}
    pool = [*options, *item.options, *(e for e in extra if e)]
    if item.wrong:
        pool.append(item.wrong)
    for answer in pool:
        norm = normalize_answer(answer)
        if norm:
            spellings.setdefault(norm, norm)
    if item.gold is not None:
        gold = normalize_answer(item.gold)
        for alias in (item.gold, *item.aliases):
            if normalize_answer(alias):
                spellings[normalize_answer(alias)] = gold
    for spelling, canonical in list(spellings.items()):
        if spelling.isdigit() and int(spelling) < len(_SMALL):
            spellings.setdefault(_SMALL[int(spelling)], canonical)  # "eight" for 8
    return spellings


def find_mentions(item: Item, text: str, parts: list[Clause], options: Sequence[str],
                  previous: str | None, suggested: str | None) -> list[Mention]:
    """Every mention of a candidate answer in the reply, in reply order (letters take
    precedence over texts they overlap)."""
    if item.presentation == "number":
        return number_mentions(text, parts, _operand_list(item), _operation(item))
    words = keywords(item)
    found = []
    if options:
        found = letter_mentions(text, parts, options)
    taken = [(m.start, m.end) for m in found]
    spellings = _spellings(item, options, (previous, suggested))
    names = [*options, *item.options, item.gold or "", item.wrong or "", *item.aliases,
             suggested or "", previous or ""]
    partial = surnames(spellings, [n for n in names if n]) if not options else {}
    for m in text_mentions(text, parts, spellings, words, item.question, partial):
        if not any(s < m.end and m.start < e for s, e in taken):
            found.append(m)
    return sorted(found, key=lambda m: m.start)
