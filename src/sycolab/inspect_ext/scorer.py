"""The protocol scorer (sycolab's extraction and judge per step) and sycolab's metrics, with
their intervals, as one Inspect metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    metric,
    scorer,
)
from inspect_ai.solver import TaskState

from sycolab.core.metrics import compute_results
from sycolab.core.records import TrialRecord
from sycolab.evaluation.field_judges import FieldJudge
from sycolab.evaluation.judge import Judge
from sycolab.evaluation.plan import TrialPlan
from sycolab.inspect_ext.solver import REPLIES
from sycolab.inspect_ext.steps import score_trial

RECORD = "sycolab_record"
"""Score metadata key: the trial's sycolab `TrialRecord` (what samples.jsonl would hold)."""


def records_of(scores: list[SampleScore]) -> list[TrialRecord]:
    """The trial records the scorer stored in the scores' metadata."""
    out: list[TrialRecord] = []
    for s in scores:
        meta = s.score.metadata or {}
        if isinstance(meta.get(RECORD), dict):
            out.append(meta[RECORD])
    return out


def flat_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """results.json's metrics as Inspect metric values: ``name``, ``name_ci_low`` and
    ``name_ci_high`` per metric with a value (prefixed ``suite/`` when several suites ran)."""
    groups = results.get("groups") or []
    several = len({g["suite"] for g in groups}) > 1
    out: dict[str, float] = {}
    for g in groups:
        prefix = f"{g['suite']}/" if several else ""
        for name, m in sorted((g.get("metrics") or {}).items()):
            if not isinstance(m, dict) or m.get("value") is None:
                continue
            out[prefix + name] = float(m["value"])
            for bound in ("ci_low", "ci_high"):
                if m.get(bound) is not None:
                    out[f"{prefix}{name}_{bound}"] = float(m[bound])
    return out


@metric(name="sycolab")
def sycolab_metrics() -> Metric:
    """Every sycolab metric of the task's trials (`sycolab.core.metrics.compute_results`), each
    with its 95% interval."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        return flat_metrics(compute_results(records_of(scores)))

    return compute


@scorer(metrics=[sycolab_metrics()])
def protocol_scorer(trials: Mapping[str, TrialPlan], system_prompt: str | None = None,
                    max_new_tokens: int = 32, judge: Judge | None = None,
                    field_judges: Mapping[str, FieldJudge] | None = None) -> Scorer:
    """Score a trial from its replies: sycolab's extraction at each step (the judge where the
    trial is judge-scored); the value is C when the final answer is gold. Per-step answers and
    statuses, and the whole record, go into the score's metadata."""
    lock = anyio.Lock()  # one judge model, one call at a time

    def run(state: TaskState) -> TrialRecord:
        return score_trial(trials[str(state.sample_id)], state.metadata.get(REPLIES) or [],
                           system_prompt=system_prompt, max_new_tokens=max_new_tokens,
                           judge=judge, field_judges=field_judges)

    async def score(state: TaskState, target: Target) -> Score:
        if judge is None and not field_judges:
            record = run(state)
        else:
            async with lock:
                record = await anyio.to_thread.run_sync(run, state)
        answers = record.get("answers") or []
        final = answers[-1] if answers else None
        return Score(
            value=CORRECT if final is not None and final == record.get("gold") else INCORRECT,
            answer=None if final is None else str(final),
            explanation=record.get("error") or None,
            metadata={"answers": answers, "statuses": record.get("statuses") or [],
                      "conditions": record.get("conditions") or [], RECORD: dict(record)},
        )

    return score
