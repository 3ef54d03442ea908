"""KL-then-steer (Stickland et al. 2024), CPU preset from the field guide.

A LoRA adapter (peft, all linear layers) is trained so that steering does little harm on benign
prompts. Each step, with probability `steer_prob`, one direction of a fixed pool (seeded random
unit directions plus any given steering vectors, normalized) is added at every position of one
randomly drawn layer of `layers` (default: the middle third), scaled to `norm_fraction` times the
layer's mean residual-stream norm and a strength c ~ U[-strength, strength]. Loss = KL(steered
model with adapter || original model without adapter, unsteered), summed over the vocabulary, at
the last `kl_positions` positions of each benign prompt, with the reference log-probabilities
computed once and cached. The output folder is a peft adapter usable as
``--adapter DIR --steer FILE``, plus ``kts.json`` and ``sycolab_training.json``, which record the
`Prompt.key()` (sha256-based) of every training prompt: the side-effect pass refuses an adapter
trained on the benign prompts it measures (callers train on the benign set's "train" half).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import Backend, Prompt
from sycolab.engine.local_model import LocalModel, require_local
from sycolab.engine.padding import padded_batch
from sycolab.engine.steering_hooks import ResidualSteerer, middle_third, read_steering_file
from sycolab.evaluation.interventions import TRAINING_RECORD

logger = logging.getLogger(__name__)


@dataclass
class KTSConfig:
    steps: int = 40
    batch_size: int = 4
    lr: float = 1e-4
    steer_prob: float = 0.5
    strength: float = 1.5
    norm_fraction: float = 0.25
    n_random: int = 16
    layers: list[int] | None = None
    lora_r: int = 8
    lora_alpha: int = 16
    kl_positions: int = 32
    max_tokens: int = 96
    seed: int = 0


def _kl(lp: Any, ref: Any) -> Any:
    return (lp.exp() * (lp - ref)).sum(-1)


def train_kts(
    backend: Backend | LocalModel,
    prompts: Sequence[Prompt],
    out: str | Path,
    config: KTSConfig | None = None,
    *,
    vectors: Sequence[str] = (),
    benign: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train and save the adapter; returns the metadata written to ``OUT/kts.json``."""
    import torch
    backend = require_local(backend, "kts train")
    from peft import LoraConfig, get_peft_model

    cfg = config or KTSConfig()
    if backend.adapter is not None or backend.steering is not None:
        raise UserInputError("kts train: start from the plain model (no --adapter, no --steer)")
    if not prompts:
        raise UserInputError("kts train: no benign prompts")
    started = time.perf_counter()
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = backend.model
    device = backend.device
    layers = sorted(set(cfg.layers if cfg.layers is not None
                        else middle_third(backend.num_layers)))
    seqs = [backend.prompt_tokens(p)[0][-cfg.max_tokens :] for p in prompts]

    def batch_tensors(rows: list[list[int]]) -> tuple[Any, Any]:
        # left padding: the last positions line up
        ids, attn, _ = padded_batch([(r, ()) for r in rows], backend.pad_id, left=True)
        return ids.to(device), attn.to(device)

    # reference log-probs (unsteered, no adapter) at the last kl_positions, and residual norms
    norms: dict[int, list[float]] = {layer: [] for layer in layers}
    captured: dict[int, Any] = {}

    def grab(layer: int) -> Callable[[Any], None]:
        def keep(activation: Any) -> None:
            captured[layer] = activation
        return keep

    k = cfg.kl_positions
    reference: list[Any] = []
    with ExitStack() as hooks:
        for layer in layers:
            hooks.enter_context(backend.hooked(f"blocks.{layer}.residual", grab(layer)))
        for i in range(0, len(seqs), cfg.batch_size):
            rows = seqs[i : i + cfg.batch_size]
            ids, attn = batch_tensors(rows)
            logits = backend.forward_logits(ids, attn, keep=k)
            with torch.inference_mode():
                lp = torch.log_softmax(logits.float(), dim=-1)
                for b, r in enumerate(rows):
                    n = min(k, len(r))
                    reference.append(lp[b, -n:].to(torch.float16).cpu())
                for layer in layers:
                    h = captured[layer].float().norm(dim=-1)
                    norms[layer].append(float(h[attn.bool()].mean()))
    mean_norm = {layer: sum(v) / len(v) for layer, v in norms.items()}
    hidden = backend.hidden_size
    if not hidden:
        raise UserInputError("kts train: cannot tell the model's hidden size")
    gen = torch.Generator().manual_seed(cfg.seed)
    pool: list[dict[int, Any]] = [
        {layer: torch.randn(hidden, generator=gen) for layer in layers}
        for _ in range(cfg.n_random)
    ]
    for path in vectors:
        vecs, _ = read_steering_file(path)
        pool.append({layer: vecs[layer] for layer in layers if layer in vecs})
    for entry in pool:
        for layer, v in entry.items():
            entry[layer] = v / v.norm().clamp(min=1e-8) * mean_norm[layer] * cfg.norm_fraction

    peft_model = get_peft_model(model, LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
        task_type="CAUSAL_LM"))
    steerer = ResidualSteerer(peft_model, {}, 1.0)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    losses: list[float] = []
    steered_losses: list[float] = []
    peft_model.train()
    order: list[int] = []
    for step in range(cfg.steps):
        if len(order) < cfg.batch_size:
            extra = list(range(len(seqs)))
            rng.shuffle(extra)
            order += extra
        idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
        rows = [seqs[i] for i in idx]
        ids, attn = batch_tensors(rows)
        steer = rng.random() < cfg.steer_prob
        if steer:
            entry = pool[rng.randrange(len(pool))]
            layer = rng.choice(sorted(entry))  # one layer per step, as a deployed vector is used
            steerer.set_vectors({layer: entry[layer]})
            steerer.multiplier = rng.uniform(-cfg.strength, cfg.strength)
        steerer.begin(None)
        with steerer.installed() if steer else nullcontext():
            logits = peft_model(input_ids=ids, attention_mask=attn, use_cache=False,
                                logits_to_keep=k).logits
        lp = torch.log_softmax(logits.float(), dim=-1)
        total = torch.zeros((), device=lp.device)
        count = 0
        for b, r in enumerate(rows):
            n = min(k, len(r))
            ref = reference[idx[b]].to(device=lp.device, dtype=torch.float32)
            total = total + _kl(lp[b, -n:], ref).sum()
            count += n
        loss = total / count
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        losses.append(float(loss.detach()))
        if steer:
            steered_losses.append(losses[-1])
        if step % 10 == 0 or step == cfg.steps - 1:
            logger.info(f"step {step + 1}/{cfg.steps} kl {losses[-1]:.4f} "
                f"({time.perf_counter() - started:.0f}s)")
    peft_model.eval()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    half = max(1, len(steered_losses) // 4)
    keys = sorted({p.key() for p in prompts})
    meta = {
        "method": "kl-then-steer",
        "model": backend.spec,
        "weights_hash": backend.weights_hash,
        "config": asdict(cfg),
        "layers": layers,
        "mean_residual_norm": {str(k2): v for k2, v in mean_norm.items()},
        "pool": {"n_random": cfg.n_random, "vectors": [str(v) for v in vectors]},
        "benign": {**(benign if benign is not None else {"size": len(prompts)}),
                   "prompt_keys": keys},
        "seconds": time.perf_counter() - started,
        "steered_kl_first_quarter": (sum(steered_losses[:half]) / half) if steered_losses else None,
        "steered_kl_last_quarter": (sum(steered_losses[-half:]) / half) if steered_losses else None,
        "kl_positions": "last kl_positions positions of each prompt",
    }
    (out_dir / "kts.json").write_text(json.dumps(meta, indent=2))
    record = {"method": "kl-then-steer", "pairing_keys": [], "benign": meta["benign"]}
    (out_dir / TRAINING_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return meta
