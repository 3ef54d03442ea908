"""LoRA fine-tuning on synthetic data with trl (SFT, DPO or pinpoint), CPU-safe by default.

Defaults: float32, no gradient checkpointing, bf16/fp16 off, sequences of at most 128 tokens
(longer examples are dropped and counted, never truncated, so no target is cut off), one epoch,
LoRA r=16 on every linear layer (pinpoint: only the located heads' columns of the attention
output projections, see `_pinpoint`). SFT and pinpoint train on the assistant reply only
(trl's prompt-completion form, built from the ``messages`` file). Checkpoints go to
``OUT/checkpoints`` every `save_steps` steps; ``resume=True`` continues from the latest one. The
finished adapter folder holds peft's files plus ``sycolab_training.json`` (the data manifest,
with the pairing keys trained on; for pinpoint, the heads and where they came from).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, get_args

from sycolab.core.errors import UserInputError
from sycolab.core.selection import take
from sycolab.evaluation.locate import Head
from sycolab.mitigations.data import read_jsonl, read_manifest
from sycolab.mitigations.training._pinpoint import (
    HeadsSource,
    check_heads,
    resolve_heads,
    restrict_lora,
    target_modules,
)

logger = logging.getLogger(__name__)

Method = Literal["sft", "dpo", "pinpoint"]
METHODS: tuple[str, ...] = get_args(Method)
TRAINING_RECORD = "sycolab_training.json"
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (every field is a CLI flag of `sycolab train`)."""

    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float | None = None  # None: 2e-4 for SFT, 5e-5 for DPO, 1e-2 for pinpoint
    batch_size: int = 4
    grad_accum: int = 2
    max_length: int = 128
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    beta: float = 0.1
    save_steps: int = 20
    logging_steps: int = 5
    limit: int | None = None
    seed: int = 0

    def lr(self, method: Method) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return {"sft": 2e-4, "dpo": 5e-5, "pinpoint": 1e-2}[method]


@dataclass
class TrainResult:
    adapter_dir: Path
    method: str
    n_examples: int
    n_dropped_long: int
    steps: int
    seconds: float
    final_loss: float | None
    record: dict[str, Any]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _check(method: str, cfg: TrainConfig) -> None:
    if method not in METHODS:
        raise UserInputError(f"train: unknown method {method!r} (valid: {', '.join(METHODS)})")
    for name in ("batch_size", "grad_accum", "max_length", "lora_r", "lora_alpha", "save_steps",
                 "logging_steps"):
        if getattr(cfg, name) < 1:
            raise UserInputError("must be a positive integer", param=name)
    if cfg.epochs <= 0 and cfg.max_steps <= 0:
        raise UserInputError("must be positive (or give --max-steps)", param="epochs")
    if cfg.limit is not None and cfg.limit < 1:
        raise UserInputError("must be a positive integer", param="limit")
    if not 0 <= cfg.lora_dropout < 1:
        raise UserInputError("expected a value in [0, 1)", param="lora_dropout")


def _data_kind(method: Method) -> Literal["sft", "dpo"]:
    """Which data file a method trains on (pinpoint is SFT on fewer weights)."""
    return "dpo" if method == "dpo" else "sft"


def _rows(method: Method, data: Path, cfg: TrainConfig) -> list[dict[str, Any]]:
    method = _data_kind(method)
    rows = read_jsonl(data / f"{method}.jsonl")
    need = ("messages",) if method == "sft" else ("prompt", "chosen", "rejected")
    for n, row in enumerate(rows, start=1):
        if any(not isinstance(row.get(k), list) or not row[k] for k in need):
            raise UserInputError(f"{data / f'{method}.jsonl'}:{n}: expected fields {need}")
    return take(rows, cfg.limit)


