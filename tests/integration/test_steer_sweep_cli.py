"""`sycolab steer sweep` through the CLI: every setting runs on the validation split only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from toys import smollm2_tokenizer, tiny_llama

from sycolab.mitigations.steering import SteeringVector
from sycolab.runs.samples import read_samples


def test_sweep_runs_validation_only_and_chooses_a_setting(tmp_path: Path) -> None:
    model_dir = tmp_path / "tiny"
    tok = smollm2_tokenizer(model_dir)
    model = tiny_llama(tok, layers=3)
    model.save_pretrained(str(model_dir))
    torch.manual_seed(1)
    vector = tmp_path / "v.safetensors"
    SteeringVector({1: torch.randn(64), 2: torch.randn(64)}, model=f"hf:{model_dir}").save(vector)
    out = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "sycolab", "steer", "sweep", "--model", f"hf:{model_dir}",
         "--vector", str(vector), "--layers", "1", "--layers", "2", "--multipliers", "-1",
         "--multipliers", "1", "--suite", "addition-claims", "--protocol", "persona",
         "--limit", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "sweep.json").read_text())
    assert len(summary["rows"]) == 4 and summary["reference"]["layer"] is None
    run_dirs = [Path(r["run_dir"]) for r in [summary["reference"], *summary["rows"]]]
    for run_dir in run_dirs:
        records = read_samples(run_dir / "samples.jsonl")
        assert records and {r["split"] for r in records} == {"validation"}
    steered = json.loads((run_dirs[1] / "config.json").read_text())
    assert steered["hashed"]["interventions"]["steer"]["layers"] == [1]
