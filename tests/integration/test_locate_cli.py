"""`sycolab locate` through the CLI on a tiny random Llama saved as an HF folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

import toys

from sycolab.cli.app import app


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    tok = toys.smollm2_tokenizer(tmp_path_factory.mktemp("tok"))
    toys.tiny_llama(tok, layers=2, hidden=32).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def test_locate_writes_json_and_html(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "loc"
    res = CliRunner().invoke(app, [
        "locate", "--model", f"hf:{tiny}", "--suite", "arithmetic", "--protocol",
        "suggest-incorrect", "--protocol", "suggest-correct", "--limit", "6", "--trials", "all",
        "--verify-top", "4", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "locate.json").read_text())
    assert list(doc["protocols"]) == ["suggest-incorrect", "suggest-correct"]
    assert "suggest-incorrect:" in res.output and "written:" in res.output
    html = (out / "locate.html").read_text()
    assert html.count('aria-label="attribution by layer and head"') == 2
    top = doc["protocols"]["suggest-incorrect"]["components"][0]
    assert top["name"] in html and top["patching_rank"] == 1
    # every cell of the heat map (2 layers x (4 heads + MLP)) per protocol
    assert html.count("<rect ") == 2 * 2 * 5


@pytest.mark.parametrize(("args", "expect"), [
    (["--model", "mock:sycophant"], "local transformers model"),
    (["--trials", "most"], "--trials"),
    (["--suite", "nope.jsonl"], "nope.jsonl"),
    (["--protocol", "no-such-protocol"], "no-such-protocol"),
    (["--limit", "0"], "--limit"),
])
def test_bad_input_is_one_line(tiny: Path, tmp_path: Path, args: list[str], expect: str
                               ) -> None:
    base = ["locate", "--model", f"hf:{tiny}", "--out", str(tmp_path / "x"), "--no-progress"]
    res = CliRunner().invoke(app, [*base, *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and expect in lines[0], res.output
