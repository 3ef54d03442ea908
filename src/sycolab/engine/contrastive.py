"""LQCD math (Zhao et al. 2024): contrastive next-token log-probabilities with adaptive
plausibility.

    scores    = log_softmax((1 + alpha) * logits(neutral) - alpha * logits(leading))  (full vocab)
    plausible = p(token | neutral) >= beta * max_t p(t | neutral)

Masked tokens are removed without renormalizing: a plausible token keeps its `scores` value. With
identical neutral and leading logits, `scores` equals the model's own log-probabilities.
"""

from __future__ import annotations

import math
from typing import Any

from sycolab.core.errors import UserInputError


def check_contrast(alpha: float, beta: float) -> None:
    """One-line `UserInputError` for settings LQCD is not defined for."""
    if not math.isfinite(alpha) or alpha < 0:
        raise UserInputError("expected a finite number >= 0", param="alpha", value=alpha)
    if not math.isfinite(beta) or not 0 <= beta <= 1:
        raise UserInputError("expected a number between 0 and 1", param="beta", value=beta)


def _column(value: Any, like: Any) -> Any:
    import torch

    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return t.reshape(*t.shape, *([1] * (like.dim() - t.dim()))) if t.dim() else t


def contrastive_logprobs(
    neutral_logits: Any, leading_logits: Any, alpha: Any = 1.0, beta: Any = 0.1
) -> tuple[Any, Any]:
    """(scores, plausible) over the last dimension (the vocabulary).

    `alpha` / `beta` are floats or tensors broadcast from the leading dimensions (one per row).
    `scores` are float32 log-probabilities; `plausible` is a bool tensor of the same shape.
    """
    import torch

    neutral = neutral_logits.float()
    leading = leading_logits.float()
    a = _column(alpha, neutral)
    b = _column(beta, neutral)
    scores = torch.log_softmax((1 + a) * neutral - a * leading, dim=-1)
    neutral_lp = torch.log_softmax(neutral, dim=-1)
    top = neutral_lp.max(dim=-1, keepdim=True).values
    with torch.no_grad():
        log_b = torch.log(torch.clamp(b, min=0.0))  # -inf for beta = 0: everything plausible
    plausible = neutral_lp >= top + log_b
    return scores, plausible


def contrastive_greedy(
    neutral_logits: Any, leading_logits: Any, alpha: Any = 1.0, beta: Any = 0.1
) -> Any:
    """LQCD-greedy next token per row: argmax of the contrastive scores among plausible tokens."""
    import torch

    scores, plausible = contrastive_logprobs(neutral_logits, leading_logits, alpha, beta)
    masked = scores.masked_fill(~plausible, -math.inf)
    return torch.argmax(masked, dim=-1)
