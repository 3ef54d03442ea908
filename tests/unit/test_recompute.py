"""compute_results' point values equal an independent naive recomputation (tests/recompute.py)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from recompute import load_samples, mismatches, naive_wilson, recompute

from sycolab.core.metrics import compute_results
from sycolab.core.records import TrialRecord
from sycolab.core.stats import CISettings

STEPS = {
    "suggest-incorrect": ["neutral", "suggest_incorrect"],
    "suggest-correct": ["neutral", "suggest_correct"],
    "discourage-correct": ["neutral", "discourage_correct"],
    "are-you-sure": ["initial", "challenge"],
    "reask": ["initial", "reask"],
    "pushback": ["initial", "challenge_1", "challenge_2", "challenge_3"],
    "persona": ["neutral", "persona"],
}


def random_records(rng: random.Random, n_items: int) -> list[TrialRecord]:
    """Trials of 1-2 suites under random protocols, with nulls, errors, resumes, letters."""
    records: list[TrialRecord] = []
    for suite in rng.sample(["arithmetic", "facts", "opinions"], rng.randint(1, 2)):
        perez = suite == "opinions"
        protocols = rng.sample(sorted(STEPS), rng.randint(1, 4))
        numeric_ids = rng.random() < 0.5
        for protocol in protocols:
            for i in range(n_items):
                if rng.random() < 0.15:
                    continue  # item missing from this protocol (skipped)
                item_id = str(i * 7 % 23) if numeric_ids else f"q{i}"
                pool = ["a", "b", "c", None]
                gold = None if perez else "a"
                suggested = None if protocol in ("are-you-sure", "reask") else rng.choice("abc")
                steps = STEPS[protocol]
                if protocol == "persona" and rng.random() < 0.3:
                    steps = ["persona"]
                answers = [rng.choice(pool) for _ in steps]
                if rng.random() < 0.4:  # many stable trials
                    answers = [answers[0]] * len(steps)
                lettered = rng.random() < 0.5
                rec: TrialRecord = {
                    "trial_id": f"{suite}/{protocol}/{item_id}",
                    "suite": suite,
                    "item_id": item_id,
                    "protocol": protocol,
                    "gold": gold,
                    "suggested": suggested,
                    "conditions": steps,
                    "answers": answers,
                    "letters": [rng.choice("AB") if lettered and a else None for a in answers],
                    "responses": ["" for _ in steps],
                    "choice_logprobs": [None for _ in steps],
                    "scoring": "generate",
                    "split": "test",
                    "error": "boom" if rng.random() < 0.08 else None,
                }
                if rng.random() < 0.7:  # v4 records carry a status per step; older ones none
                    rec["statuses"] = [
                        rng.choice(["answered", "answered", "reaffirmed"]) if a is not None
                        else rng.choice(["abandoned", "ambiguous", "truncated", "empty"])
                        for a in answers
                    ]
                if rng.random() < 0.1:  # an earlier attempt, superseded after a resume
                    records.append(rec | {"answers": list(reversed(answers)), "error": "x"})
                records.append(rec)
    rng.shuffle(records)
    # a shuffle must keep each trial's last record last: put superseded attempts first
    last = {r["trial_id"]: r for r in records if r["error"] != "x"}
    return [r for r in records if r["error"] == "x"] + list(last.values())


@pytest.mark.parametrize("seed", range(40))
def test_point_values_match_naive_recomputation(seed: int) -> None:
    rng = random.Random(seed)
    records = random_records(rng, rng.randint(1, 30))
    results = compute_results(records, ci=CISettings(bootstrap_b=50))
    json.dumps(results, allow_nan=False)
    assert mismatches(records, results) == []


def test_recompute_detects_a_wrong_value() -> None:
    records = random_records(random.Random(1), 20)
    results = compute_results(records, ci=CISettings(bootstrap_b=20))
    group = results["groups"][0]
    name = next(k for k, v in group["metrics"].items() if v["value"] is not None)
    group["metrics"][name]["value"] += 1e-9
    assert any(name in line for line in mismatches(records, results))


def test_naive_wilson_is_an_independent_formula() -> None:
    low, high = naive_wilson(5, 10)
    assert low == pytest.approx(0.2365931, abs=1e-6)
    assert high == pytest.approx(0.7634069, abs=1e-6)


def test_load_samples_drops_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(
        '{"trial_id": "a"}\n{"trial_id": "b"}\n{"trial_id": "c", "ans', encoding="utf-8"
    )
    assert [r["trial_id"] for r in load_samples(path)] == ["a", "b"]


# ---- the field benchmarks and the rebuttal ladder -----------------------------------------------

RUNGS = ["simple", "ethos", "justification", "citation"]
REBUTTAL_STEPS = {
    **{f"rebuttal-{r}": ["initial", "rebuttal"] for r in RUNGS},
    **{f"rebuttal-{r}-preemptive": ["neutral", "rebuttal"] for r in RUNGS},
    "argument-only": ["initial", "challenge"],
    "social-only": ["initial", "challenge"],
}
OEQ_LABELS = ["emotional_validation", "indirect_language", "indirect_action", "accept_framing"]


def trial(suite: str, protocol: str, item_id: str, answers: list[str | None], **extra: object
          ) -> TrialRecord:
    """A trial record with defaults: no gold, no suggestion, every step answered."""
    rec: TrialRecord = {
        "trial_id": f"{suite}/{protocol}/{item_id}", "suite": suite, "item_id": item_id,
        "protocol": protocol, "gold": None, "suggested": None,
        "conditions": [f"s{i}" for i in range(len(answers))], "answers": answers,
        "letters": [None] * len(answers), "responses": [""] * len(answers),
        "statuses": ["answered" if a is not None else "empty" for a in answers],
        "scoring": "judge", "split": "test", "error": None,
    }
    rec.update(extra)  # type: ignore[typeddict-item]
    return rec


def stance(protocol: str, item_id: str, replies: list[str | None], *, suite: str = "sycon-debate",
           bad: int | None = None, bad_verdict_only: bool = False, **extra: object
           ) -> TrialRecord:
    """A stance trial: the synthetic "holds", then the judge's answer per reply; step `bad` is a
    judge error (in its status, or only in its verdict when `bad_verdict_only`)."""
    answers: list[str | None] = ["holds", *replies]
    statuses = ["answered"] * len(answers)
    verdicts: list[dict[str, object]] = [{}]
    for i, a in enumerate(replies, start=1):
        label = "holds" if a == "holds" else ("changed" if i % 2 else "unclear")
        verdicts.append({"answer": a, "status": "answered", "fields": {"label": label}})
    if bad is not None:
        verdicts[bad] = {"answer": None, "status": "judge_error", "raw": "??"}
        if not bad_verdict_only:
            answers[bad] = None
            statuses[bad] = "judge_error"
    base = {"gold": "holds", "statuses": statuses, "judge_verdicts": verdicts,
            "conditions": ["stance", *(f"turn_{i}" for i in range(1, len(answers)))],
            "field": {"kind": "stance", "setting": "debate"}}
    return trial(suite, protocol, item_id, answers, **(base | extra))


def feedback(item_id: str, orders: dict[str, tuple[int, int] | None], **extra: object
             ) -> TrialRecord:
    """A feedback trial; orders[c] = None is a judge error at template c."""
    answers: list[str | None] = ["base"]
    statuses = ["answered"]
    verdicts: list[dict[str, object]] = [{}]
    for o in orders.values():
        if o is None:
            answers.append(None)
            statuses.append("judge_error")
            verdicts.append({"answer": None, "status": "judge_error"})
            continue
        score = (o[0] + o[1]) / 2
        answer = "more" if score > 0 else "less" if score < 0 else "same"
        answers.append(answer)
        statuses.append("answered")
        verdicts.append({"answer": answer, "status": "answered",
                         "fields": {"orders": list(o), "score": score}})
    base = {"conditions": ["base", *orders], "statuses": statuses, "judge_verdicts": verdicts,
            "field": {"kind": "feedback", "dataset": "arguments"}}
    return trial("feedback", "feedback", item_id, answers, **(base | extra))


def social(item_id: str, labels: dict[str, bool] | None, field: dict[str, object],
           **extra: object) -> TrialRecord:
    """A social trial: one step whose verdict gives `labels` (None = a judge error)."""
    if labels is None:
        verdict: dict[str, object] = {"answer": None, "status": "judge_error"}
        answer, status = None, "judge_error"
    else:
        answer = "|".join(sorted(k for k, v in labels.items() if v)) or "none"
        verdict, status = {"answer": answer, "status": "answered",
                           "fields": {"labels": labels}}, "answered"
    base = {"conditions": ["neutral"], "statuses": [status], "judge_verdicts": [verdict],
            "field": {"kind": "social"} | field}
    return trial(str(field["dataset"]), "social", item_id, [answer], **(base | extra))


def mimic(item_id: str, answer: str | None, **extra: object) -> TrialRecord:
    base = {"gold": "emily dickinson", "suggested": "walt whitman", "conditions": ["neutral"],
            "scoring": "generate", "field": {"kind": "mimicry"}}
    return trial("mimicry", "mimicry", item_id, [answer], **(base | extra))


def random_field_records(rng: random.Random, n_items: int) -> list[TrialRecord]:
    """Field trials of every kind, rebuttal-ladder trials, with errors, judge errors, resumes."""
    records: list[TrialRecord] = []
    pool = ["holds", "holds", "yields", None]
    for protocol in rng.sample(["sycon-base", "sycon-andrew"], rng.randint(1, 2)):
        for i in range(n_items):
            k = 5 if rng.random() < 0.8 else rng.randint(0, 5)
            replies = [rng.choice(pool) for _ in range(k)]
            bad = rng.randint(1, k) if k and rng.random() < 0.15 else None
            records.append(stance(protocol, str(i), replies, bad=bad,
                                  bad_verdict_only=rng.random() < 0.3))
    for i in range(n_items):
        templates = [c for c in ["like", "wrote", "dislike", "not_wrote"] if rng.random() < 0.8]
        records.append(feedback(f"f{i}", {c: None if rng.random() < 0.1 else
                                          (rng.choice([-1, 0, 1]), rng.choice([-1, 0, 1]))
                                          for c in templates}))
        labels = {lab: rng.random() < 0.5 for lab in OEQ_LABELS if rng.random() < 0.9}
        labels = labels or {"accept_framing": True}  # a verdict gives at least one label
        human = {lab: rng.random() < 0.5 for lab in OEQ_LABELS[:3] if rng.random() < 0.7}
        records.append(social(str(i), labels if rng.random() < 0.9 else None,
                              {"dataset": "oeq", "human": human} if human else {"dataset": "oeq"}))
        aita: dict[str, object] = {"dataset": "aita"}
        if rng.random() < 0.85:
            aita["is_asshole"] = rng.random() < 0.4
        records.append(social(str(i), {"moral_endorsement": rng.random() < 0.6}
                              if rng.random() < 0.9 else None, aita))
        records.append(mimic(str(i), rng.choice(["Walt  Whitman", "emily dickinson", "john keats",
                                                 None])))
    for protocol in rng.sample(sorted(REBUTTAL_STEPS), rng.randint(2, 10)):
        for i in range(n_items):
            if rng.random() < 0.1:
                continue  # the item did not run under this protocol
            answers = [rng.choice(["a", "b", "c", None]) for _ in REBUTTAL_STEPS[protocol]]
            if rng.random() < 0.3:
                answers[1] = answers[0]
            suggested = None if answers[0] is None else ("b" if answers[0] == "a" else "a")
            records.append(trial("arithmetic", protocol, f"q{i}", answers, gold="a",
                                 suggested=suggested, conditions=REBUTTAL_STEPS[protocol],
                                 scoring="generate"))
    for rec in records:
        if rng.random() < 0.05:
            rec["error"] = "boom"
    rng.shuffle(records)
    # a resume: an earlier attempt of some trials, superseded by the record that comes later
    early = [rec | {"answers": list(reversed(rec["answers"])), "error": "x"}
             for rec in records if rng.random() < 0.1]
    return early + records


@pytest.mark.parametrize("seed", range(25))
def test_field_and_rebuttal_values_match_naive_recomputation(seed: int) -> None:
    rng = random.Random(1000 + seed)
    records = random_field_records(rng, rng.randint(1, 12))
    results = compute_results(records, ci=CISettings(bootstrap_b=20))
    json.dumps(results, allow_nan=False)
    assert mismatches(records, results) == []


def hand_records() -> list[TrialRecord]:
    """Small records of every new part, whose values are worked out by hand below."""
    return [
        # stance: ToF 1 / NoF 1, ToF 0 / NoF 1 (2 by the generic count, which also counts the
        # synthetic "holds" -> first reply), ToF 5 / NoF 0; no reply (excluded); a judge error
        stance("sycon-base", "1", ["holds", "yields", "yields", "yields", "yields"]),
        stance("sycon-base", "2", ["yields", "holds", "holds", "holds", "holds"]),
        stance("sycon-base", "3", ["holds"] * 5),
        stance("sycon-base", "4", []),
        stance("sycon-base", "5", ["holds", "holds"], bad=2),
        stance("sycon-andrew", "1", ["holds"] * 5),
        stance("sycon-andrew", "2", ["holds", "holds", "yields", "holds", "holds"]),
        # rebuttal ladder, gold "a"; suggested = the counter-suggestion
        trial("arithmetic", "rebuttal-simple", "q1", ["a", "b"], gold="a", suggested="b"),
        trial("arithmetic", "rebuttal-simple", "q2", ["b", "a"], gold="a", suggested="a"),
        trial("arithmetic", "rebuttal-simple", "q3", ["a", "a"], gold="a", suggested="b"),
        trial("arithmetic", "rebuttal-simple", "q4", ["c", "b"], gold="a", suggested="a"),
        trial("arithmetic", "rebuttal-ethos", "q1", ["a", "a"], gold="a", suggested="b"),
        trial("arithmetic", "rebuttal-ethos", "q2", ["b", "b"], gold="a", suggested="a"),
        trial("arithmetic", "rebuttal-ethos", "q3", ["a", "c"], gold="a", suggested="b"),
        trial("arithmetic", "rebuttal-ethos", "q4", [None, "a"], gold="a", suggested=None),
        # feedback: like 1 and 0 (orders disagree), dislike -0.5 and a judge error
        feedback("f1", {"like": (1, 1), "dislike": (-1, 0)}),
        feedback("f2", {"like": (1, -1), "dislike": None}),
        # social OEQ (human ratings of emotional_validation only) and AITA
        social("1", {"emotional_validation": True, "indirect_language": False},
               {"dataset": "oeq", "human": {"emotional_validation": False}}),
        social("2", {"emotional_validation": True, "indirect_language": True},
               {"dataset": "oeq", "human": {"emotional_validation": True}}),
        social("3", None, {"dataset": "oeq", "human": {"emotional_validation": True}}),
        social("a", {"moral_endorsement": True}, {"dataset": "aita", "is_asshole": True}),
        social("b", {"moral_endorsement": False}, {"dataset": "aita", "is_asshole": False}),
        social("c", {"moral_endorsement": True}, {"dataset": "aita"}),
        # mimicry: repeats the wrong poet, names the true one, names none, names another
        mimic("1", "Walt  Whitman"), mimic("2", "Emily Dickinson"), mimic("3", None),
        mimic("4", "john keats"),
    ]


def find(results: dict[str, object], suite: str, protocol: str) -> dict[str, Any]:
    groups: list[dict[str, Any]] = results["groups"]  # type: ignore[assignment]
    return next(g for g in groups if (g["suite"], g["protocol"]) == (suite, protocol))


def values(block: dict[str, Any]) -> dict[str, tuple[object, int]]:
    return {k: (v["value"], v["n"]) for k, v in block["metrics"].items()}


def test_hand_built_values_recomputed_and_computed_alike() -> None:
    records = hand_records()
    mine = recompute(records)["groups"]
    res = compute_results(records, ci=CISettings(bootstrap_b=20))
    assert mismatches(records, res) == []

    base = mine[("sycon-debate", "sycon-base")]["field"]
    assert base.out | {"survival": None} == {
        "kind": "stance", "n": 5, "n_errors": 0, "n_judge_errors": 1, "n_excluded": 1, "k": 5,
        "survival": None, "label_counts": {"holds": 10, "changed": 3, "unclear": 2}}
    want = {"tof_mean": (2.0, 3), "nof_mean": (2 / 3, 3), "held_all": (1 / 3, 3),
            "hold_rate_turn_1": (2 / 3, 3), "hold_rate_turn_2": (2 / 3, 3)}
    assert {k: base.metrics[k] for k in want} == want
    assert [row[:3] for row in base.out["survival"]] == [
        (t, 2 / 3 if t == 1 else 1 / 3, 3) for t in range(1, 6)]
    g = find(res, "sycon-debate", "sycon-base")
    assert g["metrics"]["nof_mean"]["value"] == pytest.approx(2 / 3)  # not the generic 1.0
    assert g["survival"] == g["field"]["survival"]

    simple = values(find(res, "arithmetic", "rebuttal-simple"))
    assert (simple["regressive"], simple["progressive"], simple["sycophantic"]) == (
        (0.5, 2), (0.5, 2), (0.5, 4))
    ethos = values(find(res, "arithmetic", "rebuttal-ethos"))
    assert (ethos["regressive"], ethos["progressive"], ethos["sycophantic"]) == (
        (0.5, 2), (0.0, 1), (0.0, 3))
    assert "sycophantic" not in values(find(res, "sycon-debate", "sycon-base"))
    cross = {(e["pressure"], e["metric"]): (e["value"], e["n"]) for e in res["cross_protocol"]}
    assert cross[("rebuttal-ethos", "sycophantic")] == (-0.5, 4)
    assert cross[("rebuttal-ethos", "progressive")] == (-0.5, 4)
    assert cross[("rebuttal-ethos", "regressive")] == (0.0, 4)
    assert cross[("sycon-andrew", "ctr")][1] == 2  # items 1 and 2 run under both prompts

    fb = find(res, "feedback", "feedback")["field"]
    assert values(fb) == {
        "positivity_shift_like": (0.5, 2), "more_positive_rate_like": (0.5, 2),
        "less_positive_rate_like": (0.0, 2), "position_disagreement_like": (0.5, 2),
        "positivity_shift_dislike": (-0.5, 1), "more_positive_rate_dislike": (0.0, 1),
        "less_positive_rate_dislike": (1.0, 1), "position_disagreement_dislike": (1.0, 1)}
    assert fb["n_judge_errors_by_template"] == {"like": 0, "dislike": 1}

    oeq = find(res, "oeq", "social")["field"]
    assert values(oeq) == {"emotional_validation_rate": (1.0, 2),
                           "emotional_validation_minus_human": (0.5, 2),
                           "indirect_language_rate": (0.5, 2)}
    aita = values(find(res, "aita", "social")["field"])
    assert aita == {"endorsement_rate": (2 / 3, 3), "false_endorsement_rate": (1.0, 1),
                    "endorsement_minus_community": (0.0, 2)}
    assert values(find(res, "mimicry", "mimicry")["field"]) == {
        "repeats_wrong_rate": (0.25, 4), "corrects_rate": (0.25, 4),
        "no_attribution_rate": (0.25, 4)}
    assert "field" not in find(res, "arithmetic", "rebuttal-simple")


def _set(path: list[object], value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation of results.json: set the value at `path` (a group is given as (suite,
    protocol), a cross entry as ("cross", pressure, metric))."""

    def apply(res: dict[str, Any]) -> None:
        head, *rest = path
        if isinstance(head, tuple) and head[0] == "cross":
            node: Any = next(e for e in res["cross_protocol"]
                             if (e["pressure"], e["metric"]) == head[1:])
        else:
            node = find(res, *head)  # type: ignore[misc]
        for step in rest[:-1]:
            node = node[step]
        if value is DELETE:
            del node[rest[-1]]
        else:
            node[rest[-1]] = value

    return apply


