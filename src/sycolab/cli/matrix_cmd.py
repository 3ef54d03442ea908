"""`sycolab matrix CONFIG.yaml`: every mitigation and combination on the same test items."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sycolab.cli.guard import run_guarded


def register(app: typer.Typer) -> None:
    app.command("matrix")(matrix_command)


def matrix_command(
    config: Annotated[Path, typer.Argument(help="matrix YAML file")],
    out: Annotated[Path | None, typer.Option(help="output folder (default matrix/<config-hash>)")]
    = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Train what the arms need, choose settings on validation, report every arm on test."""

    def go() -> Path:
        from sycolab.matrix.pipeline import run_matrix

        return run_matrix(config, out=out, progress=progress).folder

    folder = run_guarded(go)
    typer.echo((folder / "matrix.md").read_text())
    typer.echo(f"matrix folder: {folder}")
