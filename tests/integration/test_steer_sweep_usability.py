"""`steer sweep` / `steer train` on a tiny model: one model load for the whole sweep, the same
results as a fresh load per setting, a table with n and intervals, named run folders, progress
on stderr, and artifacts with the usual permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import torch
from toys import smollm2_tokenizer, tiny_llama
from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.engine import loading
from sycolab.evaluation.api import evaluate
from sycolab.mitigations.steering import SteeringVector

EVAL: dict[str, Any] = {"suite": ["addition-claims"], "protocol": ["persona"],
                        "split": "validation", "limit": 6, "progress": False}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    model_dir = root / "tiny"
    tok = smollm2_tokenizer(model_dir)
    tiny_llama(tok, layers=3).save_pretrained(str(model_dir))
    torch.manual_seed(1)
    vector = root / "v.safetensors"
    SteeringVector({1: torch.randn(64), 2: torch.randn(64)}, model=f"hf:{model_dir}").save(vector)
    return model_dir, vector


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every model load (sweep and evaluate both go through `load_hf_backend`)."""
    calls: list[str] = []
    real = loading.load_hf_backend

    def counting(spec: str, **kw: Any) -> Any:
        calls.append(spec)
        return real(spec, **kw)

    monkeypatch.setattr(loading, "load_hf_backend", counting)
    return calls


def _logprobs(run_dir: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return {r["trial_id"]: r["choice_logprobs"] for r in rows}


def test_sweep_loads_once_and_matches_fresh_runs(tiny: tuple[Path, Path], tmp_path: Path,
                                                 loads: list[str]) -> None:
    model_dir, vector = tiny
    out = tmp_path / "sweep"
    res = CliRunner().invoke(app, [
        "steer", "sweep", "--model", f"hf:{model_dir}", "--vector", str(vector), "--layers", "1",
        "--multipliers", "-4", "--suite", "addition-claims", "--protocol",
        "persona", "--limit", "6", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(loads) == 1
    text = res.stdout
    assert f"run folders in {out}/" in text
    for name in ("reference", "layer1_m-4.0"):
        assert (out / name / "results.json").is_file() and name in text
    ref = json.loads((out / "reference" / "results.json").read_text())
    m = ref["groups"][0]["metrics"]["agreement_rate"]
    assert f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]" in text
    assert f"  {m['n']}   " in text
    assert "steer sweep" in res.stderr and "2/2" in res.stderr
    assert stat.S_IMODE((out / "sweep.json").stat().st_mode) == 0o666 & ~_umask()

    # the shared backend gives what a fresh load per setting gives
    settings: tuple[tuple[str, dict[str, Any]], ...] = (
        ("reference", {}),
        ("layer1_m-4.0", {"steer": str(vector), "multiplier": -4.0, "layers": [1]}),
    )
    for name, kw in settings:
        fresh = evaluate(f"hf:{model_dir}", out=tmp_path / f"fresh-{name}", **EVAL, **kw)
        swept = json.loads((out / name / "results.json").read_text())
        assert fresh.results["groups"] == swept["groups"]
        assert _logprobs(fresh.run_dir) == _logprobs(out / name)
        if kw:
            assert fresh.results["side_effects"]["kl"] == swept["side_effects"]["kl"]
    assert len(loads) == 3
    assert _logprobs(out / "layer1_m-4.0") != _logprobs(out / "reference")  # it did steer


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_steer_train_shows_progress_and_writes_usual_permissions(tiny: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    model_dir, _ = tiny
    out = tmp_path / "v.safetensors"
    res = CliRunner().invoke(app, [
        "steer", "train", "--model", f"hf:{model_dir}", "--suite", "addition-claims", "--limit",
        "4", "--layers", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "steer train: contrast pairs" in res.stderr and "4/4" in res.stderr
    assert json.loads(res.stdout)["n_pairs"] == 4
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()
    quiet = CliRunner().invoke(app, [
        "steer", "train", "--model", f"hf:{model_dir}", "--suite", "addition-claims", "--limit",
        "4", "--layers", "1", "--out", str(tmp_path / "q.pt"), "--no-progress"])
    assert quiet.exit_code == 0 and "steer train" not in quiet.stderr
