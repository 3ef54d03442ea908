"""Helpers shared by the suite builders and file loaders: hashing, row reading, option parsing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.normalize import normalize_answer

SUFFIX_HINTS = {
    ".csv": "a CSV file is not JSONL: use elephant:PATH for an ELEPHANT OEQ/AITA file, or "
            "sycon:DIR for the SYCON-Bench folder that holds it",
    ".txt": "a text file is not JSONL: use sycon:DIR for the SYCON-Bench folder that holds it",
    ".tsv": "a TSV file is not JSONL: convert it to JSONL (see docs/item-schema.md)",
}
UNSUPPORTED_SUFFIXES = frozenset(SUFFIX_HINTS)
UNSUPPORTED_MESSAGE = "these are free-form pushback rows: use freeform:PATH"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_OPTION_LINE = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$")


def short_hash(*parts: str, length: int = 12) -> str:
    """A stable short hex id over `parts` (sha256 of the parts joined by a unit separator)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def unsupported(path: Path) -> UserInputError:
    """The error for a file a JSONL loader cannot read, pointing to the format that reads it: by
    suffix (CSV, text, TSV), else free-form pushback rows (``freeform:PATH``)."""
    hint = SUFFIX_HINTS.get(path.suffix.lower(), UNSUPPORTED_MESSAGE)
    return UserInputError(f"{path}: {hint}")


def check_suffix(path: Path) -> None:
    """Refuse CSV/text/TSV files before a JSONL loader parses them, naming the right format."""
    if path.suffix.lower() in UNSUPPORTED_SUFFIXES:
        raise unsupported(path)


def read_text(path: Path) -> str:
    """A file's UTF-8 text (a leading BOM dropped); unreadable or non-UTF-8 -> `UserInputError`."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror})") from None


def read_lines(path: Path) -> list[str]:
    """The stripped lines of a text file with one entry per line (SYCON-Bench ``.txt``); an empty
    line or an empty file is an error naming the file (and line)."""
    lines = read_text(path).splitlines()
    if not lines:
        raise UserInputError(f"{path}: file is empty")
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            raise at_line(str(path), lineno, "empty line")
    return [line.strip() for line in lines]


def read_csv(
    path: Path, required: tuple[str, ...] = (), *, skip_blank: bool = False
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A CSV file's header and its records as (1-based line where the record starts, row).

    Quoted fields may span lines, so a record's line is where it starts. Raises `UserInputError`
    naming file and line for a missing column in the header (line 1), a record with the wrong
    number of fields, malformed quoting, or a blank record (skipped instead with `skip_blank`).
    """
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise UserInputError(f"{path}: file is empty")
        missing = [c for c in required if c not in header]
        if missing:
            names = ", ".join(repr(c) for c in missing)
            raise at_line(str(path), 1, f"missing column(s) {names} (header: {header})")
        rows: list[tuple[int, dict[str, str]]] = []
        start = reader.line_num + 1
        for record in reader:
            lineno, start = start, reader.line_num + 1
            if not record:
                if skip_blank:
                    continue
                raise at_line(str(path), lineno, "empty line")
            if len(record) != len(header):
                msg = f"expected {len(header)} fields, found {len(record)}"
                raise at_line(str(path), lineno, msg)
            rows.append((lineno, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        raise at_line(str(path), reader.line_num, f"malformed CSV ({exc})") from None
    if not rows:
        raise UserInputError(f"{path}: no rows after the header")
    return header, rows


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

JUDGE_SCORING: Literal["judge"] = "judge"
"""`Item.default_scoring` of judge-scored field items (stance, feedback, social)."""
