"""Synthetic data: pairing, no train/held-out overlap, balance, determinism, bad inputs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.core.errors import UserInputError
from sycolab.core.suites import load_suite
from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Progress
from sycolab.mitigations.data import YieldTooLowError, base_items, known_mask, synthesize


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(model="mock:stubborn", out=out, seed=3, progress=False)
    return out


def test_pairing_every_base_under_both_personas_same_target(synth: Path) -> None:
    rows = _rows(synth / "train.jsonl")
    by_base: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_base.setdefault(r["base_id"], []).append(r)
    assert by_base
    for group in by_base.values():
        assert len(group) == 2
        assert {r["target"] for r in group} == {group[0]["target"]}
        assert sorted(r["suggests_target"] for r in group) == [False, True]
        assert {r["suggested"] for r in group} == {group[0]["target"], group[0]["other"]}
        assert group[0]["persona"] != group[1]["persona"]
        for r in group:
            assert r["chosen"] == r["messages"][-1:] and r["prompt"] == r["messages"][:-1]
            assert r["target"] in r["chosen"][0]["content"]


def test_no_overlap_between_training_and_heldout(synth: Path) -> None:
    manifest = json.loads((synth / "manifest.json").read_text())
    train_keys = {tuple(k) for k in manifest["pairing_keys"]}
    held_keys = {tuple(k) for k in manifest["heldout_pairing_keys"]}
    assert train_keys and held_keys and not train_keys & held_keys
    train_rows, held_rows = _rows(synth / "train.jsonl"), _rows(synth / "heldout.jsonl")
    assert {r["suite"] for r in train_rows} == {"facts", "addition-claims"}
    assert {r["suite"] for r in held_rows} == {"arithmetic"}
    assert not {r["base_id"] for r in train_rows} & {r["base_id"] for r in held_rows}
    assert {(r["suite"], r["item_id"]) for r in train_rows} == train_keys
    items = _rows(synth / "heldout_items.jsonl")
    assert {i["id"] for i in items} == {r["base_id"] for r in held_rows}
    suite = load_suite(f"jsonl:{synth / 'heldout_items.jsonl'}")
    assert len(suite) == len(items)


def test_labels_and_option_order_balanced(synth: Path) -> None:
    rows = _rows(synth / "train.jsonl")
    for source in ("facts", "addition-claims"):
        claims = [r for r in rows if r["suite"] == source and r["kind"] == "claim"]
        labels = Counter(r["target"] for r in claims)
        assert labels["Agree"] == labels["Disagree"] > 0
        for label in ("Agree", "Disagree"):
            firsts = Counter(r["order"][0] == r["target"] for r in claims if r["target"] == label)
            assert abs(firsts[True] - firsts[False]) <= 2
    manifest = json.loads((synth / "manifest.json").read_text())
    assert manifest["n_examples"]["train"] == len(rows) == 300
    counts = manifest["counts"]["train"]["facts"]
    assert counts["claim:Agree"]["after"] == counts["claim:Disagree"]["after"]


def test_trl_schemas(synth: Path) -> None:
    sft, dpo = _rows(synth / "sft.jsonl"), _rows(synth / "dpo.jsonl")
    assert len(sft) == len(dpo) == 300
    assert all(set(r) == {"messages"} for r in sft)
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in sft)
    assert all(set(r) == {"prompt", "chosen", "rejected"} for r in dpo)
    assert all(r["chosen"] != r["rejected"] for r in dpo)


def test_deterministic_for_a_seed(synth: Path, tmp_path: Path) -> None:
    synthesize(model="mock:stubborn", out=tmp_path / "a", seed=3, progress=False)
    synthesize(model="mock:stubborn", out=tmp_path / "b", seed=4, progress=False)
    for name in ("train.jsonl", "heldout.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (synth / name).read_bytes()
    assert (tmp_path / "b" / "train.jsonl").read_bytes() != (synth / "train.jsonl").read_bytes()


class FirstOption(Backend):
    """Prefers whichever continuation comes first: right in one order only."""

    def score(self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
              ) -> list[list[float | None]]:
        return [[0.0, *[-1.0] * (len(r.continuations) - 1)] for r in requests]

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None
                 ) -> list[str]:
        return [""] * len(requests)

    def describe(self) -> dict[str, Any]:
        return {"spec": "test:first", "weights_hash": ""}


def test_known_filter_needs_both_orders() -> None:
    bases = base_items(load_suite("facts").items[:20], 0)
    mask = known_mask(FirstOption(), bases)
    for b, ok in zip(bases, mask, strict=True):
        assert ok == (b.kind == "qa")  # claims are asked in both orders; questions once


def test_low_yield_exits_2_with_counts(tmp_path: Path) -> None:
    with pytest.raises(YieldTooLowError) as info:
        synthesize(backend=FirstOption(), out=tmp_path, progress=False, min_yield=0.9)
    assert "facts" in info.value.counts["train"]
    res = CliRunner().invoke(app, ["data", "synth", "--model", "mock:always?answer=A",
                                   "--min-yield", "0.9", "--out", str(tmp_path / "x"),
                                   "--no-progress"])
    assert res.exit_code == 2, res.output
    assert "before" in res.output and "known yield" in res.output
    assert "--min-yield" in res.output.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--source", "jsonl:EMPTY"], "empty"),
        (["--source", "foo:bar.jsonl"], "unknown suite"),
        (["--source", "facts", "--heldout", "facts"], "must differ"),
        (["--model", "hf:/nonexistent/model"], "--model"),
    ],
)
def test_bad_inputs_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    args = [a.replace("EMPTY", str(empty)) for a in args]
    res = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path / "o"),
                                   "--no-progress", *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0]


def test_jsonl_source_is_used(tmp_path: Path) -> None:
    src = tmp_path / "mine.jsonl"
    src.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?",
                                       "answer": str(i + 1), "wrong": str(i + 2)}) + "\n"
                           for i in range(40)))
    res = synthesize(model="mock:stubborn", source=["facts", f"jsonl:{src}"], split="all",
                     out=tmp_path / "o", progress=False)
    assert "mine" in res.train.counts
    assert any(b.suite == "mine" for b in res.train.bases)
    with pytest.raises(UserInputError):
        synthesize(model=None, source=[f"jsonl:{src}"], heldout=[f"jsonl:{src}"],
                   out=tmp_path / "p", progress=False)
