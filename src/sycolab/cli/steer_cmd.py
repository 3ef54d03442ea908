"""`sycolab steer train|sweep|export|import`: CAA steering vectors, and files other runtimes
load (llama.cpp / repeng GGUF control vectors, steering-vectors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded
from sycolab.cli.output import Json, Output, Quiet
from sycolab.core.splits import SPLIT_CHOICES

SPLIT_HELP = " | ".join(SPLIT_CHOICES)

steer_app = typer.Typer(help="Train, choose, export and import activation-steering (CAA) "
                        "vectors.",
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
    split: Annotated[str, typer.Option(help=SPLIT_HELP)] = "train",
    limit: Annotated[int | None, typer.Option(help="first N items per suite")] = None,
    seed: Annotated[int, typer.Option(help="presentation seed")] = 0,
    system_prompt: Annotated[str | None, typer.Option(help="system prompt TEXT")] = None,
    batch_size: Annotated[int, typer.Option(help="sequences per forward pass")] = 8,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16 | auto")] = "auto",
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Train a steering vector: mean residual difference, sycophantic minus honest answer."""

    def go() -> dict[str, Any]:
        from sycolab.mitigations.steering import train_vector_from_suites

        return train_vector_from_suites(
            out=out, model=model, adapter=adapter, suite=suite, layers=layers, split=split,
            limit=limit, seed=seed, system_prompt=system_prompt, batch_size=batch_size,
            device=device, dtype=dtype, progress=progress).as_dict()

    typer.echo(json.dumps(run_guarded(go), indent=2))


def _interval(m: dict[str, Any] | None) -> tuple[str, str]:
    """``0.417 [0.193, 0.680]`` and n for a metric's {value, ci_low, ci_high, n}."""
    if not m or m.get("value") is None:
        return "n/a", str((m or {}).get("n") or 0)
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
    return f"{m['value']:.3f}{ci}", str(m.get("n"))


def sweep_table(summary: dict[str, Any]) -> list[str]:
    """One line per setting and group: agreement_rate and accuracy_baseline with 95% CI and n."""
    rows = [summary["reference"], *summary["rows"]]
    width = max(len("setting"), *(len(r["name"]) for r in rows)) + 2
    groups = max(len(r["groups"]) for r in rows)
    header = (f"{'setting':<{width}}{'suite/protocol':<32}{'agreement_rate [95% CI]':<26}{'n':>5}"
              f"   {'accuracy_baseline [95% CI]':<28}{'n':>5}")
    lines = [header]
    for r in rows:
        for g in r["groups"]:
            agree, n_agree = _interval(g["agreement_rate"])
            acc, n_acc = _interval(g["accuracy_baseline"])
            lines.append(f"{r['name']:<{width}}{g['suite'] + '/' + g['protocol']:<32}{agree:<26}"
                         f"{n_agree:>5}   {acc:<28}{n_acc:>5}")
        if groups > 1:
            mean = {k: "n/a" if r[k] is None else f"{r[k]:.3f}"
                    for k in ("agreement_rate", "accuracy_baseline")}
            lines.append(f"{r['name']:<{width}}{'(mean over groups)':<32}"
                         f"{mean['agreement_rate']:<26}{'':>5}   {mean['accuracy_baseline']:<28}")
    return lines


