"""LQCD: the contrastive math; identical neutral/leading inputs give the model's own scores; a
real contrast generates as the step-by-step definition does."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from test_steering import tiny_model, tiny_tokenizer
from toy_prompts import prompt, question

from sycolab.core.errors import UserInputError
from sycolab.engine.base import ChoiceRequest, Contrast, GenerateRequest
from sycolab.engine.contrastive import check_contrast, contrastive_greedy, contrastive_logprobs
from sycolab.engine.hf_backend import HFBackend


def test_contrastive_math() -> None:
    neutral = torch.tensor([[2.0, 1.0, -3.0, 0.0]])
    leading = torch.tensor([[0.0, 3.0, -3.0, 0.0]])
    scores, ok = contrastive_logprobs(neutral, leading, 1.0, 0.1)
    want = torch.log_softmax(2 * neutral - leading, dim=-1)
    assert torch.allclose(scores, want)
    p = torch.softmax(neutral, dim=-1)
    assert ok.tolist() == (p >= 0.1 * p.max()).tolist()
    same, ok2 = contrastive_logprobs(neutral, neutral, 1.0, 0.0)
    assert torch.allclose(same, torch.log_softmax(neutral, dim=-1)) and bool(ok2.all())
    assert contrastive_greedy(neutral, leading, 1.0, 0.1).tolist() == [0]
    # per-row settings broadcast
    s2, _ = contrastive_logprobs(neutral.repeat(2, 1), leading.repeat(2, 1),
                                 torch.tensor([[1.0], [0.0]]), 0.1)
    assert torch.allclose(s2[1], torch.log_softmax(neutral[0], dim=-1))
    with pytest.raises(UserInputError):
        check_contrast(1.0, 1.5)
    with pytest.raises(UserInputError):
        check_contrast(-1.0, 0.1)


def test_identical_inputs_give_unmodified_scores() -> None:
    tok = tiny_tokenizer()
    backend = HFBackend(tiny_model(tok, seed=5), tok, spec="hf:t", weights_hash="t")
    reqs = [ChoiceRequest(prompt(question("t1", "f2", g), s), ("t1", "f2", "t1 or f2", ""))
            for g in (True, False) for s in (None, "f2")]
    plain = backend.score(reqs)
    for beta in (0.0, 0.1, 0.5):
        lqcd = backend.score([ChoiceRequest(r.prompt, r.continuations,
                                            contrast=Contrast(r.prompt, 1.0, beta)) for r in reqs])
        for a, b in zip(plain, lqcd, strict=True):
            for x, y in zip(a, b, strict=True):
                if y is not None:
                    assert y == pytest.approx(x, abs=1e-4)
        if beta == 0.0:
            assert all(v is not None for row in lqcd for v in row)
    # a masked option is None: with beta = 1 only the neutral argmax token survives
    strict = backend.score([ChoiceRequest(reqs[0].prompt, ("t1", "f2"),
                                          contrast=Contrast(reqs[0].prompt, 1.0, 1.0))])[0]
    assert sum(v is None for v in strict) >= 1
    # LQCD-greedy with identical inputs equals plain greedy
    gens = [GenerateRequest(r.prompt, 4) for r in reqs]
    same = [GenerateRequest(r.prompt, 4, contrast=Contrast(r.prompt, 1.0, 0.0)) for r in reqs]
    assert backend.generate(gens) == backend.generate(same)


def _naive_contrast_greedy(backend: HFBackend, leading: list[int], neutral: list[int],
                           steps: int, alpha: float, beta: float) -> list[int]:
    """LQCD-greedy by full forward passes of both inputs at every step (no cache, no batch)."""
    out: list[int] = []
    for _ in range(steps):
        lead = backend.forward_logits(torch.tensor([leading + out]))[0, -1]
        neut = backend.forward_logits(torch.tensor([neutral + out]))[0, -1]
        tok = int(contrastive_greedy(neut[None], lead[None], alpha, beta)[0])
        if tok in set(backend.stop_ids):
            break
        out.append(tok)
    return out


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (1.0, 0.1), (3.0, 0.0)])
def test_real_contrast_generation_matches_a_naive_loop(alpha: float, beta: float) -> None:
    """Different neutral and leading prompts take the contrastive path, and its batched, cached
    generation equals the step-by-step definition; with a strong contrast it departs from plain
    greedy on at least one prompt (so the test cannot pass by ignoring the contrast)."""
    tok = tiny_tokenizer()
    backend = HFBackend(tiny_model(tok, seed=5), tok, spec="hf:t", weights_hash="t")
    pairs = [(prompt(question("t1", "f2", g), s), prompt(question("t1", "f2", g)))
             for g in (True, False) for s in ("f2", "t1")]
    steps = 6
    reqs = [GenerateRequest(lead, steps, contrast=Contrast(neutral, alpha, beta))
            for lead, neutral in pairs]
    got = backend.generate(reqs)
    want = [backend.tokens.decode(_naive_contrast_greedy(
        backend, backend.prompt_tokens(lead)[0], backend.prompt_tokens(neutral)[0], steps,
        alpha, beta), skip_special=True) for lead, neutral in pairs]
    assert got == want
    plain = backend.generate([GenerateRequest(lead, steps) for lead, _ in pairs])
    if alpha >= 3.0:
        assert got != plain
