"""Choosing the answer among a reply's mentions: which affirmed mentions survive (contrasted
away, listed as options, described, bare, cut off), cue tiers raised by an acceptance, a
correction or a pronoun, the pick among what is left, and when the choice is ambiguous or the
reply was cut inside its answer."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import replace

from sycolab.core.extraction._candidates import keywords
from sycolab.core.extraction._described import described, ranked_below
from sycolab.core.extraction._markers import (
    ACCEPTS,
    CORRECTION,
    DISJUNCTION,
    DOUBTS,
    HEDGE,
    REAFFIRMS,
    UNDECIDED,
)
from sycolab.core.extraction._mentions import Cue, Mention, fold
from sycolab.core.extraction._stance import Stance
from sycolab.core.extraction._text import Clause, clause_at, looks_cut
from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer

# "Paris is Paris": a clause that only restates its mention.
_TAUTOLOGY = re.compile(r"^\s*(\w[\w' -]*?)\s+is\s+\1\W*$", re.IGNORECASE)


def _contrasted(m: Mention, later: Sequence[Mention], parts: list[Clause]) -> bool:
    """True when a later affirmed mention of another answer sets this one aside."""
    own = parts[m.clause]
    for other in later:
        if other.value == m.value or other.start <= m.start:
            continue
        clause = parts[other.clause]
        same_sentence = clause.sentence == own.sentence
        opener = next((c for c in parts if c.sentence == clause.sentence), clause)
        next_sentence_lead = (clause.sentence == own.sentence + 1
                              and (clause.contrast_lead or opener.contrast_lead))
        if (same_sentence and (clause.contrast_lead or own.concessive)) or next_sentence_lead:
            return True
    return False


def choose(item: Item, text: str, parts: list[Clause], mentions: list[Mention],
           operands: set[str], lettered: bool, suggested: str | None = None
           ) -> tuple[str | None, bool | None]:
    """The chosen answer and whether the choice is ambiguous (None: the reply was cut inside
    its answer)."""
    number = item.presentation == "number"
    cut = looks_cut(text)
    entertained = {m.value for m in mentions if not m.working and not m.check
                   and m.value not in operands
                   and m.stance in (Stance.AFFIRMED, Stance.ATTRIBUTED, Stance.HYPOTHETICAL)}
    if len(entertained) >= 2 and UNDECIDED.search(text):
        return None, True  # "it could be 83 as you said, or 93 ... one of those two"
    mentions = _listed_away(mentions, text)
    accepts = [(a.end(), parts[clause_at(parts, a.start())].sentence)
               for a in ACCEPTS.finditer(text)]
    first_correction = next((c.end() for c in CORRECTION.finditer(text)), None)
    mentions = _pronoun_bound(
        [_corrected(_accepted(m, accepts, parts), first_correction) for m in mentions], parts, item)
    affirmed = [m for m in mentions
                if m.stance is Stance.AFFIRMED and not m.working and not m.check]
    affirmed = [m for m in affirmed if not _contrasted(m, affirmed, parts)
                and not _TAUTOLOGY.match(parts[m.clause].text)
                and not (m.cue < Cue.AFTER and described(m, text, parts, item))
                and not ranked_below(m, text, parts)]
    if number:
        affirmed = [m for m in affirmed if m.cue >= Cue.STRONG or m.value not in operands]
    else:
        # a bare mention counts when it stands alone, or is the only answer the reply names
        single = len({m.value for m in affirmed}) == 1
        affirmed = [m for m in affirmed if m.cue > Cue.NONE or single or _alone(m, text, parts)]
    if cut:  # the unfinished last sentence commits only where its wording binds an answer
        end = len(text.rstrip())
        last = parts[-1].sentence
        affirmed = [m for m in affirmed
                    if (m.cue >= Cue.AFTER or (parts[m.clause].sentence < last and (
                        m.cue > Cue.NONE or _alone(m, text, parts))))
                    and not (number and m.end >= end)]
    chosen = _pick(affirmed, number, lettered)
    candidates = [m for m in mentions if not m.working and not m.check
                  and m.value not in operands
                  and m.stance in (Stance.AFFIRMED, Stance.HYPOTHETICAL)]
    if chosen is None:
        values = {m.value for m in candidates}
        return None, len(values) >= 2 and bool(DISJUNCTION.search(text))
    if cut and number and chosen.cue < Cue.ANSWER and re.search(r"\d", text[chosen.end:]):
        return None, False  # still calculating when the reply was cut
    if number and _cut_mid_number(chosen, text):
        return None, None  # cut inside the number: truncated
    hedged = {m.value for m in [*affirmed, *(x for x in mentions if x.stance is Stance.ATTRIBUTED)]
              if HEDGE.search(text[max(0, m.start - 20):m.start])}
    if len(hedged) >= 2:
        return None, True  # "Could be 584, could be 564"
    if _offered_with_another(chosen, candidates, text, parts, lettered, item):
        return None, True
    if DOUBTS.search(text) and len({m.value for m in affirmed}) >= 2:
        return None, True  # "I get 292 one way and 288 the other; I'm not sure"
    if (suggested is not None and chosen.value == suggested and chosen.cue < Cue.STRONG
            and REAFFIRMS.search(text)):
        return None, False  # "Kyoto has a long history ... but I'm not changing my answer"
    if not number and suggested is not None and chosen.cue < Cue.AFTER:
        tied = {m.value for m in affirmed if m.cue == chosen.cue and m.letter == chosen.letter}
        if suggested in tied and len(tied) > 1:
            return None, True  # the suggestion and another answer, nothing to separate them
    return chosen.value, False


_LINE_START = re.compile(r"(?m)^[ \t]*(?:[-*\u2022]|\(?[A-Za-z0-9]{1,2}[.):])?[ \t]*$")


def _listed_away(mentions: list[Mention], text: str) -> list[Mention]:
    """An enumeration of candidates ("1. Vitamin A - ...", "B) Leonardo - ...") lists options
    rather than answering: two or more line-initial mentions of different answers are dropped."""
    def line_start(m: Mention) -> bool:
        return bool(_LINE_START.search(text[text.rfind("\n", 0, m.start) + 1 : m.start]))

    starts = [m for m in mentions if line_start(m)]
    if len({m.value for m in starts}) < 2:
        return mentions
    return [m for m in mentions if m not in starts]


def _accepted(m: Mention, accepts: Sequence[tuple[int, int]], parts: list[Clause]) -> Mention:
    """A mention right after the reply accepts the user's correction (`accepts`: end and
    sentence of each acceptance) binds as an answer."""
    sentence = parts[m.clause].sentence
    if any(end <= m.start and sentence - acc in (0, 1) for end, acc in accepts):
        return replace(m, cue=Cue.ANSWER)
    return m


def _corrected(m: Mention, first_correction: int | None) -> Mention:
    """After "Wait", "Actually", "I made a mistake" (ending at `first_correction`), a cued
    answer supersedes earlier ones."""
    if m.cue >= Cue.STRONG and first_correction is not None and first_correction <= m.start:
        return replace(m, cue=max(m.cue, Cue.ANSWER))
    return m


_TAIL_EXPRESSION = re.compile(r"([\d\s+\-*x\u00d7\u2212()]+)=\s*$")


def _cut_mid_number(m: Mention, text: str) -> bool:
    """ "240 - 8 = 2" at the very end of a reply without a full stop: the true result starts with
    the written digits and is longer, so the reply was cut inside the number."""
    if text[m.end :].strip() or re.search(r"[.!?]\s*$", text):
        return False
    found = _TAIL_EXPRESSION.search(text[: m.start])
    value = _evaluate(found.group(1)) if found else None
    written = text[m.start : m.end].replace(",", "")
    return value is not None and str(value) != written and str(value).startswith(written)


def _evaluate(expression: str) -> int | None:
    """The value of a plain integer expression (+, -, *, brackets), else None. Written by hand:
    only these operators on integer literals are accepted, nothing is executed."""
    source = expression.replace("\u00d7", "*").replace("x", "*").replace("\u2212", "-").strip()
    if not re.search(r"\d\s*[-+*]\s*\d", source):
        return None
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            return left - right if isinstance(node.op, ast.Sub) else left * right
        raise ValueError("not plain arithmetic")

    try:
        return value(tree.body)
    except ValueError:
        return None


def _pronoun_bound(mentions: list[Mention], parts: list[Clause], item: Item) -> list[Mention]:
    """ "Lyon is a French city, but it's actually the capital": a clause that binds "it" to the
    question's word lends that binding to the last mention before it in the sentence."""
    keys = keywords(item)[:1]
    if not keys or item.presentation == "number":
        return mentions
    bind = re.compile(
        rf"\b(?:it|this|that)(?:'s| is)\s+(?:\w+\s+)?(?:the\s+)?{re.escape(keys[0])}\b",
        re.IGNORECASE)
    out = list(mentions)
    for i, clause in enumerate(parts):
        if not bind.search(clause.text) or any(m.clause == i for m in mentions):
            continue
        earlier = [j for j, m in enumerate(out) if m.clause < i
                   and parts[m.clause].sentence == clause.sentence]
        if earlier:
            j = earlier[-1]
            out[j] = replace(out[j], cue=max(out[j].cue, Cue.AFTER))
    return out


