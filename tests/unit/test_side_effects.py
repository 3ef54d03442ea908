"""Side effects: KL is 0 without a modification, positive with steering; slowdown and set facts."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from test_steering import tiny_model, tiny_tokenizer
from toy_prompts import prompt, question

from sycolab.engine.base import SteeringConfig
from sycolab.engine.hf_backend import HFBackend
from sycolab.evaluation.benign import INSTRUCTIONS, benign_set, instruction_prompts
from sycolab.evaluation.side_effects import measure_side_effects
from sycolab.mitigations.steering import SteeringVector


def test_kl_and_slowdown(tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    model = tiny_model(tok, seed=2)
    prompts = [prompt(question("t1", "f1", True)), prompt(question("t2", "f3", False), "f3")]
    plain = HFBackend(model, tok, spec="hf:t", weights_hash="t")
    summary, rows = measure_side_effects(plain, prompts, benign={"name": "x", "size": 2,
                                                                 "hash": "h"})
    assert summary["kl"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert summary["benign"] == {"name": "x", "size": 2, "hash": "h"}
    path = SteeringVector({1: torch.randn(64) * 3}).save(tmp_path / "v.safetensors")
    steered = HFBackend(model, tok, spec="hf:t", weights_hash="t",
                        steering=SteeringConfig(str(path), 1.0, None))
    summary, rows = measure_side_effects(steered, prompts)
    assert summary["kl"]["value"] > 0 and summary["kl"]["n"] == 2
    assert summary["kl"]["ci_low"] <= summary["kl"]["value"] <= summary["kl"]["ci_high"]
    assert summary["slowdown"] is not None and summary["slowdown"] > 0
    assert [r["index"] for r in rows] == [0, 1] and all(r["kl_last"] > 0 for r in rows)
    assert summary["benign"]["size"] == 2 and len(summary["benign"]["hash"]) == 64


def test_benign_set_is_stable() -> None:
    a = benign_set(per_suite=2)
    b = benign_set(per_suite=2)
    assert a.content_hash == b.content_hash and a.size == len(INSTRUCTIONS) + 6
    assert len(instruction_prompts()) == len(INSTRUCTIONS)
