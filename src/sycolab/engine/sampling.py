"""Batched token-level generation (`sycolab serve`): greedy or sampled rows, each with its own seed.

One batch mixes requests of any temperature, `top_p` and seed. Prompts are left-padded with
explicit positions and a key/value cache; a prompt starts from the engine's prefix store where
an earlier request (greedy or sampled) left its states; finished rows leave the batch. The cache
layout is `sycolab.engine.greedy`'s (which picks by argmax only). Each row draws its random
numbers from its own `torch.Generator`, seeded from the request's `seed` (a fresh random seed
without one), one draw per sampled token, and applies its own temperature and nucleus (`top_p`)
to its own logits, so a seeded request's tokens do not depend on its neighbours in the batch.
Its logits do, by float rounding alone (padding, batch shape, a cached prefix): a sampled token
can change only when a draw falls within that rounding of a boundary between two tokens'
cumulative probabilities. Steering applies as in `engine.greedy`: each row's prompt flags, and
every generated token.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The engine's cache layout and prefix-store helpers, shared so that greedy and sampled rows
# reuse each other's prompt states.
from sycolab.engine.greedy import _plain_layers, _Row, _store, prefill_inputs
from sycolab.engine.prefix_cache import PrefixCache
from sycolab.engine.scoring import SteeringScope

# Finished rows are dropped once they are this share of the batch (each drop copies the cache).
COMPACT_SHARE = 0.25
SEED_SPACE = 1 << 64


@dataclass
class DecodeJob:
    """One sequence to continue: prompt ids, budget and sampling settings."""

    ids: list[int]
    max_new: int
    temperature: float = 0.0  # 0: greedy (argmax)
    top_p: float = 1.0
    seed: int | None = None
    top_logprobs: int | None = None  # None: no log-probs; k: each token's plus the k likeliest
    steer: list[float] = field(default_factory=list)  # per prompt token (empty: not steering)


@dataclass
class Decoded:
    """Generated ids (stop token excluded) and, where asked, their log-probabilities."""

    tokens: list[int] = field(default_factory=list)
    stopped: bool = False
    logprobs: list[float] = field(default_factory=list)
    top: list[list[tuple[int, float]]] = field(default_factory=list)


class _RowSampler:
    """Picks one row's next token from its logits: argmax, or a draw from its own generator.

    The arithmetic is numpy float64 on one thread: the same numbers whatever the batch, and no
    OpenMP barriers on a busy CPU (torch's element-wise ops over a 49k vocabulary fork threads).
    """

    def __init__(self, job: DecodeJob) -> None:
        import torch

        self.job = job
        self.gen: Any = None
        if job.temperature > 0:
            seed = secrets.randbits(63) if job.seed is None else job.seed % SEED_SPACE
            self.gen = torch.Generator(device="cpu").manual_seed(seed)

    def pick(self, logits: Any) -> int:
        """The next token from one row's logits (a float32 numpy vector)."""
        import numpy as np
        import torch

        if self.gen is None:
            return int(np.argmax(logits))
        u = float(torch.rand((), generator=self.gen, dtype=torch.float64))
        z = logits.astype(np.float64) / self.job.temperature
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        if self.job.top_p >= 1.0:
            cum = np.cumsum(probs)
            return min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(cum) - 1)
        order = _nucleus(probs, self.job.top_p)
        kept = probs[order]
        cum = np.cumsum(kept)
        j = min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(cum) - 1)
        return int(order[j])


def _nucleus(probs: Any, top_p: float) -> Any:
    """Token ids of the smallest most-likely set reaching `top_p`, most likely first."""
    import numpy as np

    k = 64
    while True:
        if k >= len(probs):
            order = np.argsort(-probs, kind="stable")
            break
        top = np.argpartition(-probs, k)[:k]
        if probs[top].sum() >= top_p:
            order = top[np.argsort(-probs[top], kind="stable")]
            break
        k *= 8
    sorted_p = probs[order]
    keep = int(((np.cumsum(sorted_p) - sorted_p) < top_p).sum())
    return order[: max(keep, 1)]


