"""`sycolab rescore`: score a run's stored replies again into a new run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.judge_options import Concurrency, Device, Dtype, JudgeMode, JudgeSpec, Progress
from sycolab.cli.output import Json, Output, Quiet


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
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Re-score RUN's replies with the current extraction rules or a judge (no generation)."""
    output = Output(quiet=quiet, json=json)

    def go() -> Any:
        from sycolab.workflows import rescore

        return rescore(run, scoring=scoring, out=out, judge=judge, judge_mode=judge_mode,
                       progress=output.progress(progress), device=device, dtype=dtype,
                       concurrency=concurrency)

    result = output.run(go)
    from sycolab.cli.summary import print_result

    print_result(output, result, "rescore")
