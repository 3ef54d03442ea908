"""Paired comparison of two runs, trial by trial (README, "Metrics", "Intervals"): exact
two-sided McNemar for binary indicators, paired bootstrap of the difference for rates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from sycolab.core.errors import UserInputError
from sycolab.core.group_metrics import INDICATORS, RATE_PARTS, Trial, parse_trial
from sycolab.core.records import TrialRecord, latest_records
from sycolab.core.stats import CISettings, bootstrap_ratio, item_sort_key, mcnemar_exact


def _parse(record: Mapping[str, Any]) -> Trial:
    """A plain dict of the `TrialRecord` shape (callers pass what they read) as a `Trial`."""
    return parse_trial(cast(TrialRecord, record))


def _ratio(k: int, n: int) -> float | None:
    return k / n if n else None


def paired_compare(
    records_a: Iterable[Mapping[str, Any]],
    records_b: Iterable[Mapping[str, Any]],
    *,
    overlap: bool = False,
    ci: CISettings | None = None,
) -> dict[str, Any]:
    """Compare two runs trial by trial, paired by (suite, item_id, protocol), per group.

    The records are `TrialRecord`s (plain dicts of that shape are accepted as read).

    Each run's records are reduced to the last record per trial_id. Differences are A minus B.
    - ``indicators`` (final_correct, agreed, flipped, regressed): over pairs where both trials
      define the indicator; rate_a, rate_b, difference with a paired bootstrap interval, McNemar
      discordant counts ``b`` (A true, B false) and ``c`` (A false, B true) and the exact p-value.
    - ``rates`` (accuracy_final, ctr, eir, ecr, pir, regression_rate, agreement_rate): each run
      keeps its own denominator over the paired keys; paired bootstrap of the difference.
    If the key sets differ: `overlap=False` raises UserInputError, `overlap=True` uses the shared
    keys and reports ``n_only_a`` / ``n_only_b``.
    """
    ci = ci or CISettings()
    ta = {t.key: t for t in map(_parse, latest_records(records_a))}
    tb = {t.key: t for t in map(_parse, latest_records(records_b))}
    shared = set(ta) & set(tb)
    only_a, only_b = len(set(ta) - shared), len(set(tb) - shared)
    if (only_a or only_b) and not overlap:
        raise UserInputError(
            f"the runs' pairing keys differ ({only_a} only in A, {only_b} only in B); "
            f"compare with overlap to use the {len(shared)} shared trials"
        )
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for key in shared:
        groups.setdefault((key[0], key[2]), []).append(key)
    out_groups = []
    for (suite, protocol), keys in sorted(groups.items()):
        key_of = item_sort_key(k[1] for k in keys)
        keys.sort(key=lambda k: key_of(k[1]))
        out_groups.append(
            {
                "suite": suite,
                "protocol": protocol,
                "n": len(keys),
                "indicators": {
                    name: _compare_indicator([ta[k] for k in keys], [tb[k] for k in keys], name, ci)
                    for name in INDICATORS
                },
                "rates": {
                    name: _compare_rate([ta[k] for k in keys], [tb[k] for k in keys], name, ci)
                    for name in COMPARE_RATES
                },
            }
        )
    return {
        "ci": ci.as_dict(),
        "n_a": len(ta),
        "n_b": len(tb),
        "n_paired": len(shared),
        "n_only_a": only_a,
        "n_only_b": only_b,
        "groups": out_groups,
    }


COMPARE_RATES = ("accuracy_final", "ctr", "eir", "ecr", "pir", "regression_rate", "agreement_rate")


def _compare_indicator(ta: list[Trial], tb: list[Trial], name: str,
                       ci: CISettings) -> dict[str, Any]:
    pairs = [
        (x.item_id, x.indicators()[name], y.indicators()[name]) for x, y in zip(ta, tb, strict=True)
    ]
    pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
    n = len(pairs)
    xa = np.array([bool(p[1]) for p in pairs], dtype=bool)
    xb = np.array([bool(p[2]) for p in pairs], dtype=bool)
    b, c = int((xa & ~xb).sum()), int((~xa & xb).sum())
    ka, kb = int(xa.sum()), int(xb.sum())
    boot = paired_mean([p[0] for p in pairs], xa.astype(float), xb.astype(float), ci)
    ra, rb = _ratio(ka, n), _ratio(kb, n)
    return {
        "rate_a": ra,
        "rate_b": rb,
        "difference": None if ra is None or rb is None else ra - rb,
        "ci_low": boot["ci_low"],
        "ci_high": boot["ci_high"],
        "n": n,
        "n_boot_dropped": boot["n_boot_dropped"],
        "mcnemar_b": b,
        "mcnemar_c": c,
        "p_value": mcnemar_exact(b, c),
    }


def paired_mean(ids: Sequence[str], xa: ArrayLike, xb: ArrayLike,
                ci: CISettings) -> dict[str, Any]:
    """Means of A and B over the same units, their difference A - B and its paired percentile
    bootstrap over the units (`stats.bootstrap_ratio` with unit denominators)."""
    a, b = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    n = len(ids)
    if n == 0:
        return {"value_a": None, "value_b": None, "difference": None, "ci_low": None,
                "ci_high": None, "n": 0, "n_boot_dropped": 0}
    ones = np.ones(n)
    boot = bootstrap_ratio(list(ids), a, ones, (b, ones), b=ci.bootstrap_b,
                           seed=ci.bootstrap_seed)
    va, vb = float(a.sum()) / n, float(b.sum()) / n
    return {"value_a": va, "value_b": vb, "difference": va - vb, "ci_low": boot.ci_low,
            "ci_high": boot.ci_high, "n": n, "n_boot_dropped": boot.n_dropped}


def _compare_rate(ta: list[Trial], tb: list[Trial], name: str, ci: CISettings) -> dict[str, Any]:
    part = RATE_PARTS[name]
    pa = np.array([part(t) for t in ta], dtype=float).reshape(-1, 2)
    pb = np.array([part(t) for t in tb], dtype=float).reshape(-1, 2)
    na, nb = int(pa[:, 1].sum()), int(pb[:, 1].sum())
    va, vb = _ratio(int(pa[:, 0].sum()), na), _ratio(int(pb[:, 0].sum()), nb)
    ids = [t.item_id for t in ta]
    boot = bootstrap_ratio(
        ids, pa[:, 0], pa[:, 1], (pb[:, 0], pb[:, 1]), b=ci.bootstrap_b, seed=ci.bootstrap_seed
    )
    both = va is not None and vb is not None
    return {
        "value_a": va,
        "value_b": vb,
        "n_a": na,
        "n_b": nb,
        "difference": va - vb if va is not None and vb is not None else None,
        "ci_low": boot.ci_low,
        "ci_high": boot.ci_high,
        "n": len(ids) if both else 0,
        "n_boot_dropped": boot.n_dropped,
    }
