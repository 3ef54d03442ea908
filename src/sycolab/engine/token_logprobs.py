"""Prompt log-probabilities: each token's log-probability given the tokens before it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sycolab.engine.padding import padded_batch
from sycolab.engine.scoring import SteeringScope

PROMPT_LOGPROB_TOKENS = 1024
"""Tokens per prompt-log-prob forward pass (bounds the full-vocabulary logits' memory)."""


@dataclass
class TokenLogprob:
    """One token's log-probability and the most likely alternatives (id, log-prob)."""

    token_id: int
    logprob: float
    top: list[tuple[int, float]] = field(default_factory=list)


def prompt_logprob_batch(model: Any, prompts: Sequence[tuple[list[int], list[float]]],
                         top_k: int, *, pad_id: int, device: str, steering: SteeringScope
                         ) -> list[list[TokenLogprob | None]]:
    """One right-padded forward over (ids, steering flags) rows; per row, None for the first
    token, then each token's log-probability (with the `top_k` likeliest alternatives)."""
    import torch

    ids_t, attn, steer = padded_batch(prompts, pad_id)
    with torch.inference_mode(), steering(steer):
        out = model(input_ids=ids_t.to(device), attention_mask=attn.to(device), use_cache=False)
        lp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
        target = ids_t[:, 1:].to(lp.device)
        chosen = torch.gather(lp, 2, target[:, :, None])[:, :, 0].double().cpu()
        tops = lp.topk(top_k, dim=-1) if top_k > 0 else None
        top_v = tops.values.double().cpu().tolist() if tops is not None else None
        top_i = tops.indices.cpu().tolist() if tops is not None else None
    results: list[list[TokenLogprob | None]] = []
    for b, (ids, _) in enumerate(prompts):
        row: list[TokenLogprob | None] = [None]
        for j in range(1, len(ids)):
            alts: list[tuple[int, float]] = []
            if top_v is not None and top_i is not None:
                alts = [(int(t), float(v))
                        for t, v in zip(top_i[b][j - 1], top_v[b][j - 1], strict=True)]
            row.append(TokenLogprob(ids[j], float(chosen[b, j - 1]), alts))
        results.append(row)
    return results
