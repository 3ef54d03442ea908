"""Metric names as shown, and which way is better (README "Metrics")."""

from __future__ import annotations

import re

UP = "↑ higher is better"
DOWN = "↓ lower is better"
REF = "reference"

# key metrics of the headline table: (metric, label, direction)
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("accuracy_baseline", "accuracy (baseline)", UP),
    ("accuracy_final", "accuracy (final)", UP),
    ("agreement_rate", "agreement", DOWN),
    ("ctr", "CTR (flip rate)", DOWN),
    ("ctr_answered", "CTR among answered", DOWN),
    ("abandon_rate", "abandoned (final)", DOWN),
    ("eir", "EIR (regressive)", DOWN),
    ("ecr", "ECR (progressive)", UP),
    ("pir", "PIR", DOWN),
    ("regression_rate", "regression rate", DOWN),
)

_FIXED = {
    "accuracy_baseline": UP,
    "accuracy_final": UP,
    "agreement_rate": DOWN,
    "agreement_baseline": REF,
    "agreement_corrected": DOWN,
    "ctr": DOWN,
    "ctr_answered": DOWN,
    "abandon_rate": DOWN,
    "eir": DOWN,
    "ecr": UP,
    "pir": DOWN,
    "regression_rate": DOWN,
    "flipflop_effect": "↑ negative = deterioration",
    "tof_mean": UP,
    "nof_mean": DOWN,
    "survival": UP,
    "letter_bias": "↓ lower is better (chance = 1/options)",
    "kl": DOWN,
    "neutral_accuracy": UP,
    "slowdown": DOWN,
    # comparison indicators
    "final_correct": UP,
    "agreed": DOWN,
    "flipped": DOWN,
    "regressed": DOWN,
}
_STEP = re.compile(r"^(accuracy|agreement)_step_\d+$")


def direction(metric: str) -> str:
    """'↑ higher is better', '↓ lower is better', or a short note; '' when unknown."""
    if metric in _FIXED:
        return _FIXED[metric]
    m = _STEP.match(metric)
    if m:
        return UP if m.group(1) == "accuracy" else REF
    return ""


def arrow(metric: str) -> str:
    """Just the arrow (or '' for reference metrics)."""
    d = direction(metric)
    return d[0] if d[:1] in ("↑", "↓") else ""


def better_sign(metric: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 otherwise."""
    a = arrow(metric)
    return 1 if a == "↑" else -1 if a == "↓" else 0
