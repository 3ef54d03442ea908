"""`sycolab report` and `sycolab compare`: the HTML run report and run comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sycolab.cli.guard import run_guarded


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("compare")(compare_command)


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="run folder (holds results.json)")],
) -> None:
    """Rebuild RUN_DIR/report.html from the run's config, samples and results."""

    def go() -> Path:
        from sycolab.report import write_run_report

        return write_run_report(run_dir)

    path = run_guarded(go)
    typer.echo(f"report: {path}")


def compare_command(
    run_dirs: Annotated[list[Path], typer.Argument(
        help="two or more run folders; the first is the reference")],
    out: Annotated[Path | None, typer.Option(
        help="output file (default compare.html; md/csv print to the terminal)")] = None,
    format: Annotated[str, typer.Option(help="html | md | csv")] = "html",
    overlap: Annotated[bool, typer.Option(
        help="compare the shared trials when the runs' pairing keys differ")] = False,
) -> None:
    """Pair trials of runs by (suite, item_id, protocol): side-by-side metrics, paired
    differences (paired bootstrap, McNemar) and a trade-off plot."""

    def go() -> tuple[Path | None, str, list[list[str]]]:
        from sycolab.core.errors import UserInputError
        from sycolab.report import compare

        fmt = format.strip().lower()
        if fmt not in ("html", "md", "csv"):
            raise UserInputError(f"--format {format}: expected html, md or csv")
        if fmt == "html" or out is not None:
            path, cmp = compare.write_compare(
                run_dirs, out or Path("compare.html"), overlap=overlap, format=fmt
            )
            return path, "", compare.table_rows(cmp)
        cmp = compare.compare_runs(run_dirs, overlap=overlap)
        text = compare.render_markdown(cmp) if fmt == "md" else compare.render_csv(cmp)
        return None, text, []

    path, text, table_rows = run_guarded(go)
    if text:
        typer.echo(text, nl=False)
        return
    _print_table(table_rows)
    typer.echo(f"comparison: {path}")


def _print_table(table_rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from sycolab.report.compare import TABLE_HEAD

    table = Table(title="sycolab comparison: Δ = run − reference, paired bootstrap 95% CI, "
                        "exact McNemar p; ↑ higher is better, ↓ lower is better")
    for i, name in enumerate(TABLE_HEAD):
        table.add_column(name, justify="left" if i < 3 else "right")
    last = None
    for row in table_rows:
        group = (row[0], row[1])
        shown = list(row)
        if group == last:
            shown[0] = shown[1] = ""
        elif last is not None:
            table.add_section()
        last = group
        table.add_row(*shown)
    Console().print(table)
