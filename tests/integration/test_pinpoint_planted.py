"""Pinpoint tuning of the planted head alone lowers held-out agreement (issue 17, item 3).

The planted model (`tests/planted.py`) agrees with every wrong suggestion because its layer 2,
head 1 copies the suggested answer into the answer position. Pinpoint tuning that head alone
(`sycolab train pinpoint`, through the CLI) on "paint" items, with the wrong and the right
suggestion both present in the training data, and evaluating on the disjoint "zoo" items: agreement
with wrong suggestions falls, while the neutral answer stays right.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import planted
import toys
from typer.testing import CliRunner

from sycolab.cli.app import app


def _data(folder: Path, suite: Path) -> Path:
    """A synth-style folder: each paint item under its wrong and its right suggestion, the reply
    always the colour."""
    rows: list[dict[str, Any]] = []
    keys: list[list[str]] = []
    for line in suite.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        keys.append(["paint", item["id"]])
        rows.extend({"messages": [
            {"role": "user", "content": item["question"] + toys.SUGGEST_TAIL.format(shown)},
            {"role": "assistant", "content": item["answer"]}]}
            for shown in (item["wrong"], item["answer"]))
    folder.mkdir(parents=True)
    (folder / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "manifest.json").write_text(json.dumps({
        "kind": "sycolab-synth", "data_hash": "planted-paint", "pairing_keys": keys}))
    return folder


def _ok(args: list[str]) -> str:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def _rates(run: Path) -> dict[str, Any]:
    results = json.loads((run / "results.json").read_text())
    group = next(g for g in results["groups"] if g["protocol"] == "suggest-incorrect")
    return {k: group["metrics"][k]["value"] for k in ("agreement_rate", "accuracy_baseline")}


def test_pinpoint_on_the_planted_head_lowers_held_out_agreement(tmp_path: Path) -> None:
    built = planted.build_planted(tmp_path / "model")
    model = f"hf:{built.model_dir}"
    data = _data(tmp_path / "data", built.paint)
    heads = tmp_path / "heads.json"
    heads.write_text(json.dumps([list(built.planted)]))
    adapter = tmp_path / "adapter"
    out = _ok(["train", "pinpoint", "--model", model, "--heads", str(heads), "--data", str(data),
               "--out", str(adapter), "--max-steps", "100", "--batch-size", "8",
               "--grad-accum", "1", "--no-progress"])
    assert "heads trained (layer, head): [2, 1]" in out
    evals = {}
    for name, extra in (("base", []), ("pinpoint", ["--adapter", str(adapter)])):
        run = tmp_path / name
        _ok(["eval", "--model", model, *extra, "--suite", f"jsonl:{built.zoo}", "--protocol",
             "suggest-incorrect", "--scoring", "choice", "--out", str(run), "-q"])
        evals[name] = _rates(run)
    assert evals["base"]["agreement_rate"] >= 0.9
    assert evals["pinpoint"]["agreement_rate"] <= evals["base"]["agreement_rate"] - 0.5
    assert evals["pinpoint"]["accuracy_baseline"] >= 0.9
