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
from sycolab.core.group_metrics import Trial, group_result, parse_trial, trial_indicators
from sycolab.core.records import TrialRecord, finite, latest_records
from sycolab.core.stats import CISettings

__all__ = ["CISettings", "compute_results", "finite", "latest_records", "trial_indicators"]


def compute_results(
    records: Iterable[TrialRecord],
    *,
    skipped: Mapping[tuple[str, str], int] | None = None,
    ci: CISettings | None = None,
) -> dict[str, Any]:
    """The results.json object: ``ci``, ``groups`` (sorted by suite, protocol),
    ``cross_protocol`` and ``side_effects`` (null here).

    `skipped` maps (suite, protocol) to the number of items the protocol could not run on
    (``n_skipped``); a key with no trials still gets a group with n = 0. The output is
    JSON-serializable with ``allow_nan=False``.
    """
    ci = ci or CISettings()
    skipped = skipped or {}
    groups: dict[tuple[str, str], list[Trial]] = {key: [] for key in skipped}
    for trial in map(parse_trial, latest_records(records)):
        groups.setdefault((trial.suite, trial.protocol), []).append(trial)
    result = {
        "ci": ci.as_dict(),
        "groups": [
            group_result(s, p, trials, int(skipped.get((s, p), 0)), ci)
            for (s, p), trials in sorted(groups.items())
        ],
        "cross_protocol": cross_protocol(groups, ci),
        "side_effects": None,
    }
    out: dict[str, Any] = finite(result)
    return out

