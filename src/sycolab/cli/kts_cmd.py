"""`sycolab kts train`: KL-then-steer LoRA adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded
from sycolab.core.errors import UserInputError

kts_app = typer.Typer(help="KL-then-steer: adapters that make steering gentler.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kts_app, name="kts")


@kts_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="adapter folder to write")],
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")] = "smollm2",
    vector: Annotated[list[str] | None, typer.Option(
        help="steering vector files added to the direction pool (repeatable)")] = None,
    steps: Annotated[int, typer.Option(help="optimizer steps")] = 40,
    batch_size: Annotated[int, typer.Option(help="prompts per step")] = 4,
    lr: Annotated[float, typer.Option(help="learning rate")] = 1e-4,
    steer_prob: Annotated[float, typer.Option(help="probability a step is steered")] = 0.5,
    strength: Annotated[float, typer.Option(help="c ~ U[-strength, strength]")] = 1.5,
    norm_fraction: Annotated[float, typer.Option(
        help="direction norm as a fraction of the layer's mean residual norm")] = 0.25,
    layers: Annotated[list[int] | None, typer.Option(help="steered layers")] = None,
    benign: Annotated[Path | None, typer.Option(
        help="benign prompts file (default: the built-in benign-v2 set)")] = None,
    benign_half: Annotated[str, typer.Option(
        help="half of the benign set to train on: train | measure | all (the side-effect pass "
             "measures on 'measure' and refuses adapters trained on it)")] = "train",
    per_suite: Annotated[int, typer.Option(
        help="also train on the neutral prompts of this many train-split items per suite")] = 0,
    seed: Annotated[int, typer.Option(help="seed")] = 0,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
) -> None:
    """Train a LoRA adapter with KL(steered + adapter || original) on benign prompts (the
    built-in set's "train" half by default)."""

    def go() -> dict[str, Any]:
        from sycolab.engine.loading import load_hf_backend
        from sycolab.evaluation.benign import load_benign, suite_neutral_prompts
        from sycolab.mitigations.kts import KTSConfig, train_kts

        cfg = KTSConfig(steps=steps, batch_size=batch_size, lr=lr, steer_prob=steer_prob,
                        strength=strength, norm_fraction=norm_fraction, layers=layers, seed=seed)
        for path in vector or []:  # before the model loads, naming this command's flag
            if not Path(path).expanduser().is_file():
                raise UserInputError("no such file", param="vector", value=path)
        chosen = load_benign(benign).half(benign_half)
        prompts = list(chosen.prompts)
        described = chosen.describe()
        if per_suite > 0:
            prompts += suite_neutral_prompts(per_suite=per_suite)
            described["suite_prompts_per_suite"] = per_suite
        backend = load_hf_backend(model, device=device, dtype="float32")
        return train_kts(backend, prompts, out, cfg, vectors=vector or [], benign=described)

    meta = run_guarded(go)
    typer.echo(json.dumps({k: meta[k] for k in ("seconds", "layers", "steered_kl_first_quarter",
                                               "steered_kl_last_quarter")}, indent=2))
    typer.echo(f"adapter written to {out} (use: sycolab eval --adapter {out} --steer FILE ...)")
