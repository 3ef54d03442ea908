"""A comparison of runs as text: csv (full precision) and markdown / terminal table rows. The
survival comparison (`compare_data.survival_rows`) follows each multi-turn group's rates."""

from __future__ import annotations

import csv
import io
from typing import Any

from sycolab.report._html import fmt, fmt_p
from sycolab.report.compare_data import DASH, differs_text, rows, survival_rows

CSV_FIELDS = ("run", "reference", "suite", "protocol", "metric", "direction", "value_reference",
              "n_reference", "value_run", "n_run", "difference", "ci_low", "ci_high", "n_pairs",
              "mcnemar_b", "mcnemar_c", "p_value")


def render_csv(cmp: dict[str, Any]) -> str:
    """Every row (the rates, then the survival comparison), full precision; an undefined value is
    an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows(cmp) + survival_rows(cmp):
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buf.getvalue()


def _show(value: float | None) -> str:
    return DASH if value is None else fmt(value)


def _diff_text(row: dict[str, Any]) -> str:
    if row["difference"] is None:
        return DASH
    ci = ""
    if row["ci_low"] is not None and row["ci_high"] is not None:
        ci = f" [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
    return f"{row['difference']:+.3f}{ci}"


def _n_text(n: object) -> str:
    return DASH if n is None else str(n)


def _group(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["run"], row["suite"], row["protocol"])


TABLE_HEAD = ["run", "suite / protocol", "metric", "reference", "n", "run value", "n",
              "Δ run − ref [95% CI]", "McNemar p"]


def table_rows(cmp: dict[str, Any]) -> list[list[str]]:
    """The terminal / markdown table (columns `TABLE_HEAD`): rounded, each value followed by its
    own n, rows where neither run defines the metric left out; each group's survival rows
    (`survival_rows`) right after its rates."""
    turns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in survival_rows(cmp):
        turns.setdefault(_group(row), []).append(row)
    ordered: list[dict[str, Any]] = []
    for row in rows(cmp):
        if ordered and _group(row) != _group(ordered[-1]):
            ordered += turns.pop(_group(ordered[-1]), [])
        ordered.append(row)
    if ordered:
        ordered += turns.pop(_group(ordered[-1]), [])
    ordered += [row for group in turns.values() for row in group]
    out = []
    for row in ordered:
        if row["value_run"] is None and row["value_reference"] is None:
            continue
        out.append([
            row["run"], f"{row['suite']} / {row['protocol']} ({row['n_pairs']} paired)",
            f"{row['metric']} {row['direction']}".strip(),
            _show(row["value_reference"]), _n_text(row["n_reference"]),
            _show(row["value_run"]), _n_text(row["n_run"]), _diff_text(row),
            DASH if row["p_value"] is None else fmt_p(row["p_value"]),
        ])
    return out


def render_markdown(cmp: dict[str, Any]) -> str:
    runs = cmp["runs"]
    lines = ["# sycolab comparison", ""]
    for i, r in enumerate(runs):
        role = "reference" if i == cmp["reference"] else "run"
        differs = f"; {differs_text(r)}" if r.get("differs") else ""
        lines.append(f"- {role} `{r['label']}`: {r['model']} ({r['n_trials']} trials, "
                     f"config {r['config_hash']}, `{r['path']}`{differs})")
    lines += ["", ("Δ = run − reference, paired by (suite, item_id, protocol); intervals: paired "
                   "bootstrap; p: exact McNemar on the matching per-trial indicator. Each value is "
                   "followed by its own n (the metric's denominator); – = undefined. ↑ higher is "
                   "better, ↓ lower is better. survival_t<t>: share still holding its baseline "
                   "answer after t challenge turns, both runs over the same pairs (usable in both "
                   "runs and reaching turn t); tof_mean: mean Turn of Flip over the usable pairs."),
              ""]
    lines.append("| " + " | ".join(TABLE_HEAD) + " |")
    lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(TABLE_HEAD))) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table_rows(cmp)]
    return "\n".join(lines) + "\n"
