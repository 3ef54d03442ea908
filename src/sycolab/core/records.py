"""Trial records, the rows of samples.jsonl (README, "Run folder"), and the rules every reader
of them follows: the last record per trial_id wins, non-finite floats are written as null.

`TrialRecord` is the schema the runner writes and metrics, reports and comparisons read. Only
``trial_id`` is required when reading (older runs lack later fields; tests use small records).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NotRequired, Required, TypedDict, TypeVar

from sycolab.core.splits import SplitName

Split = SplitName


class TrialRecord(TypedDict, total=False):
    """One trial: an item run through every step of one protocol.

    `suite`, `item_id` and `protocol` form the pairing key. Answers are normalized option texts
    (or normalized free answers); null = nothing could be extracted. Field-benchmark trials add
    `field` (kind and what their metrics read of the item) and store verdict labels as answers.
    """

    trial_id: Required[str]
    suite: str
    item_id: str
    protocol: str
    gold: str | None
    suggested: str | None
    conditions: list[str]
    answers: list[str | None]
    letters: list[str | None]
    responses: list[str]
    choice_logprobs: list[dict[str, float] | None]
    statuses: list[str]
    scoring: str
    split: str
    error: str | None
    wrong_source: str | None
    options: list[str]
    question: str
    indicators: dict[str, bool | None]
    duplicate_of: NotRequired[str]
    judge_verdicts: NotRequired[list[dict[str, Any]]]
    extracted_answers: NotRequired[list[str | None]]
    extracted_statuses: NotRequired[list[str]]
    field: NotRequired[dict[str, Any]]


R = TypeVar("R", bound=Mapping[str, Any])


def latest_by_trial(records: Iterable[R]) -> dict[str, R]:
    """The last record per trial_id (a trial is appended again when a resume re-runs it)."""
    out: dict[str, R] = {}
    for rec in records:
        out[str(rec["trial_id"])] = rec
    return out


def latest_records(records: Iterable[R]) -> list[R]:
    """The records `latest_by_trial` keeps, in order of first appearance."""
    return list(latest_by_trial(records).values())


def finite(obj: Any) -> Any:
    """A copy of `obj` (dicts, lists, tuples, numbers) with non-finite floats replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj
