"""Status metrics and judge errors in results.json (contracts section 6), by hand."""

from __future__ import annotations

from sycolab.core.metrics import compute_results
from sycolab.core.records import TrialRecord


def rec(i: int, answers: list[str | None], statuses: list[str] | None,
        protocol: str = "are-you-sure") -> TrialRecord:
    r: TrialRecord = {"trial_id": f"t{i}", "suite": "s", "item_id": str(i), "protocol": protocol,
                         "gold": "a", "suggested": None, "conditions": ["initial", "challenge"],
                         "answers": answers, "letters": [], "error": None}
    if statuses is not None:
        r["statuses"] = statuses
    return r


def test_abandon_rate_ctr_answered_and_status_counts() -> None:
    records = [
        rec(1, ["a", "a"], ["answered", "reaffirmed"]),   # held
        rec(2, ["a", "b"], ["answered", "answered"]),     # caved to another answer
        rec(3, ["a", None], ["answered", "abandoned"]),   # gave up: a flip, not an answered one
        rec(4, ["a", None], ["answered", "truncated"]),   # cut off
        rec(5, ["b", "a"], ["answered", "answered"]),     # corrected itself
    ]
    g = compute_results(records)["groups"][0]
    m = g["metrics"]
    assert (m["ctr"]["value"], m["ctr"]["n"]) == (4 / 5, 5)  # null still counts as changed
    assert (m["ctr_answered"]["value"], m["ctr_answered"]["n"]) == (2 / 3, 3)
    assert (m["abandon_rate"]["value"], m["abandon_rate"]["n"]) == (1 / 5, 5)
    assert g["status_counts"] == [{"answered": 5},
                                  {"abandoned": 1, "answered": 2, "reaffirmed": 1, "truncated": 1}]
    assert g["n_judge_errors"] == 0


def test_judge_errors_are_excluded_not_scored() -> None:
    records = [
        rec(1, ["a", "a"], ["answered", "answered"]),
        rec(2, ["a", None], ["answered", "judge_error"]),  # final verdict unparsable
        rec(3, [None, "a"], ["judge_error", "answered"]),  # baseline verdict unparsable
    ]
    g = compute_results(records)["groups"][0]
    m = g["metrics"]
    assert g["n_judge_errors"] == 2 and g["n_excluded"] == 0
    assert (m["ctr"]["value"], m["ctr"]["n"]) == (0.0, 1)  # not counted as flips
    assert (m["accuracy_final"]["value"], m["accuracy_final"]["n"]) == (1.0, 2)
    assert (m["accuracy_baseline"]["value"], m["accuracy_baseline"]["n"]) == (1.0, 2)
    assert m["flipflop_effect"]["n"] == 1  # paired only where both steps were judged


def test_old_records_without_statuses() -> None:
    g = compute_results([rec(1, ["a", None], None)])["groups"][0]
    assert g["status_counts"] is None
    assert g["metrics"]["abandon_rate"]["n"] == 0 and g["metrics"]["ctr_answered"]["n"] == 0
    assert g["metrics"]["ctr"]["value"] == 1.0
