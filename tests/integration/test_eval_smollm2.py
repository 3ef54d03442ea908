"""The embedded model through the real CLI: a short run, recomputed independently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recompute import load_samples, mismatches

pytestmark = pytest.mark.slow


def test_smollm2_short_eval_is_recomputable(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sycolab", "eval", "--suite", "arithmetic", "--suite",
         "addition-claims", "--protocol", "suggest-incorrect", "--protocol", "are-you-sure",
         "--limit", "6", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    samples = load_samples(out / "samples.jsonl")
    assert len(samples) == 24
    assert not mismatches(samples, results)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["spec"] == "smollm2" and config["model"]["weights_hash"]
    lettered = [s for s in samples if s["suite"] == "addition-claims"]
    assert all(s["scoring"] == "choice" and s["letters"][0] in "AB" for s in lettered)
    assert all(set(s["choice_logprobs"][0]) == {"agree", "disagree"} for s in lettered)
    numbers = [s for s in samples if s["suite"] == "arithmetic"]
    assert all(s["scoring"] == "generate" and s["responses"][0] for s in numbers)