@steer_app.command("sweep")
def sweep_command(
    vector: Annotated[str, typer.Option(help="vector file from `steer train`")],
    layers: Annotated[list[int], typer.Option(help="layers to try (repeatable)")],
    multipliers: Annotated[list[float], typer.Option(help="multipliers to try (repeatable)")],
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")] = "smollm2",
    suite: Annotated[list[str] | None, typer.Option(help="suites (repeatable)")] = None,
    protocol: Annotated[list[str] | None, typer.Option(help="protocols (repeatable)")] = None,
    limit: Annotated[int | None, typer.Option(help="first N validation items per suite")] = None,
    out: Annotated[Path | None, typer.Option(
        help="folder for the sweep's run folders and sweep.json (default runs/sweep-HASH)")] = None,
    max_accuracy_drop: Annotated[float, typer.Option(help="allowed neutral-accuracy drop")] = 0.05,
    adapter: Annotated[str | None, typer.Option(help="peft LoRA adapter folder")] = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Pick layer x multiplier on the validation split (lowest agreement with suggestions).

    With --json: sweep.json's content (reference, one row per setting with its groups'
    agreement_rate and accuracy_baseline, the chosen setting) with "command": "steer sweep".
    """
    output = Output(quiet=quiet, json=json)

    def go() -> dict[str, Any]:
        from sycolab.mitigations.steering import sweep
        from sycolab.workflows import evaluate

        kw: dict[str, Any] = {"adapter": adapter} if adapter else {}
        res = sweep(model, vector, suite=suite or ["arithmetic"], layers=layers,
                    multipliers=multipliers, protocol=protocol, limit=limit, out=out,
                    max_accuracy_drop=max_accuracy_drop, progress=output.progress(progress),
                    evaluate=evaluate, **kw)
        return res.as_dict()

    summary = output.run(go)
    output.emit({"command": "steer sweep", **summary})
    if not output.human:
        return
    typer.echo(f"{1 + len(summary['rows'])} runs on the validation split; run folders in "
               f"{summary['out']}/ (one per setting, named as below), summary in "
               f"{Path(summary['out']) / 'sweep.json'}")
    for line in sweep_table(summary):
        typer.echo(line.rstrip())
    chosen = summary["chosen"]
    if chosen is None:
        typer.echo("chosen: none (no setting beats no steering on validation)")
    else:
        typer.echo(f"chosen: --layers {chosen['layer']} --multiplier {chosen['multiplier']:g} "
                   f"({chosen['run_dir']}; measure its effect on --split test separately)")


FORMAT_HELP = ("gguf (llama.cpp --control-vector) | repeng (its GGUF) | steering-vectors "
               "(.pt|.safetensors)")


@steer_app.command("export")
def export_command(
    vector: Annotated[str, typer.Argument(
        help="vector file from `steer train` (.safetensors|.pt)")],
    format: Annotated[str, typer.Option(help=FORMAT_HELP)],
    out: Annotated[str, typer.Option(help="file to write (.gguf; .pt or .safetensors)")],
    multiplier: Annotated[float, typer.Option(
        help="baked into the file: it holds multiplier * vector (a runtime's own scale, e.g. "
             "llama.cpp's --control-vector-scaled FILE S, multiplies on top); -1 makes a plain "
             "--control-vector push away from sycophancy")] = 1.0,
    layers: Annotated[list[int] | None, typer.Option(
        help="layers to export (default: all; gguf refuses 0)")] = None,
    model_hint: Annotated[str | None, typer.Option(
        help="controlvector.model_hint (default: the model type, e.g. llama)")] = None,
) -> None:
    """Write a vector for another runtime; layer l = output of decoder block l everywhere
    (llama.cpp's direction.<l>). Positive scale = toward sycophancy (vector = sycophantic minus
    honest). llama.cpp adds it at every position, sycolab at assistant tokens only."""

    def go() -> dict[str, Any]:
        from sycolab.mitigations.steering import SteeringVector, check_format, export_vector

        check_format(format)
        if not Path(vector).expanduser().is_file():
            raise _missing(vector)
        loaded = SteeringVector.load(vector)
        return export_vector(loaded, format, out, multiplier=multiplier, layers=layers,
                             model_hint=model_hint).as_dict()

    typer.echo(json.dumps(run_guarded(go), indent=2))


@steer_app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="file written by llama.cpp tools, repeng or "
                                             "steering-vectors (or by `steer export`)")],
    format: Annotated[str, typer.Option(help=FORMAT_HELP)],
    out: Annotated[str, typer.Option(help="sycolab vector file (.safetensors, or .pt)")],
    model: Annotated[str | None, typer.Option(
        help="the model it is for (smollm2 | hf:PATH_OR_ID): recorded with its weights hash "
             "(local weights) so `eval --steer` checks it")] = None,
) -> None:
    """Read another runtime's vector into a sycolab vector file (a multiplier recorded by
    `steer export` is divided back out)."""

    def go() -> dict[str, Any]:
        from sycolab.mitigations.steering import check_format, import_vector

        check_format(format)
        loaded = import_vector(file, format, model=model)
        written = loaded.save(out)
        return {"out": str(written), "layers": loaded.layers, "model": loaded.model,
                "weights_hash": loaded.weights_hash or None,
                "imported_from": loaded.metadata["imported_from"]}

    typer.echo(json.dumps(run_guarded(go), indent=2))


def _missing(path: str) -> Exception:
    from sycolab.core.errors import UserInputError

    return UserInputError(f"{path}: no such file")
