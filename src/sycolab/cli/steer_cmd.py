"""`sycolab steer train` / `sycolab steer sweep`: CAA steering vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded

steer_app = typer.Typer(help="Train and choose activation-steering (CAA) vectors.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(steer_app, name="steer")


@steer_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="vector file (.safetensors, or .pt for lm-eval)")],
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")] = "smollm2",
    adapter: Annotated[str | None, typer.Option(help="peft LoRA adapter folder")] = None,
    suite: Annotated[list[str] | None, typer.Option(help="suites to build pairs from")] = None,
    layers: Annotated[list[int] | None, typer.Option(help="layers (default: middle third)")] = None,
    split: Annotated[str, typer.Option(help="train | validation | test | all")] = "train",
    limit: Annotated[int | None, typer.Option(help="first N items per suite")] = None,
    seed: Annotated[int, typer.Option(help="presentation seed")] = 0,
    system_prompt: Annotated[str | None, typer.Option(help="system prompt TEXT")] = None,
    batch_size: Annotated[int, typer.Option(help="sequences per forward pass")] = 8,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16 | auto")] = "auto",
) -> None:
    """Train a steering vector: mean residual difference, sycophantic minus honest answer."""

    def go() -> dict[str, Any]:
        from sycolab.core.errors import UserInputError
        from sycolab.core.splits import assign_split
        from sycolab.core.suites import load_suite
        from sycolab.engine.hf_backend import load_hf_backend
        from sycolab.mitigations.steering import train_vector

        if split not in ("train", "validation", "test", "all"):
            raise UserInputError(f"--split: unknown value {split!r}")
        items = []
        for spec in suite or ["arithmetic", "facts"]:
            s = load_suite(spec)
            chosen = [it for it in s.items
                      if split == "all" or assign_split(s.name, it.item_id) == split]
            items += chosen[:limit] if limit is not None else chosen
        backend = load_hf_backend(model, adapter=adapter, device=device, dtype=dtype)
        vec = train_vector(backend, items, layers, batch_size=batch_size, seed=seed,
                           system_prompt=system_prompt)
        vec.metadata.update({"split": split, "suites": list(suite or ["arithmetic", "facts"])})
        path = vec.save(out)
        return {"out": str(path), "layers": vec.layers, "n_pairs": vec.n_pairs,
                "norms": {str(k): round(float(v.norm()), 4) for k, v in vec.vectors.items()}}

    typer.echo(json.dumps(run_guarded(go), indent=2))


@steer_app.command("sweep")
def sweep_command(
    vector: Annotated[str, typer.Option(help="vector file from `steer train`")],
    layers: Annotated[list[int], typer.Option(help="layers to try (repeatable)")],
    multipliers: Annotated[list[float], typer.Option(help="multipliers to try (repeatable)")],
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")] = "smollm2",
    suite: Annotated[list[str] | None, typer.Option(help="suites (repeatable)")] = None,
    protocol: Annotated[list[str] | None, typer.Option(help="protocols (repeatable)")] = None,
    limit: Annotated[int | None, typer.Option(help="first N validation items per suite")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the sweep's run folders")] = None,
    max_accuracy_drop: Annotated[float, typer.Option(help="allowed neutral-accuracy drop")] = 0.05,
    adapter: Annotated[str | None, typer.Option(help="peft LoRA adapter folder")] = None,
) -> None:
    """Pick layer x multiplier on the validation split (lowest agreement with suggestions)."""

    def go() -> dict[str, Any]:
        from sycolab.mitigations.steering import sweep

        kw: dict[str, Any] = {"adapter": adapter} if adapter else {}
        res = sweep(model, vector, suite=suite or ["arithmetic"], layers=layers,
                    multipliers=multipliers, protocol=protocol, limit=limit, out=out,
                    max_accuracy_drop=max_accuracy_drop, **kw)
        summary = res.as_dict()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "sweep.json").write_text(json.dumps(summary, indent=2))
        return summary

    summary = run_guarded(go)
    for row in summary["rows"]:
        typer.echo(f"layer {row['layer']:>3} m {row['multiplier']:+6.2f}  agreement "
                   f"{row['agreement_rate']}  accuracy_baseline {row['accuracy_baseline']}")
    ref = summary["reference"]
    typer.echo(f"reference (no steering): agreement {ref['agreement_rate']}  "
               f"accuracy_baseline {ref['accuracy_baseline']}")
    chosen = summary["chosen"]
    if chosen is None:
        typer.echo("chosen: none (no setting beats no steering on validation)")
    else:
        typer.echo(f"chosen: --layers {chosen['layer']} --multiplier {chosen['multiplier']:g} "
                   "(measure its effect on --split test separately)")
