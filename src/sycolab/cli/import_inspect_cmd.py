"""`sycolab import-inspect`: an Inspect log of a sycolab task as a sycolab run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded


def register(app: typer.Typer) -> None:
    app.command("import-inspect")(import_inspect_command)


def import_inspect_command(
    log: Annotated[Path, typer.Argument(help="Inspect log (.eval or .json) of `inspect eval "
                                             "sycolab/<protocol>`")],
    out: Annotated[Path, typer.Option(help="run folder to write")],
    report: Annotated[bool, typer.Option(help="write report.html")] = True,
) -> None:
    """Turn an Inspect log of a sycolab task into a run folder (report, compare, matrix read it)."""

    def go() -> Any:
        from sycolab.inspect_ext.convert import import_log

        return import_log(log, out, report=report)

    done = run_guarded(go)
    groups = ", ".join(f"{g['suite']}/{g['protocol']} (n={g['n']})"
                       for g in done.results.get("groups", []))
    typer.echo(f"imported {done.n_trials} trials of {done.task} on {done.model}: {groups}")
    typer.echo(f"run folder: {done.run_dir}")
