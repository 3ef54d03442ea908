"""Loader for ELEPHANT CSV files (myracheng/elephant ``datasets/``), ``elephant:PATH``.

The kind is read from the header:
- AITA (a column ``is_asshole``): r/AmITheAsshole posts; ``prompt`` = the post, ``is_asshole`` =
  the community verdict (1 = the poster is at fault, YTA; 0 = not, NTA), ``ytanta`` = that verdict
  as text (kept as ``verdict``), ``top_comment`` = the top human reply (not used);
- OEQ (otherwise; needs ``prompt``): open-ended advice questions; ``human`` = a human reply,
  ``source`` = where the question came from, and the ratings of that human reply on ELEPHANT's
  four measures, ``emotional_validation_human``, ``indirect_language_human``,
  ``indirect_action_human``, ``accept_framing_human`` (0/1, written ``0``/``1`` or ``0.0``/``1.0``).
  The rating columns are all present or all absent; a row whose four cells are all blank has no
  human ratings (no ``human`` key); a row with some blank is an error.

Each row is one social item (design "Item conventions"): ``question`` = the post verbatim,
``item.suite`` = the file's stem, item_id = the first column when it is pandas' unnamed index
column (header ``""`` or ``Unnamed: 0``) or ``id``, else the 1-based row number. Blank records
(the AITA sample has one) are skipped; ``line`` is where a record starts in the file.
Default protocol ``social``, 512 new tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import Item
from sycolab.core.suites._common import JUDGE_SCORING, read_csv
from sycolab.core.suites._suite import Suite

DEFAULT_PROTOCOLS = ("social",)
DEFAULT_MAX_NEW_TOKENS = 512
OEQ_LABELS = ("emotional_validation", "indirect_language", "indirect_action", "accept_framing")
_INDEX_HEADERS = ("", "Unnamed: 0", "id")
_TRUE = {"1", "1.0", "true"}
_FALSE = {"0", "0.0", "false"}


def _flag(value: str, column: str, path: Path, line: int) -> bool:
    v = value.strip().lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise at_line(str(path), line, f"column {column!r}: expected 0 or 1, got {value!r}")


def _human(row: dict[str, str], path: Path, line: int) -> dict[str, bool] | None:
    cells = {label: row[f"{label}_human"] for label in OEQ_LABELS}
    blank = [label for label, v in cells.items() if not v.strip()]
    if len(blank) == len(cells):
        return None
    if blank:
        raise at_line(str(path), line, f"column '{blank[0]}_human' is blank while other human "
                                       "ratings are given")
    return {label: _flag(v, f"{label}_human", path, line) for label, v in cells.items()}


def _kind(header: list[str], path: Path) -> str:
    if "prompt" not in header:
        raise at_line(str(path), 1, "missing column 'prompt' (ELEPHANT OEQ files need 'prompt'; "
                                    "AITA files need 'prompt' and 'is_asshole')")
    if "is_asshole" in header:
        return "aita"
    ratings = [f"{label}_human" in header for label in OEQ_LABELS]
    if any(ratings) and not all(ratings):
        missing = next(f"{lb}_human" for lb, ok in zip(OEQ_LABELS, ratings, strict=True) if not ok)
        raise at_line(str(path), 1, f"missing column {missing!r} (the four *_human rating "
                                    "columns come together)")
    return "oeq"


def load_elephant(path: Path, suite: str) -> list[Item]:
    """Social items of an ELEPHANT OEQ or AITA CSV file, in file order."""
    if path.suffix.lower() in (".jsonl", ".json"):
        raise UserInputError(f"{path}: elephant: reads an ELEPHANT CSV file (OEQ or AITA), not "
                             "JSON lines")
    header, rows = read_csv(path, skip_blank=True)
    kind = _kind(header, path)
    index = header[0] if header[0] in _INDEX_HEADERS else None
    rated = kind == "oeq" and f"{OEQ_LABELS[0]}_human" in header
    items: list[Item] = []
    seen: set[str] = set()
    for n, (line, row) in enumerate(rows, start=1):
        item_id = row[index].strip() if index is not None else str(n)
        if not item_id:
            raise at_line(str(path), line, f"the index column {index!r} is empty")
        if item_id in seen:
            raise at_line(str(path), line, f"duplicate id {item_id!r}")
        seen.add(item_id)
        prompt = row["prompt"]
        if not prompt.strip():
            raise at_line(str(path), line, "column 'prompt' is empty")
        metadata: dict[str, Any] = {"field": "social", "dataset": kind}
        if kind == "aita":
            metadata["is_asshole"] = _flag(row["is_asshole"], "is_asshole", path, line)
            if row.get("ytanta", "").strip():
                metadata["verdict"] = row["ytanta"].strip()
        else:
            human = _human(row, path, line) if rated else None
            if human is not None:
                metadata["human"] = human
            if row.get("source", "").strip():
                metadata["source"] = row["source"].strip()
        metadata["line"] = line
        items.append(Item(suite=suite, item_id=item_id, question=prompt, presentation="free",
                          default_scoring=JUDGE_SCORING, metadata=metadata))
    return items


def load_elephant_suite(path: Path, name: str) -> Suite:
    """The `Suite` of ``elephant:PATH`` with its defaults."""
    return Suite.build(name, load_elephant(path, name), str(path),
                       default_protocols=DEFAULT_PROTOCOLS,
                       default_max_new_tokens=DEFAULT_MAX_NEW_TOKENS)
