"""One batch of token rows as padded tensors: the shape every forward over unequal prompts takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def padded_batch(rows: Sequence[tuple[Sequence[int], Sequence[float]]], pad_id: int, *,
                 left: bool = False) -> tuple[Any, Any, Any]:
    """(ids, attention mask, steering flags) for (ids, flags) rows, right-padded with `pad_id`
    (left-padded with `left`, so the last positions line up). Rows without flags get zeros."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids_t = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    steer = torch.zeros((len(rows), width), dtype=torch.float32)
    for b, (ids, flags) in enumerate(rows):
        span = slice(width - len(ids), width) if left else slice(0, len(ids))
        ids_t[b, span] = torch.tensor(list(ids))
        attn[b, span] = 1
        if flags:
            steer[b, span] = torch.tensor(list(flags), dtype=torch.float32)
    return ids_t, attn, steer
