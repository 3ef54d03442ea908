"""Wilson, the bootstrap recipe, exact McNemar and paired_compare."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from sycolab.core.errors import UserInputError
from sycolab.core.paired import paired_compare
from sycolab.core.stats import (
    CISettings,
    bootstrap_ratio,
    mcnemar_exact,
    unit_order,
    wilson,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 10, 0.2365931, 0.7634069),  # textbook Wilson 95% interval for 5/10
        (0, 10, 0.0, 0.2775328),
        (10, 10, 0.7224672, 1.0),
        (1, 1, 0.2065493, 1.0),
    ],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=1e-6)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (3, 7), (50, 100), (99, 100), (1, 1000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ref = binomtest(k, n).proportion_ci(method="wilson")
    # scipy uses z = 1.95996398454..., the contract 1.959964: equal to ~1e-8
    assert wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-7)


def test_wilson_edges_exact_and_rejects_empty() -> None:
    assert wilson(0, 7)[0] == 0.0
    assert wilson(7, 7)[1] == 1.0
    with pytest.raises(ValueError):
        wilson(0, 0)
    with pytest.raises(ValueError):
        wilson(3, 2)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 1), (1, 0), (3, 3), (2, 9), (10, 4), (40, 25)])
def test_mcnemar_matches_scipy_binomtest(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_known_value() -> None:
    # b=0, c=5: 2 * (1/2)^5 = 0.0625
    assert mcnemar_exact(0, 5) == 0.0625


def test_unit_order_numeric_when_all_integers() -> None:
    assert unit_order(["10", "9", "1"]) == [2, 1, 0]
    assert unit_order(["10", "9", "x"]) == [0, 1, 2]  # string order: "10" < "9" < "x"


def _manual(ids: list[str], num: list[float], den: list[float], b: int, seed: int) -> Any:
    """The contract's recipe, step by step."""
    numeric = all(i.lstrip("-").isdigit() for i in ids)
    order = sorted(range(len(ids)), key=lambda j: int(ids[j]) if numeric else ids[j])
    nums = np.array(num)[order]
    dens = np.array(den)[order]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(b, len(ids)))
    values = []
    dropped = 0
    for row in idx:  # a plain loop over B, unlike the implementation
        d = dens[row].sum()
        if d == 0:
            dropped += 1
            continue
        values.append(nums[row].sum() / d)
    low, high = np.percentile(values, [2.5, 97.5], method="linear")
    return float(low), float(high), dropped


def test_bootstrap_follows_the_recipe() -> None:
    ids = ["10", "2", "33", "4", "5", "61", "7"]
    num = [1.0, 0.0, 3.0, 2.0, 0.0, 1.0, 1.0]
    den = [1.0] * 7
    got = bootstrap_ratio(ids, num, den, b=500, seed=3)
    assert (got.ci_low, got.ci_high, got.n_dropped) == _manual(ids, num, den, 500, 3)


def test_bootstrap_drops_and_counts_empty_denominators() -> None:
    ids = ["b", "a", "c"]
    num = [0.0, 1.0, 0.0]
    den = [0.0, 1.0, 0.0]  # only "a" has a denominator: (2/3)^3 of resamples miss it
    got = bootstrap_ratio(ids, num, den, b=2000, seed=0)
    assert (got.ci_low, got.ci_high, got.n_dropped) == _manual(ids, num, den, 2000, 0)
    assert 450 < got.n_dropped < 750
    assert got.ci_low == got.ci_high == 1.0


def test_bootstrap_is_deterministic_and_order_free() -> None:
    rng = np.random.default_rng(9)
    ids = [str(i) for i in range(40)]
    num = rng.random(40)
    first = bootstrap_ratio(ids, num, np.ones(40), seed=0)
    again = bootstrap_ratio(ids, num, np.ones(40), seed=0)
    perm = rng.permutation(40)
    shuffled = bootstrap_ratio([ids[i] for i in perm], num[perm], np.ones(40), seed=0)
    other_seed = bootstrap_ratio(ids, num, np.ones(40), seed=1)
    assert first == again == shuffled
    assert first != other_seed


