"""`sycolab audit`: measure the extraction rules (and a judge) against hand-labelled replies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.judge_options import Concurrency, Device, Dtype, JudgeMode, JudgeSpec, Progress
from sycolab.cli.output import Json, Output, Quiet


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)


def audit_command(
    labels: Annotated[list[Path], typer.Argument(
        help="labelled-reply JSONL files (stance, pairwise and social rows need --judge)")],
    out: Annotated[Path, typer.Option(help="folder for audit.jsonl, summary.json, audit.html")],
    judge: JudgeSpec = None,
    judge_mode: JudgeMode = "auto",
    device: Device = "auto",
    dtype: Dtype = "auto",
    concurrency: Concurrency = 8,
    progress: Progress = True,
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Score hand-labelled replies; print and write accuracy, kappa, confusion and wrong rows.

    With --judge, rows of the judge-only kinds (stance, pairwise, social) are scored by the field
    judge of their kind on the same model; their agreement, kappa and judge errors are printed.
    """
    output = Output(quiet=quiet, json=json)

    def go() -> Any:
        from sycolab.workflows import audit

        return audit(labels, out=out, judge=judge, judge_mode=judge_mode, device=device,
                     dtype=dtype, concurrency=concurrency,
                     progress=output.progress(progress))

    result = output.run(go)
    output.emit({"command": "audit", "out": str(result.out),
                 "audit": str(result.out / "audit.jsonl"), "report": str(result.out / "audit.html"),
                 "summary": result.summary})
    if output.human:
        from sycolab.evaluation.audit_run import summary_lines

        for line in summary_lines(result.summary):
            typer.echo(line)
        typer.echo(f"audit: {result.out / 'audit.jsonl'}  report: {result.out / 'audit.html'}")
