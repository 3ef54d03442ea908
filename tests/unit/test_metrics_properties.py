"""Hypothesis property tests: invariants of compute_results."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sycolab.core.metrics import compute_results, trial_indicators
from sycolab.core.records import TrialRecord
from sycolab.core.stats import CISettings, wilson

CI = CISettings(bootstrap_b=40)
ANSWER = st.sampled_from(["a", "b", "c", None])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def trial(draw: st.DrawFn, protocol: str, steps: int, item: int) -> TrialRecord:
    answers = draw(st.lists(ANSWER, min_size=steps, max_size=steps))
    return {
        "trial_id": f"{protocol}-{item}", "suite": "s", "item_id": str(item),
        "protocol": protocol, "gold": draw(st.sampled_from(["a", None, "a"])),
        "suggested": draw(st.sampled_from(["b", None])), "conditions": ["x"] * steps,
        "answers": answers, "letters": [draw(st.sampled_from(["A", "B", None])) for _ in answers],
        "error": draw(st.sampled_from([None] * 6 + ["err"])),
    }  # fmt: skip


@st.composite
def run(draw: st.DrawFn, steps: int | None = None) -> list[TrialRecord]:
    out: list[TrialRecord] = []
    for protocol, k in [("are-you-sure", 2), ("reask", 2), ("pushback", 4), ("persona", 1)]:
        k = steps or k
        out.extend(draw(trial(protocol, k, item)) for item in range(draw(st.integers(0, 12))))
    return out


def metric_values(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for g in results["groups"] for m in g["metrics"].values()]


@FAST
@given(run())
def test_rates_in_range_and_wilson_contains_value(records: list[TrialRecord]) -> None:
    res = compute_results(records, ci=CI)
    json.dumps(res, allow_nan=False)
    for g in res["groups"]:
        for name, m in g["metrics"].items():
            if m["value"] is None:
                assert m["n"] == 0 and m["ci_low"] is None
                continue
            if name in ("flipflop_effect", "agreement_corrected"):
                assert -1 <= m["value"] <= 1
            elif name in ("tof_mean", "nof_mean"):
                assert 0 <= m["value"] <= 3
            else:
                assert 0 <= m["value"] <= 1
                assert m["ci_low"] <= m["value"] <= m["ci_high"]
                assert (m["ci_low"], m["ci_high"]) == wilson(round(m["value"] * m["n"]), m["n"])
            if m["ci_low"] is not None:
                assert m["ci_low"] <= m["ci_high"]


@FAST
@given(run())
def test_counts_match_indicators_and_transitions(records: list[TrialRecord]) -> None:
    res = compute_results(records, ci=CI)
    for g in res["groups"]:
        mine = [r for r in records if r["protocol"] == g["protocol"]]
        ind = [trial_indicators(r) for r in mine]
        flips = [i["flipped"] for i in ind if i["flipped"] is not None]
        m = g["metrics"]
        assert m["ctr"]["n"] == len(flips)
        if flips:
            assert round(m["ctr"]["value"] * m["ctr"]["n"]) == sum(flips)
            assert m["ctr"]["value"] == sum(flips) / len(flips)
        ok = [r for r in mine if r["error"] is None]
        assert g["n"] == len(mine) and g["n_errors"] == len(mine) - len(ok)
        assert g["n_excluded"] == len(ok) - len(flips)
        tr = g["transition"]
        if tr is None:
            assert all(r["gold"] is None for r in ok)
            continue
        c0 = tr["correct_to_correct"] + tr["correct_to_wrong"]
        w0 = tr["wrong_to_correct"] + tr["wrong_to_wrong"]
        assert m["eir"]["n"] == c0 and m["ecr"]["n"] == w0
        assert m["regression_rate"]["n"] == c0 + w0 == tr["n"]
        if c0:
            assert m["eir"]["value"] == tr["correct_to_wrong"] / c0
            assert m["regression_rate"]["value"] == tr["correct_to_wrong"] / (c0 + w0)
        if w0:
            assert m["ecr"]["value"] == tr["wrong_to_correct"] / w0


@FAST
@given(run())
def test_flipflop_and_agreement_corrected_are_differences(records: list[TrialRecord]) -> None:
    for g in compute_results(records, ci=CI)["groups"]:
        m = g["metrics"]
        for diff, a, b in [
            ("flipflop_effect", "accuracy_final", "accuracy_baseline"),
            ("agreement_corrected", "agreement_rate", "agreement_baseline"),
        ]:
            if m[a]["value"] is None or g["steps"] < 2:  # one step: undefined, not zero
                assert m[diff]["value"] is None
            else:
                assert m[diff]["value"] == m[a]["value"] - m[b]["value"]
                assert m[diff]["n"] == m[a]["n"]


@FAST
@given(run(), st.randoms(use_true_random=False))
def test_order_and_resume_invariance(records: list[TrialRecord], rnd: random.Random) -> None:
    base = compute_results(records, ci=CI)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    assert compute_results(shuffled, ci=CI) == base
    # a resume: earlier, different attempts of some trials come before their last record
    stale = [r | {"answers": list(reversed(r["answers"])), "error": "oom"} for r in records[::2]]
    assert compute_results(stale + shuffled, ci=CI) == base
    assert compute_results(records + records, ci=CI) == base


@FAST
@given(run(steps=4))
def test_survival_non_increasing_and_tof_nof_bounds(records: list[TrialRecord]) -> None:
    for g in compute_results(records, ci=CI)["groups"]:
        surv = g["survival"]
        if g["n"] == g["n_errors"]:  # steps are read from non-errored trials only
            assert surv is None
            continue
        assert surv is not None and [s["t"] for s in surv] == [1, 2, 3]
        vals = [s["value"] for s in surv]
        if vals[0] is None:
            assert g["metrics"]["tof_mean"]["value"] is None
            continue
        assert all(x >= y for x, y in itertools.pairwise(vals))
        m = g["metrics"]
        # ToF >= t exactly when the answer survives through t: mean ToF = sum of survival
        assert abs(m["tof_mean"]["value"] - sum(vals)) < 1e-12
        # a changed answer flipped at least once
        assert m["nof_mean"]["value"] >= 1 - vals[-1] - 1e-12
        assert 1 - vals[-1] >= m["ctr"]["value"]  # a final change implies a change somewhere
