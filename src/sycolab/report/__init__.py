"""Reports people look at: the run report (``report.html``) and run comparisons.

Self-contained HTML with inline SVG plots and a little vanilla JavaScript; no network.
"""

from sycolab.report.compare import compare_runs, render_compare, write_compare
from sycolab.report.run_report import render_run_report, write_run_report

__all__ = [
    "compare_runs",
    "render_compare",
    "render_run_report",
    "write_compare",
    "write_run_report",
]
