"""Intervals and paired tests (README, "Metrics", "Intervals").

- Proportions: Wilson score interval, no continuity correction.
- Means and differences: seeded percentile bootstrap over units (items or pairing keys), with a
  fresh ``numpy.random.default_rng(seed)`` per (group, metric), units sorted by item id
  (numerically when every id is an integer), ``idx = rng.integers(0, n, size=(B, n))``, resamples
  with an empty denominator dropped and counted, ``numpy.percentile(..., [2.5, 97.5],
  method="linear")``.
- Paired comparison of two runs (`sycolab.core.paired`) uses `mcnemar_exact` and
  `bootstrap_ratio`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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

    Raises ValueError for n <= 0 or k outside 0..n; the bounds are exactly 0 at k = 0 and 1 at
    k = n.
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


def _draws(ids: Sequence[str], b: int, seed: int) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The units in the contract's order and `b` resamples of their positions (seeded)."""
    order = np.asarray(unit_order(ids), dtype=np.intp)
    return order, np.random.default_rng(seed).integers(0, len(ids), size=(b, len(ids)))


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
    order, idx = _draws(ids, b, seed)
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


def bootstrap_column_means(ids: Sequence[str], values: ArrayLike, *, b: int = DEFAULT_B,
                           seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile bootstrap intervals of each column's mean of `values` (units, columns), every
    column resampled with the same unit draws (the contract's unit order and seed). NaN when
    there are no units."""
    arr = np.asarray(values, dtype=float)
    n = len(ids)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError("bootstrap_column_means: one row per unit")
    if n == 0:
        nan = np.full(arr.shape[1], np.nan)
        return nan, nan.copy()
    order, idx = _draws(ids, b, seed)
    means = arr[order][idx].mean(axis=1)  # (b, columns)
    low, high = np.percentile(means, [2.5, 97.5], axis=0, method="linear")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def spearman(x: ArrayLike, y: ArrayLike) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None with fewer than 2 values or
    a constant column."""
    a, c = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size < 2 or a.size != c.size:
        return None

    def ranks(v: NDArray[np.float64]) -> NDArray[np.float64]:
        order = np.argsort(v, kind="stable")
        r = np.empty(v.size)
        r[order] = np.arange(v.size, dtype=float)
        for value in np.unique(v):  # ties share their average rank
            tie = v == value
            r[tie] = r[tie].mean()
        return r

    ra, rc = ranks(a), ranks(c)
    if ra.std() == 0 or rc.std() == 0:
        return None
    return float(np.corrcoef(ra, rc)[0, 1])
