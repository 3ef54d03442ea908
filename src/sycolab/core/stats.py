"""Intervals and paired tests (contracts section 5, "Intervals").

- Proportions: Wilson score interval, no continuity correction.
- Means and differences: seeded percentile bootstrap over units (items or pairing keys), with a
  fresh ``numpy.random.default_rng(seed)`` per (group, metric), units sorted by item id
  (numerically when every id is an integer), ``idx = rng.integers(0, n, size=(B, n))``, resamples
  with an empty denominator dropped and counted, ``numpy.percentile(..., [2.5, 97.5],
  method="linear")``.
- Paired comparison of two runs: exact two-sided McNemar for binary indicators, paired bootstrap of
  the difference for rates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sycolab.core.errors import UserInputError

Z95 = 1.959964
DEFAULT_B = 2000
_INT = re.compile(r"^[-+]?\d+$")


@dataclass(frozen=True)
class CISettings:
    """Interval settings, written as the ``ci`` block of results.json."""

    z: float = Z95
    bootstrap_b: int = DEFAULT_B
    bootstrap_seed: int = 0
    method: str = "wilson+bootstrap"

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "z": self.z,
            "bootstrap_b": self.bootstrap_b,
            "bootstrap_seed": self.bootstrap_seed,
        }


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (no continuity correction).

    Raises ValueError for n <= 0 or k outside 0..n; the bounds are exactly 0 at k = 0 and 1 at k = n.
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n and n > 0, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, center - half)
    high = 1.0 if k == n else min(1.0, center + half)
    return low, high


def item_sort_key(ids: Iterable[str]) -> Any:
    """A sort key for item ids: numeric when every id is an integer, else by string."""
    ids = list(ids)
    if ids and all(_INT.match(i) for i in ids):
        return lambda i: (int(i), i)
    return lambda i: i


def unit_order(ids: Sequence[str]) -> list[int]:
    """Positions of `ids` in bootstrap order (stable, numeric when every id is an integer)."""
    key = item_sort_key(ids)
    return sorted(range(len(ids)), key=lambda j: key(ids[j]))


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile interval; None when n = 0 or every resample was dropped."""

    ci_low: float | None
    ci_high: float | None
    n_dropped: int


def bootstrap_ratio(
    ids: Sequence[str],
    num: ArrayLike,
    den: ArrayLike,
    minus: tuple[ArrayLike, ArrayLike] | None = None,
    *,
    b: int = DEFAULT_B,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile bootstrap of ``sum(num)/sum(den) [- sum(num2)/sum(den2)]`` over units.

    One unit per entry of `ids` (sorted as the contract says before resampling); `num`/`den`
    (and `minus` = (num2, den2)) hold each unit's contribution. A mean is ``den = 1``. Resamples
    whose denominator (either one, for a difference) sums to 0 are dropped and counted.
    """
    n = len(ids)
    cols = [np.asarray(num, dtype=float), np.asarray(den, dtype=float)]
    if minus is not None:
        cols += [np.asarray(minus[0], dtype=float), np.asarray(minus[1], dtype=float)]
    if any(c.shape != (n,) for c in cols):
        raise ValueError("bootstrap_ratio: every column needs one value per unit")
    if n == 0:
        return BootstrapResult(None, None, 0)
    order = np.asarray(unit_order(ids), dtype=np.intp)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(b, n))
    sums = [c[order][idx].sum(axis=1) for c in cols]
    valid = sums[1] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        values: NDArray[np.float64] = sums[0] / sums[1]
        if minus is not None:
            valid &= sums[3] > 0
            values = values - sums[2] / sums[3]
    kept = values[valid]
    dropped = int(b - kept.size)
    if kept.size == 0:
        return BootstrapResult(None, None, dropped)
    low, high = np.percentile(kept, [2.5, 97.5], method="linear")
    return BootstrapResult(float(low), float(high), dropped)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: min(1, 2 * P[Binomial(b + c, 1/2) <= min(b, c)]).

    `b` and `c` are the discordant pair counts; p = 1 when both are 0.
    """
    if b < 0 or c < 0:
        raise ValueError("mcnemar_exact needs non-negative counts")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / (1 << n))


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

    Each run's records are reduced to the last record per trial_id. Differences are A minus B.
    - ``indicators`` (final_correct, agreed, flipped, regressed): over pairs where both trials
      define the indicator; rate_a, rate_b, difference with a paired bootstrap interval, McNemar
      discordant counts ``b`` (A true, B false) and ``c`` (A false, B true) and the exact p-value.
    - ``rates`` (accuracy_final, ctr, eir, ecr, pir, regression_rate, agreement_rate): each run
      keeps its own denominator over the paired keys; paired bootstrap of the difference.
    If the key sets differ: `overlap=False` raises UserInputError, `overlap=True` uses the shared
    keys and reports ``n_only_a`` / ``n_only_b``.
    """
    from sycolab.core import group_metrics as gm

    ci = ci or CISettings()
    ta = {t.key: t for t in map(gm.parse_trial, gm.latest_records(records_a))}
    tb = {t.key: t for t in map(gm.parse_trial, gm.latest_records(records_b))}
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
                    for name in gm.INDICATORS
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


def _compare_indicator(ta: list[Any], tb: list[Any], name: str, ci: CISettings) -> dict[str, Any]:
    pairs = [
        (x.item_id, x.indicators()[name], y.indicators()[name]) for x, y in zip(ta, tb, strict=True)
    ]
    pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
    n = len(pairs)
    xa = np.array([bool(p[1]) for p in pairs], dtype=bool)
    xb = np.array([bool(p[2]) for p in pairs], dtype=bool)
    b, c = int((xa & ~xb).sum()), int((~xa & xb).sum())
    ka, kb = int(xa.sum()), int(xb.sum())
    ones = np.ones(n)
    boot = bootstrap_ratio(
        [p[0] for p in pairs], xa, ones, (xb, ones), b=ci.bootstrap_b, seed=ci.bootstrap_seed
    )
    ra, rb = _ratio(ka, n), _ratio(kb, n)
    return {
        "rate_a": ra,
        "rate_b": rb,
        "difference": None if ra is None or rb is None else ra - rb,
        "ci_low": boot.ci_low,
        "ci_high": boot.ci_high,
        "n": n,
        "n_boot_dropped": boot.n_dropped,
        "mcnemar_b": b,
        "mcnemar_c": c,
        "p_value": mcnemar_exact(b, c),
    }


def _compare_rate(ta: list[Any], tb: list[Any], name: str, ci: CISettings) -> dict[str, Any]:
    from sycolab.core.group_metrics import RATE_PARTS

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
