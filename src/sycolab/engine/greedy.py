"""Batched greedy generation with a KV cache, prefix reuse and per-row early stop.

Written by hand instead of calling ``model.generate`` for two things it does not do: a prompt
may start from the key/value states of an earlier request with the same token prefix (the
challenge turn of a multi-turn protocol encodes only its new tokens), and rows that have finished
leave the batch, so a batch whose replies mostly stop after ten tokens does not keep paying for
all of its rows until the longest one ends.

Cache layout of one batch: row ``i`` reuses ``c_i`` cached tokens and encodes ``n_i`` new ones;
columns are ``[pad (C - c_i)] [cached c_i] [pad (N - n_i)] [new n_i] [generated ...]`` with
``C = max c_i`` and ``N = max n_i``. Padding columns are masked out of attention; positions are
explicit, so a row's numbers do not depend on its neighbours beyond float rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sycolab.engine.prefix_cache import PrefixCache

# Finished rows are dropped once they are this share of the batch (each drop copies the cache).
COMPACT_SHARE = 0.25


@dataclass
class _Row:
    ids: list[int]
    flags: list[float] | None
    cached: int = 0
    new: int = 0


@dataclass
class _Output:
    rows: list[int]  # the rows fed this output's tokens: [leading] or [leading, neutral]
    limit: int
    out: list[int] = field(default_factory=list)
    done: bool = False


@dataclass
class Contrastive:
    """LQCD-greedy generation: each output also feeds a neutral prompt (`engine.contrastive`)."""

    neutral: Sequence[tuple[list[int], list[float]]]
    alpha: Sequence[float]
    beta: Sequence[float]


def prefill_inputs(rows: Sequence[_Row], prefix_cache: PrefixCache | None, pad_id: int,
                   device: str, cache_kwarg: str) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    """The first forward's inputs: each row starts from the cached states of its longest stored
    prefix (`row.cached`, `row.new` are set), and its uncached tail is left-padded to the
    longest. Returns ids, positions, attention mask, steering mask (device tensors) and the
    forward keywords (the batched cache, when any row reuses one)."""
    import torch

    reused: list[Any] = [None] * len(rows)
    if prefix_cache is not None:
        for i, row in enumerate(rows):
            row.cached, reused[i] = prefix_cache.lookup(row.ids, row.flags, len(row.ids) - 1)
    for row in rows:
        row.new = len(row.ids) - row.cached
    if prefix_cache is not None:
        prefix_cache.count(sum(r.cached for r in rows), sum(r.new for r in rows))
    n = len(rows)
    c_max, n_max = max(r.cached for r in rows), max(r.new for r in rows)
    ids = torch.full((n, n_max), pad_id, dtype=torch.long)
    pos = torch.zeros((n, n_max), dtype=torch.long)
    attn = torch.zeros((n, c_max + n_max), dtype=torch.long)
    mask = torch.zeros((n, n_max), dtype=torch.float32)
    for b, r in enumerate(rows):
        ids[b, n_max - r.new:] = torch.tensor(r.ids[r.cached:])
        pos[b, n_max - r.new:] = torch.arange(r.cached, len(r.ids))
        attn[b, c_max - r.cached:c_max] = 1
        attn[b, c_max + n_max - r.new:] = 1
        if r.flags is not None:
            mask[b, n_max - r.new:] = torch.tensor(r.flags[r.cached:])
    kwargs: dict[str, Any] = {}
    if c_max > 0:
        kwargs[cache_kwarg] = _batch_cache(list(rows), reused, c_max)
    return ids.to(device), pos.to(device), attn.to(device), mask.to(device), kwargs


def greedy_generate(
    model: Any,
    prompts: Sequence[tuple[list[int], list[float]]],
    limits: Sequence[int],
    *,
    pad_id: int,
    stop_ids: Sequence[int],
    device: str,
    cache_kwarg: str,
    steering: Callable[[Any], AbstractContextManager[Any]],
    prefix_cache: PrefixCache | None = None,
    contrastive: Contrastive | None = None,
) -> list[list[int]]:
    """Greedy continuations (token ids, stop token included) of each prompt.

    `prompts` are (token ids, steering flags) pairs, flags empty when not steering; `steering`
    returns the context manager that installs steering with a (batch, width) mask of the fed
    columns; `prefix_cache` (None: no reuse) supplies and receives key/value states. With
    `contrastive`, output i's next token is LQCD-greedy over prompt i (leading) and neutral i,
    and both are fed it.
    """
    import torch

    from sycolab.engine.contrastive import contrastive_greedy

    pairs = list(prompts) + (list(contrastive.neutral) if contrastive is not None else [])
    rows = [_Row(list(ids), list(flags) if flags else None) for ids, flags in pairs]
    n_out = len(prompts)
    outputs = [_Output([i] if contrastive is None else [i, n_out + i], limit)
               for i, limit in enumerate(limits)]
    ids, pos, attn, mask, kwargs = prefill_inputs(rows, prefix_cache, pad_id, device,
                                                  cache_kwarg)
    c_max, n_max = max(r.cached for r in rows), max(r.new for r in rows)
    alpha = beta = None
    if contrastive is not None:
        alpha = torch.tensor(list(contrastive.alpha), dtype=torch.float32, device=device)[:, None]
        beta = torch.tensor(list(contrastive.beta), dtype=torch.float32, device=device)[:, None]
    stops = set(stop_ids)
    active = list(range(n_out))  # outputs in the batch; batch rows = their rows, leading first
    with torch.inference_mode(), steering(mask):
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=True,
                    logits_to_keep=1, **kwargs)
        cache = out[cache_kwarg] if cache_kwarg in out else out["past_key_values"]
        reusable = prefix_cache is not None and _plain_layers(cache)
        pos = pos[:, -1:]
        while True:
            logits = out.logits[:, -1]
            if alpha is None or beta is None:
                nxt = logits.argmax(-1).tolist()
            else:
                k = len(active)
                nxt = contrastive_greedy(logits[k:], logits[:k], alpha, beta).tolist()
            for b, o in enumerate(active):
                output = outputs[o]
                if output.done:
                    continue
                output.out.append(int(nxt[b]))
                output.done = nxt[b] in stops or len(output.out) >= output.limit
            finished = [b for b, o in enumerate(active) if outputs[o].done]
            if len(finished) == len(active) or len(finished) >= COMPACT_SHARE * len(active):
                k = len(active)
                if reusable and prefix_cache is not None:
                    for b in finished:
                        output = outputs[active[b]]
                        for j, row_index in enumerate(output.rows):
                            _store(prefix_cache, cache, j * k + b, rows[row_index], output.out,
                                   c_max, n_max)
                if len(finished) == len(active):
                    break
                keep = [b for b in range(k) if not outputs[active[b]].done]
                batch_rows = [j * k + b for j in range(len(outputs[0].rows)) for b in keep]
                index = torch.tensor(batch_rows, device=device)
                cache.batch_select_indices(index)
                attn, pos = attn[index], pos[index]
                if alpha is not None and beta is not None:
                    alpha, beta = alpha[keep], beta[keep]
                nxt = [nxt[b] for b in keep]
                active = [active[b] for b in keep]
            tok = torch.tensor(nxt * len(outputs[0].rows), dtype=torch.long, device=device)
            attn = torch.cat([attn, torch.ones_like(tok)[:, None]], dim=1)
            pos = pos + 1
            kwargs = {cache_kwarg: cache}
            out = model(input_ids=tok[:, None], attention_mask=attn, position_ids=pos,
                        use_cache=True, logits_to_keep=1, **kwargs)
    return [o.out for o in outputs]


def _plain_layers(cache: Any) -> bool:
    """Whether every layer keeps full (kv_heads, length, head_dim) states we can slice and reuse."""
    from transformers.cache_utils import DynamicLayer

    layers: list[Any] = list(getattr(cache, "layers", None) or [])
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def _batch_cache(rows: list[_Row], reused: list[Any], c_max: int) -> Any:
    """A DynamicCache of `c_max` columns holding each row's reused states, left-padded."""
    from transformers import DynamicCache

    first = next(e for e in reused if e is not None)
    data = []
    for layer in range(len(first.keys)):
        kv_heads, _, head_dim = first.keys[layer].shape
        keys = first.keys[layer].new_zeros((len(rows), kv_heads, c_max, head_dim))
        values = first.values[layer].new_zeros((len(rows), kv_heads, c_max, head_dim))
        for b, (row, entry) in enumerate(zip(rows, reused, strict=True)):
            if row.cached:
                keys[b, :, c_max - row.cached:] = entry.keys[layer][:, :row.cached]
                values[b, :, c_max - row.cached:] = entry.values[layer][:, :row.cached]
        data.append((keys, values))
    return DynamicCache(ddp_cache_data=data)


def _store(store: PrefixCache, cache: Any, b: int, row: _Row, out: list[int], c_max: int,
           n_max: int) -> None:
    """Copy batch row `b`'s real columns out of the cache into the prefix store."""
    import torch

    fed = out[:-1]  # the last generated token was never fed back
    cols = torch.tensor(_row_columns(row, len(fed), c_max, n_max),
                        device=cache.layers[0].keys.device)
    keys = [layer.keys[b].index_select(1, cols) for layer in cache.layers]
    values = [layer.values[b].index_select(1, cols) for layer in cache.layers]
    flags = None if row.flags is None else [*row.flags, *([1.0] * len(fed))]
    store.store([*row.ids, *fed], flags, keys, values)


def _row_columns(row: _Row, fed: int, c_max: int, n_max: int) -> list[int]:
    """Cache columns holding the row's real tokens: cached, new, then fed reply tokens."""
    return [*range(c_max - row.cached, c_max), *range(c_max + n_max - row.new, c_max + n_max),
            *range(c_max + n_max, c_max + n_max + fed)]
