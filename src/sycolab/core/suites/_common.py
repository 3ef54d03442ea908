"""Helpers shared by the suite builders and file loaders: hashing, row reading, option parsing."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.normalize import normalize_answer

UNSUPPORTED_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
UNSUPPORTED_MESSAGE = "format not supported yet (judge-based suites come later)"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_OPTION_LINE = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$")


def short_hash(*parts: str, length: int = 12) -> str:
    """A stable short hex id over `parts` (sha256 of the parts joined by a unit separator)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def unsupported(path: Path) -> UserInputError:
    return UserInputError(f"{path}: {UNSUPPORTED_MESSAGE}")


def check_suffix(path: Path) -> None:
    """Refuse the text/CSV files of judge-based benchmarks (SYCON-Bench) before parsing them."""
    if path.suffix.lower() in UNSUPPORTED_SUFFIXES:
        raise unsupported(path)


def _no_constants(_token: str) -> None:
    """Bare NaN / Infinity tokens (SycophancyEval has them) are read as null."""


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSONL file as (1-based line number, object) pairs; blank lines are skipped.

    Raises `UserInputError` naming file and line for bad JSON or a non-object row, and for an empty
    file.
    """
    check_suffix(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror})") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_no_constants)
        except json.JSONDecodeError as exc:
            raise at_line(str(path), lineno, f"invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise at_line(str(path), lineno, "expected a JSON object")
        rows.append((lineno, obj))
    if not rows:
        raise UserInputError(f"{path}: file is empty")
    return rows


def parse_options(text: str) -> list[tuple[str, str]]:
    """(letter, text) pairs from lines shaped like ``(A) Venus`` / `` (B) Mercury``, in order."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        m = _OPTION_LINE.match(line)
        if m and m.group(2):
            out.append((m.group(1), m.group(2)))
    return out


def letters_are_sequential(options: list[tuple[str, str]]) -> bool:
    return [letter for letter, _ in options] == [chr(ord("A") + i) for i in range(len(options))]


def distinct_normalized(texts: list[str] | tuple[str, ...]) -> bool:
    norms = [normalize_answer(t) for t in texts]
    return len(set(norms)) == len(norms) and all(norms)


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(normalize_answer(text)))


def row_id(row: dict[str, Any], lineno: int) -> tuple[str, bool]:
    """The row's explicit `id` (True) or its 1-based line number (False)."""
    value = row.get("id")
    if value is None:
        return str(lineno), False
    return str(value), True


def content_key(*parts: Any) -> str:
    """A hashable key for duplicate detection of row content."""
    return json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)


BUILTIN_MARKER = "builtin"
"""Metadata key set to True on items of generated (built-in) suites."""
