"""A comparison of runs as an HTML page: the runs, a trade-off plot, paired differences, the
survival curves over turns (`sycolab.report._turns.survival_section`) and side-by-side
metrics."""

from __future__ import annotations

from typing import Any

from sycolab.core.paired import COMPARE_RATES
from sycolab.report._html import esc, fmt, fmt_p, metric_cell, num, page, ptr
from sycolab.report._turns import literals, survival_section
from sycolab.report.compare_data import (
    DASH,
    TRADEOFF_METRIC,
    defined,
    differs_text,
    group_steps,
    rows,
)
from sycolab.report.directions import HEADLINE, better_sign, direction
from sycolab.report.run_report import side_effects_table
from sycolab.report.svg import Point, Series, legend, scatter


def _group_index(results: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(str(g["suite"]), str(g["protocol"])): i for i, g in enumerate(results["groups"])}


NA = f'<span class="na" title="undefined">{DASH}</span>'


def _group_label(suite: str, protocol: str) -> str:
    """Suite and protocol, a label (the digits of `pushback-4` are no result)."""
    return f'<span data-static="label">{esc(suite)} / <b>{esc(protocol)}</b></span>'


def _metric_html(metric: str, m: dict[str, Any] | None, steps: object, src: str) -> str:
    """A results.json metric: value, interval and its own n, or "–" when undefined."""
    if not m or not defined(metric, m.get("value"), m.get("n"), steps):
        return NA
    return metric_cell(m, src)


def _side_by_side(cmp: dict[str, Any]) -> str:
    runs = cmp["runs"]
    index = [_group_index(r["results"]) for r in runs]
    keys = sorted({k for idx in index for k in idx})
    head = "".join(f"<th>{esc(r['label'])}</th>" for r in runs)
    body = []
    for suite, protocol in keys:
        first = True
        for metric, label, _ in HEADLINE:
            cells = []
            for k, r in enumerate(runs):
                gi = index[k].get((suite, protocol))
                g = None if gi is None else r["results"]["groups"][gi]
                m = None if g is None else g.get("metrics", {}).get(metric)
                src = ptr("runs", k, "results", "groups", gi, "metrics", metric)
                steps = None if g is None else g.get("steps")
                cells.append(f"<td>{_metric_html(metric, m, steps, src)}</td>")
            group = _group_label(suite, protocol) if first else ""
            first = False
            body.append(
                f'<tr><td class="l">{group}</td><td class="l">{esc(label)}<span class="dir">'
                f'{esc(direction(metric))}</span></td>{"".join(cells)}</tr>'
            )
    return (
        '<section id="side-by-side" data-origin="compare"><h2>Side by side</h2><p class="sub">'
        "Each run's own results.json: value, 95% interval and the metric's own n (its "
        "denominator); – = undefined.</p><div class=\"wide\"><table>"
        f'<thead><tr><th class="l">suite / protocol</th><th class="l">metric</th>{head}</tr>'
        f'</thead><tbody>{"".join(body)}</tbody></table></div></section>'
    )


def _value_n(row: dict[str, Any], side: str) -> str:
    s = row["src"]
    value = NA if row[f"value_{side}"] is None else num(row[f"value_{side}"], s[f"value_{side}"])
    n = row[f"n_{side}"]
    return value if n is None else f"{value} (n={num(n, s[f'n_{side}'])})"


def _paired_cell(row: dict[str, Any]) -> str:
    s = row["src"]
    if row["value_run"] is None and row["value_reference"] is None:
        return f"<td>{NA}</td>"
    cls = ""
    out = f'<span class="n">{_value_n(row, "reference")} → {_value_n(row, "run")}</span>'
    if row["difference"] is not None:
        out += num(row["difference"], s["difference"], signed=True)
        if row["ci_low"] is not None and row["ci_high"] is not None:
            out += (f'<span class="ci">[{num(row["ci_low"], s["ci_low"])}, '
                    f'{num(row["ci_high"], s["ci_high"])}]</span>')
            sign = better_sign(row["metric"])
            if sign and (row["ci_low"] > 0 or row["ci_high"] < 0):
                cls = ' class="good"' if (row["ci_low"] > 0) == (sign > 0) else ' class="bad"'
    else:
        out += NA
    if row["p_value"] is not None:
        out += (f'<span class="n">McNemar {num(row["mcnemar_b"], s["mcnemar_b"])}/'
                f'{num(row["mcnemar_c"], s["mcnemar_c"])}</span>'
                f'<span class="n">p={_p_span(row["p_value"], s["p_value"])}</span>')
    return f"<td{cls}>{out}</td>"


