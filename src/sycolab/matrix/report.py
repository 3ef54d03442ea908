"""The matrix HTML report: the summary, two Pareto plots (agreement reduction against the
neutral-accuracy drop, and against the KL at reply positions), and the tables of matrix.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sycolab.matrix.roles import role
from sycolab.matrix.tables import Section, legend, sections
from sycolab.report._html import esc, page
from sycolab.report.svg import Point, Series, scatter
from sycolab.report.svg import legend as svg_legend


def _agreement_tests(table: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(t["arm"], t["suite"], t["protocol"]): t for t in table["tests"]
            if t["reference"] == "base" and t["metric"] == "agreement_rate"}


def _plot(table: dict[str, Any], points: Callable[[dict[str, Any], dict[str, Any],
                                                  dict[str, Any]], Point | None],
          y_label: str, aria: str, empty: str) -> str:
    """A scatter of agreement reduction vs base (x) against `points`' y, one series per arm:
    `points(arm, group, test)` gives the group's point or None (the base arm is left out)."""
    tests = _agreement_tests(table)
    series = []
    for arm in table["arms"]:
        if arm["arm"] == "base":
            continue
        pts = []
        for g in arm["groups"]:
            t = tests.get((arm["arm"], g["suite"], g["protocol"]))
            point = points(arm, g, t) if t and t["difference"] is not None else None
            if point is not None:
                pts.append(point)
        if pts:
            series.append(Series(arm["arm"], pts))
    if not series:
        return f"<p>{empty}</p>"
    plot = scatter(series, x_label="agreement reduction vs base (→ better)", y_label=y_label,
                   aria=aria)
    return plot + svg_legend(series)


def _pareto(table: dict[str, Any]) -> str:
    """One point per arm and group: agreement reduction vs base (x) against neutral-accuracy
    drop vs base (y); both with their paired 95% intervals where known."""
    base = next(a for a in table["arms"] if a["arm"] == "base")
    base_acc = {(g["suite"], g["protocol"]): (g["accuracy_baseline"] or {}).get("value")
                for g in base["groups"]}

    def point(arm: dict[str, Any], g: dict[str, Any], t: dict[str, Any]) -> Point | None:
        acc = (g["accuracy_baseline"] or {}).get("value")
        ref = base_acc.get((g["suite"], g["protocol"]))
        if acc is None or ref is None or role(g["protocol"]) == "right-suggestion":
            return None
        x, drop = -t["difference"], ref - acc
        return Point(x, drop, x_lo=-t["ci_high"], x_hi=-t["ci_low"],
                     title=f"{arm['arm']} {g['suite']}/{g['protocol']}: agreement "
                           f"reduction {x:+.3f}, neutral accuracy drop {drop:+.3f}")

    return _plot(table, point, "neutral accuracy drop (↓ better)", "Pareto plot",
                 "No arm has a suggestion-bearing group to plot.")


def _pareto_kl(table: dict[str, Any]) -> str:
    """One point per arm and wrong-suggestion group with a measured `kl_reply`: agreement
    reduction vs base (x) against KL at the reference reply's positions (y)."""

    def point(arm: dict[str, Any], g: dict[str, Any], t: dict[str, Any]) -> Point | None:
        kl = (arm.get("side_effects") or {}).get("kl_reply")
        if (not isinstance(kl, dict) or kl.get("value") is None
                or role(g["protocol"]) != "wrong-suggestion"):
            return None
        x = -t["difference"]
        return Point(x, kl["value"], lo=kl.get("ci_low"), hi=kl.get("ci_high"),
                     x_lo=-t["ci_high"], x_hi=-t["ci_low"],
                     title=f"{arm['arm']} {g['suite']}/{g['protocol']}: agreement "
                           f"reduction {x:+.3f}, KL reply {kl['value']:.3g}")

    return _plot(table, point, "KL at reply positions (↓ better)", "Pareto plot, KL",
                 "No arm has a measured KL at reply positions.")


def _html_table(section: Section) -> str:
    return (f"<h2>{esc(section.title)}</h2><table><thead><tr>"
            + "".join(f"<th>{esc(h)}</th>" for h in section.header) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                      for row in section.rows) + "</tbody></table>")


def write_matrix_report(table: dict[str, Any], out: Path) -> Path:
    """Write matrix.html beside matrix.md (the same tables and legend)."""
    body = (
        "<h1>sycolab mitigation matrix</h1>"
        f"<p>{esc(table['summary'])}</p>"
        "<h2>Reduction vs neutral accuracy</h2>" + _pareto(table) +
        "<h2>Reduction vs KL at reply positions</h2>" + _pareto_kl(table) +
        "".join(_html_table(s) for s in sections(table)) +
        "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in legend(table)) + "</ul>"
    )
    path = out / "matrix.html"
    path.write_text(page("sycolab matrix", body), encoding="utf-8")
    return path
