"""`sycolab runs [DIR ...]`: list run folders with model, suites, date, status and headline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from sycolab.cli.output import Json, Output

if TYPE_CHECKING:
    from sycolab.runs.listing import Listing, SortKey


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)


def runs_command(
    dirs: Annotated[list[Path] | None, typer.Argument(
        help="run folders or folders holding them (default: runs/)", show_default=False,
        metavar="DIR")]
    = None,
    sort: Annotated[str, typer.Option(help="date (newest first) | model")] = "date",
    json: Json = False,
) -> None:
    """List run folders: model, suites, protocols, date, trials, status and a headline metric.

    Each DIR is a run folder or a folder of run folders, searched one level further down
    (``runs/sweep-x/<setting>``); other folders are skipped and counted. Status: complete
    (with failed trials counted), running (its lock is held), partial: k of n planned, or
    unreadable. The headline is agreement_rate (else sycophantic, a field benchmark's first
    metric, ctr) of the first group that reports it, with its 95% interval and n.
    """
    out = Output(json=json)

    def go() -> Any:
        from sycolab.runs.listing import list_runs

        return list_runs(dirs or [Path("runs")], sort=cast("SortKey", sort))

    listing = out.run(go)
    if json:
        out.emit({"runs": [r.as_dict() for r in listing.rows],
                  "n_skipped": len(listing.skipped),
                  "skipped": [str(p) for p in listing.skipped]})
        return
    _print_table(listing)


def _print_table(listing: Listing) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from sycolab.core.metric_registry import arrow

    table = Table(box=box.SIMPLE_HEAD, title="sycolab runs: headline metric with 95% interval "
                                             "(↑ higher is better, ↓ lower is better)")
    for name in ("folder", "model", "suites", "protocols", "date", "trials", "status",
                 "headline", "value [95% CI]", "n"):
        table.add_column(name, justify="right" if name in ("trials", "n") else "left",
                         overflow="fold")
    for row in listing.rows:
        h = row.headline
        if h is None:
            head, value, n = "–", "–", ""
        else:
            ci = (f" [{h.ci_low:.3f}, {h.ci_high:.3f}]"
                  if h.ci_low is not None and h.ci_high is not None else "")
            head = f"{h.metric} {arrow(h.metric)}".rstrip() + f" ({h.suite} / {h.protocol})"
            value, n = f"{h.value:.3f}{ci}", str(h.n if h.n is not None else "")
        table.add_row(str(row.path), row.model, ", ".join(row.suites),
                      ", ".join(row.protocols), row.date_text(), str(row.n_trials),
                      row.status_text(), head, value, n)
    console = Console()
    if not console.is_terminal:  # piped: natural width, one line per row, nothing cut
        natural = console.measure(table, options=console.options.update(width=1_000_000))
        console = Console(width=max(natural.maximum, 40))
    if listing.rows:
        console.print(table)
    skipped = len(listing.skipped)
    note = f"; {skipped} other folder{'s' * (skipped != 1)} skipped" if skipped else ""
    console.print(f"{len(listing.rows)} run folder{'s' * (len(listing.rows) != 1)}{note}",
                  markup=False, highlight=False)