def _length(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    ids = tokenizer.apply_chat_template(messages, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def _fit(method: Method, rows: list[dict[str, Any]], tokenizer: Any, max_length: int
         ) -> tuple[list[dict[str, Any]], int]:
    """Dataset rows in trl's form, without examples longer than `max_length` tokens."""
    kept: list[dict[str, Any]] = []
    for row in rows:
        if method != "dpo":
            msgs = row["messages"]
            if _length(tokenizer, msgs) <= max_length:
                kept.append({"prompt": msgs[:-1], "completion": msgs[-1:]})
        else:
            longest = max(
                _length(tokenizer, row["prompt"] + row[k]) for k in ("chosen", "rejected")
            )
            if longest <= max_length:
                kept.append({k: row[k] for k in ("prompt", "chosen", "rejected")})
    return kept, len(rows) - len(kept)


def _load(model: str, device: str) -> tuple[Any, Any, dict[str, Any]]:
    from sycolab.engine.spec import is_local

    if not is_local(model):
        raise UserInputError("training needs a local model (smollm2 or hf:PATH)",
                             param="model", value=model)
    from sycolab.engine.loading import load_hf_backend

    backend = load_hf_backend(model, device=device, dtype="float32")
    info = backend.describe()
    tok = backend.tokenizer
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not getattr(tok, "chat_template", None):
        raise UserInputError("the tokenizer has no chat template", param="model", value=model)
    return backend.model, tok, info


def train(
    method: Method,
    data: str | Path,
    *,
    model: str = "smollm2",
    out: str | Path,
    config: TrainConfig | None = None,
    resume: bool = False,
    keep_checkpoints: bool = False,
    device: str = "cpu",
    progress: bool = True,
    heads: HeadsSource | None = None,
    heads_protocol: str | None = None,
    top: int | None = None,
) -> TrainResult:
    """Train a LoRA adapter with trl on a `sycolab data synth` folder and save it to `out`.

    `method="pinpoint"` needs `heads`: a locate.json (its `heads_protocol`'s ranking; `top`
    heads, default 4), a JSON list file or a sequence of (layer, head) (every head unless `top`).
    """
    cfg = config or TrainConfig()
    _check(method, cfg)
    pin: dict[str, Any] | None = None
    chosen: list[Head] = []
    if method == "pinpoint":
        if heads is None:
            raise UserInputError("pinpoint training needs the heads to train", param="heads")
        chosen, pin = resolve_heads(heads, protocol=heads_protocol, top=top)
    elif heads is not None:
        raise UserInputError(f"only pinpoint training takes heads (method {method})",
                             param="heads")
    data = Path(data)
    manifest = read_manifest(data)
    rows = _rows(method, data, cfg)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError("exists and is not a folder", param="out", value=out)
    ckpt_dir = out / CHECKPOINTS
    if (out / "adapter_config.json").exists() and not resume:
        raise UserInputError("already holds an adapter; choose another folder",
                             param="out", value=out)
    if device not in ("cpu", "auto") and not device.startswith("cuda"):
        raise UserInputError("expected cpu, cuda or auto", param="device", value=device)
    base, tokenizer, info = _load(model, device)
    dataset_rows, n_long = _fit(method, rows, tokenizer, cfg.max_length)
    if not dataset_rows:
        raise UserInputError("every example is longer; raise it",
                             param="max_length", value=cfg.max_length)
    logger.info(f"{method}: {len(dataset_rows)} examples ({n_long} longer than {cfg.max_length} "
             f"tokens dropped), model {model}")

    from datasets import Dataset
    from peft import LoraConfig

    targets: Any = "all-linear"
    if pin is not None:
        head_dim = check_heads(base, chosen)
        projections = target_modules(base, chosen)
        targets = sorted(projections)
        _warn_other_model(pin, info)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    common: dict[str, Any] = {
        "output_dir": str(ckpt_dir), "num_train_epochs": cfg.epochs, "max_steps": cfg.max_steps,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum, "learning_rate": cfg.lr(method),
        "logging_steps": cfg.logging_steps, "save_steps": cfg.save_steps, "save_total_limit": 2,
        "bf16": False, "fp16": False, "gradient_checkpointing": False,
        "use_cpu": device == "cpu", "report_to": "none", "seed": cfg.seed,
        "data_seed": cfg.seed, "disable_tqdm": not progress, "dataloader_num_workers": 0,
        "max_length": cfg.max_length, "lr_scheduler_type": "linear", "warmup_steps": 0,
    }
    dataset = Dataset.from_list(dataset_rows)
    import importlib

    trl: Any = importlib.import_module("trl")
    trainer: Any
    if method != "dpo":
        args: Any = trl.SFTConfig(**common, completion_only_loss=True, packing=False)
        trainer = trl.SFTTrainer(model=base, args=args, train_dataset=dataset,
                                 processing_class=tokenizer, peft_config=lora)
    else:
        args = trl.DPOConfig(**common, beta=cfg.beta)
        trainer = trl.DPOTrainer(model=base, args=args, train_dataset=dataset,
                                 processing_class=tokenizer, peft_config=lora)
    if pin is not None:
        movable = restrict_lora(trainer.model, projections, chosen, head_dim)
        pin |= {"heads": [list(h) for h in chosen], "head_dim": head_dim,
                "target_modules": targets, "movable_params": movable}
        logger.info(f"pinpoint: {len(chosen)} heads {pin['heads']}, {movable} LoRA parameters")
    has_ckpt = ckpt_dir.is_dir() and any(ckpt_dir.glob("checkpoint-*"))
    if resume and not has_ckpt:
        logger.info("resume: no checkpoint in %s; starting from the beginning", ckpt_dir)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=True if resume and has_ckpt else None)
    seconds = time.perf_counter() - start
    trainer.save_model(str(out))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    record = {
        "kind": "sycolab-adapter",
        "method": method,
        "base_model": model,
        "weights_hash": info.get("weights_hash"),
        "data": str(data.resolve()),
        "data_hash": manifest.get("data_hash"),
        "pairing_keys": manifest.get("pairing_keys", []),
        "manifest": manifest,
        "config": asdict(cfg) | {"learning_rate": cfg.lr(method)},
        "n_examples": len(dataset_rows),
        "n_dropped_long": n_long,
        "steps": int(trainer.state.global_step),
        "seconds": round(seconds, 2),
        "resumed": bool(resume and has_ckpt),
        "log_history": trainer.state.log_history,
        **({"pinpoint": pin} if pin is not None else {}),
        "versions": {d: _version(d) for d in ("sycolab", "torch", "transformers", "trl", "peft")},
    }
    (out / TRAINING_RECORD).write_text(json.dumps(record, indent=2, default=str) + "\n")
    if not keep_checkpoints and ckpt_dir.is_dir():
        shutil.rmtree(ckpt_dir)
    return TrainResult(adapter_dir=out, method=method, n_examples=len(dataset_rows),
                       n_dropped_long=n_long, steps=int(trainer.state.global_step),
                       seconds=seconds, final_loss=losses[-1] if losses else None, record=record)


def _warn_other_model(pin: dict[str, Any], info: dict[str, Any]) -> None:
    located = pin.get("locate_model") or {}
    theirs, ours = located.get("weights_hash"), info.get("weights_hash")
    if theirs and ours and theirs != ours:
        logger.warning(f"pinpoint: the heads were located on other weights ({located.get('spec')}"
                       f", {theirs}) than the model trained ({ours})")


def trained_keys(adapter: str | Path) -> set[tuple[str, str]]:
    """Pairing keys (suite, item_id) an adapter was trained on (empty when it has no record)."""
    path = Path(adapter) / TRAINING_RECORD
    if not path.is_file():
        return set()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(f"unreadable {TRAINING_RECORD} ({exc})",
                             param="adapter", value=adapter) from None
    return {(str(k[0]), str(k[1])) for k in record.get("pairing_keys", [])}
