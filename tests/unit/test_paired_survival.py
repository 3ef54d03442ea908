"""The paired comparison of two runs' survival curves (`sycolab.core.paired_survival`)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sycolab.core.group_metrics import group_result, parse_trial
from sycolab.core.paired_survival import SURVIVAL_PROTOCOLS, paired_survival
from sycolab.core.records import TrialRecord
from sycolab.core.stats import CISettings

CI = CISettings(bootstrap_b=400)


def rec(item: str, answers: list[str | None], protocol: str = "pushback-4",
        suite: str = "arithmetic", error: str | None = None) -> dict[str, Any]:
    return {"trial_id": f"{suite}|{item}|{protocol}", "suite": suite, "item_id": item,
            "protocol": protocol, "gold": "7", "suggested": "9", "answers": answers,
            "error": error}


def run(pattern: list[list[str | None]], protocol: str = "pushback-4") -> list[dict[str, Any]]:
    return [rec(str(i), a, protocol) for i, a in enumerate(pattern)]


def test_identical_runs_differ_by_zero() -> None:
    recs = run([["7", "7", "9", "9", "9"], ["7"] * 5, ["7", "9", "9", "9", "9"],
                ["9", "9", "9", "9", "9"], ["7", "7", "7", "9", "7"]])
    out = paired_survival(recs, recs, ci=CI)
    (g,) = out["groups"]
    assert (g["suite"], g["protocol"], g["steps"], g["n_usable"]) == ("arithmetic", "pushback-4",
                                                                        5, 5)
    assert [t["t"] for t in g["turns"]] == [1, 2, 3, 4]
    for t in g["turns"]:
        assert t["difference"] == 0.0 and t["ci_low"] <= 0.0 <= t["ci_high"]
        assert t["value_a"] == t["value_b"] and t["n"] == 5
    # hand-computed: held after 1 turn: items 0, 1, 3, 4; after 2: 1, 3, 4; after 3: 1, 3
    assert [t["value_a"] for t in g["turns"]] == [0.8, 0.6, 0.4, 0.4]
    assert g["tof_mean"]["difference"] == 0.0
    assert g["tof_mean"]["value_a"] == pytest.approx((1 + 4 + 0 + 4 + 2) / 5)


def test_flip_at_turn_one_vs_never_is_minus_one() -> None:
    n = 12
    flips = run([["7", "9", "9", "9", "9"]] * n)
    holds = run([["7"] * 5] * n)
    (g,) = paired_survival(flips, holds, ci=CI)["groups"]
    for t in g["turns"]:
        assert (t["value_a"], t["value_b"], t["difference"]) == (0.0, 1.0, -1.0)
        assert (t["ci_low"], t["ci_high"], t["n"]) == (-1.0, -1.0, n)
        assert t["held_a"]["value"] == 0.0 and t["held_b"]["ci_high"] == 1.0
    assert g["tof_mean"]["difference"] == -4.0  # ToF 0 against K = 4


def test_missing_and_unusable_items_are_dropped_and_counted() -> None:
    a = run([["7"] * 5, ["7", "9", "9", "9", "9"], ["7"] * 5, [None, "7", "7", "7", "7"]])
    a.append(rec("only-a", ["7"] * 5))
    b = run([["7"] * 5, ["7"] * 5, ["7"] * 5, ["7"] * 5])[:3]  # item 3 missing in B
    b[2]["error"] = "backend down"  # item 2 errored in B: unusable
    b.append(rec("only-b", ["7"] * 5))
    (g,) = paired_survival(a, b, ci=CI)["groups"]
    assert (g["n_paired"], g["n_usable"], g["n_unusable"]) == (3, 2, 1)
    assert (g["n_only_a"], g["n_only_b"]) == (2, 1)  # item 3 and only-a; only-b
    assert g["turns"][0]["n"] == 2
    assert g["turns"][0]["difference"] == pytest.approx(-0.5)  # items 0, 1: held 1/2 vs 2/2


def test_groups_in_both_runs_and_multi_turn_only() -> None:
    a = run([["7", "9"]], "are-you-sure") + run([["7", "9"]], "suggest-incorrect") + run(
        [["7"] * 3], "pushback-2")
    b = run([["7", "7"]], "are-you-sure") + run([["7", "7"]], "suggest-incorrect")
    out = paired_survival(a, b, ci=CI)
    assert [g["protocol"] for g in out["groups"]] == ["are-you-sure"]
    (g,) = out["groups"]
    assert g["tof_mean"] is None  # two steps: results.json reports no ToF either
    assert g["turns"][0]["difference"] == -1.0
    assert "pushback-8" in SURVIVAL_PROTOCOLS and "suggest-incorrect" not in SURVIVAL_PROTOCOLS
    assert "sycon-base" not in SURVIVAL_PROTOCOLS  # field stance: its own survival block


def test_each_side_equals_the_single_run_survival() -> None:
    recs = run([["7", "7", "9", "9", "9"], ["7"] * 5, ["7", "9", "7", "9", "9"],
                ["9", "7", "9", "9", "9"], ["7", "7", "7", "9", "7"], ["7", "7", "7", "7", "8"]])
    other = run([["7"] * 5] * 6)
    (g,) = paired_survival(recs, other, ci=CI)["groups"]
    trials = [parse_trial(cast(TrialRecord, r)) for r in recs]
    single = group_result("arithmetic", "pushback-4", trials, 0, CI)
    for t, s in zip(g["turns"], single["survival"], strict=True):
        assert t["t"] == s["t"] and t["held_a"] == {k: s[k] for k in t["held_a"]}
    assert g["tof_mean"]["value_a"] == single["metrics"]["tof_mean"]["value"]


def test_last_record_per_trial_wins() -> None:
    first = rec("1", ["7", "9", "9", "9", "9"])
    retried = rec("1", ["7"] * 5)
    (g,) = paired_survival([first, retried], [rec("1", ["7"] * 5)], ci=CI)["groups"]
    assert g["turns"][0]["difference"] == 0.0


answers = st.lists(st.sampled_from(["7", "9", "8", None]), min_size=4, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(answers, answers), min_size=1, max_size=12))
def test_difference_bounded_and_antisymmetric(pairs: list[tuple[list[str | None],
                                                                 list[str | None]]]) -> None:
    a = run([["7", *x] for x, _ in pairs])
    b = run([["7", *y] for _, y in pairs])
    ci = CISettings(bootstrap_b=50)
    (g,) = paired_survival(a, b, ci=ci)["groups"]
    (h,) = paired_survival(b, a, ci=ci)["groups"]
    for t, u in zip(g["turns"], h["turns"], strict=True):
        assert -1.0 <= t["difference"] <= 1.0
        assert -1.0 <= t["ci_low"] <= t["ci_high"] <= 1.0
        assert u["difference"] == -t["difference"]
        assert u["ci_low"] == pytest.approx(-t["ci_high"]) and u["ci_high"] == pytest.approx(
            -t["ci_low"])
    assert h["tof_mean"]["difference"] == -g["tof_mean"]["difference"]
