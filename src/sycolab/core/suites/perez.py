"""Loader for Anthropic model-written evals sycophancy rows (Perez et al. 2022), ``perez:PATH``.

Row: ``question`` (biography + question + ``(A) ...`` option lines + ``Answer:``),
``answer_matching_behavior`` (`` (A)``), ``answer_not_matching_behavior`` (a string or a list),
optional ``id``; any other field (e.g. ``user_affiliation``) goes to metadata.

Biography-stripping rule (the neutral form): the question proper starts at the first occurrence,
after whitespace, of one of `STRONG_LEAD_INS` (the capitalised wordings of the three upstream files;
a preceding period is not required, as some upstream biographies lack one); failing that, at the
*last* sentence that opens with one of `WEAK_LEAD_INS` (a sentence opens at a line start or after
``. ``, ``? `` or ``! ``). Everything before it is the biography, which must be non-empty, and the
lead-in must come before the first option line. `fixed_steps["neutral"]` = the row text from the
lead-in on (verbatim); `fixed_steps["persona"]` = the whole row text. Rows the rule cannot split
get `persona` only.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import FixedStep, Item, Message
from sycolab.core.suites._common import (
    content_key,
    letters_are_sequential,
    parse_options,
    read_rows,
    row_id,
)

STRONG_LEAD_INS: tuple[str, ...] = (
    "Do you agree or disagree",
    "What is your view",
    "What is your opinion",
    "If you had to choose",
)
WEAK_LEAD_INS: tuple[str, ...] = (
    "Which of the following",
    "Which of these",
    "Which statement",
    "Which one",
    "How do you feel",
    "How much",
    "How would you",
    "Do you think",
    "Would you say",
    "Thinking about",
    "In general",
    "Overall",
    "In the future",
    "Compared to",
)
_KNOWN = frozenset({"id", "question", "answer_matching_behavior", "answer_not_matching_behavior"})
_LETTER = re.compile(r"^\s*\(?\s*([A-Z])\s*\)?\s*$")
_SENTENCE_START = r"(?:^|(?<=[.?!]\s)|(?<=\n))"
_AFTER_SPACE = r"(?<=\s)"


def _starts(text: str, phrases: tuple[str, ...], start: str) -> list[int]:
    alts = "|".join(re.escape(p) for p in phrases)
    pattern = rf"{start}\s*(?={alts})"
    return [m.start() for m in re.finditer(pattern, text, re.MULTILINE)]


def split_biography(text: str) -> tuple[str, str] | None:
    """(biography, neutral text) by the module's documented rule, or None if it cannot split."""
    first_option = re.search(r"^\s*\(A\)", text, re.MULTILINE)
    limit = first_option.start() if first_option else len(text)
    strong = [i for i in _starts(text, STRONG_LEAD_INS, _AFTER_SPACE) if 0 < i < limit]
    weak = [i for i in _starts(text, WEAK_LEAD_INS, _SENTENCE_START) if 0 < i < limit]
    if strong:
        idx = strong[0]
    elif weak:
        idx = weak[-1]
    else:
        return None
    bio, neutral = text[:idx].strip(), text[idx:].lstrip()
    if not bio:
        return None
    return bio, neutral


def _stem(text: str) -> str:
    """The question text before the option lines, without a trailing ``Choices:`` header."""
    m = re.search(r"^\s*\(A\)", text, re.MULTILINE)
    stem = (text[: m.start()] if m else text).strip()
    if stem.endswith("Choices:"):
        stem = stem[: -len("Choices:")].strip()
    return stem


def _letter(value: Any, path: Path, lineno: int, field: str) -> str:
    m = _LETTER.match(value) if isinstance(value, str) else None
    if m is None:
        raise at_line(str(path), lineno, f"field '{field}' must look like ' (A)', got {value!r}")
    return m.group(1)


def _row_item(row: dict[str, Any], lineno: int, path: Path, suite: str, item_id: str) -> Item:
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise at_line(str(path), lineno, "field 'question' is missing or not a non-empty string")
    for field in ("answer_matching_behavior", "answer_not_matching_behavior"):
        if field not in row:
            raise at_line(str(path), lineno, f"field '{field}' is missing")
    options = parse_options(text)
    if len(options) < 2 or not letters_are_sequential(options):
        raise at_line(str(path), lineno, "expected option lines '(A) ...', '(B) ...' in 'question'")
    texts = dict(options)
    matching = _letter(row["answer_matching_behavior"], path, lineno, "answer_matching_behavior")
    raw_not = row["answer_not_matching_behavior"]
    not_list = raw_not if isinstance(raw_not, list) else [raw_not]
    not_matching = [_letter(v, path, lineno, "answer_not_matching_behavior") for v in not_list]
    for letter in (matching, *not_matching):
        if letter not in texts:
            raise at_line(str(path), lineno, f"answer letter ({letter}) is not among the options")
    steps = {"persona": FixedStep(messages=(Message("user", text),))}
    split = split_biography(text)
    metadata: dict[str, Any] = {k: v for k, v in row.items() if k not in _KNOWN}
    metadata.update(
        answer_matching_behavior=matching,
        answer_not_matching_behavior=not_matching,
        biography=split[0] if split else None,
        line=lineno,
    )
    if split is not None:
        steps["neutral"] = FixedStep(messages=(Message("user", split[1]),))
    return Item(
        suite=suite,
        item_id=item_id,
        question=_stem(split[1] if split else text),
        presentation="lettered",
        default_scoring="choice",
        options=tuple(t for _, t in options),
        persona_answer=texts[matching],
        fixed_steps=steps,
        metadata=metadata,
    )


def load_perez(path: Path, suite: str) -> list[Item]:
    """Items of a Perez-format JSONL file; item_id = row `id` or 1-based line number."""
    items: list[Item] = []
    explicit: set[str] = set()
    first_by_content: dict[str, str] = {}
    for lineno, row in read_rows(path):
        item_id, is_explicit = row_id(row, lineno)
        if is_explicit:
            if item_id in explicit:
                raise at_line(str(path), lineno, f"duplicate id {item_id!r}")
            explicit.add(item_id)
        item = _row_item(row, lineno, path, suite, item_id)
        key = content_key({k: v for k, v in row.items() if k != "id"})
        if key in first_by_content:
            item = replace(item, duplicate_of=first_by_content[key])
        else:
            first_by_content[key] = item_id
        items.append(item)
    _check_ids(items, path)
    return items


def _check_ids(items: list[Item], path: Path) -> None:
    ids = [i.item_id for i in items]
    if len(set(ids)) != len(ids):
        raise UserInputError(f"{path}: an explicit id collides with another row's line number")
