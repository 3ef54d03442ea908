"""`sycolab report` and `sycolab compare`: the HTML run report and run comparisons."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded
from sycolab.cli.output import Json, Output, Quiet


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
    label: Annotated[list[str] | None, typer.Option(
        "--label", help="a run's name in every output; repeat once per run, in order (default: "
                        "what differs in their configs, else the folder name)")] = None,
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Pair trials of runs by (suite, item_id, protocol): side-by-side metrics, paired
    differences (paired bootstrap, McNemar) and a trade-off plot.

    Each value is followed by its own n (the metric's denominator); undefined metrics show "–".
    In a terminal the table fits its width (long cells wrap, nothing is cut); piped or
    redirected, it is printed at full width, one line per row.

    With --json: the runs, the reference and one row per (run, group, metric) with both values,
    their n, the paired difference with its interval and McNemar p, and, for multi-turn
    protocols, the paired survival curves per turn (survival_t<t>) and mean Turn of Flip;
    compare.html (or --out) is still written. --format md|csv with --json or --quiet needs --out.
    """
    output = Output(quiet=quiet, json=json)
    compared: dict[str, Any] = {}

    def go() -> tuple[Path | None, str, list[list[str]], str]:
        from sycolab.core.errors import UserInputError
        from sycolab.report import compare
        from sycolab.report.labels import check_labels

        fmt = format.strip().lower()
        if fmt not in ("html", "md", "csv"):
            raise UserInputError("expected html, md or csv", param="format", value=format)
        if len(run_dirs) < 2:
            raise UserInputError("compare needs at least two run folders")
        labels = check_labels(label, len(run_dirs)) if label else None
        if fmt != "html" and out is None and not output.human:
            raise UserInputError(f"with --{'json' if json else 'quiet'} a {fmt} table is "
                                 "written to a file only: give --out FILE", param="format",
                                 value=format)
        path = None
        if fmt == "html" or out is not None:
            path = compare.check_out(out or Path("compare.html"))
        with _progress(enabled=output.human) as progress:
            cmp = compare.compare_runs(run_dirs, overlap=overlap, labels=labels,
                                       progress=progress)
            if json:
                compared.update(runs=cmp["runs"], reference=cmp["reference"],
                                rows=compare.rows(cmp) + compare.survival_rows(cmp))
            text = compare.RENDERERS[fmt](cmp)
            if path is None:
                return None, text, [], ""
            if progress:
                progress(f"writing {path}")
            reference = cmp["runs"][cmp["reference"]]["label"]
            return compare.write_text(path, text), "", compare.table_rows(cmp), reference

    path, text, table_rows, reference = output.run(go)
    if json:
        runs = [{k: r.get(k) for k in ("label", "path", "model", "config_hash", "n_trials",
                                       "differs")} for r in compared["runs"]]
        rows = [{k: v for k, v in row.items() if k != "src"} for row in compared["rows"]]
        output.emit({"command": "compare", "out": None if path is None else str(path),
                     "reference": runs[compared["reference"]]["label"], "runs": runs,
                     "rows": rows})
        return
    if not output.human:
        return
    if text:
        typer.echo(text, nl=False)
        return
    _print_table(table_rows, reference)
    typer.echo(f"comparison: {path}")


@contextmanager
def _progress(delay: float = 1.0, enabled: bool = True
              ) -> Iterator[Callable[[str], None] | None]:
    """A spinner on stderr (a terminal only) that appears once the work has taken `delay` s."""
    from rich.console import Console

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    status = console.status("comparing runs …")
    lock = threading.Lock()
    done = False

    def begin() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(delay, begin)
    timer.daemon = True
    timer.start()
    try:
        yield lambda msg: status.update(f"compare: {msg} …")
    finally:
        timer.cancel()
        with lock:
            done = True
            status.stop()


def _print_table(table_rows: list[list[str]], reference: str) -> None:
    """The comparison table; nothing is ever cut (see `compare_command`).

    Piped: one table at its natural width, one line per row. In a terminal: that table when it
    fits, else one narrower table per (run, group) with aligned columns whose cells wrap.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sycolab.report.compare import TABLE_HEAD

    title = (f"sycolab comparison; reference: {reference}\nΔ = run − reference, paired "
             "bootstrap 95% CI, exact McNemar p; n = each value's own denominator; "
             "– = undefined; ↑ higher is better, ↓ lower is better")

    def new_table(head: list[str], **kw: Any) -> Table:
        table = Table(box=box.SIMPLE_HEAD, **kw)
        for name in head:
            left = name in ("run", "suite / protocol", "metric")
            table.add_column(name, justify="left" if left else "right", overflow="fold")
        return table

    table = new_table(TABLE_HEAD, title=title)
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
    console = Console()
    natural = console.measure(table, options=console.options.update(width=1_000_000)).maximum
    if not console.is_terminal:
        # no terminal to fit: the natural width, so no cell wraps or is cut
        Console(width=max(natural, 40)).print(table)
        return
    if natural <= console.width:
        console.print(table)
        return
    console.print(Text(title, justify="center", style="italic"))
    head = TABLE_HEAD[2:]
    # every column but the interval keeps the width of its longest cell in all the tables
    widths: list[int | None] = [
        None if name.startswith("Δ")
        else max(cell_len(c) for c in [name, *(r[i] for r in table_rows)])
        for i, name in enumerate(head, start=2)
    ]
    if sum(w or 8 for w in widths) + 2 * len(widths) + 2 > console.width:
        widths = [None] * len(widths)  # too narrow even so: let every column wrap
    for (run, group), rows in groupby(table_rows, key=lambda r: (r[0], r[1])):
        part = new_table(head, title=f"{run}  ·  {group}", title_justify="left",
                         title_style="bold")
        for column, width in zip(part.columns, widths, strict=True):
            column.width = width
        for row in rows:
            part.add_row(*row[2:])
        console.print(part)
