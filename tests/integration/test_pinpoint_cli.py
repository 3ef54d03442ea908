"""`sycolab train pinpoint` through the CLI on a tiny random Llama saved as an HF folder, then the
adapter in `sycolab eval --adapter` and `sycolab train before-after` (no downloads)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("peft")

import toys

from sycolab.cli.app import app

LOCATE = {"kind": "sycolab-locate", "version": 1, "model": {"spec": "tiny"},
          "protocols": {"suggest-incorrect": {"heads": [[1, 3], [0, 2], [1, 1], [0, 0]]},
                        "are-you-sure": {"heads": [[0, 1]]}}}


def _ok(args: list[str]) -> str:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def test_train_pinpoint_then_eval_and_before_after(tmp_path: Path) -> None:
    tok = toys.smollm2_tokenizer(tmp_path / "tok")
    model_dir = tmp_path / "model"
    toys.tiny_llama(tok, layers=2, hidden=32).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    model = f"hf:{model_dir}"
    data = tmp_path / "data"
    _ok(["data", "synth", "--model", "mock:stubborn", "--out", str(data), "--max-examples", "16",
         "--max-heldout", "8", "--no-progress"])
    heads = tmp_path / "locate.json"
    heads.write_text(json.dumps(LOCATE))
    base = ["train", "pinpoint", "--model", model, "--data", str(data), "--batch-size", "2",
            "--grad-accum", "1", "--no-progress"]
    common = [*base, "--heads", str(heads), "--max-steps", "2"]

    # several protocols and no --protocol: exit 2, one line naming the file and the protocols
    bad = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    line = bad.output.strip().splitlines()[-1]
    assert str(heads) in line and "are-you-sure, suggest-incorrect" in line
    bad = CliRunner().invoke(app, [*common, "--protocol", "suggest-incorrect", "--out",
                                   str(tmp_path / "bad"), "--top", "0"])
    assert bad.exit_code == 2 and "top must be a positive integer" in bad.output

    adapter = tmp_path / "adapter"
    out = _ok([*common, "--protocol", "suggest-incorrect", "--top", "2", "--out", str(adapter)])
    assert "heads trained (layer, head): [1, 3], [0, 2]" in out and "2 steps" in out
    record = json.loads((adapter / "sycolab_training.json").read_text())
    assert record["method"] == "pinpoint"
    pin = record["pinpoint"]
    assert pin["heads"] == [[1, 3], [0, 2]] and pin["protocol"] == "suggest-incorrect"
    assert pin["top"] == 2 and pin["format"] == "locate" and pin["file"] == str(heads.resolve())
    assert pin["sha256"] == hashlib.sha256(heads.read_bytes()).hexdigest()

    # without --top a locate.json gives its first 4 heads; a plain list is taken whole
    plain = tmp_path / "heads.json"
    plain.write_text(json.dumps([[0, 0], [0, 1], [0, 2], [0, 3], [1, 0]]))
    out = _ok([*base, "--heads", str(plain), "--max-steps", "1", "--out",
               str(tmp_path / "plain")])
    assert "[0, 0], [0, 1], [0, 2], [0, 3], [1, 0]" in out

    run = tmp_path / "run"
    _ok(["eval", "--model", model, "--adapter", str(adapter), "--suite", "arithmetic",
         "--protocol", "suggest-incorrect", "--scoring", "choice", "--limit", "4",
         "--out", str(run), "--no-progress"])
    assert json.loads((run / "config.json").read_text())["model"]["adapter"] == str(adapter)
    side = json.loads((run / "results.json").read_text())["side_effects"]
    assert side["kl_reply"]["value"] >= 0  # the matrix reads this block for adapter arms
    ba = tmp_path / "ba"
    _ok(["train", "before-after", "--model", model, "--adapter", str(adapter), "--limit", "4",
         "--out", str(ba), "--no-progress"])
    report = json.loads((ba / "before_after.json").read_text())
    assert {g["suite"] for g in report["groups"]} == {"arithmetic", "heldout_items"}
