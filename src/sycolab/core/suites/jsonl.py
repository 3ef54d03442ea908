"""Loader for our own item schema, ``jsonl:PATH`` (spec: docs/item-schema.md).

One JSON object per line: ``question`` (required), ``id``, ``answer``, ``aliases``, ``wrong``,
``options``, ``instruction``, ``persona_answer``, ``scoring``, ``metadata``. Unknown fields are
errors (put extra data under ``metadata``). Files of the judge-based benchmarks (SYCON-Bench
text/CSV files, free-form pushback rows, ELEPHANT CSVs) are refused with a pointer to their own
loader (``sycon:DIR``, ``freeform:PATH``, ``elephant:PATH``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import Item, Presentation
from sycolab.core.normalize import normalize_answer
from sycolab.core.suites._common import (
    content_key,
    distinct_normalized,
    is_number,
    read_rows,
    row_id,
    unsupported,
)

_FREEFORM_KEYS = frozenset({"initial_user_message", "user_pushback_1", "ground_truth_assessment"})
_Text = str | int


class JsonlRow(BaseModel):
    """One row of a ``jsonl:`` suite file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: _Text | None = None
    question: str = Field(min_length=1)
    answer: _Text | None = None
    aliases: list[_Text] = Field(default_factory=list)
    wrong: _Text | None = None
    options: list[_Text] | None = None
    instruction: str = ""
    persona_answer: _Text | None = None
    scoring: Literal["choice", "generate"] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


def _s(v: _Text | None) -> str | None:
    return None if v is None else str(v)


def _hint(row: dict[str, Any]) -> str:
    if "answer_matching_behavior" in row:
        return " (this looks like a Perez file: use perez:PATH)"
    if "prompt" in row and "base" in row:
        return " (this looks like a SycophancyEval file: use sycophancy-eval:PATH)"
    return ""


def _validate(row: dict[str, Any], path: Path, lineno: int) -> JsonlRow:
    if _FREEFORM_KEYS & row.keys() and "question" not in row:
        raise unsupported(path)
    try:
        return JsonlRow.model_validate(row)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        raise at_line(str(path), lineno, f"field '{loc}': {err['msg']}{_hint(row)}") from None


def _match(
    value: str | None, options: tuple[str, ...], what: str, path: Path, n: int
) -> str | None:
    """The option text equal to `value` after normalization (error if none)."""
    if value is None or not options:
        return value
    for opt in options:
        if normalize_answer(opt) == normalize_answer(value):
            return opt
    raise at_line(str(path), n, f"'{what}' {value!r} is not among the options")


def _item(r: JsonlRow, path: Path, n: int, suite: str, item_id: str) -> Item:
    gold, wrong = _s(r.answer), _s(r.wrong)
    options = tuple(str(o) for o in r.options) if r.options is not None else ()
    if r.options is not None and (len(options) < 2 or not distinct_normalized(options)):
        raise at_line(str(path), n, "'options' needs at least 2 distinct non-empty options")
    gold = _match(gold, options, "answer", path, n)
    wrong = _match(wrong, options, "wrong", path, n)
    persona = _match(_s(r.persona_answer), options, "persona_answer", path, n)
    if gold is not None and wrong is not None and normalize_answer(gold) == normalize_answer(wrong):
        raise at_line(str(path), n, "'wrong' equals 'answer'")
    presentation: Presentation = "lettered" if options else "free"
    if not options and gold is not None and is_number(gold):
        presentation = "number"
    if not options and gold is not None and wrong is not None:
        options = (gold, wrong)
    scoring = r.scoring or ("choice" if presentation == "lettered" else "generate")
    if scoring == "choice" and not options:
        raise at_line(str(path), n, "'scoring' choice needs 'options' or both 'answer' and 'wrong'")
    return Item(
        suite=suite,
        item_id=item_id,
        question=r.question,
        presentation=presentation,
        default_scoring=scoring,
        gold=gold,
        wrong=wrong,
        aliases=tuple(str(a) for a in r.aliases),
        options=options,
        instruction=r.instruction,
        persona_answer=persona,
        metadata=dict(r.metadata),
    )


def load_jsonl(path: Path, suite: str) -> list[Item]:
    """Items of a file in our own item schema; item_id = `id` or 1-based line number."""
    items: list[Item] = []
    explicit: set[str] = set()
    first_by_content: dict[str, str] = {}
    for lineno, row in read_rows(path):
        parsed = _validate(row, path, lineno)
        item_id, is_explicit = row_id(row, lineno)
        if is_explicit:
            if item_id in explicit:
                raise at_line(str(path), lineno, f"duplicate id {item_id!r}")
            explicit.add(item_id)
        item = _item(parsed, path, lineno, suite, item_id)
        key = content_key(parsed.model_dump(exclude={"id"}))
        if key in first_by_content:
            item = replace(item, duplicate_of=first_by_content[key])
        else:
            first_by_content[key] = item_id
        items.append(item)
    if len({i.item_id for i in items}) != len(items):
        raise UserInputError(f"{path}: an explicit id collides with another row's line number")
    return items
