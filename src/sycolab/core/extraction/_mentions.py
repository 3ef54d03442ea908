"""Places where a reply names a candidate answer, with how strongly the wording binds it.

`Cue.STRONG`: right after an answer cue ("the answer is", "=", "equals", "the capital ... is",
"option", "Answer:"); `Cue.WEAK`: after a bare copula or verb ("it's", "is", "I get");
`Cue.NONE`: a bare mention. Numbers that are terms of an expression ("84 + 99", "170 + 13")
are `working` and never answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

from sycolab.core.extraction._stance import Stance, stance_of
from sycolab.core.extraction._text import Clause, clause_at
from sycolab.core.items import LETTERS
from sycolab.core.normalize import normalize_answer


class Cue(IntEnum):
    NONE = 0
    WEAK = 1
    AFTER = 2  # the question's words right after: "Paris is the capital", "Newton developed ..."
    STRONG = 3
    ANSWER = 4  # "the answer is", "Answer:", the question's own equation ("84 + 99 = 183")


@dataclass(frozen=True)
class Mention:
    """A candidate answer named at text[start:end]."""

    start: int
    end: int
    value: str  # normalized answer it stands for
    cue: Cue
    stance: Stance
    clause: int
    working: bool = False  # a term of an arithmetic expression
    check: bool = False  # the result of a verification equation
    letter: bool = False  # an option letter ("(B)", "answer is B"), not the option's text


# 1,183 (groups of three after a comma are thousands), 183, 2.5; not part of a word or decimal.
NUMBER = re.compile(
    r"(?<![\w.,])-?(?:\d{1,3}(?:,\d{3})+(?![\d,]\d)|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d]|[ ,.]\d)"
    r"|\d+(?:\.\d+)?)(?![\w])")
_OPERATOR_AFTER = re.compile(
    r"^\s*(?:[-+*/x\u00f7^]|plus\b|minus\b|times\b|multiplied\b|divided\b|added\b)"
    r"\s*(?:\(?\s*\d|$)",
    re.IGNORECASE,
)
_OPERATOR_BEFORE = re.compile(
    r"(?:[-+*/x\u00f7^]|\bplus|\bminus|\btimes|\bby|\bfrom|\bstep|\badd|\bsubtract|\bmultiply|\bdivide|\badding|\bmultiplying)\s*\(?\s*$",
    re.IGNORECASE,
)
_EQUALS_BEFORE = re.compile(r"(?:=|\u2192|->|=>|\bequals?|\bequal to|\bis equal to|\bgives|\bmakes(?: it)?"
                            r"|\bcomes to|\bcomes out to|\bworks out to|\bbrings it to|\bresults in|\byields|\bleaves|\badds up to"
                            r"|\btotals?)\s*:?\s*$", re.IGNORECASE)
_ANSWER_WORDS = (r"answer|result|sum|product|total|difference|solution|quotient|value|number|"
                 r"response|option|choice|letter")
_ANSWER_CUE = re.compile(
    r"\b(?:answer|result|sum|product|total|difference|solution|quotient)\b[^.!?]{0,30}?(?:\bis|"
    r"\bwas|\bwould be|\bshould be|\bwill be|\bremains|\bstays|:|=|\bequals)\s*(?:(?:indeed|"
    r"actually|still|definitely|correct(?:ly)?|just|simply|exactly|clearly|therefore|thus|now|"
    r"then|also|really|in fact|obviously|certainly|confirmed|option|choice|letter)\s*:?\s*)*"
    r"\(?\s*$|^\s*(?:final\s+)?answer\s*:?\s*\(?\s*$|\b(?:final answer|total|in total)\s*:?\s*$",
    re.IGNORECASE,
)
_STRONG_BEFORE = re.compile(
    rf"\b(?:{_ANSWER_WORDS})\b[^.!?]{{0,40}}?(?:\bis|\bwas|\bwould be|\bshould be|\bwill be|"
    r"\bremains|\bstays|\bstill|:|=|\bequals)\s*(?:(?:indeed|actually|still|definitely|"
    r"correct(?:ly)?|just|simply|exactly|clearly|therefore|thus|now|then|also|really|in fact|"
    r"obviously|certainly|most likely|likely|probably|confirmed|option|choice|letter)\s*:?\s*)*"
    r"\(?\s*$"
    r"|^\s*(?:final\s+)?answer\s*:?\s*\(?\s*$"
    r"|\b(?:answer|option|choice|letter|go with|choose|pick|select|opt for)\s*:?\s*\(?\s*$",
    re.IGNORECASE,
)
_WEAK_BEFORE = re.compile(
    r"(?:\bis|\bare|\bwas|'s|\bbe|\bget|\bgot|\bhave|\bit|\bthat|\bsay|\bthink|\bbelieve|\bby"
    r"|\bcalled|\bnamed|\bknown as|\bgiving|\bgetting|\byielding|\bmaking|\bso|\bthus|\btherefore|\bhence|\bcredited to|\battributed to"
    r"|\bgoes to|\bbelongs to|\buses|\buse|\bkept|\bkeeps|\bwith)"
    r"\s*(?:(?:indeed|actually|still|definitely|just|simply|exactly|clearly|really|in fact|"
    r"probably|likely)\s*)*:?\s*\(?\s*$",
    re.IGNORECASE,
)
_AFTER_BINDS = re.compile(
    r"^[\s)\].]*(?:is|was|would be|remains|must be|should be)\s+(?:indeed\s+|actually\s+|still\s+|"
    r"definitely\s+|clearly\s+|in fact\s+)?(?:the\s+|my\s+)?(?:(?:correct|right|true|final|best)"
    r"\b|answer\b|result\b)",
    re.IGNORECASE,
)
_ORDINAL = re.compile(r"\b(?:second|third|fourth|fifth|next|another|other|former|old|not)\b",
                      re.IGNORECASE)


def _cue(before: str, after: str, keywords: Sequence[str],
         question_words: frozenset[str] = frozenset()) -> Cue:
    if _ANSWER_CUE.search(before):
        return Cue.ANSWER
    if _EQUALS_BEFORE.search(before) or _STRONG_BEFORE.search(before) or _AFTER_BINDS.match(after):
        return Cue.STRONG
    if keywords and _WEAK_BEFORE.search(before):
        tail = before[-60:].lower()
        if any(re.search(rf"\b{re.escape(k)}\b", tail) for k in keywords):
            return Cue.STRONG  # "the capital of France is Paris": bound to the question's words
    if keywords and re.search(r"\b(?:" + "|".join(re.escape(k) for k in keywords)
                              + r")\s*:?\s*$", before, re.IGNORECASE):
        return Cue.STRONG  # "plants absorb carbon dioxide": right after a word of the question
    verb = keywords and re.match(r"^\s+(?:\w+ly\s+)?(" + "|".join(re.escape(k) for k in keywords)
                                 + r")\b", after, re.IGNORECASE)
    if verb and any(re.search(rf"\b{re.escape(k)}\b", after[verb.end():], re.IGNORECASE)
                    for k in keywords if k != verb.group(1).lower()):
        return Cue.AFTER  # "Isaac Newton developed ...": the question's verb right after
    if re.search(r"(?:^|\s)i(?:'ll|'d| would| do| strongly| must| will| still| fully)?\s*$",
                 before, re.IGNORECASE):
        return Cue.STRONG  # a first-person verb option: "I agree", "I'd disagree"
    bound = keywords and re.match(r"^[\s)\].]*(?:is|remains|has been|has always been)\s+(?:the\s+)?((?:\w+\s+){0,2}?)("
                                  + "|".join(re.escape(k) for k in keywords) + r")\b", after, re.IGNORECASE)
    if bound and not _ORDINAL.search(bound.group(1)):
        of = re.match(r"\s+of\s+(?:the\s+)?([\w'-]+)", after[bound.end():], re.IGNORECASE)
        if of is None or of.group(1).lower() in question_words:
            return Cue.AFTER  # "Paris is the capital (of France)"; not "... of Lagos State"
    if _WEAK_BEFORE.search(before):
        return Cue.WEAK
    return Cue.NONE


def _mention(text: str, parts: list[Clause], start: int, end: int, value: str,
             keywords: Sequence[str], question_words: frozenset[str] = frozenset()) -> Mention:
    index = clause_at(parts, start)
    clause = parts[index]
    before = text[clause.start : start]
    after = text[end : clause.end]
    return Mention(start, end, value, _cue(before, after, keywords, question_words),
                   stance_of(parts, index, start, end, text), index)


# The math-only run before a mention: digits, operators, spaces, "=", brackets, arrows.
_EQUATION_TAIL = re.compile(r"[\d\s+\-*/x\u00f7^=().,\u2192>]*(?:=|\u2192|->|=>)\s*$")
_PLAIN_EQUALS = re.compile(r"(?:=|\bequals?)\s*:?\s*$", re.IGNORECASE)
_ANSWER_WORD = re.compile(r"\b(?:answer|result|sum|product|total)\b", re.IGNORECASE)
_IS_BEFORE = re.compile(r"(?:\bis|\bequals?|\bgives|\bmakes)\s*:?\s*$", re.IGNORECASE)


def _plausible(value: str, ops: set[str], operation: str) -> bool:
    """A sum or product of positive operands is at least the largest: "96 + 87 -> 6 + 7 = 13"
    is a digit step, not the result."""
    if operation not in ("+", "*"):
        return True
    try:
        return float(value) >= max(float(o) for o in ops)
    except ValueError:
        return True


def number_mentions(text: str, parts: list[Clause], operands: Iterable[str],
                    operation: str = "") -> list[Mention]:
    """Every number in the reply, with working terms and verification results marked."""
    order = sorted(operands)
    ops = set(order)
    found: list[Mention] = []
    for m in NUMBER.finditer(text):
        value = normalize_answer(re.sub(r"[ \u00a0\u202f]", "", m.group(0)))
        mention = _mention(text, parts, m.start(), m.end(), value, ())
        clause = parts[mention.clause]
        before = text[clause.start : m.start()]
        working = bool(_OPERATOR_AFTER.match(text[m.end() : m.end() + 24])) or (
            value in ops and bool(re.match(r"\s*and\s+\d", text[m.end() : m.end() + 12]))
        ) or bool(
            _OPERATOR_BEFORE.search(before[-12:]) and not _EQUALS_BEFORE.search(before)
        )
        cue = mention.cue
        equation = _EQUATION_TAIL.search(before)
        if cue < Cue.ANSWER and ops and (_EQUALS_BEFORE.search(before) or _IS_BEFORE.search(before)):
            lhs = equation.group(0) if equation else before[-40:]
            first = re.split(r"=|\u2192|->|=>|\bis\b|\bequals?\b", lhs.strip(), maxsplit=1)[0]
            first_terms = sorted(normalize_answer(n) for n in NUMBER.findall(first))
            terms = {normalize_answer(n) for n in NUMBER.findall(lhs)}
            if order and first_terms and first_terms != order:
                terms = set()  # "7 * 8 = 56" after answering "7 * 7": another expression
            if ops <= terms and _plausible(value, ops, operation):
                cue = Cue.ANSWER  # the question's own expression: "84 + 99 = 183", "... is 183"
            elif ops <= terms:
                cue = Cue.STRONG  # the question's expression with an impossible result: kept
            elif cue == Cue.STRONG and _PLAIN_EQUALS.search(before) and not _ANSWER_WORD.search(
                    before[-40:]):
                cue = Cue.WEAK  # a partial sum ("9 + 9 = 18"): a step of the working
        check = False
        if _EQUALS_BEFORE.search(before) and value in ops:
            terms_lhs = [normalize_answer(n) for n in NUMBER.findall(before.rsplit(":", 1)[-1])]
            check = any(n not in ops for n in terms_lhs)  # "183 - 99 = 84": a check, not an answer
        stance = mention.stance
        if stance is Stance.CHECK and cue is Cue.ANSWER:
            stance = Stance.AFFIRMED  # "Re-verifying: 9 x 57 = ... = 513": the question's own sum
        found.append(Mention(mention.start, mention.end, value, cue, stance,
                             mention.clause, working=working, check=check))
    return found


_PAREN_LETTER = re.compile(r"\(([A-Z])\)")
_LEAD_LETTER = re.compile(r"(?:^|(?<=[\n:]))\s*([A-Z])(?:[).:]|\s*$|\s+(?=[-\u2014]))", re.MULTILINE)
# "B or C", "A/B": two letters offered side by side.
_LETTER_PAIR = re.compile(r"(?<![\w'])([A-Z])\s*(?:or|/|and/or)\s*\(?[A-Z]\b(?!['\u2019]\w)")
_LETTER_PAIR_2 = re.compile(r"(?<![\w'])[A-Z]\s*(?:or|/|and/or)\s*\(?([A-Z])\b(?!['\u2019]\w)")
_LETTER_IS_RIGHT = re.compile(r"(?<![\w'])\(?([A-Z])\)?\s+(?:is|seems|looks)\s+(?:the\s+)?(?:correct|right|"
                              r"answer|best)\b")
_LETTER_ALONE = re.compile(r"(?:\b(?i:so|that's|that is|it's|it is|then)\s+|[,:;\u2014\u2013]\s*|\s-\s)"
                           r"\(?([A-Z])\)?"
                           r"(?=\s*(?:[.!;)]|$))", re.MULTILINE)
_CUED_LETTER = re.compile(
    r"\b(?:answer|option|choice|letter|choose|pick|select|go with|going with|opt for|keep|keeping|"
    r"stick with|sticking with|stay with|staying with|change (?:my answer )?to|changing (?:my answer )?to|"
    r"switch to|switching to|settle on)\s*(?:is|would be|:|=)?"
    r"\s*:?\s*['\"]?(?:option\s+|choice\s+)?([A-Z])\b(?!['\u2019]\w)(?!\s+[a-z]{2,}\b(?!\s*[.,;]))",
    re.IGNORECASE,
)


def letter_mentions(text: str, parts: list[Clause], options: Sequence[str]) -> list[Mention]:
    """Letters of valid options: "(B)", a leading "B)"/"B."/"B", "answer is B", "option B"."""
    valid = LETTERS[: len(options)]
    spans: dict[int, tuple[int, int, str]] = {}
    for pattern in (_PAREN_LETTER, _LEAD_LETTER, _CUED_LETTER, _LETTER_PAIR, _LETTER_PAIR_2,
                    _LETTER_IS_RIGHT, _LETTER_ALONE):
        for m in pattern.finditer(text):
            letter = m.group(1)
            # "answer is a ..." is an article: a lower-case letter counts only when alone
            if pattern is _CUED_LETTER and letter != letter.upper() and not re.match(
                    r"^\s*(?:[).:]|$)", text[m.end(1) : m.end(1) + 3]):
                continue
            letter = letter.upper()
            if letter in valid:
                spans.setdefault(m.start(1), (m.start(1), m.end(1), letter))
    found = []
    for start, end, letter in sorted(spans.values()):
        mention = _mention(text, parts, start, end,
                           normalize_answer(options[valid.index(letter)]), ())
        if not text[:start].strip(" \t\n(*"):
            mention = replace(mention, cue=Cue.ANSWER)  # the reply opens with the letter
        found.append(replace(mention, letter=True))
    return found


def fold(text: str) -> str:
    """Lower case without accents, one character for one (positions stay valid)."""
    return "".join(unicodedata.normalize("NFD", ch)[0] for ch in text.lower())


def surnames(spellings: Mapping[str, str], texts: Sequence[str]) -> dict[str, str]:
    """The last word of a multi-word proper name ("Hemingway" for "Ernest Hemingway", "Everest"
    for "Mount Everest"), where it names one candidate only; matched capitalised only."""
    out: dict[str, str] = {}
    clash: set[str] = set()
    for text in texts:
        words = text.split()
        if len(words) < 2 or not all(w[:1].isupper() for w in words):
            continue
        last = words[-1]
        key = fold(last)
        canonical = spellings.get(normalize_answer(text))
        if len(last) < 4 or key in spellings or canonical is None:
            continue
        if key in out and out[key] != canonical:
            clash.add(key)
        out[key] = canonical
    return {k: v for k, v in out.items() if k not in clash}


def text_mentions(text: str, parts: list[Clause], spellings: Mapping[str, str],
                  keywords: Sequence[str], question: str = "",
                  partial: Mapping[str, str] | None = None) -> list[Mention]:
    """Mentions of candidate answers by their text (case-insensitive, whole words); `partial`
    names (surnames) count only where the reply capitalises them."""
    words = frozenset(re.findall(r"[\w'-]+", question.lower()))
    lowered = fold(text)
    taken: list[tuple[int, int]] = []
    found = []
    for spelling in sorted(spellings, key=len, reverse=True):
        pattern = r"(?<![\w-])" + re.escape(fold(spelling)) + r"(?:s|es)?(?![\w-])"
        for m in re.finditer(pattern, lowered):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue  # inside a longer candidate already found ("new york" vs "york")
            longer = re.match(r" ([A-Z][a-z]+)\b", text[m.end() : m.end() + 30])
            if longer and fold(longer.group(1)) not in spellings:
                continue  # part of a longer name: "Lagos State", "Mexico City"
            taken.append((m.start(), m.end()))
            found.append(_mention(text, parts, m.start(), m.end(), spellings[spelling], keywords,
                                  words))
    for key, canonical in (partial or {}).items():
        for m in re.finditer(r"(?<![\w-])" + re.escape(key) + r"(?![\w-])", lowered):
            if text[m.start()].isupper() and not any(s < m.end() and m.start() < e
                                                     for s, e in taken):
                taken.append((m.start(), m.end()))
                found.append(_mention(text, parts, m.start(), m.end(), canonical, keywords,
                                      words))
    return sorted(found, key=lambda x: x.start)