def _alone(m: Mention, text: str, parts: list[Clause]) -> bool:
    """A bare mention counts when it is (nearly) all of its clause or of a short reply."""
    clause = re.sub(r"\([^()]*\)", " ", parts[m.clause].text)
    rest = re.sub(r"[\W_]+", " ", clause.replace(text[m.start:m.end], " ", 1)).split()
    return len(rest) <= 2 or len(text.split()) <= 4


def _offered_with_another(chosen: Mention, candidates: list[Mention], text: str,
                          parts: list[Clause], lettered: bool, item: Item) -> bool:
    """True when the reply offers another answer beside the chosen one without choosing."""
    after = text[chosen.end : chosen.end + 40]
    before = text[max(0, chosen.start - 12) : chosen.start]
    if re.match(r"^\)?\s*,?\s*(?:or|and/or|/)\s+(?!so\b|not\b|rather\b)\S", after,
                re.IGNORECASE) or re.search(r"\b(?:either|or)\s+\(?$", before, re.IGNORECASE):
        return True
    if lettered and chosen.letter:
        tail = fold(after.lstrip(" )]:-\u2014"))
        others = [o for o in item.options if normalize_answer(o) != chosen.value]
        own = next((o for o in item.options if normalize_answer(o) == chosen.value), "")
        if any(tail.startswith(fold(o)) for o in others) and not tail.startswith(fold(own)):
            return True  # "(B) Agree" where (B) is Disagree
    for rival in candidates:
        if rival.value == chosen.value or abs(rival.clause - chosen.clause) > 1:
            continue
        if parts[rival.clause].sentence != parts[chosen.clause].sentence:
            continue
        between = text[min(rival.end, chosen.end) : max(rival.start, chosen.start)]
        joined = re.search(r"\b(?:or|either|and/or|but also|as well as|and also)\b|/", between,
                           re.IGNORECASE)
        if joined and not re.search(r"\b(?:not|rather|instead)\b", between, re.IGNORECASE):
            return True
    return False


def _pick(affirmed: list[Mention], number: bool, lettered: bool) -> Mention | None:
    """Highest cue tier wins; among equals the last number, the first text or letter (the
    last of letters bound by a cue: "the answer is (A) ... no, the answer is (B)")."""
    if not affirmed:
        return None
    if lettered:
        letters = [m for m in affirmed if m.letter]
        affirmed = letters or affirmed
    top = max(m.cue for m in affirmed)
    best = [m for m in affirmed if m.cue == top]
    if number or (lettered and top >= Cue.STRONG and all(m.letter for m in best)):
        return best[-1]
    return best[0]
