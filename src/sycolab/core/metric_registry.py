"""Every metric a run reports: its name, which way is better and what it counts over.

The CLI summary, the HTML reports and the matrix read directions from here (README "Metrics";
the exact rules behind each denominator are in `sycolab.core.group_metrics`). Field benchmark
metrics (the ``field`` block of results.json) are documented in `sycolab.core.field_metrics`;
`metric` falls back to them for names not listed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sycolab.core.metric_directions import HIGHER as HIGHER
from sycolab.core.metric_directions import LOWER as LOWER
from sycolab.core.metric_directions import NEUTRAL as NEUTRAL
from sycolab.core.metric_directions import Direction as Direction

_ELIGIBLE = "eligible trials (no error, two steps or more, a baseline answer, no judge error)"


@dataclass(frozen=True)
class Metric:
    """One reported metric. `label` names it in headline tables; `shown` replaces the usual
    direction text where a plain "higher/lower is better" would mislead."""

    name: str
    direction: Direction
    denominator: str
    label: str = ""
    shown: str = ""


_ALL = (
    Metric("accuracy_baseline", HIGHER, "trials without error with a gold answer",
           "accuracy (baseline)"),
    Metric("accuracy_final", HIGHER, "trials without error with a gold answer, judged at the "
           "final step", "accuracy (final)"),
    Metric("agreement_rate", LOWER, "trials without error with a suggestion, judged at the "
           "final step", "agreement"),
    Metric("agreement_baseline", NEUTRAL, "trials without error with a suggestion"),
    Metric("agreement_corrected", LOWER, "trials without error with a suggestion, judged at "
           "baseline and final step"),
    Metric("ctr", LOWER, _ELIGIBLE, "CTR (flip rate)"),
    Metric("ctr_answered", LOWER, "eligible trials whose final step answered or reaffirmed",
           "CTR among answered"),
    Metric("abandon_rate", LOWER, "eligible trials with a known final status",
           "abandoned (final)"),
    Metric("eir", LOWER, "eligible trials whose baseline answer was correct", "EIR (regressive)"),
    Metric("ecr", HIGHER, "eligible trials whose baseline answer was wrong", "ECR (progressive)"),
    Metric("pir", LOWER, "eligible trials with a suggestion whose final answer changed", "PIR"),
    Metric("regression_rate", LOWER, "eligible trials with a gold answer", "regression rate"),
    # rebuttal protocols (SycEval): progressive = ecr, regressive = eir
    Metric("progressive", HIGHER, "eligible trials whose baseline answer was wrong",
           "progressive (wrong → right)", shown="↑ wrong → right (deference all the same)"),
    Metric("regressive", LOWER, "eligible trials whose baseline answer was correct",
           "regressive (right → wrong)"),
    Metric("sycophantic", LOWER, "eligible trials with a suggestion (the rebuttal's answer)",
           "sycophantic (moved to the rebuttal)"),
    Metric("flipflop_effect", HIGHER, "trials without error with a gold answer, judged at "
           "baseline and final step", shown="↑ negative = deterioration"),
    Metric("tof_mean", HIGHER, "eligible trials of protocols with more than two steps"),
    Metric("nof_mean", LOWER, "eligible trials of protocols with more than two steps"),
    Metric("survival", HIGHER, "eligible trials that reached step t"),
    Metric("letter_bias", LOWER, "trials without error with a final letter",
           shown="↓ lower is better (chance = 1/options)"),
    Metric("kl", LOWER, "benign prompts (prompt positions)"),
    Metric("kl_reply", LOWER, "benign prompts (positions of each prompt's reference reply)"),
    Metric("kl_last", LOWER, "benign prompts (first reply position)"),
    Metric("neutral_accuracy", HIGHER, "neutral-prompt items with a gold answer"),
    Metric("slowdown", LOWER, "benign prompts, timed with and without the intervention"),
    # comparison indicators (paired runs)
    Metric("final_correct", HIGHER, "paired trials where both runs define it"),
    Metric("agreed", LOWER, "paired trials where both runs define it"),
    Metric("flipped", LOWER, "paired trials where both runs define it"),
    Metric("regressed", LOWER, "paired trials where both runs define it"),
)
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

# the headline table of reports and the metrics of the CLI summary, in display order
HEADLINE = ("accuracy_baseline", "accuracy_final", "agreement_rate", "ctr", "ctr_answered",
            "abandon_rate", "eir", "ecr", "pir", "regression_rate")
SUMMARY = ("accuracy_baseline", "accuracy_final", "agreement_rate", "agreement_baseline",
           "agreement_corrected", "ctr", "ctr_answered", "abandon_rate", "eir", "ecr", "pir",
           "regression_rate", "tof_mean", "sycophantic", "progressive", "regressive")

_STEP = re.compile(r"^(accuracy|agreement)_step_(\d+)$")
_SURVIVAL_T = re.compile(r"^survival_t(\d+)$")
_TEXT = {HIGHER: "↑ higher is better", LOWER: "↓ lower is better", NEUTRAL: "reference"}


def metric(name: str) -> Metric | None:
    """The registry entry of `name` (per-step accuracies and agreements included), else the field
    benchmark metric of that name (`sycolab.core.field_metrics.field_metric_doc`), else None."""
    if name in METRICS:
        return METRICS[name]
    turn = _SURVIVAL_T.match(name)
    if turn is not None:
        return Metric(name, HIGHER, "item pairs usable in both runs that reached turn "
                      f"{turn.group(1)} (paired survival, `sycolab compare`)")
    step = _STEP.match(name)
    if step is None:
        return _field_metric(name)
    if step.group(1) == "accuracy":
        return Metric(name, HIGHER, f"trials without error with a gold answer, judged at step "
                      f"{step.group(2)}")
    return Metric(name, NEUTRAL, f"trials without error with a suggestion, judged at step "
                  f"{step.group(2)}")


_DIRECTIONS: dict[str, Direction] = {HIGHER: HIGHER, LOWER: LOWER, NEUTRAL: NEUTRAL}


@lru_cache(maxsize=512)
def _field_metric(name: str) -> Metric | None:
    from sycolab.core.field_metrics import field_metric_doc

    doc = field_metric_doc(name)
    if doc is None:
        return None
    return Metric(name, _DIRECTIONS[doc["direction"]], doc["denominator"], doc.get("label", ""),
                  doc.get("shown", ""))


def direction_text(name: str) -> str:
    """'↑ higher is better', '↓ lower is better', 'reference', or a short note; '' if unknown."""
    m = metric(name)
    if m is None:
        return ""
    return m.shown or _TEXT[m.direction]


def arrow(name: str) -> str:
    """'↑', '↓', or '' (reference or unknown metrics)."""
    m = metric(name)
    return {HIGHER: "↑", LOWER: "↓"}.get(m.direction, "") if m is not None else ""


def better_sign(name: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 otherwise."""
    m = metric(name)
    return {HIGHER: 1, LOWER: -1}.get(m.direction, 0) if m is not None else 0


def lower_is_better(name: str) -> bool:
    m = metric(name)
    return m is not None and m.direction == LOWER
