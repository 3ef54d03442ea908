"""`sycolab rescore`: score a run's stored replies again into a new run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded
from sycolab.cli.judge_options import Concurrency, Device, Dtype, JudgeMode, JudgeSpec, Progress


def register(app: typer.Typer) -> None:
    app.command("rescore")(rescore_command)


def rescore_command(
    run: Annotated[Path, typer.Argument(help="run folder whose replies are re-scored")],
    out: Annotated[Path, typer.Option(help="new run folder")],
    scoring: Annotated[str, typer.Option(help="generate (current rules) | judge")] = "generate",
    judge: JudgeSpec = None,
    judge_mode: JudgeMode = "auto",
    device: Device = "auto",
    dtype: Dtype = "auto",
    concurrency: Concurrency = 8,
    progress: Progress = True,
) -> None:
    """Re-score RUN's replies with the current extraction rules or a judge (no generation)."""

    def go() -> Any:
        from sycolab.workflows import rescore

        return rescore(run, scoring=scoring, out=out, judge=judge, judge_mode=judge_mode,
                       progress=progress, device=device, dtype=dtype, concurrency=concurrency)

    result = run_guarded(go)
    from sycolab.cli.summary import print_summary

    print_summary(result)
