"""KL-then-steer on a tiny random model: the adapter folder loads as --adapter and lowers the
KL that steering causes on benign prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("tokenizers")

from test_steering import tiny_model, tiny_tokenizer
from toy_prompts import prompt, question

from sycolab.engine.base import SteeringConfig
from sycolab.engine.hf_backend import HFBackend
from sycolab.evaluation.side_effects import measure_side_effects
from sycolab.mitigations.kts import KTSConfig, train_kts
from sycolab.mitigations.steering import SteeringVector


def test_kts_adapter_reduces_steering_kl(tmp_path: Path) -> None:
    from peft import PeftModel

    tok = tiny_tokenizer()
    prompts = [prompt(question(t, f, g)) for t, f, g in
               [("t1", "f2", True), ("t3", "f4", False), ("t5", "f6", True), ("t7", "f8", False)]]
    model = tiny_model(tok, seed=7)
    folder = tmp_path / "tiny"
    model.save_pretrained(str(folder))
    torch.manual_seed(1)
    vec = SteeringVector({1: torch.randn(64) * 2.0, 2: torch.randn(64) * 2.0})
    vpath = vec.save(tmp_path / "v.safetensors")
    backend = HFBackend(model, tok, spec="hf:tiny", weights_hash="w")
    cfg = KTSConfig(steps=60, batch_size=4, lr=3e-3, steer_prob=1.0, layers=[1, 2],
                    norm_fraction=0.5, n_random=2)
    meta = train_kts(backend, prompts, tmp_path / "adapter", cfg, vectors=[str(vpath)])
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert json.loads((tmp_path / "adapter" / "kts.json").read_text())["layers"] == [1, 2]
    assert meta["steered_kl_last_quarter"] < meta["steered_kl_first_quarter"]

    base = tiny_model(tok, seed=7)  # fresh copy of the original weights
    # deploy at the strength the pool trained with: norm_fraction x the layer's residual norm
    norm = meta["mean_residual_norm"]["1"]
    steer = SteeringConfig(str(vpath), float(0.5 * norm / vec.vectors[1].norm()), (1,))
    plain = HFBackend(base, tok, spec="hf:tiny", weights_hash="w", steering=steer)
    before, rows = measure_side_effects(plain, prompts)
    adapted_model = PeftModel.from_pretrained(tiny_model(tok, seed=7), str(tmp_path / "adapter"))
    adapted = HFBackend(adapted_model, tok, spec="hf:tiny", weights_hash="w",
                        adapter=str(tmp_path / "adapter"), steering=steer)
    after, _ = measure_side_effects(adapted, prompts)
    assert len(rows) == len(prompts) and before["kl"]["n"] == len(prompts)
    assert after["kl"]["value"] < before["kl"]["value"]