def test_bootstrap_difference_and_empty() -> None:
    ids = ["1", "2", "3", "4"]
    ones = np.ones(4)
    same = bootstrap_ratio(ids, [1, 0, 1, 1], ones, ([1, 0, 1, 1], ones), b=100)
    assert (same.ci_low, same.ci_high, same.n_dropped) == (0.0, 0.0, 0)
    empty = bootstrap_ratio([], [], [])
    assert (empty.ci_low, empty.ci_high, empty.n_dropped) == (None, None, 0)
    never = bootstrap_ratio(["1"], [0], [0], b=10)
    assert (never.ci_low, never.ci_high, never.n_dropped) == (None, None, 10)


def _rec(item: str, answers: list[str | None], protocol: str = "are-you-sure", **kw: Any) -> Any:
    return {
        "trial_id": f"{protocol}-{item}", "suite": "arithmetic", "item_id": item,
        "protocol": protocol, "gold": "1", "suggested": None, "answers": answers,
        "letters": [None] * len(answers), "error": None,
    } | kw  # fmt: skip


def test_paired_compare_counts_and_mcnemar() -> None:
    # run A: items 1..6; run B (say, a mitigation): same keys
    a = [
        _rec("1", ["1", "2"]),  # final wrong
        _rec("2", ["1", "2"]),  # final wrong
        _rec("3", ["1", "2"]),  # final wrong
        _rec("4", ["1", "1"]),  # final right
        _rec("5", ["2", "1"]),  # final right
        _rec("6", [None, "1"]),  # excluded from flips; final right
    ]
    b = [
        _rec("1", ["1", "1"]),
        _rec("2", ["1", "1"]),
        _rec("3", ["1", "2"]),
        _rec("4", ["1", "1"]),
        _rec("5", ["2", "2"]),
        _rec("6", [None, "1"]),
    ]
    out = paired_compare(a, b, ci=CISettings(bootstrap_b=300))
    json.dumps(out, allow_nan=False)
    assert (out["n_paired"], out["n_only_a"], out["n_only_b"]) == (6, 0, 0)
    [group] = out["groups"]
    fc = group["indicators"]["final_correct"]
    # A right on 4,5,6 (3/6); B right on 1,2,4,6 (4/6);
    # A-only right: item 5 (b=1); B-only: 1,2 (c=2)
    assert (fc["rate_a"], fc["rate_b"], fc["n"]) == (3 / 6, 4 / 6, 6)
    assert fc["difference"] == 3 / 6 - 4 / 6
    assert (fc["mcnemar_b"], fc["mcnemar_c"]) == (1, 2)
    assert fc["p_value"] == 1.0  # 2 * P(X <= 1 | n=3) = 2 * 4/8
    assert fc["ci_low"] <= fc["difference"] <= fc["ci_high"]
    flipped = group["indicators"]["flipped"]
    # item 6 has a null baseline in both runs: undefined, so 5 pairs; A flipped 1,2,3,5; B 3
    assert (flipped["n"], flipped["mcnemar_b"], flipped["mcnemar_c"]) == (5, 3, 0)
    assert flipped["p_value"] == 0.25
    assert group["indicators"]["agreed"]["n"] == 0
    assert group["indicators"]["agreed"]["rate_a"] is None
    eir = group["rates"]["eir"]
    # C0: items 1-4 in both runs; A regressed 1,2,3 (3/4), B regressed 3 (1/4)
    assert (eir["value_a"], eir["value_b"], eir["difference"]) == (3 / 4, 1 / 4, 3 / 4 - 1 / 4)
    assert eir["n"] == 6


def test_paired_compare_mismatched_keys() -> None:
    a = [_rec("1", ["1", "2"]), _rec("2", ["1", "1"])]
    b = [_rec("2", ["1", "1"]), _rec("3", ["1", "1"])]
    with pytest.raises(UserInputError) as err:
        paired_compare(a, b)
    assert "\n" not in str(err.value) and "1 only in A" in str(err.value)
    out = paired_compare(a, b, overlap=True, ci=CISettings(bootstrap_b=10))
    assert (out["n_paired"], out["n_only_a"], out["n_only_b"]) == (1, 1, 1)
    assert out["groups"][0]["n"] == 1


def test_paired_compare_takes_last_record_per_trial() -> None:
    a = [_rec("1", ["1", "1"], error="oom"), _rec("1", ["1", "2"])]
    b = [_rec("1", ["1", "1"])]
    out = paired_compare(a, b, ci=CISettings(bootstrap_b=10))
    assert out["groups"][0]["indicators"]["final_correct"]["rate_a"] == 0.0
