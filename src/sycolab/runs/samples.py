"""Reading samples.jsonl: append-only, so a kill can tear its last line; every record is
checked against `TrialRecord` so a bad line is a one-line error naming file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from sycolab.core.errors import UserInputError
from sycolab.core.records import TrialRecord

_STR, _OPT_STR, _LIST, _DICT = (str,), (str, type(None)), (list,), (dict,)
_INT_OR_STR = (str, int)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "trial_id": _STR, "suite": _STR, "item_id": _INT_OR_STR, "protocol": _STR,
    "gold": _OPT_STR, "suggested": _OPT_STR, "conditions": _LIST, "answers": _LIST,
    "letters": _LIST, "responses": _LIST, "choice_logprobs": _LIST, "statuses": _LIST,
    "scoring": _STR, "split": _STR, "error": _OPT_STR, "wrong_source": _OPT_STR,
    "options": _LIST, "indicators": _DICT, "judge_verdicts": _LIST,
    "extracted_answers": _LIST, "extracted_statuses": _LIST,
}


class _NotARecordError(ValueError):
    """Valid JSON that is not a trial record at all (a torn tail can look like this)."""


def check_record(obj: Any) -> TrialRecord:
    """`obj` as a `TrialRecord`; ValueError naming the first field of the wrong type."""
    if not isinstance(obj, dict) or "trial_id" not in obj:
        raise _NotARecordError("not a trial record")
    for name, types in _FIELD_TYPES.items():
        if name in obj and not isinstance(obj[name], types):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValueError(f"field {name!r} is {type(obj[name]).__name__}, expected {want}")
    return cast(TrialRecord, obj)


def read_samples(path: Path, repair: bool = False) -> list[TrialRecord]:
    """Parse samples.jsonl. A torn final line is dropped (and cut off when `repair`);
    a corrupt line elsewhere, or a record of the wrong shape, is an error naming file and line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    records: list[TrialRecord] = []
    good_end = 0
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        last = i == len(lines) - 1
        if not raw.strip():
            if not last:
                good_end += len(raw) + 1
            continue
        torn: ValueError | None = None
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            parsed, torn = None, exc
        if torn is None:
            try:
                rec = check_record(parsed)
            except _NotARecordError as exc:
                torn = exc
            except ValueError as exc:
                raise UserInputError(f"{path}:{i + 1}: bad trial record ({exc})") from None
        if torn is not None:
            tail = b"".join(line + b"\n" for line in lines[i + 1 :]).strip()
            if last or not tail:
                break  # torn last line
            raise UserInputError(f"{path}:{i + 1}: corrupt trial record ({torn})") from None
        records.append(rec)
        if last:  # complete JSON but no newline yet: keep it and finish the line
            good_end = len(data)
            if repair:
                with path.open("ab") as fh:
                    fh.write(b"\n")
                good_end += 1
            break
        good_end += len(raw) + 1
    if repair and good_end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return records
