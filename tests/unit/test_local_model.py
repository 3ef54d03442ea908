"""The `LocalModel` contract on a tiny random Llama built in code: `HFBackend` implements it, and
its named hook points fire once per forward, patch what they name and pass gradients."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from toys import tiny_llama, word_tokenizer

from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.engine.base import Prompt
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.local_model import LocalModel
from sycolab.engine.mock import MockBackend

WORDS = ["hello", "world", "what", "is", "the", "answer", "?", "user", "assistant", "system"]
LAYERS, HEADS = 3, 4


@pytest.fixture(scope="module")
def backend() -> HFBackend:
    tok = word_tokenizer(WORDS)
    model = tiny_llama(tok, seed=1, layers=LAYERS, hidden=32)
    return HFBackend(model, tok, spec="hf:tiny", weights_hash="tiny", workers=1)


def ids_of(backend: HFBackend) -> Any:
    ids, _ = backend.prompt_tokens(Prompt(messages=(Message("user", "what is the answer ?"),)))
    return torch.tensor([ids])


def test_hf_backend_is_a_local_model(backend: HFBackend) -> None:
    assert isinstance(backend, LocalModel)
    assert not isinstance(MockBackend("mock:sycophant"), LocalModel)
    assert (backend.num_layers, backend.num_heads) == (LAYERS, HEADS)
    assert backend.hidden_size == 32 and backend.head_dim == 8
    assert backend.stop_ids == [backend.tokenizer.convert_tokens_to_ids("<|im_end|>")]
    ids, flags = backend.prompt_tokens(Prompt(raw="hello world"))
    assert len(ids) == 2 and flags == []  # not steering: no flags


def test_every_hook_point_fires_once_per_forward(backend: HFBackend) -> None:
    points = backend.hook_points()
    assert len(points) == LAYERS * (HEADS + 2) == len(set(points))
    assert {"blocks.0.residual", "blocks.2.mlp", "blocks.1.attn.head.3"} <= set(points)
    seen: Counter[str] = Counter()
    shapes: dict[str, tuple[int, ...]] = {}

    def count(point: str) -> Any:
        def fn(activation: Any) -> None:
            seen[point] += 1
            shapes[point] = tuple(activation.shape)
        return fn

    ids = ids_of(backend)
    with ExitStack() as stack:
        for point in points:
            stack.enter_context(backend.hooked(point, count(point)))
        backend.forward_logits(ids)
    assert seen == Counter(dict.fromkeys(points, 1))
    n = ids.shape[1]
    assert shapes["blocks.1.attn.head.2"] == (1, n, 8)
    assert shapes["blocks.1.mlp"] == shapes["blocks.1.residual"] == (1, n, 32)
    backend.forward_logits(ids)  # the hooks are gone after the block
    assert sum(seen.values()) == len(points)
    with pytest.raises(UserInputError), backend.hooked("blocks.9.residual", count("x")):
        pass


def test_zeroing_a_head_equals_zeroing_its_output_projection_columns(backend: HFBackend
                                                                     ) -> None:
    ids = ids_of(backend)
    layer, head, d = 1, 2, backend.head_dim
    with backend.hooked(f"blocks.{layer}.attn.head.{head}", torch.zeros_like):
        patched = backend.forward_logits(ids).clone()
    proj = backend.model.model.layers[layer].self_attn.o_proj
    saved = proj.weight.detach().clone()
    try:
        with torch.no_grad():
            proj.weight[:, head * d : (head + 1) * d] = 0.0
        zeroed = backend.forward_logits(ids).clone()
    finally:
        with torch.no_grad():
            proj.weight.copy_(saved)
    plain = backend.forward_logits(ids)
    assert torch.allclose(patched, zeroed, atol=1e-5)
    assert not torch.allclose(patched, plain, atol=1e-3)


def test_a_residual_replacement_changes_the_logits_and_passes_gradients(backend: HFBackend
                                                                        ) -> None:
    ids = ids_of(backend)
    plain = backend.forward_logits(ids).clone()
    with backend.hooked("blocks.0.residual", lambda h: h * 0.5):
        halved = backend.forward_logits(ids)
    assert not torch.allclose(plain, halved, atol=1e-3)
    with backend.hooked("blocks.0.residual", lambda h: None):  # None keeps the activation
        assert torch.equal(backend.forward_logits(ids), plain)
    delta = torch.zeros(backend.hidden_size, requires_grad=True)
    with backend.hooked("blocks.1.residual", lambda h: h + delta):
        logits = backend.forward_logits(ids, grad=True)
    torch.log_softmax(logits[0, -1], dim=-1)[5].backward()
    assert delta.grad is not None and float(delta.grad.abs().sum()) > 0
    backend.model.zero_grad(set_to_none=True)
