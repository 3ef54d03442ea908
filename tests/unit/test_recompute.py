"""compute_results' point values equal an independent naive recomputation (tests/recompute.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from recompute import load_samples, mismatches, naive_wilson

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
