"""Choice scoring: packing a request into one sequence, reading logits, summing log-probs.

Each request is packed into ONE sequence ``ctx + cont_1 + ... + cont_K`` with a 4D attention
mask (every continuation sees the whole context and itself causally, never the other options)
and position ids that restart at ``len(ctx)`` for each continuation, so the shared prompt is
computed once. Only the hidden states at the positions that are read go through the output head.
Rows are right-padded; padded positions attend only to themselves and are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sycolab.engine.base import Contrast

SteeringScope = Callable[[Any], AbstractContextManager[Any]]
"""Returns the context manager that steers one forward pass with a (batch, width) mask."""


@dataclass
class Packed:
    """One choice request packed into a single sequence."""

    index: int
    ids: list[int]
    positions: list[int]
    segments: list[int]  # 0 = context, k = continuation k (1-based)
    reads: list[int]  # packed index whose logits predict targets[i]
    targets: list[int]
    owner: list[int]  # continuation number (0-based) of each target
    n_options: int
    steer: list[float] = field(default_factory=list)  # per packed token: 1 = assistant (steered)


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def pack(index: int, ctx: list[int], conts: list[list[int]]) -> Packed:
    """The packed row of a context and its continuations."""
    ids = list(ctx)
    positions = list(range(len(ctx)))
    segments = [0] * len(ctx)
    reads: list[int] = []
    targets: list[int] = []
    owner: list[int] = []
    for k, cont in enumerate(conts):
        start = len(ids)
        for j, tok in enumerate(cont):
            reads.append(len(ctx) - 1 if j == 0 else start + j - 1)
            targets.append(tok)
            owner.append(k)
        ids.extend(cont)
        positions.extend(range(len(ctx), len(ctx) + len(cont)))
        segments.extend([k + 1] * len(cont))
    return Packed(index, ids, positions, segments, reads, targets, owner, len(conts))


def head_parts(model: Any) -> tuple[Any, Any] | None:
    """(decoder, output head) when logits = head(decoder(...).last_hidden_state), else None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    cfg = getattr(base, "config", None)
    for attr in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_mult"):
        value = getattr(cfg, attr, None)
        if value not in (None, 1, 1.0):
            return None
    try:
        decoder = base.get_decoder()
        head = base.get_output_embeddings()
    except (AttributeError, NotImplementedError, ValueError):
        return None
    if decoder is None or head is None or decoder is base:
        return None
    return decoder, head


@dataclass
class PackedReader:
    """Runs packed rows through a model and reads the logits at their read positions."""

    model: Any
    pad_id: int
    device: str
    dtype: str
    steering: SteeringScope

    def read_logits(self, rows: list[Packed]) -> tuple[Any, Any]:
        """Float32 logits (rows, reads, vocab) at each row's read positions, and the targets."""
        import torch

        n, width = len(rows), max(len(r.ids) for r in rows)
        n_reads = max(len(r.reads) for r in rows)
        ids = torch.full((n, width), self.pad_id, dtype=torch.long)
        pos = torch.zeros((n, width), dtype=torch.long)
        seg = torch.full((n, width), -1, dtype=torch.long)
        reads = torch.zeros((n, n_reads), dtype=torch.long)
        targets = torch.zeros((n, n_reads), dtype=torch.long)
        steer = torch.zeros((n, width), dtype=torch.float32)
        for b, r in enumerate(rows):
            length = len(r.ids)
            ids[b, :length] = torch.tensor(r.ids)
            pos[b, :length] = torch.tensor(r.positions)
            seg[b, :length] = torch.tensor(r.segments)
            m = len(r.reads)
            reads[b, :m] = torch.tensor(r.reads)
            targets[b, :m] = torch.tensor(r.targets)
            if r.steer:
                steer[b, :length] = torch.tensor(r.steer, dtype=torch.float32)
        # allowed[b, q, k]: key k precedes query q, both real, and k is context or q's own option.
        ar = torch.arange(width)
        causal = ar[None, :] <= ar[:, None]
        sq, sk = seg[:, :, None], seg[:, None, :]
        allowed = causal[None] & (sk >= 0) & (sq >= 0) & ((sk == 0) | (sk == sq))
        allowed |= torch.eye(width, dtype=torch.bool)[None]  # padding attends to itself only
        mdtype = torch_dtype(self.dtype)
        mask = torch.zeros((n, 1, width, width), dtype=mdtype)
        mask.masked_fill_(~allowed[:, None], torch.finfo(mdtype).min)

        device = self.device
        ids, pos, mask = ids.to(device), pos.to(device), mask.to(device)
        reads, targets = reads.to(device), targets.to(device)
        parts = head_parts(self.model)
        with torch.inference_mode(), self.steering(steer):
            if parts is not None:
                decoder, head = parts
                out = decoder(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
                hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
                picked = torch.gather(hidden, 1, reads[:, :, None].expand(-1, -1, hidden.shape[-1]))
                logits = head(picked).float()
            else:
                out = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False
                )
                full = out.logits
                logits = torch.gather(
                    full, 1, reads[:, :, None].expand(-1, -1, full.shape[-1])
                ).float()
        return logits, targets

    def score(self, rows: list[Packed]) -> list[list[float]]:
        """Per row, the summed log-probability of each continuation."""
        import torch

        logits, targets = self.read_logits(rows)
        with torch.inference_mode():
            logprobs = torch.log_softmax(logits, dim=-1)
            token_lp = torch.gather(logprobs, 2, targets[:, :, None])[:, :, 0].cpu().double()
        sums: list[list[float]] = []
        for b, r in enumerate(rows):
            values = [0.0] * r.n_options
            for j, k in enumerate(r.owner):
                values[k] += float(token_lp[b, j])
            sums.append(values)
        return sums

    def score_contrast(self, pairs: list[tuple[Packed, Packed | None, Contrast]]
                       ) -> list[list[float | None]]:
        """LQCD scores of (leading, neutral or None = the same input, contrast) rows."""
        import torch

        from sycolab.engine.contrastive import contrastive_logprobs

        n = len(pairs)
        # a neutral row identical to its leading row is not computed twice: it is the same logits
        separate = [neut for _, neut, _ in pairs if neut is not None]
        logits, targets = self.read_logits([lead for lead, _, _ in pairs] + separate)
        where, k = [], n
        for b, (_, neut, _) in enumerate(pairs):
            where.append(b if neut is None else k)
            k += neut is not None
        alpha = torch.tensor([c.alpha for _, _, c in pairs], dtype=torch.float32)[:, None, None]
        beta = torch.tensor([c.beta for _, _, c in pairs], dtype=torch.float32)[:, None, None]
        with torch.inference_mode():
            neutral_logits = logits[torch.tensor(where, device=logits.device)]
            scores, plausible = contrastive_logprobs(
                neutral_logits, logits[:n], alpha.to(logits.device), beta.to(logits.device)
            )
            tgt = targets[:n, :, None]
            token_lp = torch.gather(scores, 2, tgt)[:, :, 0].cpu().double()
            token_ok = torch.gather(plausible, 2, tgt)[:, :, 0].cpu()
        out: list[list[float | None]] = []
        for b, (lead, _, _) in enumerate(pairs):
            values: list[float | None] = [0.0] * lead.n_options
            for j, k in enumerate(lead.owner):
                current = values[k]
                if current is None:
                    continue
                values[k] = None if not bool(token_ok[b, j]) else current + float(token_lp[b, j])
            out.append(values)
        return out
