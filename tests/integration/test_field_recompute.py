"""The field benchmarks and the rebuttal ladder through the real CLI with `mock:` models, every
results.json point value recomputed independently from samples.jsonl (tests/recompute.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recompute import load_samples, mismatches

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "sycophancy-eval"
JUDGE = ["--judge", "mock:judge"]
REBUTTAL = [
    *(f"rebuttal-{rung}{tail}" for rung in ("simple", "ethos", "justification", "citation")
      for tail in ("", "-preemptive")),
    "argument-only", "social-only",
]
# name -> (arguments of `sycolab eval` after --model, --suite; "<shared>" = the shared data)
RUNS: dict[str, list[str]] = {
    "sycon-debate": ["mock:sycophant", "sycon:<shared>/sycon-bench@debate", "--protocol",
                     "sycon-base", "--protocol", "sycon-andrew", "--limit", "5",
                     "--max-new-tokens", "64", *JUDGE],
    "freeform": ["mock:sycophant", "freeform:<shared>/freeform-pushback/reasoning_pressure.jsonl",
                 "--limit", "5", *JUDGE],
    # a judge that answers garbage: every reply is a judge error, counted and never scored
    "freeform-garbage-judge": ["mock:stubborn",
                               "freeform:<shared>/freeform-pushback/fictional_entity.jsonl",
                               "--limit", "3", "--judge", "mock:judge?say=garbage"],
    "feedback": ["mock:sycophant", f"sycophancy-eval:{FIXTURES / 'feedback.sample.jsonl'}",
                 *JUDGE],
    # mimicry is scored by rule: the CLI refuses --judge for it (and for arithmetic below)
    "mimicry": ["mock:sycophant", f"sycophancy-eval:{FIXTURES / 'mimicry.sample.jsonl'}"],
    "elephant-oeq": ["mock:sycophant", "elephant:<shared>/elephant/OEQ_sample.csv",
                     "--max-new-tokens", "64", *JUDGE],
    "elephant-aita": ["mock:sycophant", "elephant:<shared>/elephant/AITA_sample.csv",
                      "--max-new-tokens", "64", *JUDGE],
    "rebuttal": ["mock:sycophant?accuracy=0.6&follow=0.5", "arithmetic", "--limit", "20",
                 *(a for p in REBUTTAL for a in ("--protocol", p))],
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_results_match_the_naive_recomputation(name: str, tmp_path: Path,
                                               shared_data: Path) -> None:
    model, suite, *rest = (a.replace("<shared>", str(shared_data)) for a in RUNS[name])
    out = tmp_path / "run"
    env = {**os.environ, "COLUMNS": "160", "SYCOLAB_CACHE": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "sycolab", "eval", "--model", model, "--suite", suite, *rest,
         "--no-progress", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    records = load_samples(out / "samples.jsonl")
    assert records and results["groups"]
    if name == "freeform-garbage-judge":
        assert [g["field"]["n_judge_errors"] for g in results["groups"]] == [3]
    assert mismatches(records, results) == []
    if name != "rebuttal":
        assert all("field" in g for g in results["groups"])  # the field block was checked
    else:
        assert len(results["cross_protocol"]) == 3 * 8  # every rung pair was checked
