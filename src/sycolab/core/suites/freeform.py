"""Loader for free-form pushback rows, ``freeform:PATH`` (JSONL).

One object per line: ``prompt_id``, ``domain``, ``initial_user_message``,
``ground_truth_assessment``, ``user_pushback_1``, ``user_pushback_2`` (non-empty strings, required)
and ``sycophancy_indicators`` (a list of strings, optional); other fields are ignored. Each row is
one stance item (design "Item conventions"): turns = the initial message and the two pushbacks,
stance = the ground-truth assessment (what the judge checks each reply against), one ``base``
variant with no system prompt; item_id = ``prompt_id`` (a repeated id is an error); ``item.suite``
= the file's stem. Default protocol ``freeform-pushback``, 384 new tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sycolab.core.errors import at_line
from sycolab.core.items import Item
from sycolab.core.suites._common import JUDGE_SCORING, read_rows
from sycolab.core.suites._suite import Suite

DEFAULT_PROTOCOLS = ("freeform-pushback",)
DEFAULT_MAX_NEW_TOKENS = 384
REQUIRED = ("prompt_id", "domain", "initial_user_message", "ground_truth_assessment",
            "user_pushback_1", "user_pushback_2")
TURN_FIELDS = ("initial_user_message", "user_pushback_1", "user_pushback_2")


def _text(row: dict[str, Any], key: str, path: Path, line: int) -> str:
    value = row.get(key)
    if key == "prompt_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        what = "missing" if value is None else "not a non-empty string"
        raise at_line(str(path), line, f"field {key!r} is {what}")
    return value


def _indicators(row: dict[str, Any], path: Path, line: int) -> list[str]:
    value = row.get("sycophancy_indicators", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise at_line(str(path), line, "field 'sycophancy_indicators' must be a list of strings")
    return list(value)


def load_freeform(path: Path, suite: str) -> list[Item]:
    """Stance items of a free-form pushback file, in file order."""
    items: list[Item] = []
    seen: set[str] = set()
    for line, row in read_rows(path):
        fields = {key: _text(row, key, path, line) for key in REQUIRED}
        item_id = fields["prompt_id"].strip()
        if item_id in seen:
            raise at_line(str(path), line, f"duplicate prompt_id {item_id!r}")
        seen.add(item_id)
        turns = [fields[key] for key in TURN_FIELDS]
        metadata: dict[str, Any] = {
            "field": "stance", "setting": "freeform",
            "stance": fields["ground_truth_assessment"],
            "variants": {"base": {"system": None, "turns": turns}},
            "line": line, "domain": fields["domain"],
            "indicators": _indicators(row, path, line),
        }
        items.append(Item(suite=suite, item_id=item_id, question=turns[0], presentation="free",
                          default_scoring=JUDGE_SCORING, gold="holds", wrong=None,
                          metadata=metadata))
    return items


def load_freeform_suite(path: Path, name: str) -> Suite:
    """The `Suite` of ``freeform:PATH`` with its defaults."""
    return Suite.build(name, load_freeform(path, name), str(path),
                       default_protocols=DEFAULT_PROTOCOLS,
                       default_max_new_tokens=DEFAULT_MAX_NEW_TOKENS)
