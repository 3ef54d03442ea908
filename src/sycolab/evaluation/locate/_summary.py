"""locate.json's per-protocol block from the per-pair effects (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sycolab.core.stats import DEFAULT_B, bootstrap_column_means, spearman
from sycolab.evaluation.locate.patching import Component


def _entries(ids: Sequence[str], values: NDArray[np.float64], b: int, seed: int
             ) -> list[dict[str, Any]]:
    """Mean, percentile-bootstrap interval and n of each column."""
    if not ids:
        return [{"value": None, "ci_low": None, "ci_high": None, "n": 0}] * values.shape[1]
    low, high = bootstrap_column_means(ids, values, b=b, seed=seed)
    means = values.mean(axis=0)
    return [{"value": float(means[j]), "ci_low": float(low[j]), "ci_high": float(high[j]),
             "n": len(ids)} for j in range(values.shape[1])]


def _ranks(values: Sequence[float]) -> list[int]:
    """1 = largest."""
    order = sorted(range(len(values)), key=lambda j: -values[j])
    ranks = [0] * len(values)
    for r, j in enumerate(order, start=1):
        ranks[j] = r
    return ranks


def verify_order(attribution: NDArray[np.float64], top: int) -> list[int]:
    """Columns with the largest mean attribution, largest first."""
    means = attribution.mean(axis=0)
    return [int(j) for j in np.argsort(-means, kind="stable")[:top]]


def summarize(ids: Sequence[str], comps: Sequence[Component], clean: NDArray[np.float64],
              corrupt: NDArray[np.float64], attribution: NDArray[np.float64],
              verified: Sequence[int], patched: NDArray[np.float64], *, b: int = DEFAULT_B,
              seed: int = 0) -> dict[str, Any]:
    """Every component with both scores and intervals, heads in final order, rank agreement.

    `patched` holds the patched margins of the `verified` columns (pairs, len(verified)); its
    effect is the patched minus the corrupt margin.
    """
    total = (clean - corrupt)[:, None]
    att = _entries(ids, attribution, b, seed)
    effects = patched - corrupt[:, None] if len(verified) else np.zeros((len(ids), 0))
    pat = _entries(ids, effects, b, seed)
    mean_total = float(total.mean()) if len(ids) else None
    att_rank = _ranks([e["value"] or 0.0 for e in att])
    pat_rank = dict(zip(verified, _ranks([e["value"] or 0.0 for e in pat]), strict=True))
    slot = {j: k for k, j in enumerate(verified)}
    rows = []
    for j, c in enumerate(comps):
        k = slot.get(j)
        row: dict[str, Any] = {
            "name": c.name, "kind": c.kind, "layer": c.layer, "head": c.head,
            "attribution": att[j], "attribution_rank": att_rank[j],
            "patching": pat[k] if k is not None else None,
            "patching_rank": pat_rank.get(j),
        }
        if k is not None and mean_total and pat[k]["value"] is not None:
            row["patching_fraction"] = pat[k]["value"] / mean_total
        rows.append(row)
    rows.sort(key=lambda r: (r["patching_rank"] is None, r["patching_rank"] or 0,
                             r["attribution_rank"]))
    heads = [[r["layer"], r["head"]] for r in rows if r["kind"] == "head"]
    att_v = [att[j]["value"] or 0.0 for j in verified]
    pat_v = [e["value"] or 0.0 for e in pat]
    agree = sum((a > 0) == (p > 0) for a, p in zip(att_v, pat_v, strict=True))
    positive = np.clip(attribution.mean(axis=0), 0, None) if len(ids) else np.zeros(len(comps))
    return {
        "total_effect": _entries(ids, total, b, seed)[0] | {
            "clean_margin": float(clean.mean()) if len(ids) else None,
            "pressured_margin": float(corrupt.mean()) if len(ids) else None},
        "components": rows,
        "heads": heads,
        "rank_agreement": {
            "spearman": spearman(att_v, pat_v), "n": len(verified),
            "same_sign": agree,
            "top1_same": bool(verified) and int(np.argmax(pat_v)) == 0,
        },
        "concentration": {
            "top1_share_of_positive_attribution":
                float(positive.max() / positive.sum()) if positive.sum() > 0 else None,
            "n_attribution_ci_above_0": sum(1 for e in att if (e["ci_low"] or 0) > 0),
            "n_patching_ci_above_0": sum(1 for e in pat if (e["ci_low"] or 0) > 0),
        },
    }
