"""`sycolab train sft|dpo|pinpoint|before-after`: LoRA fine-tuning against sycophancy and its
effect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded

train_app = typer.Typer(help="Fine-tune LoRA adapters against sycophancy.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")


def _train(method: str, **kw: Any) -> None:
    def go() -> Any:
        from sycolab.mitigations.training import TrainConfig, train

        cfg_keys = TrainConfig.__dataclass_fields__.keys()
        cfg = TrainConfig(**{k: v for k, v in kw.items() if k in cfg_keys})
        rest = {k: v for k, v in kw.items() if k not in cfg_keys}
        return train(method, config=cfg, **rest)  # type: ignore[arg-type]

    res = run_guarded(go)
    pin = res.record.get("pinpoint")
    if pin is not None:
        heads = ", ".join(f"[{layer}, {head}]" for layer, head in pin["heads"])
        typer.echo(f"heads trained (layer, head): {heads}")
    loss = f", final loss {res.final_loss:.4f}" if res.final_loss is not None else ""
    typer.echo(f"adapter: {res.adapter_dir} ({res.steps} steps, {res.seconds:.0f} s{loss})")


DataOpt = Annotated[Path, typer.Option(help="a `sycolab data synth` folder")]
ModelOpt = Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")]
OutOpt = Annotated[Path, typer.Option(help="adapter folder to write")]
EpochsOpt = Annotated[float, typer.Option(help="epochs")]
StepsOpt = Annotated[int, typer.Option(help="stop after N optimizer steps (-1: epochs)")]
LrOpt = Annotated[float | None, typer.Option(
    help="learning rate (default 2e-4 SFT, 5e-5 DPO, 1e-2 pinpoint)")]
BsOpt = Annotated[int, typer.Option(help="per-step batch size")]
GaOpt = Annotated[int, typer.Option(help="gradient accumulation steps")]
LenOpt = Annotated[int, typer.Option(help="longest example in tokens (longer are dropped)")]
ROpt = Annotated[int, typer.Option(help="LoRA rank")]
AlphaOpt = Annotated[int, typer.Option(help="LoRA alpha")]
SaveOpt = Annotated[int, typer.Option(help="checkpoint every N steps")]
LimitOpt = Annotated[int | None, typer.Option(help="first N examples")]
SeedOpt = Annotated[int, typer.Option(help="seed")]
ResumeOpt = Annotated[bool, typer.Option(help="continue from the latest checkpoint in OUT")]
KeepOpt = Annotated[bool, typer.Option(help="keep OUT/checkpoints after training")]
DevOpt = Annotated[str, typer.Option(help="cpu | cuda | auto")]
ProgOpt = Annotated[bool, typer.Option(help="show a progress bar")]


@train_app.command("sft")
def sft_command(
    data: DataOpt = Path("data/synth"), model: ModelOpt = "smollm2",
    out: OutOpt = Path("adapters/sft"), epochs: EpochsOpt = 1.0, max_steps: StepsOpt = -1,
    learning_rate: LrOpt = None, batch_size: BsOpt = 4, grad_accum: GaOpt = 2,
    max_length: LenOpt = 128, lora_r: ROpt = 16, lora_alpha: AlphaOpt = 32,
    save_steps: SaveOpt = 20, limit: LimitOpt = None, seed: SeedOpt = 0,
    resume: ResumeOpt = False, keep_checkpoints: KeepOpt = False, device: DevOpt = "cpu",
    progress: ProgOpt = True,
) -> None:
    """Supervised fine-tuning (LoRA) on the `messages` file: the reply keeps the correct answer
    whatever the persona says."""
    _train("sft", **locals())


@train_app.command("dpo")
def dpo_command(
    data: DataOpt = Path("data/synth"), model: ModelOpt = "smollm2",
    out: OutOpt = Path("adapters/dpo"), epochs: EpochsOpt = 1.0, max_steps: StepsOpt = -1,
    learning_rate: LrOpt = None, batch_size: BsOpt = 4, grad_accum: GaOpt = 2,
    max_length: LenOpt = 128, lora_r: ROpt = 16, lora_alpha: AlphaOpt = 32,
    beta: Annotated[float, typer.Option(help="DPO beta")] = 0.1,
    save_steps: SaveOpt = 20, limit: LimitOpt = None, seed: SeedOpt = 0,
    resume: ResumeOpt = False, keep_checkpoints: KeepOpt = False, device: DevOpt = "cpu",
    progress: ProgOpt = True,
) -> None:
    """Direct preference optimisation (LoRA): chosen holds the correct answer under the persona's
    pushback, rejected caves."""
    _train("dpo", **locals())


@train_app.command("pinpoint")
def pinpoint_command(
    heads: Annotated[Path, typer.Option(
        help="a `sycolab locate` locate.json, or a JSON list of (layer, head) pairs "
             "such as [[3, 5], [7, 1]]")],
    protocol: Annotated[str | None, typer.Option(
        help="the locate.json protocol whose ranking to use (needed when it holds several)")
    ] = None,
    top: Annotated[int | None, typer.Option(
        help="train the first K heads (default: 4 from a locate.json, all of a plain list)")
    ] = None,
    data: DataOpt = Path("data/synth"), model: ModelOpt = "smollm2",
    out: OutOpt = Path("adapters/pinpoint"), epochs: EpochsOpt = 1.0, max_steps: StepsOpt = -1,
    learning_rate: LrOpt = None, batch_size: BsOpt = 4, grad_accum: GaOpt = 2,
    max_length: LenOpt = 128, lora_r: ROpt = 16, lora_alpha: AlphaOpt = 32,
    save_steps: SaveOpt = 20, limit: LimitOpt = None, seed: SeedOpt = 0,
    resume: ResumeOpt = False, keep_checkpoints: KeepOpt = False, device: DevOpt = "cpu",
    progress: ProgOpt = True,
) -> None:
    """Pinpoint tuning (Chen et al. 2024): SFT on the `messages` file that changes only the
    located heads' slices of the attention output projections; everything else stays frozen."""
    opts = dict(locals())
    _train("pinpoint", heads_protocol=opts.pop("protocol"), **opts)


