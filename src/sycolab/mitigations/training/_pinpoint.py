"""Pinpoint tuning (Chen et al. 2024, arXiv 2409.01658): train only located attention heads.

The heads come from a `sycolab locate` file (``locate.json``: ``protocols[P]["heads"]``, ranked)
or a plain JSON list of ``[layer, head]``. Training is SFT with a LoRA on the attention output
projection of the layers that hold those heads, whose ``lora_A`` input columns outside the heads'
slices ``[h * head_dim, (h + 1) * head_dim)`` are zero and kept at zero by a gradient mask: the
merged update ``B @ A`` touches only the located heads' columns of the output projection, and
every other weight of the model stays frozen.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.hook_points import model_dimensions, output_projection
from sycolab.engine.steering_hooks import decoder_layers
from sycolab.evaluation.locate import (
    Head,
    heads_from_doc,
    load_heads_file,
    parse_heads,
    take_heads,
)

logger = logging.getLogger(__name__)

HeadsSource = str | Path | Sequence[Sequence[int]]
DEFAULT_TOP = 4  # heads taken from a ranked locate.json when `top` is not given


def resolve_heads(source: HeadsSource, *, protocol: str | None = None, top: int | None = None
                  ) -> tuple[list[Head], dict[str, Any]]:
    """The heads to train and their provenance (file, sha256, protocol, top).

    `top` None takes `DEFAULT_TOP` heads from a ranked locate.json and every head of an explicit
    list (a JSON list file or a Python sequence)."""
    if isinstance(source, str | Path):
        path = Path(source)
        raw, doc = load_heads_file(path)
        locate = isinstance(doc, dict)
        top = DEFAULT_TOP if top is None and locate else top
        heads, chosen = heads_from_doc(doc, str(path), protocol=protocol, top=top)
        info = {"file": str(path.resolve()), "sha256": hashlib.sha256(raw).hexdigest(),
                "protocol": chosen, "top": top,
                "format": "locate" if locate else "list",
                "locate_model": doc.get("model") if locate else None}
        return heads, info
    heads = take_heads(parse_heads([list(p) for p in source], "heads"), top, "heads")
    return heads, {"file": None, "sha256": None, "protocol": None, "top": top, "format": "list",
                   "locate_model": None}


def check_heads(model: Any, heads: Sequence[Head]) -> int:
    """Validate `heads` against `model`; returns the head dimension."""
    _, n_layers, n_heads, head_dim = model_dimensions(model)
    if not n_layers or not n_heads or not head_dim:
        raise UserInputError("pinpoint: cannot read the number of layers and heads of "
                             f"{type(model).__name__}")
    for layer, head in heads:
        if layer >= n_layers or head >= n_heads:
            raise UserInputError(f"pinpoint: head [{layer}, {head}] is not in the model "
                                 f"({n_layers} layers 0..{n_layers - 1}, {n_heads} heads "
                                 f"0..{n_heads - 1} per layer)")
    return head_dim


def target_modules(model: Any, heads: Sequence[Head]) -> dict[str, int]:
    """Full module names of the output projections holding `heads` -> their layer index."""
    layers = decoder_layers(model)
    wanted = {id(output_projection(layers[layer])): layer for layer, _ in heads}
    names = {name: wanted[id(mod)] for name, mod in model.named_modules() if id(mod) in wanted}
    if len(set(names.values())) != len(wanted):
        raise UserInputError("pinpoint: cannot name the attention output projections")
    return names


def column_mask(heads: Sequence[Head], layer: int, width: int, head_dim: int) -> Any:
    """A (width,) float mask: 1 on the columns of `layer`'s chosen heads, 0 elsewhere."""
    import torch

    mask = torch.zeros(width)
    for lay, head in heads:
        if lay == layer:
            mask[head * head_dim:(head + 1) * head_dim] = 1.0
    return mask


def restrict_lora(peft_model: Any, projections: dict[str, int], heads: Sequence[Head],
                  head_dim: int) -> int:
    """Zero every LoRA ``A`` column outside the chosen heads and mask its gradient so it stays
    zero; returns how many LoRA parameters can move. Every LoRA module must wrap one of
    `projections` (the base model's output projections, by name)."""
    import torch

    movable, seen = 0, set()
    for name, module in peft_model.named_modules():
        lora_a = getattr(module, "lora_A", None)
        if not isinstance(lora_a, torch.nn.ModuleDict) or not lora_a:
            continue
        layer = next((lay for proj, lay in projections.items()
                      if name == proj or name.endswith("." + proj)), None)
        if layer is None:
            raise UserInputError(f"pinpoint: unexpected LoRA module {name}")
        seen.add(layer)
        for a in lora_a.values():
            weight: Any = a.weight
            mask = column_mask(heads, layer, weight.shape[1], head_dim).to(weight.device,
                                                                           weight.dtype)
            with torch.no_grad():
                weight.mul_(mask)
            weight.register_hook(lambda grad, m=mask: grad * m)
            movable += int(mask.sum().item()) * weight.shape[0]
        for b in module.lora_B.values():
            movable += b.weight.numel()
    if seen != set(projections.values()):
        raise UserInputError("pinpoint: the LoRA does not cover every located layer")
    return movable