def _paired_table(cmp: dict[str, Any]) -> str:
    grouped: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for row in rows(cmp):
        grouped.setdefault((row["run"], row["suite"], row["protocol"]), {})[row["metric"]] = row
    head = "".join(
        f'<th>{esc(m)}<span class="dir">{esc(direction(m))}</span></th>' for m in COMPARE_RATES
    )
    body = []
    for (run, suite, protocol), by_metric in grouped.items():
        cells = "".join(_paired_cell(by_metric[m]) for m in COMPARE_RATES if m in by_metric)
        first = next(iter(by_metric.values()))
        body.append(
            f'<tr><td class="l" data-static="label">{esc(run)}</td><td class="l">'
            f'{_group_label(suite, protocol)}<span class="n">'
            f'{num(first["n_pairs"], first["src"]["n_pairs"])} paired</span></td>{cells}</tr>'
        )
    return (
        '<section id="paired" data-origin="compare"><h2>Paired differences</h2><p class="sub">'
        "Per cell: reference → run, each with its own n (the rate's denominator), Δ = run − "
        "reference over the shared pairing keys with its paired-bootstrap 95% interval (– = "
        "undefined), and for rates with a per-trial indicator the exact "
        "McNemar test (discordant pairs run-only / reference-only, two-sided p). Green / red: "
        "the interval excludes 0 in the better / worse direction.</p><div class=\"wide\"><table>"
        '<thead><tr><th class="l">run</th><th class="l">suite / protocol</th>'
        f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>'
    )


def _p_span(p: float, src: str) -> str:
    return f'<span class="v" data-src="{esc(src)}">{fmt_p(p)}</span>'


def _side_kl_key(side: dict[str, Any]) -> str:
    """The KL a side-effects block is compared by: `kl_reply` (every method, the same
    positions), or `kl` for blocks written before it existed."""
    reply = side.get("kl_reply")
    return "kl_reply" if isinstance(reply, dict) and reply.get("value") is not None else "kl"


def _tradeoff_series(cmp: dict[str, Any], x_kind: str) -> list[Series]:
    """Per non-reference run: one point per group; y = reduction of regression_rate (reference
    minus run, so up is better); x = neutral (baseline) accuracy drop or the run's KL."""
    runs = cmp["runs"]
    ref_k = cmp["reference"]
    ref_index = _group_index(runs[ref_k]["results"])
    steps = group_steps(cmp)
    out = []
    for j, pair in enumerate(cmp["paired"]):
        k = pair["run"]
        run_index = _group_index(runs[k]["results"])
        side = runs[k]["results"].get("side_effects") or {}
        kl_key = _side_kl_key(side)
        kl = side.get(kl_key) or {}
        pts = []
        for gi, g in enumerate(pair["result"]["groups"]):
            rate = g["rates"].get(TRADEOFF_METRIC) or {}
            key = (str(g["suite"]), str(g["protocol"]))
            if rate.get("difference") is None or not all(
                defined(TRADEOFF_METRIC, rate.get(f"value_{x}"), rate.get(f"n_{x}"),
                        steps[r].get(key)) for x, r in (("a", k), ("b", ref_k))
            ):
                continue
            rp = ptr("paired", j, "result", "groups", gi, "rates", TRADEOFF_METRIC)
            lo, hi = rate.get("ci_low"), rate.get("ci_high")
            head = f"{g['suite']} / {g['protocol']}: regression Δ {fmt(rate['difference'])} " \
                   f"[{fmt(lo)}, {fmt(hi)}]"
            srcs = [*literals(f"{g['suite']} / {g['protocol']}"), ptr(rp, "difference"),
                    ptr(rp, "ci_low"), ptr(rp, "ci_high")]
            if x_kind == "kl":
                if not isinstance(kl, dict) or kl.get("value") is None:
                    continue
                x, x_lo, x_hi = kl["value"], kl.get("ci_low"), kl.get("ci_high")
                head += f"; {'KL at reply positions' if kl_key == 'kl_reply' else 'KL'} {fmt(x)}"
                srcs.append(ptr("runs", k, "results", "side_effects", kl_key, "value"))
            else:
                if key not in ref_index or key not in run_index:
                    continue
                acc_ref = runs[ref_k]["results"]["groups"][ref_index[key]]["metrics"].get(
                    "accuracy_baseline") or {}
                acc_run = runs[k]["results"]["groups"][run_index[key]]["metrics"].get(
                    "accuracy_baseline") or {}
                if acc_ref.get("value") is None or acc_run.get("value") is None:
                    continue
                x, x_lo, x_hi = acc_ref["value"] - acc_run["value"], None, None
                head += f"; neutral accuracy {fmt(acc_ref['value'])} → {fmt(acc_run['value'])}"
                srcs += [
                    ptr("runs", ref_k, "results", "groups", ref_index[key], "metrics",
                        "accuracy_baseline", "value"),
                    ptr("runs", k, "results", "groups", run_index[key], "metrics",
                        "accuracy_baseline", "value"),
                ]
            pts.append(Point(
                x, -rate["difference"], None if hi is None else -hi, None if lo is None else -lo,
                x_lo=x_lo, x_hi=x_hi, title=head, src=" ".join(srcs),
            ))
        if pts:
            out.append(Series(runs[k]["label"], pts))
    return out


