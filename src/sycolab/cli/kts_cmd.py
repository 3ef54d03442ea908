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
    per_suite: Annotated[int, typer.Option(help="neutral suite prompts per suite")] = 8,
    seed: Annotated[int, typer.Option(help="seed")] = 0,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
) -> None:
    """Train a LoRA adapter with KL(steered + adapter || original) on benign prompts."""

    def go() -> dict[str, Any]:
        from sycolab.engine.loading import load_hf_backend
        from sycolab.evaluation.benign import benign_set
        from sycolab.mitigations.kts import KTSConfig, train_kts

        cfg = KTSConfig(steps=steps, batch_size=batch_size, lr=lr, steer_prob=steer_prob,
                        strength=strength, norm_fraction=norm_fraction, layers=layers, seed=seed)
        for path in vector or []:  # before the model loads, naming this command's flag
            if not Path(path).expanduser().is_file():
                raise UserInputError("no such file", param="vector", value=path)
        benign = benign_set(per_suite=per_suite)
        backend = load_hf_backend(model, device=device, dtype="float32")
        return train_kts(backend, list(benign.prompts), out, cfg, vectors=vector or [],
                         benign=benign.describe())

    meta = run_guarded(go)
    typer.echo(json.dumps({k: meta[k] for k in ("seconds", "layers", "steered_kl_first_quarter",
                                               "steered_kl_last_quarter")}, indent=2))
    typer.echo(f"adapter written to {out} (use: sycolab eval --adapter {out} --steer FILE ...)")