def decode_batch(model: Any, jobs: Sequence[DecodeJob], *, pad_id: int, stop_ids: Sequence[int],
                 device: str, steering: SteeringScope, cache_kwarg: str = "past_key_values",
                 prefix_cache: PrefixCache | None = None) -> list[Decoded]:
    """Continue every job's prompt in one batch (each `max_new` >= 1).

    With `prefix_cache` (the engine's store, shared with greedy generation), a prompt starts
    from the cached key/value states of its longest stored prefix, and finished rows are stored.
    """
    import torch

    samplers = [_RowSampler(j) for j in jobs]
    results = [Decoded() for _ in jobs]
    picked: list[list[int]] = [[] for _ in jobs]  # every chosen token, stop token included
    rows = [_Row(list(j.ids), list(j.steer) if j.steer else None) for j in jobs]
    n = len(rows)
    ids, pos, attn, mask, kwargs = prefill_inputs(rows, prefix_cache, pad_id, device,
                                                  cache_kwarg)
    c_max, n_max = max(r.cached for r in rows), max(r.new for r in rows)
    stops = set(stop_ids)
    active = list(range(n))
    done = [False] * n
    with torch.inference_mode(), steering(mask):
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=True,
                    logits_to_keep=1, **kwargs)
        cache = out[cache_kwarg] if cache_kwarg in out else out["past_key_values"]
        reusable = prefix_cache is not None and _plain_layers(cache)
        pos = pos[:, -1:]
        while True:
            logits = out.logits[:, -1].float().cpu().numpy()
            nxt: list[int] = []
            for b, r in enumerate(active):
                if done[r]:  # finished, still in the batch until the next compaction
                    nxt.append(pad_id)
                    continue
                tok = samplers[r].pick(logits[b])
                nxt.append(tok)
                picked[r].append(tok)
                _record(results[r], jobs[r], logits[b], tok, tok in stops)
                done[r] = tok in stops or len(results[r].tokens) >= jobs[r].max_new
            finished = [b for b, r in enumerate(active) if done[r]]
            if len(finished) == len(active) or len(finished) >= COMPACT_SHARE * len(active):
                if reusable and prefix_cache is not None:
                    for b in finished:
                        r = active[b]
                        _store(prefix_cache, cache, b, rows[r], picked[r], c_max, n_max)
                if len(finished) == len(active):
                    break
                keep = [b for b, r in enumerate(active) if not done[r]]
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                attn, pos = attn[index], pos[index]
                nxt, active = [nxt[b] for b in keep], [active[b] for b in keep]
            tok_t = torch.tensor(nxt, dtype=torch.long, device=device)[:, None]
            attn = torch.cat([attn, torch.ones_like(tok_t)], dim=1)
            pos = pos + 1
            out = model(input_ids=tok_t, attention_mask=attn, position_ids=pos, use_cache=True,
                        logits_to_keep=1, **{cache_kwarg: cache})
    return results


def _record(res: Decoded, job: DecodeJob, logits: Any, tok: int, stop: bool) -> None:
    """Append the picked token (or mark the stop) with its log-probabilities where asked."""
    import numpy as np

    if stop:
        res.stopped = True
        return
    res.tokens.append(tok)
    if job.top_logprobs is None:
        return
    z = logits.astype(np.float64)
    top = z.max()
    lp = z - (top + np.log(np.exp(z - top).sum()))
    res.logprobs.append(float(lp[tok]))
    alts: list[tuple[int, float]] = []
    k = min(job.top_logprobs, len(lp))
    if k > 0:
        best = np.argpartition(-lp, k - 1)[:k] if k < len(lp) else np.arange(len(lp))
        best = best[np.argsort(-lp[best], kind="stable")]
        alts = [(int(t), float(lp[t])) for t in best]
    res.top.append(alts)