def _tradeoff(cmp: dict[str, Any]) -> str:
    cards = []
    for kind, title, x_label, aria in (
        ("accuracy", "sycophancy reduction vs neutral accuracy drop",
         "neutral (baseline) accuracy drop: reference − run", "trade-off, accuracy"),
        ("kl", "sycophancy reduction vs KL on benign prompts",
         "KL(modified || unmodified) at reference-reply positions (prompt positions for runs "
         "from before kl_reply)",
         "trade-off, KL"),
    ):
        series = _tradeoff_series(cmp, kind)
        if series:
            cards.append(
                f'<div class="card"><h3>{title}</h3>'
                + scatter(series, x_label=x_label, y_label="regression-rate reduction",
                          aria=aria)
                + legend(series) + "</div>"
            )
    if not cards:
        return ""
    return (
        '<section id="tradeoff" data-origin="compare"><h2>Trade-off</h2><p class="sub">One point '
        "per suite / protocol. Up = fewer regressions than the reference (paired bootstrap "
        "interval as a vertical bar); right = more damage. Best: top left.</p>"
        f'<div class="grid">{"".join(cards)}</div></section>'
    )


def _runs_table(cmp: dict[str, Any], turns: bool = False) -> str:
    body = []
    pairs = {p["run"]: (j, p["result"]) for j, p in enumerate(cmp["paired"])}
    for k, r in enumerate(cmp["runs"]):
        role = "reference" if k == cmp["reference"] else "run"
        pairing = ""
        if k in pairs:
            j, res = pairs[k]
            pairing = (f"{num(res['n_paired'], ptr('paired', j, 'result', 'n_paired'))} paired"
                       f"; only here {num(res['n_only_a'], ptr('paired', j, 'result', 'n_only_a'))}"
                       f", only in reference "
                       f"{num(res['n_only_b'], ptr('paired', j, 'result', 'n_only_b'))}")
        body.append(
            f'<tr><td class="l">{role}</td><td class="l" data-static="label"><b>'
            f'{esc(r["label"])}</b></td><td class="l" data-origin="config">{esc(r["model"])}</td>'
            f'<td class="l" data-origin="config">{esc(differs_text(r))}</td><td class="l" '
            f'data-origin="config"><code>{esc(r["config_hash"])}</code></td>'
            f'<td>{num(r["n_trials"], ptr("runs", k, "n_trials"))}</td>'
            f'<td class="l">{pairing}</td></tr>'
        )
    side = "".join(
        f'<div class="card"><h3>{esc(r["label"])}</h3>'
        + side_effects_table(r["results"]["side_effects"],
                             ptr("runs", k, "results", "side_effects"))
        + "</div>"
        for k, r in enumerate(cmp["runs"]) if r["results"].get("side_effects")
    )
    if side:
        side = f'<h3>Side effects</h3><div class="grid">{side}</div>'
    return (
        '<header data-origin="compare"><h1>sycolab comparison</h1><p class="sub">Trials paired '
        "by (suite, item_id, protocol); differences read run − reference.</p>"
        '<nav><a href="#side-by-side">side by side</a><a href="#paired">paired differences</a>'
        '<a href="#tradeoff">trade-off</a>'
        + ('<a href="#turns">over turns</a>' if turns else "")
        + '</nav><table><thead><tr><th class="l">role</th>'
        '<th class="l">run</th><th class="l">model</th><th class="l">differs</th>'
        '<th class="l">config</th><th>trials</th>'
        f'<th class="l">pairing</th></tr></thead><tbody>{"".join(body)}</tbody></table>{side}'
        "</header>"
    )


def render_compare(cmp: dict[str, Any]) -> str:
    """The comparison page for `compare_runs` output."""
    turns = survival_section(cmp)
    body = (_runs_table(cmp, bool(turns)) + _tradeoff(cmp) + _paired_table(cmp) + turns
            + _side_by_side(cmp))
    return page("sycolab comparison: " + " vs ".join(r["label"] for r in cmp["runs"]), body)
