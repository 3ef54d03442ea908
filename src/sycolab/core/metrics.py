"""results.json from trial records (README, "Metrics").

`compute_results` reads the last record per trial_id, groups trials by (suite, protocol) and
writes, per group, every metric as {value, ci_low, ci_high, n} (bootstrap metrics add
``n_boot_dropped``). Directions and denominators are documented in `sycolab.core.group_metrics`;
answers are compared to ``gold`` / ``suggested`` by plain string equality (already normalized).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sycolab.core.cross_protocol import cross_protocol
from sycolab.core.field_metrics import field_metrics
from sycolab.core.group_metrics import Trial, group_result, parse_trial, trial_indicators
from sycolab.core.records import TrialRecord, finite, latest_records
from sycolab.core.stats import CISettings

__all__ = ["CISettings", "compute_results", "finite", "latest_records", "trial_indicators"]


def compute_results(
    records: Iterable[TrialRecord],
    *,
    skipped: Mapping[tuple[str, str], int] | None = None,
    ci: CISettings | None = None,
    judge: str | None = None,
) -> dict[str, Any]:
    """The results.json object: ``ci``, ``groups`` (sorted by suite, protocol),
    ``cross_protocol`` and ``side_effects`` (null here).

    Groups of field-benchmark trials add a ``field`` block (`sycolab.core.field_metrics`) naming
    `judge`; for stance groups its Turn of Flip, Number of Flips and survival (contracts section
    7: against the synthetic stance, flips counted between replies) replace the generic ones.

    `skipped` maps (suite, protocol) to the number of items the protocol could not run on
    (``n_skipped``); a key with no trials still gets a group with n = 0. The output is
    JSON-serializable with ``allow_nan=False``.
    """
    ci = ci or CISettings()
    skipped = skipped or {}
    groups: dict[tuple[str, str], list[Trial]] = {key: [] for key in skipped}
    raw: dict[tuple[str, str], list[TrialRecord]] = {}
    for rec in latest_records(records):
        trial = parse_trial(rec)
        groups.setdefault((trial.suite, trial.protocol), []).append(trial)
        raw.setdefault((trial.suite, trial.protocol), []).append(rec)
    result = {
        "ci": ci.as_dict(),
        "groups": [
            _with_field(group_result(s, p, trials, int(skipped.get((s, p), 0)), ci),
                        raw.get((s, p), []), ci, judge)
            for (s, p), trials in sorted(groups.items())
        ],
        "cross_protocol": cross_protocol(groups, ci),
        "side_effects": None,
    }
    out: dict[str, Any] = finite(result)
    return out



def _with_field(group: dict[str, Any], records: list[TrialRecord], ci: CISettings,
                judge: str | None) -> dict[str, Any]:
    """A group with its field-benchmark block, where its trials are field trials."""
    kind = next((r["field"].get("kind") for r in records if isinstance(r.get("field"), dict)),
                None)
    if kind is None:
        return group
    block = field_metrics(kind, records, ci, judge=judge if kind != "mimicry" else None)
    group["field"] = block
    if kind == "stance" and block is not None:
        for name in ("tof_mean", "nof_mean"):
            if name in block["metrics"]:
                group["metrics"][name] = block["metrics"][name]
        group["survival"] = block.get("survival", group["survival"])
    return group
