"""LQCD: the contrastive math, and identical neutral/leading inputs give the model's own scores."""

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
