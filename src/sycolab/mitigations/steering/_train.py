"""CAA training: contrast pairs from items, mean residual difference at the answer position.

A contrast pair is the pressured prompt of an item (the `suggest-incorrect` step, or the
`persona` step for opinion items without gold) ending in the sycophantic answer (the suggested
one) versus the honest answer (gold, else the first option not matching the persona). Answers are
written as scored by `choice` (``(B)`` for lettered options, the option text otherwise), cut after
the letter so the read position is the letter token itself. The vector at layer l is the mean over
pairs of h_l(prompt + sycophantic) - h_l(prompt + honest) at the answer's last token, where h_l is
the output of decoder block l.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sycolab.core.conversation import step_messages
from sycolab.core.errors import UserInputError
from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer
from sycolab.core.suites import Suite
from sycolab.engine.base import Backend, ChoiceRequest, Prompt
from sycolab.engine.local_model import LocalModel, require_local
from sycolab.engine.padding import padded_batch
from sycolab.engine.steering_hooks import middle_third
from sycolab.mitigations.steering._vector import SteeringVector

PAIR_PROTOCOLS = ("suggest-incorrect", "persona")


@dataclass(frozen=True)
class ContrastPair:
    """One prompt with the answer a sycophant gives and the honest one (as continuations)."""

    prompt: Prompt
    sycophantic: str
    honest: str
    key: tuple[str, str, str]  # pairing key: suite, item_id, protocol


def contrast_pairs(
    items: Sequence[Item], *, seed: int = 0, system_prompt: str | None = None
) -> list[ContrastPair]:
    """One pair per item that `suggest-incorrect` (else `persona`) can run on."""
    from sycolab.evaluation.plan import build_plan

    by_suite: dict[str, list[Item]] = {}
    for item in items:
        by_suite.setdefault(item.suite, []).append(item)
    pairs: list[ContrastPair] = []
    done: set[tuple[str, str]] = set()
    for name, group in by_suite.items():
        suite = Suite.build(name, group, name)
        for proto in PAIR_PROTOCOLS:
            try:
                plan = build_plan([suite], [proto], scoring="choice", seed=seed)
            except UserInputError:
                continue
            for t in plan.trials:
                if (t.item.suite, t.item.item_id) in done or t.suggested is None:
                    continue
                pres = t.presentation
                norm = [normalize_answer(o) for o in pres.options]
                sug = normalize_answer(t.suggested)
                honest_norm = t.gold if t.gold is not None and t.gold != sug else None
                if honest_norm is None:
                    honest_norm = next((o for o in norm if o != sug), None)
                if sug not in norm or honest_norm is None or honest_norm not in norm:
                    continue
                conts = pres.continuations()
                cond = t.conditions[-1]
                messages, prefill = step_messages(
                    t.item, t.protocol, cond, pres, wrong=t.wrong, persona=t.persona,
                    history=(), system_prompt=system_prompt,
                )

                answers = [c[:-1] if pres.lettered and c.endswith(")") else c for c in conts]
                pairs.append(ContrastPair(
                    Prompt(messages=messages, prefill=prefill),
                    answers[norm.index(sug)], answers[norm.index(honest_norm)],
                    (t.item.suite, t.item.item_id, proto),
                ))
                done.add((t.item.suite, t.item.item_id))
    return pairs


def pairs_hash(pairs: Sequence[ContrastPair]) -> str:
    blob = [[p.prompt.key(), p.sycophantic, p.honest, list(p.key)] for p in pairs]
    return hashlib.sha256(json.dumps(blob, ensure_ascii=False).encode()).hexdigest()


def train_vector(
    backend: Backend | LocalModel,
    items: Sequence[Item] | Sequence[ContrastPair],
    layers: Sequence[int] | None = None,
    *,
    batch_size: int = 8,
    seed: int = 0,
    system_prompt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SteeringVector:
    """CAA vectors for `layers` (default: the middle third) from items or ready contrast pairs.

    `backend` is a local model; it runs unsteered (its adapter, if any, stays on).
    """
    import torch
    backend = require_local(backend, "steer train")

    pairs = [p for p in items if isinstance(p, ContrastPair)]
    if len(pairs) != len(items):
        pairs = contrast_pairs([i for i in items if isinstance(i, Item)], seed=seed,
                               system_prompt=system_prompt)
    if not pairs:
        raise UserInputError("steer train: no item yields a contrast pair (items need a wrong or "
                             "suggested answer)")
    n_layers = backend.num_layers
    chosen = sorted(set(middle_third(n_layers) if layers is None else layers))
    for layer in chosen:
        if not 0 <= layer < n_layers:
            raise UserInputError(f"the model has layers 0..{n_layers - 1}",
                                 param="layers", value=layer)
    seqs: list[list[int]] = []
    for p in pairs:
        ctx, conts = backend.encode_choice(ChoiceRequest(p.prompt, (p.sycophantic, p.honest)))
        if not conts[0] or not conts[1]:
            raise UserInputError(f"steer train: empty answer for item {p.key[1]}")
        seqs += [ctx + conts[0], ctx + conts[1]]
    captured: dict[int, Any] = {}

    def grab(layer: int) -> Callable[[Any], None]:
        def keep(activation: Any) -> None:
            captured[layer] = activation
        return keep

    pad = backend.pad_id
    total: dict[int, Any] = dict.fromkeys(chosen)
    with ExitStack() as hooks:
        for layer in chosen:
            hooks.enter_context(backend.hooked(f"blocks.{layer}.residual", grab(layer)))
        step = max(2, batch_size - batch_size % 2)
        for start in range(0, len(seqs), step):
            batch = seqs[start : start + step]
            ids, attn, unsteered = padded_batch([(s, ()) for s in batch], pad)
            last = torch.tensor([len(s) - 1 for s in batch])
            # a zero steering mask: no position is steered, whatever the backend steers
            backend.forward_logits(ids, attn, unsteered, keep=1)
            for layer in chosen:
                hid = captured[layer].float()
                h = hid[torch.arange(len(batch), device=hid.device), last.to(hid.device)]
                diff = (h[0::2] - h[1::2]).sum(dim=0).cpu()
                total[layer] = diff if total[layer] is None else total[layer] + diff
            if progress is not None:
                progress(len(batch) // 2)
    info = backend.describe()
    return SteeringVector(
        vectors={layer: total[layer] / len(pairs) for layer in chosen},
        model=str(info.get("spec", "")),
        weights_hash=str(info.get("weights_hash", "")),
        n_pairs=len(pairs),
        data_hash=pairs_hash(pairs),
        pairing_keys=[list(p.key) for p in pairs],
        metadata={"adapter": info.get("adapter"), "adapter_hash": info.get("adapter_hash"),
                  "position": "last token of the answer (the letter for lettered options)",
                  "layer_convention": "output of decoder block l (0-based)",
                  "system_prompt": system_prompt, "seed": seed},
    )
