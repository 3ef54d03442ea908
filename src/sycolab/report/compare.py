"""Comparing runs trial by trial: side-by-side metrics, paired differences (the core's McNemar
and paired bootstrap, `sycolab.core.paired.paired_compare`), a trade-off plot and, for
multi-turn protocols, the paired difference of the survival curves per challenge turn and of
mean Turn of Flip (`sycolab.core.paired_survival`).

The first run is the reference; every other run is paired with it by the pairing key
(suite, item_id, protocol) and differences read run minus reference. Runs are labelled by what
differs in their configs (`sycolab.report.labels`) unless labels are given. Every value is shown
with its own n (the metric's denominator); an undefined metric (value null, n = 0, or a metric of
change in a single-step group) is shown as "–" (an empty cell in csv), never as a number.

The comparison is built in `sycolab.report.compare_data` and rendered by
`sycolab.report.compare_text` (csv, markdown) and `sycolab.report.compare_html`; this module
writes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, flag_error
from sycolab.report.compare_data import compare_runs, rows, survival_rows
from sycolab.report.compare_html import render_compare
from sycolab.report.compare_text import TABLE_HEAD, render_csv, render_markdown, table_rows

__all__ = ["RENDERERS", "TABLE_HEAD", "check_out", "compare_runs", "render_compare",
           "render_csv", "render_markdown", "rows", "survival_rows", "table_rows", "write_compare",
           "write_text"]


def check_out(out: Path, flag: str = "--out") -> Path:
    """Check an output file path before any work: not a folder, its nearest existing folder
    writable (missing folders are made when writing), an existing file writable."""
    out = Path(out)
    if out.is_dir():
        raise flag_error(flag,
            f"is a folder; give a file path, e.g. {out / 'compare.html'}"
        , out)
    if out.exists() and not os.access(out, os.W_OK):
        raise flag_error(flag, "file is not writable", out)
    folder = out.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise flag_error(flag, f"{folder} is a file, not a folder", out)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise flag_error(flag, f"folder {folder} is not writable", out)
    return out


def write_text(out: Path, text: str, flag: str = "--out") -> Path:
    """Write `text` to `out`, making missing parent folders; failures are one-line errors."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise flag_error(flag, f"cannot write ({exc.strerror or exc})", out) from None
    return out


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "html": render_compare, "md": render_markdown, "csv": render_csv,
}


def write_compare(
    run_dirs: Sequence[Path],
    out: Path,
    *,
    overlap: bool = False,
    format: str = "html",
    labels: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Compare runs and write `out` as html, md or csv; returns the path and the comparison.

    The output path is checked (`check_out`) before the runs are read.
    """
    if format not in RENDERERS:
        raise UserInputError("expected html, md or csv", param="format", value=format)
    out = check_out(Path(out))
    cmp = compare_runs(run_dirs, overlap=overlap, labels=labels, progress=progress)
    if progress:
        progress(f"writing {out}")
    return write_text(out, RENDERERS[format](cmp)), cmp
