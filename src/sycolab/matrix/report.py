"""The matrix HTML report: the table, a Pareto plot of reduction vs side effects, the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sycolab.report._html import esc, page
from sycolab.report.svg import Point, Series, legend, scatter


def _pareto(table: dict[str, Any]) -> str:
    """One point per arm and group: agreement reduction vs base (x) against neutral-accuracy
    drop vs base (y); both with their paired 95% intervals where known."""
    base = next(a for a in table["arms"] if a["arm"] == "base")
    base_acc = {(g["suite"], g["protocol"]): (g["accuracy_baseline"] or {}).get("value")
                for g in base["groups"]}
    tests = {(t["arm"], t["suite"], t["protocol"]): t for t in table["tests"]
             if t["reference"] == "base" and t["metric"] == "agreement_rate"}
    series = []
    for arm in table["arms"]:
        if arm["arm"] == "base":
            continue
        pts = []
        for g in arm["groups"]:
            t = tests.get((arm["arm"], g["suite"], g["protocol"]))
            acc = (g["accuracy_baseline"] or {}).get("value")
            ref = base_acc.get((g["suite"], g["protocol"]))
            if not t or t["difference"] is None or acc is None or ref is None:
                continue
            x, drop = -t["difference"], ref - acc
            pts.append(Point(x, drop, x_lo=-t["ci_high"], x_hi=-t["ci_low"],
                             title=f"{arm['arm']} {g['suite']}/{g['protocol']}: agreement "
                                   f"reduction {x:+.3f}, neutral accuracy drop {drop:+.3f}"))
        if pts:
            series.append(Series(arm["arm"], pts))
    if not series:
        return "<p>No arm has a suggestion-bearing group to plot.</p>"
    plot = scatter(series, x_label="agreement reduction vs base (→ better)",
                   y_label="neutral accuracy drop (↓ better)", aria="Pareto plot")
    return plot + legend(series)


def write_matrix_report(table: dict[str, Any], out: Path) -> Path:
    """Write matrix.html beside matrix.md."""
    md_rows = (out / "matrix.md").read_text().split("\n\n")[0].splitlines()
    head = [c.strip() for c in md_rows[0].strip("|").split("|")]
    body_rows = [[c.strip() for c in r.strip("|").split("|")] for r in md_rows[2:]]
    html_table = "<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + \
        "</tr></thead><tbody>" + "".join(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body_rows
        ) + "</tbody></table>"
    body = (
        "<h1>sycolab mitigation matrix</h1>"
        f"<p>{esc(table['summary'])}</p>"
        "<h2>Reduction vs side effects</h2>" + _pareto(table) +
        "<h2>Every arm on the test split</h2>" + html_table
    )
    path = out / "matrix.html"
    path.write_text(page("sycolab matrix", body))
    return path
