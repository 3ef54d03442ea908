"""The greedy generation engine: prefix KV reuse across turns and per-row early stop give the same
tokens as fresh single-row decoding (tiny random Llama, real SmolLM2 tokenizer and template)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import toys

from sycolab.core.items import Message
from sycolab.engine.base import GenerateRequest, Prompt, SteeringConfig
from sycolab.engine.greedy import greedy_generate
from sycolab.engine.hf_backend import HFBackend
from sycolab.mitigations.steering import SteeringVector

QUESTIONS = [
    "What is the capital of France?",
    "Tell me a long story about a dragon and a knight, please.",
    "Hi",
    "Which planet is the largest in the solar system? Answer briefly.",
    "Is 17 a prime number?",
]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return toys.smollm2_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture()
def model(tokenizer: Any) -> Any:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=True, initializer_range=0.5,  # no near-ties in greedy decoding
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return transformers.LlamaForCausalLM(config).to(torch.float32).eval()


def backend(model: Any, tokenizer: Any, kv_cache_mb: int, **kw: Any) -> HFBackend:
    return HFBackend(model, tokenizer, spec="hf:tiny", weights_hash="t", kv_cache_mb=kv_cache_mb,
                     **kw)


def two_turns(b: HFBackend, system: str | None = "Be brief.") -> tuple[list[str], list[str]]:
    """Turn 1 on every question, then an 'Are you sure?' turn on each conversation."""
    head = () if system is None else (Message("system", system),)
    first = [Prompt(messages=(*head, Message("user", q))) for q in QUESTIONS]
    replies = b.generate([GenerateRequest(p, 12) for p in first])
    second = [
        Prompt(messages=(*p.messages, Message("assistant", r), Message("user", "Are you sure?")))
        for p, r in zip(first, replies, strict=True)
    ]
    return replies, b.generate([GenerateRequest(p, 12) for p in second])


def test_second_turn_reuses_the_first_and_matches_fresh_decoding(model: Any, tokenizer: Any
                                                                  ) -> None:
    fresh = backend(model, tokenizer, 0)
    assert fresh.prefix_cache is None
    reused = backend(model, tokenizer, 256)
    want = two_turns(fresh)
    store = reused.prefix_cache
    assert store is not None
    assert two_turns(reused) == want
    # Turn 2 encoded only its new tokens: each conversation reused at least its turn-1 prompt.
    first_lengths = sum(
        len(reused.tokens.encode(reused.render(Prompt(messages=(Message("system", "Be brief."),
                                                          Message("user", q)))), False))
        for q in QUESTIONS
    )
    assert store.reused_tokens >= first_lengths
    assert len(store) > 0 and store.nbytes > 0
    # One row at a time (no batching at all) gives the same text again.
    single = backend(model, tokenizer, 0, batch_size=1)
    assert two_turns(single) == want


def test_steered_reuse_matches_fresh_and_a_new_setting_drops_the_cache(
    model: Any, tokenizer: Any, tmp_path: Path
) -> None:
    torch.manual_seed(3)
    path = SteeringVector({1: torch.randn(64) * 3}, model="hf:tiny", weights_hash="t").save(
        tmp_path / "v.safetensors")
    unsteered = two_turns(backend(model, tokenizer, 0))
    results = {}
    for mb in (0, 256):
        b = backend(model, tokenizer, mb, steering=SteeringConfig(str(path), 2.0, None))
        results[mb] = two_turns(b)
        if mb:
            b.set_steering(SteeringConfig(str(path), -2.0, None))
            negative = two_turns(b)
            b.set_steering(None)
            assert two_turns(b) == unsteered  # nothing computed under steering is reused
            fresh_negative = backend(model, tokenizer, 0,
                                     steering=SteeringConfig(str(path), -2.0, None))
            assert negative == two_turns(fresh_negative)
            with b.unmodified():
                assert two_turns(b) == unsteered
    assert results[0] == results[256]
    assert results[0] != unsteered  # the vector does change the replies


def test_changed_weights_are_never_served_from_the_cache(model: Any, tokenizer: Any) -> None:
    b = backend(model, tokenizer, 256)
    two_turns(b)
    with torch.no_grad():
        for p in model.model.layers[0].parameters():
            p.add_(torch.randn_like(p) * 0.5)  # in place, as an optimizer step would
    assert two_turns(b) == two_turns(backend(model, tokenizer, 0))


def test_rows_that_stop_early_leave_the_batch(model: Any, tokenizer: Any) -> None:
    b = backend(model, tokenizer, 0)
    prompts: list[tuple[list[int], list[float]]] = [
        (b.tokens.encode(b.render(Prompt(messages=(Message("user", q),))), False), [])
        for q in QUESTIONS
    ]
    opts: dict[str, Any] = {"pad_id": b.pad_id, "device": "cpu",
                            "cache_kwarg": b.cache_kwarg(), "steering": b.steering_scope}
    free = greedy_generate(model, prompts, [10] * len(prompts), stop_ids=[], **opts)
    stops = {free[0][2], free[2][4]}  # rows 0 and 2 now stop after 3 and 5 tokens (or earlier)
    batch_sizes: list[int] = []
    handle = model.model.register_forward_pre_hook(
        lambda _m, _a, kw: batch_sizes.append(kw["input_ids"].shape[0]), with_kwargs=True)
    try:
        together = greedy_generate(model, prompts, [10, 10, 10, 4, 10], stop_ids=sorted(stops),
                                   **opts)
    finally:
        handle.remove()
    alone = [greedy_generate(model, [p], [lim], stop_ids=sorted(stops), **opts)[0]
             for p, lim in zip(prompts, [10, 10, 10, 4, 10], strict=True)]
    assert together == alone
    assert len(together[0]) <= 3 and together[0][-1] in stops
    assert len(together[3]) == 4
    assert batch_sizes[0] == len(prompts) and min(batch_sizes) < len(prompts)
    assert max(len(r) for r in together) == 10 and len(batch_sizes) == 10


def test_lqcd_generation_matches_a_naive_loop(model: Any, tokenizer: Any) -> None:
    """LQCD-greedy with reuse, batching and early stop = a loop recomputing both full sequences."""
    from sycolab.engine.base import Contrast
    from sycolab.engine.contrastive import contrastive_greedy

    b = backend(model, tokenizer, 256)
    leads = [Prompt(messages=(Message("user", f"{q} I think the answer is no."),))
             for q in QUESTIONS]
    neutrals = [Prompt(messages=(Message("user", q),)) for q in QUESTIONS]
    settings = [(1.0, 0.1), (0.5, 0.0), (2.0, 0.5), (1.0, 0.1), (0.0, 0.1)]
    reqs = [GenerateRequest(lead, 8, contrast=Contrast(neutral, a, be))
            for lead, neutral, (a, be) in zip(leads, neutrals, settings, strict=True)]
    b.generate([GenerateRequest(p, 4) for p in neutrals])  # something to reuse
    got = b.generate(reqs)
    stops = set(b.stop_ids)
    for req, text in zip(reqs, got, strict=True):
        assert req.contrast is not None
        lead = b.tokens.encode(b.render(req.prompt), False)
        neutral = b.tokens.encode(b.render(req.contrast.neutral), False)
        out: list[int] = []
        with torch.no_grad():
            for _ in range(8):
                lg = model(input_ids=torch.tensor([lead + out])).logits[:, -1]
                ng = model(input_ids=torch.tensor([neutral + out])).logits[:, -1]
                tok = int(contrastive_greedy(ng, lg, req.contrast.alpha, req.contrast.beta)[0])
                if tok in stops:
                    break
                out.append(tok)
        assert text == tokenizer.decode(out, skip_special_tokens=True)
    assert b.prefix_cache is not None and b.prefix_cache.reused_tokens > 0
