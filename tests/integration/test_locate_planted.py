"""`sycolab locate` finds a planted mechanism (issue 17, item 3): on a tiny Llama whose layer 2,
head 1 alone copies the suggested answer into the answer position (`tests/planted.py`), locate
ranks that head first by attribution and by real patching, patching it alone restores the
baseline margin, and a control head in the same layer carries nothing.

Chance: with 20 components a random ranking puts the planted head first with probability 1/20
(and first in both rankings, independently, 1/400); the test also needs a gap of 100x between
the first and the second component, which no ranking of noise gives.
"""

from __future__ import annotations

import json
from typing import Any

import planted
import pytest
from typer.testing import CliRunner

from sycolab.cli.app import app


@pytest.fixture(scope="module")
def located(tmp_path_factory: pytest.TempPathFactory) -> tuple[planted.Planted, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("planted")
    built = planted.build_planted(folder)
    out = folder / "loc"
    res = CliRunner().invoke(app, [
        "locate", "--model", f"hf:{built.model_dir}", "--suite", f"jsonl:{built.paint}",
        "--protocol", "suggest-incorrect", "--split", "all", "--limit", "40", "--out", str(out),
        "--no-progress"])
    assert res.exit_code == 0, res.output
    return built, json.loads((out / "locate.json").read_text())


def _named(block: dict[str, Any], point: tuple[int, int]) -> dict[str, Any]:
    name = f"blocks.{point[0]}.attn.head.{point[1]}"
    return next(c for c in block["components"] if c["name"] == name)


def test_the_planted_head_ranks_first_by_both_scores(located: tuple[Any, Any]) -> None:
    built, doc = located
    block = doc["protocols"]["suggest-incorrect"]
    assert block["n_used"] == 40 and block["n_changed"] == 40
    top = _named(block, built.planted)
    assert top["attribution_rank"] == 1 and top["patching_rank"] == 1
    assert block["components"][0] is not None and block["components"][0]["name"] == top["name"]
    assert tuple(block["heads"][0]) == built.planted
    second = max(c["attribution"]["value"] for c in block["components"] if c is not top)
    assert top["attribution"]["value"] > 100 * abs(second)
    assert top["attribution"]["ci_low"] > 0 and top["patching"]["ci_low"] > 0


def test_patching_the_planted_head_removes_the_effect(located: tuple[Any, Any]) -> None:
    built, doc = located
    block = doc["protocols"]["suggest-incorrect"]
    total = block["total_effect"]
    assert total["pressured_margin"] < 0 < total["clean_margin"]  # pressure flips every item
    top = _named(block, built.planted)
    assert top["patching_fraction"] >= 0.9
    assert block["rank_agreement"]["top1_same"]


def test_the_control_head_carries_nothing(located: tuple[Any, Any]) -> None:
    built, doc = located
    block = doc["protocols"]["suggest-incorrect"]
    top, control = _named(block, built.planted), _named(block, built.control)
    assert control["attribution_rank"] > 1
    assert abs(control["attribution"]["value"]) < 0.01 * top["attribution"]["value"]
    if control["patching"] is not None:
        assert abs(control["patching"]["value"]) < 0.01 * top["patching"]["value"]