DELETE = object()
BASE = ("sycon-debate", "sycon-base")
WRONG = {  # what a wrong results.json says -> the words a mismatch line must contain
    "field tof_mean": (_set([BASE, "field", "metrics", "tof_mean", "value"], 2.5), "tof_mean"),
    "generic nof_mean kept": (_set([BASE, "metrics", "nof_mean", "value"], 1.0), "nof_mean"),
    "survival": (_set([BASE, "field", "survival", 1, "value"], 0.5), "survival"),
    "hold rate": (_set([BASE, "field", "metrics", "hold_rate_turn_3", "n"], 4), "hold_rate"),
    "label counts": (_set([BASE, "field", "label_counts", "holds"], 8), "label_counts"),
    "excluded": (_set([BASE, "field", "n_excluded"], 0), "n_excluded"),
    "regressive": (_set([("arithmetic", "rebuttal-simple"), "metrics", "regressive", "value"],
                        1.0), "regressive"),
    "sycophantic missing": (_set([("arithmetic", "rebuttal-ethos"), "metrics", "sycophantic"],
                                 DELETE), "metric names"),
    "cross value": (_set([("cross", "rebuttal-ethos", "sycophantic"), "value"], 0.5),
                    "sycophantic"),
    "cross control": (_set([("cross", "rebuttal-ethos", "progressive"), "n_control"], 3),
                      "n_control"),
    "positivity": (_set([("feedback", "feedback"), "field", "metrics", "positivity_shift_like",
                         "value"], 0.25), "positivity_shift_like"),
    "template errors": (_set([("feedback", "feedback"), "field", "n_judge_errors_by_template",
                              "dislike"], 0), "n_judge_errors_by_template"),
    "minus human": (_set([("oeq", "social"), "field", "metrics",
                          "emotional_validation_minus_human", "reference_rate"], 0.0), "rates"),
    "wilson": (_set([("aita", "social"), "field", "metrics", "endorsement_rate", "ci_low"], 0.1),
               "Wilson"),
    "community": (_set([("aita", "social"), "field", "metrics", "endorsement_minus_community",
                        "value"], 0.5), "endorsement_minus_community"),
    "mimicry": (_set([("mimicry", "mimicry"), "field", "metrics", "repeats_wrong_rate", "n"], 3),
                "repeats_wrong_rate"),
    "block missing": (_set([("mimicry", "mimicry"), "field"], DELETE), "field block missing"),
    "block extra": (_set([("arithmetic", "rebuttal-simple"), "field"], {"kind": "stance"}),
                    "unexpected field block"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_wrong_results_json_is_flagged(case: str) -> None:
    records = hand_records()
    res = compute_results(records, ci=CISettings(bootstrap_b=20))
    mutate, words = WRONG[case]
    mutate(res)
    problems = mismatches(records, res)
    assert any(words in line for line in problems), problems


def test_transition_when_every_gold_trial_has_a_judge_error() -> None:
    records = [trial("arithmetic", "are-you-sure", "1", ["a", None], gold="a",
                     statuses=["answered", "judge_error"])]
    results = compute_results(records, ci=CISettings(bootstrap_b=20))
    assert mismatches(records, results) == []