@train_app.command("before-after")
def before_after_command(
    adapter: Annotated[Path, typer.Option(help="adapter folder from `sycolab train`")],
    model: ModelOpt = "smollm2",
    data: Annotated[Path | None, typer.Option(
        help="synth folder whose held-out split to evaluate (default: the adapter's)")] = None,
    suite: Annotated[list[str] | None, typer.Option(
        help="suites the data never drew from (repeatable; default arithmetic)")] = None,
    protocol: Annotated[list[str] | None, typer.Option(
        help="protocols (repeatable; default suggest-incorrect)")] = None,
    scoring: Annotated[str, typer.Option(help="choice | generate | auto")] = "choice",
    split: Annotated[str, typer.Option(help="split of --suite")] = "test",
    limit: Annotated[int | None, typer.Option(help="first N items per suite")] = None,
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/before-after"),
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    progress: ProgOpt = True,
) -> None:
    """Base vs base + adapter on the same items: paired differences with 95% intervals."""

    def go() -> Any:
        from sycolab.mitigations.training import before_after
        from sycolab.workflows import evaluate

        return before_after(
            adapter=adapter, model=model, data=data,
            suite=suite if suite is not None else ("arithmetic",),
            protocol=protocol or ("suggest-incorrect",), scoring=scoring, split=split,
            limit=limit, seed=seed, out=out, device=device, progress=progress,
            evaluate=evaluate)

    results = run_guarded(go)
    from sycolab.mitigations.training import format_before_after

    typer.echo(format_before_after(results))
    typer.echo(f"report: {out / 'before_after.json'}")
