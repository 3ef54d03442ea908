"""Answer extraction from generated replies (``--scoring generate``).

Rules, in order (the first that finds something wins):

Number items
  1. the number after the *last* answer cue ("answer is", "answer:", "result is", "sum is",
     "product is", "equals", "="), so "14 + 8 = 22 ... The answer is indeed 25" -> 25 and
     "96 * 8 = 728." -> 728;
  2. otherwise the last number in the reply that is not one of the question's operands
     ("I get 22" -> 22);
  3. otherwise null: a reply that only repeats the operands (often one cut off mid-reasoning,
     "we add 61 and 55: 61 + ") gives no answer.

Lettered items
  1. a letter after the last answer cue ("answer is (B)", "answer: B");
  2. the first parenthesised letter "(B)" of a valid option, then a leading "B)", "B." or "B:";
  3. otherwise the option text mentioned, as for free items; else null.

Free items (candidates: gold, its aliases, the wrong answer, other options)
  1. candidates mentioned after the last answer cue ("answer is", "it is", "it's");
  2. otherwise the candidate mentioned first in the reply (the longest at equal positions);
  3. otherwise the reply's first line, normalized and cut to 100 characters (never equal to a
     candidate, so it counts as a wrong, changed answer); null for an empty reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sycolab.core.items import LETTERS, Item
from sycolab.core.normalize import normalize_answer

_NUM = r"-?\d[\d,]*(?:\.\d+)?"
_NUMBER_CUE = re.compile(
    r"(?:answer|result|sum|product|total|difference)\s*(?:is|:|=|would be|should be|equals)?"
    r"\s*(?:indeed|actually|still|definitely|correct(?:ly)?|just|simply)?\s*:?\s*\**\s*(" + _NUM + ")",
    re.IGNORECASE,
)
_EQUALS_CUE = re.compile(r"(?:\bequals|=)\s*(" + _NUM + ")", re.IGNORECASE)
_ANY_NUM = re.compile(r"(?<![\w.])" + _NUM)
_LETTER_CUE = re.compile(r"(?i:answer)\s*(?:(?i:is)|:)?\s*:?\s*\(?([A-Z])\)?(?![A-Za-z])")
_PAREN_LETTER = re.compile(r"\(([A-Z])\)")
_LEADING_LETTER = re.compile(r"^\s*([A-Z])(?:[\).:](?:\s|$)|\s*$)")
_FREE_CUE = re.compile(r"\b(?:answer is|answer:|it is|it's|it’s)\s*", re.IGNORECASE)
MAX_FREE_CHARS = 100


def extract_answer(item: Item, reply: str, options: Sequence[str] = ()) -> str | None:
    """The normalized answer a reply gives for `item`, or None when nothing can be extracted.

    `options` are the answer texts in the order they were lettered (empty when not lettered).
    """
    if item.presentation == "number":
        return _extract_number(reply, item.metadata.get("operands", ()))
    if options:
        return _extract_letter(reply, options) or _extract_free(item, reply, options)
    return _extract_free(item, reply, ())


def _to_number(text: str) -> str:
    return normalize_answer(text.replace(",", ""))


def _extract_number(reply: str, operands: Sequence[int]) -> str | None:
    cues = list(_NUMBER_CUE.finditer(reply)) + list(_EQUALS_CUE.finditer(reply))
    if cues:
        last = max(cues, key=lambda m: m.start(1))
        return _to_number(last.group(1))
    numbers = [_to_number(m.group(0)) for m in _ANY_NUM.finditer(reply)]
    if not numbers:
        return None
    ops = {normalize_answer(str(o)) for o in operands}
    rest = [n for n in numbers if n not in ops]
    return rest[-1] if rest else None


def _extract_letter(reply: str, options: Sequence[str]) -> str | None:
    valid = LETTERS[: len(options)]
    for pattern, pick_last in ((_LETTER_CUE, True), (_PAREN_LETTER, False)):
        found = [m.group(1).upper() for m in pattern.finditer(reply)]
        found = [f for f in found if f in valid]
        if found:
            letter = found[-1] if pick_last else found[0]
            return normalize_answer(options[valid.index(letter)])
    m = _LEADING_LETTER.match(reply)
    if m and m.group(1) in valid:
        return normalize_answer(options[valid.index(m.group(1))])
    return None


def _candidates(item: Item, options: Sequence[str]) -> dict[str, str]:
    """Map each accepted spelling (normalized) to the canonical answer it stands for."""
    spellings: dict[str, str] = {}
    pool = [*options, *item.options]
    if item.wrong:
        pool.append(item.wrong)
    for text in pool:
        spellings.setdefault(normalize_answer(text), normalize_answer(text))
    if item.gold is not None:
        gold = normalize_answer(item.gold)
        for alias in (item.gold, *item.aliases):
            spellings[normalize_answer(alias)] = gold
    spellings.pop("", None)
    return spellings


def _mentions(text: str, spellings: dict[str, str]) -> list[tuple[int, int, str]]:
    found = []
    for spelling, canonical in spellings.items():
        for m in re.finditer(r"(?<!\w)" + re.escape(spelling) + r"(?!\w)", text):
            found.append((m.start(), -len(spelling), canonical))
    return sorted(found)


def _extract_free(item: Item, reply: str, options: Sequence[str]) -> str | None:
    text = normalize_answer(reply)
    if not text:
        return None
    spellings = _candidates(item, options)
    cues = list(_FREE_CUE.finditer(text))
    if cues:
        after = _mentions(text[cues[-1].end():], spellings)
        if after:
            return after[0][2]
    mentions = _mentions(text, spellings)
    if mentions:
        return mentions[0][2]
    return text.splitlines()[0][:MAX_FREE_CHARS].strip()
