"""KTS trains on the benign set's "train" half; `sycolab eval --adapter` measures side effects on
the "measure" half and exits 2 (one line, before any trial) for an adapter trained on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("tokenizers")

from test_steering import tiny_tokenizer
from toys import tiny_llama

from sycolab.cli.app import app
from sycolab.evaluation.benign import load_benign


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tok = tiny_tokenizer()
    out = tmp_path_factory.mktemp("tiny-kts")
    tiny_llama(tok, layers=2, hidden=32).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def _kts(model_dir: Path, out: Path, *extra: str) -> None:
    res = CliRunner().invoke(app, ["kts", "train", "--model", f"hf:{model_dir}", "--out",
                                   str(out), "--steps", "2", "--batch-size", "2",
                                   "--device", "cpu", *extra])
    assert res.exit_code == 0, res.output


def _eval(model_dir: Path, adapter: Path, out: Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["eval", "--model", f"hf:{model_dir}", "--adapter",
                                   str(adapter), "--suite", "arithmetic", "--protocol",
                                   "suggest-incorrect", "--scoring", "choice", "--limit", "2",
                                   "--device", "cpu", "--out", str(out), "--no-progress"])
    return res.exit_code, res.output


def test_adapter_trained_on_measured_prompts_exits_2(model_dir: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "kts-measure"
    _kts(model_dir, adapter, "--benign-half", "measure")
    measured = load_benign().half("measure")
    record = json.loads((adapter / "kts.json").read_text())
    assert sorted(record["benign"]["prompt_keys"]) == sorted(measured.prompt_keys())
    code, output = _eval(model_dir, adapter, tmp_path / "run")
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, output
    assert lines[0].startswith("error: --adapter ") and f"{measured.size} of the" in lines[0]
    assert not (tmp_path / "run" / "samples.jsonl").exists()  # refused before any trial


def test_default_half_runs_and_reports_reply_kl(model_dir: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "kts-train"
    _kts(model_dir, adapter)
    trained = set(json.loads((adapter / "kts.json").read_text())["benign"]["prompt_keys"])
    assert trained == set(load_benign().half("train").prompt_keys())
    run = tmp_path / "run"
    code, output = _eval(model_dir, adapter, run)
    assert code == 0, output
    side = json.loads((run / "results.json").read_text())["side_effects"]
    measured = load_benign().half("measure")
    assert side["benign"] == measured.describe()
    for key in ("kl", "kl_reply", "kl_last"):
        assert side[key]["n"] == measured.size and side[key]["value"] >= 0
    assert side["kl_reply"]["n_positions"] > side["kl_reply"]["n"]
    rows = (run / "side_effects.jsonl").read_text().splitlines()
    assert len(rows) == measured.size
    assert {"kl", "kl_reply", "kl_last", "n_positions", "n_reply_positions"} <= set(
        json.loads(rows[0]))
