"""Named hook points of a decoder-only transformer, for reading and patching activations.

Names (``l`` = decoder layer, ``h`` = attention head, both 0-based):

``blocks.l.attn.head.h``  head ``h``'s output: its slice of the input to the attention output
                          projection, shape (batch, seq, head_dim);
``blocks.l.attn.heads``   every head's output at once, (batch, seq, heads, head_dim): the same
                          tensors as the ``head.h`` points, one hook per layer (localisation);
``blocks.l.mlp``          the MLP block's output, (batch, seq, hidden);
``blocks.l.residual``     the residual stream after layer ``l`` (the layer's output), the stream
                          that steering vectors are added to, (batch, seq, hidden).

`HookPoints.hooked(point, fn)` calls ``fn(activation)`` on every forward inside the block; a
tensor it returns replaces the activation (None keeps it). Replacements are ordinary tensor ops,
so gradients flow through them (attribution patching).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.steering_hooks import decoder_layers

HookFn = Callable[[Any], Any]
"""Called with an activation tensor; returns a replacement tensor or None."""

_POINT = re.compile(r"^blocks\.(\d+)\.(residual|mlp|attn\.heads|attn\.head\.(\d+))$")
_ATTN = ("self_attn", "attn", "attention", "self_attention")
_OUT_PROJ = ("o_proj", "out_proj", "c_proj", "dense")
_MLP = ("mlp", "feed_forward", "ffn")


def _child(module: Any, names: tuple[str, ...], what: str) -> Any:
    for name in names:
        found = getattr(module, name, None)
        if found is not None:
            return found
    raise UserInputError(f"hook points: cannot find the {what} of {type(module).__name__}")


def output_projection(layer: Any) -> Any:
    """The attention output projection of one decoder layer (o_proj, out_proj, c_proj, dense):
    its input is every head's output side by side, head h at columns h*head_dim.."""
    return _child(_child(layer, _ATTN, "attention"), _OUT_PROJ, "attention output")


class HookPoints:
    """The hook points of `model` (any peft wrapper is looked through)."""

    def __init__(self, model: Any, num_heads: int, head_dim: int) -> None:
        self.layers = decoder_layers(model)
        self.num_heads = num_heads
        self.head_dim = head_dim

    def names(self) -> list[str]:
        """Every point, layer by layer: the heads, the MLP, then the residual stream."""
        out: list[str] = []
        for layer in range(len(self.layers)):
            out += [f"blocks.{layer}.attn.head.{h}" for h in range(self.num_heads)]
            out += [f"blocks.{layer}.mlp", f"blocks.{layer}.residual"]
        return out

    @contextmanager
    def hooked(self, point: str, fn: HookFn) -> Iterator[None]:
        """`fn` sees (and may replace) the activation at `point` during the block."""
        m = _POINT.match(point)
        if m is None or not int(m.group(1)) < len(self.layers):
            raise UserInputError(f"hook point {point!r}: not one of this model's points "
                                 f"(blocks.0..{len(self.layers) - 1}.residual|mlp|attn.heads|"
                                 "attn.head.H)")
        layer = self.layers[int(m.group(1))]
        if m.group(2) == "attn.heads":
            handle = output_projection(layer).register_forward_pre_hook(self._heads_hook(fn))
        elif m.group(3) is not None:
            head = int(m.group(3))
            if head >= self.num_heads:
                raise UserInputError(f"hook point {point!r}: the model has {self.num_heads} "
                                     "heads per layer")
            handle = output_projection(layer).register_forward_pre_hook(self._head_hook(head, fn))
        else:
            target = layer if m.group(2) == "residual" else _child(layer, _MLP, "MLP")
            handle = target.register_forward_hook(_output_hook(fn))
        try:
            yield
        finally:
            handle.remove()

    def _head_hook(self, head: int, fn: HookFn) -> Callable[[Any, Any], Any]:
        lo, hi = head * self.head_dim, (head + 1) * self.head_dim

        def hook(module: Any, args: Any) -> Any:
            import torch

            x = args[0]
            new = fn(x[..., lo:hi])
            if new is None:
                return None
            return (torch.cat([x[..., :lo], new.to(x.dtype), x[..., hi:]], dim=-1), *args[1:])

        return hook

    def _heads_hook(self, fn: HookFn) -> Callable[[Any, Any], Any]:
        heads, dim = self.num_heads, self.head_dim

        def hook(module: Any, args: Any) -> Any:
            x = args[0]
            new = fn(x.unflatten(-1, (heads, dim)))
            if new is None:
                return None
            return (new.reshape(x.shape).to(x.dtype), *args[1:])

        return hook


def _output_hook(fn: HookFn) -> Callable[[Any, Any, Any], Any]:
    def hook(module: Any, args: Any, output: Any) -> Any:
        hidden = output[0] if isinstance(output, tuple) else output
        new = fn(hidden)
        if new is None:
            return None
        return (new, *output[1:]) if isinstance(output, tuple) else new

    return hook


def model_dimensions(model: Any) -> tuple[int, int, int, int]:
    """(hidden size, layers, attention heads, head dim) from the config; 0 where unknown."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    cfg = getattr(base, "config", None)

    def number(*names: str) -> int:
        for name in names:
            value = getattr(cfg, name, None)
            if isinstance(value, int):
                return value
        return 0

    hidden = number("hidden_size", "n_embd", "d_model")
    heads = number("num_attention_heads", "n_head")
    head_dim = number("head_dim") or (hidden // heads if heads else 0)
    try:
        layers = len(decoder_layers(model))
    except UserInputError:
        layers = 0
    return hidden, layers, heads, head_dim
