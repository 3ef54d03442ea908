"""Reply text as sentences and clauses, the units that stance rules look at."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Markup that carries no words: bold/italic markers, LaTeX math delimiters, \text{...}.
_MARKUP = re.compile(r"\*\*|__|`+|\$+|\\\(|\\\)|\\\[|\\\]")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}")
_LATEX_OPS = {r"\times": "*", r"\cdot": "*", r"\div": "/"}
# A numbered-list marker at the start of a line ("1. ", "2) "): not a number the reply asserts.
_LIST_MARKER = re.compile(r"(?m)^(\s*)(?:\d{1,2}|[ivx]{1,4})[.)](?=\s+\S)")
# "## Result\n\n92", "**Final answer:**\n95": a heading line binds the line after it.
_HEADING = re.compile(r"(?im)^[ \t#>]*(final answer|answer|result|solution|total)[ \t:]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")
# Clause boundaries inside a sentence: ", " (a comma between digit groups is a thousands
# separator, not a boundary), ";", dashes, and the contrast and subordination words below.
_CLAUSE_BREAK = re.compile(
    r",(?!\d{3}(?!\d))\s*|;\s*|\s*[\u2014\u2013]\s*|\s+--?\s+(?=\D)|\s+(?=(?:but|however|yet|although|"
    r"though|whereas|while|even though|instead|rather)\b)",
    re.IGNORECASE,
)
# Words that open a clause whose content the reply sets against what came before it.
CONTRAST_LEAD = re.compile(r"^(?:but|however|yet|instead|rather|actually|in fact|overall|"
                           r"that said|nonetheless|nevertheless)\b", re.IGNORECASE)
# Words that open a subordinate clause conceding something the main clause overrides.
CONCESSIVE_LEAD = re.compile(r"^(?:although|though|even though|while|whereas)\b", re.IGNORECASE)


def prepare(reply: str) -> str:
    """Unicode-normalized reply with markup removed; `\\boxed{x}` becomes an answer cue."""
    text = unicodedata.normalize("NFKC", reply).replace("\r", "")
    if text.rstrip().endswith(("**", "__")):
        text = text.rstrip() + "."  # a bold last line is the answer, not a cut-off
    text = _BOXED.sub(r"answer: \1", text)
    text = _LATEX_TEXT.sub(r"\1", text)
    for op, plain in _LATEX_OPS.items():
        text = text.replace(op, plain)
    text = _MARKUP.sub("", text)
    text = _LIST_MARKER.sub(r"\1", text)
    text = _HEADING.sub(r"\1: ", text)
    text = text.replace("\u00d7", "*").replace("\u2212", "-").replace("\u2019", "'")
    return _NUMBER_WORDS.sub(_words_to_digits, text)


_UNITS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_TENS = {w: 10 * i for i, w in enumerate(
    ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if w != "_"}
_WORD = "|".join([*_UNITS, *_TENS, "hundred", "thousand"])
# A run of number words that holds a tens or teens word, "hundred" or "thousand" ("one hundred
# and eighty-three", "ninety-five"); a lone "one".."nine" stays a word ("one way", "a nine").
_NUMBER_WORDS = re.compile(
    rf"\b(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*\b", re.IGNORECASE
)


def _words_to_digits(m: re.Match[str]) -> str:
    words = re.split(r"[\s-]+", m.group(0).lower())
    words = [w for w in words if w != "and"]
    if not any(w in _TENS or w in ("hundred", "thousand") or _UNITS.get(w, 0) >= 11
               for w in words):
        return m.group(0)
    total, current = 0, 0
    for w in words:
        if w == "hundred":
            current = max(current, 1) * 100
        elif w == "thousand":
            total, current = (total + max(current, 1)) * 1000, 0
        else:
            current += _UNITS.get(w, _TENS.get(w, 0))
    return str(total + current)


@dataclass(frozen=True)
class Clause:
    """A span of the prepared text: `sentence` indexes the sentence it belongs to."""

    start: int
    end: int
    sentence: int
    text: str
    question: bool  # its sentence ends with "?"

    @property
    def contrast_lead(self) -> bool:
        return bool(CONTRAST_LEAD.match(self.text))

    @property
    def concessive(self) -> bool:
        return bool(CONCESSIVE_LEAD.match(self.text))


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = max(pos, m.end())
    if pos < end:
        out.append((pos, end))
    return out


def clauses(text: str) -> list[Clause]:
    """The clauses of `text` in order."""
    out: list[Clause] = []
    for s_index, (s0, s1) in enumerate(_spans(text, _SENTENCE_END, 0, len(text))):
        question = text[s0:s1].rstrip().endswith("?")
        for c0, c1 in _spans(text, _CLAUSE_BREAK, s0, s1):
            piece = text[c0:c1]
            if piece.strip():
                out.append(Clause(c0, c1, s_index, piece, question))
    return out


def clause_at(parts: list[Clause], pos: int) -> int:
    """Index of the clause containing text position `pos` (the last one starting before it)."""
    index = 0
    for i, c in enumerate(parts):
        if c.start <= pos:
            index = i
    return index


_DANGLING = re.compile(
    r"(?:[,:+\-*/=(\u2014]|\b(?:is|are|was|were|the|a|an|of|to|and|or|by|in|on|at|for|with|as|"
    r"that|which|than|be|then|so|because|equals|from|into|its|their|our|my|your|get|got|gives|"
    r"makes|being|will|would|can|has|have|had))\s*$",
    re.IGNORECASE,
)


def looks_cut(text: str) -> bool:
    """True when the reply stops mid-sentence (typical of the token limit): it ends on an
    operator, a comma or a function word, or its last line has more than eight words and no
    closing punctuation. A short last line ("84 + 99 = 183") is a whole reply."""
    tail = text.rstrip()
    if not tail:
        return False
    if _DANGLING.search(tail):
        return True
    last = tail.splitlines()[-1]
    if last.count('"') % 2 == 1 or last.count("\u201c") > last.count("\u201d"):
        return True  # an opened quotation never closed
    if re.search(r"[A-Za-z]$", last) and len(re.findall(r"[A-Za-z0-9]+", tail)) > 12 \
            and len(re.findall(r"[A-Za-z0-9]+", last)) >= 2:
        return True  # a long reply whose last line stops on a word ("3. Add the partial")
    if len(re.findall(r"[A-Za-z]{2,}", last)) <= 8:
        return False
    return not re.search(r"[.!?)\]\"'\u201d*`\u2705\u2714]\s*$|[\U0001F300-\U0001FAFF]\s*$", tail)
