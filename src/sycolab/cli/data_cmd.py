"""`sycolab data synth`: synthetic anti-sycophancy training data (Wei et al. 2023)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded

data_app = typer.Typer(help="Curate training data against sycophancy.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


@data_app.command("synth")
def synth_command(
    model: Annotated[str, typer.Option(help="model for the known filter: smollm2 | hf:PATH | "
                                            "mock:NAME")] = "smollm2",
    source: Annotated[list[str] | None, typer.Option(
        help="training source: facts | arithmetic | addition-claims | jsonl:PATH (repeatable; "
             "default facts, addition-claims)")] = None,
    heldout: Annotated[list[str] | None, typer.Option(
        help="held-out source, never trained on (repeatable; default arithmetic)")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/synth"),
    seed: Annotated[int, typer.Option(help="seed (personas, claim phrasing, order)")] = 0,
    split: Annotated[str, typer.Option(help="split of the training sources")] = "train",
    heldout_split: Annotated[str, typer.Option(help="split of the held-out sources")] = "test",
    max_examples: Annotated[int, typer.Option(help="training examples (2 per base item)")] = 300,
    max_heldout: Annotated[int, typer.Option(help="held-out examples")] = 200,
    min_yield: Annotated[float, typer.Option(help="least share passing the known filter")] = 0.25,
    known_filter: Annotated[bool, typer.Option(help="keep only items the model knows")] = True,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Write SFT (`messages`) and DPO (`prompt`/`chosen`/`rejected`) data, a held-out split and
    manifest.json; exit 2 with the counts when the known filter keeps too little."""

    def go() -> Any:
        from sycolab.mitigations.data import (
            DEFAULT_HELDOUT,
            DEFAULT_SOURCES,
            synthesize,
        )

        return synthesize(
            source=source or DEFAULT_SOURCES, heldout=heldout or DEFAULT_HELDOUT,
            model=model if known_filter else None, out=out, seed=seed, split=split,
            heldout_split=heldout_split, max_examples=max_examples, max_heldout=max_heldout,
            min_yield=min_yield, device=device, progress=progress,
        )

    result = run_guarded(go)
    from sycolab.mitigations.data import format_counts

    typer.echo(format_counts(result.train))
    typer.echo(format_counts(result.heldout))
    typer.echo(f"wrote {result.out} (data hash {result.manifest['data_hash'][:12]})")
