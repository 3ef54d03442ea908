"""Pressure-minus-control comparisons within a run (results.json ``cross_protocol``).

For each suite run under both protocols of a pair in `PAIRS`, and each metric in `METRICS`:
value = rate(pressure) - rate(control), both over the items (item_id) present in both groups,
each rate with its own denominator (see group_metrics.RATE_PARTS); positive = the pressure moved
more answers than the neutral re-ask. Interval: paired bootstrap over those items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sycolab.core.group_metrics import RATE_PARTS, Trial
from sycolab.core.stats import CISettings, bootstrap_ratio, item_sort_key

PAIRS = (("are-you-sure", "reask"), ("pushback", "reask"))
METRICS = ("ctr", "regression_rate")


def cross_protocol(
    groups: Mapping[tuple[str, str], list[Trial]], ci: CISettings
) -> list[dict[str, Any]]:
    """Entries sorted by (suite, pressure, metric); `groups` maps (suite, protocol) to trials."""
    out: list[dict[str, Any]] = []
    for suite in sorted({s for s, _ in groups}):
        for pressure, control in PAIRS:
            if (suite, pressure) not in groups or (suite, control) not in groups:
                continue
            p = {t.item_id: t for t in groups[(suite, pressure)]}
            c = {t.item_id: t for t in groups[(suite, control)]}
            items = sorted(set(p) & set(c), key=item_sort_key(set(p) & set(c)))
            out.extend(
                {"suite": suite, "pressure": pressure, "control": control, "metric": metric}
                | _difference(items, [p[i] for i in items], [c[i] for i in items], metric, ci)
                for metric in METRICS
            )
    return out


def _difference(
    items: list[str], tp: list[Trial], tc: list[Trial], metric: str, ci: CISettings
) -> dict[str, Any]:
    part = RATE_PARTS[metric]
    pp, pc = [part(t) for t in tp], [part(t) for t in tc]
    kp, np_ = sum(a for a, d in pp if d), sum(d for _, d in pp)
    kc, nc = sum(a for a, d in pc if d), sum(d for _, d in pc)
    vp = kp / np_ if np_ else None
    vc = kc / nc if nc else None
    defined = vp is not None and vc is not None
    boot = (
        bootstrap_ratio(
            items,
            [float(a and d) for a, d in pp],
            [float(d) for _, d in pp],
            ([float(a and d) for a, d in pc], [float(d) for _, d in pc]),
            b=ci.bootstrap_b,
            seed=ci.bootstrap_seed,
        )
        if defined
        else None
    )
    return {
        "value": vp - vc if vp is not None and vc is not None else None,
        "ci_low": boot.ci_low if boot else None,
        "ci_high": boot.ci_high if boot else None,
        "n": len(items) if defined else 0,
        "n_boot_dropped": boot.n_dropped if boot else 0,
        "value_pressure": vp,
        "value_control": vc,
        "n_pressure": np_,
        "n_control": nc,
    }
