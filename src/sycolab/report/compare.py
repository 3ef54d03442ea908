"""Comparing runs trial by trial: side-by-side metrics, paired differences (the core's McNemar
and paired bootstrap, `sycolab.core.stats.paired_compare`) and a trade-off plot.

The first run is the reference; every other run is paired with it by the pairing key
(suite, item_id, protocol) and differences read run minus reference. Runs are labelled by what
differs in their configs (`sycolab.report.labels`) unless labels are given. Every value is shown
with its own n (the metric's denominator); an undefined metric (value null, n = 0, or a metric of
change in a single-step group) is shown as "–" (an empty cell in csv), never as a number.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.stats import COMPARE_RATES, CISettings, paired_compare
from sycolab.report._html import esc, fmt, fmt_p, metric_cell, num, page, ptr
from sycolab.report._load import RunData, load_run
from sycolab.report.directions import HEADLINE, arrow, better_sign, direction
from sycolab.report.labels import run_labels
from sycolab.report.run_report import side_effects_table
from sycolab.report.svg import Point, Series, legend, scatter

# rate -> the per-trial indicator whose exact McNemar test goes with it
MCNEMAR_OF = {
    "accuracy_final": "final_correct",
    "agreement_rate": "agreed",
    "ctr": "flipped",
    "regression_rate": "regressed",
}
TRADEOFF_METRIC = "regression_rate"
DASH = "–"  # an undefined metric, in every format but csv (empty cell there)
# metrics of change between the first and the last step: undefined in a single-step group
CHANGE_METRICS = frozenset({
    "ctr", "ctr_answered", "eir", "ecr", "pir", "regression_rate", "flipflop_effect",
    "agreement_corrected", "tof_mean", "nof_mean",
})


def defined(metric: str, value: object, n: object, steps: object = None) -> bool:
    """Whether a metric has a value to show: not null, n not 0, and for a metric of change a
    group with at least two steps."""
    if value is None or n == 0:
        return False
    return not (metric in CHANGE_METRICS and isinstance(steps, int) and steps < 2)


def _show(value: float | None) -> str:
    return DASH if value is None else fmt(value)


def _keys(run: RunData) -> set[tuple[str, str, str]]:
    return {(str(r["suite"]), str(r["item_id"]), str(r["protocol"])) for r in run.records}


def _ci(results: dict[str, Any]) -> CISettings:
    ci = results.get("ci") or {}
    base = CISettings()
    return CISettings(
        z=float(ci.get("z", base.z)),
        bootstrap_b=int(ci.get("bootstrap_b", base.bootstrap_b)),
        bootstrap_seed=int(ci.get("bootstrap_seed", base.bootstrap_seed)),
    )


def compare_runs(
    run_dirs: Sequence[Path],
    *,
    overlap: bool = False,
    labels: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Load the runs and pair each later run with the first.

    Returns ``{"reference": 0, "runs": [{label, differs, path, model, config_hash, n_trials,
    results}], "paired": [{"run": k, "reference": 0, "result": paired_compare(run k, run 0)}]}``;
    ``differs`` holds the config settings that tell the run apart (full text). `labels` (one per
    run) override the derived labels; `progress` is told each step. Pairing keys that differ raise
    a one-line UserInputError unless `overlap`.
    """
    if len(run_dirs) < 2:
        raise UserInputError("compare needs at least two run folders")
    runs = []
    for i, p in enumerate(run_dirs):
        if progress:
            progress(f"loading run {i + 1}/{len(run_dirs)}: {p}")
        runs.append(load_run(Path(p)))
    for run in runs:
        if not run.records:
            raise UserInputError(f"{run.path}: no trials in samples.jsonl; compare pairs trials")
    names, diffs = run_labels([r.config for r in runs], [r.path for r in runs], labels)
    ref = runs[0]
    ref_keys = _keys(ref)
    paired = []
    for k, run in enumerate(runs[1:], start=1):
        keys = _keys(run)
        only_run, only_ref = len(keys - ref_keys), len(ref_keys - keys)
        if (only_run or only_ref) and not overlap:
            raise UserInputError(
                f"pairing keys differ: {run.path} has {only_run} trials not in {ref.path}, which "
                f"has {only_ref} not in it; pass --overlap to compare the "
                f"{len(keys & ref_keys)} shared trials"
            )
        if progress:
            progress(f"pairing run {k + 1}/{len(runs)} with the reference (paired bootstrap)")
        result = paired_compare(run.records, ref.records, overlap=overlap, ci=_ci(ref.results))
        paired.append({"run": k, "reference": 0, "result": result})
    return {
        "reference": 0,
        "runs": [
            {
                "label": names[i],
                "differs": diffs[i],
                "path": str(r.path),
                "model": r.model,
                "config_hash": r.config.get("config_hash"),
                "n_trials": len(r.records),
                "results": r.results,
            }
            for i, r in enumerate(runs)
        ],
        "paired": paired,
    }


def _steps(cmp: dict[str, Any]) -> list[dict[tuple[str, str], Any]]:
    """Per run, the number of steps of each (suite, protocol) group of its results.json."""
    return [{(str(g["suite"]), str(g["protocol"])): g.get("steps") for g in r["results"]["groups"]}
            for r in cmp["runs"]]


def rows(cmp: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (paired run, group, rate): the table shared by terminal, markdown and csv.

    Values and their n (each run's own denominator of the rate: results.json's ``n`` of the metric
    when the runs pair completely) come from the paired comparison; an undefined value, and any
    difference involving one, is None. ``n_pairs`` counts the group's paired trials; ``src`` maps
    each shown numeric field to its pointer into `cmp`.
    """
    out = []
    labels = [r["label"] for r in cmp["runs"]]
    steps = _steps(cmp)
    for j, pair in enumerate(cmp["paired"]):
        for gi, g in enumerate(pair["result"]["groups"]):
            key = (str(g["suite"]), str(g["protocol"]))
            for metric in COMPARE_RATES:
                rate = g["rates"].get(metric) or {}
                base = ptr("paired", j, "result", "groups", gi)
                ok_ref = defined(metric, rate.get("value_b"), rate.get("n_b"),
                                 steps[pair["reference"]].get(key))
                ok_run = defined(metric, rate.get("value_a"), rate.get("n_a"),
                                 steps[pair["run"]].get(key))
                both = ok_ref and ok_run
                row: dict[str, Any] = {
                    "run": labels[pair["run"]],
                    "reference": labels[pair["reference"]],
                    "suite": g["suite"],
                    "protocol": g["protocol"],
                    "metric": metric,
                    "direction": arrow(metric),
                    "value_reference": rate.get("value_b") if ok_ref else None,
                    "n_reference": rate.get("n_b"),
                    "value_run": rate.get("value_a") if ok_run else None,
                    "n_run": rate.get("n_a"),
                    "difference": rate.get("difference") if both else None,
                    "ci_low": rate.get("ci_low") if both else None,
                    "ci_high": rate.get("ci_high") if both else None,
                    "n_pairs": g.get("n"),
                    "mcnemar_b": None,
                    "mcnemar_c": None,
                    "p_value": None,
                }
                src = {
                    name: ptr(base, "rates", metric, field)
                    for name, field in (
                        ("value_reference", "value_b"), ("n_reference", "n_b"),
                        ("value_run", "value_a"), ("n_run", "n_a"),
                        ("difference", "difference"), ("ci_low", "ci_low"),
                        ("ci_high", "ci_high"),
                    )
                }
                src["n_pairs"] = ptr(base, "n")
                ind_name = MCNEMAR_OF.get(metric)
                ind = g["indicators"].get(ind_name) if ind_name else None
                if both and ind and ind.get("n"):
                    for field in ("mcnemar_b", "mcnemar_c", "p_value"):
                        row[field] = ind.get(field)
                        src[field] = ptr(base, "indicators", ind_name, field)
                row["src"] = src
                out.append(row)
    return out


CSV_FIELDS = ("run", "reference", "suite", "protocol", "metric", "direction", "value_reference",
              "n_reference", "value_run", "n_run", "difference", "ci_low", "ci_high", "n_pairs",
              "mcnemar_b", "mcnemar_c", "p_value")


def render_csv(cmp: dict[str, Any]) -> str:
    """Every row, full precision; an undefined value is an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows(cmp):
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buf.getvalue()


def _diff_text(row: dict[str, Any]) -> str:
    if row["difference"] is None:
        return DASH
    ci = ""
    if row["ci_low"] is not None and row["ci_high"] is not None:
        ci = f" [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
    return f"{row['difference']:+.3f}{ci}"


def _n_text(n: object) -> str:
    return DASH if n is None else str(n)


TABLE_HEAD = ["run", "suite / protocol", "metric", "reference", "n", "run value", "n",
              "Δ run − ref [95% CI]", "McNemar p"]


def table_rows(cmp: dict[str, Any]) -> list[list[str]]:
    """The terminal / markdown table (columns `TABLE_HEAD`): rounded, each value followed by its
    own n, rows where neither run defines the metric left out."""
    out = []
    for row in rows(cmp):
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


def _differs(r: dict[str, Any]) -> str:
    """The settings that tell a run apart, in full, on one line."""
    return "; ".join(f"{k}: {' '.join(str(v).split())}" for k, v in (r.get("differs") or {}).items())


def render_markdown(cmp: dict[str, Any]) -> str:
    runs = cmp["runs"]
    lines = ["# sycolab comparison", ""]
    for i, r in enumerate(runs):
        role = "reference" if i == cmp["reference"] else "run"
        differs = f"; {_differs(r)}" if r.get("differs") else ""
        lines.append(f"- {role} `{r['label']}`: {r['model']} ({r['n_trials']} trials, "
                     f"config {r['config_hash']}, `{r['path']}`{differs})")
    lines += ["", ("Δ = run − reference, paired by (suite, item_id, protocol); intervals: paired "
                   "bootstrap; p: exact McNemar on the matching per-trial indicator. Each value is "
                   "followed by its own n (the metric's denominator); – = undefined. ↑ higher is "
                   "better, ↓ lower is better."), ""]
    lines.append("| " + " | ".join(TABLE_HEAD) + " |")
    lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(TABLE_HEAD))) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table_rows(cmp)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML

def _group_index(results: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(str(g["suite"]), str(g["protocol"])): i for i, g in enumerate(results["groups"])}


NA = f'<span class="na" title="undefined">{DASH}</span>'


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
            group = f"{esc(suite)} / <b>{esc(protocol)}</b>" if first else ""
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
            f'<tr><td class="l" data-static="label">{esc(run)}</td><td class="l">{esc(suite)} / '
            f'<b>{esc(protocol)}</b><span class="n">'
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


def _tradeoff_series(cmp: dict[str, Any], x_kind: str) -> list[Series]:
    """Per non-reference run: one point per group; y = reduction of regression_rate (reference
    minus run, so up is better); x = neutral (baseline) accuracy drop or the run's KL."""
    runs = cmp["runs"]
    ref_k = cmp["reference"]
    ref_index = _group_index(runs[ref_k]["results"])
    steps = _steps(cmp)
    out = []
    for j, pair in enumerate(cmp["paired"]):
        k = pair["run"]
        run_index = _group_index(runs[k]["results"])
        kl = ((runs[k]["results"].get("side_effects") or {}).get("kl") or {})
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
            srcs = [ptr(rp, "difference"), ptr(rp, "ci_low"), ptr(rp, "ci_high")]
            if x_kind == "kl":
                if not isinstance(kl, dict) or kl.get("value") is None:
                    continue
                x, x_lo, x_hi = kl["value"], kl.get("ci_low"), kl.get("ci_high")
                head += f"; KL {fmt(x)}"
                srcs.append(ptr("runs", k, "results", "side_effects", "kl", "value"))
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
    acc = _tradeoff_series(cmp, "accuracy")
    if acc:
        cards.append(
            '<div class="card"><h3>sycophancy reduction vs neutral accuracy drop</h3>'
            + scatter(acc, x_label="neutral (baseline) accuracy drop: reference − run",
                      y_label="regression-rate reduction", aria="trade-off, accuracy")
            + legend(acc) + "</div>"
        )
    kl = _tradeoff_series(cmp, "kl")
    if kl:
        cards.append(
            '<div class="card"><h3>sycophancy reduction vs KL on benign prompts</h3>'
            + scatter(kl, x_label="KL(modified || unmodified)",
                      y_label="regression-rate reduction", aria="trade-off, KL")
            + legend(kl) + "</div>"
        )
    if not cards:
        return ""
    return (
        '<section id="tradeoff" data-origin="compare"><h2>Trade-off</h2><p class="sub">One point '
        "per suite / protocol. Up = fewer regressions than the reference (paired bootstrap "
        "interval as a vertical bar); right = more damage. Best: top left.</p>"
        f'<div class="grid">{"".join(cards)}</div></section>'
    )


def _runs_table(cmp: dict[str, Any]) -> str:
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
            f'<td class="l" data-origin="config">{esc(_differs(r))}</td><td class="l" '
            f'data-origin="config"><code>{esc(r["config_hash"])}</code></td>'
            f'<td>{num(r["n_trials"], ptr("runs", k, "n_trials"))}</td>'
            f'<td class="l">{pairing}</td></tr>'
        )
    side = "".join(
        f'<div class="card"><h3>{esc(r["label"])}</h3>'
        f'{side_effects_table(r["results"]["side_effects"], ptr("runs", k, "results", "side_effects"))}'
        "</div>"
        for k, r in enumerate(cmp["runs"]) if r["results"].get("side_effects")
    )
    if side:
        side = f'<h3>Side effects</h3><div class="grid">{side}</div>'
    return (
        '<header data-origin="compare"><h1>sycolab comparison</h1><p class="sub">Trials paired '
        "by (suite, item_id, protocol); differences read run − reference.</p>"
        '<nav><a href="#side-by-side">side by side</a><a href="#paired">paired differences</a>'
        '<a href="#tradeoff">trade-off</a></nav><table><thead><tr><th class="l">role</th>'
        '<th class="l">run</th><th class="l">model</th><th class="l">differs</th>'
        '<th class="l">config</th><th>trials</th>'
        f'<th class="l">pairing</th></tr></thead><tbody>{"".join(body)}</tbody></table>{side}'
        "</header>"
    )


def render_compare(cmp: dict[str, Any]) -> str:
    """The comparison page for `compare_runs` output."""
    body = _runs_table(cmp) + _tradeoff(cmp) + _paired_table(cmp) + _side_by_side(cmp)
    return page("sycolab comparison: " + " vs ".join(r["label"] for r in cmp["runs"]), body)


def check_out(out: Path, flag: str = "--out") -> Path:
    """Check an output file path before any work: not a folder, its nearest existing folder
    writable (missing folders are made when writing), an existing file writable."""
    out = Path(out)
    if out.is_dir():
        raise UserInputError(
            f"{flag} {out}: is a folder; give a file path, e.g. {out / 'compare.html'}"
        )
    if out.exists() and not os.access(out, os.W_OK):
        raise UserInputError(f"{flag} {out}: file is not writable")
    folder = out.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UserInputError(f"{flag} {out}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserInputError(f"{flag} {out}: folder {folder} is not writable")
    return out


def write_text(out: Path, text: str, flag: str = "--out") -> Path:
    """Write `text` to `out`, making missing parent folders; failures are one-line errors."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"{flag} {out}: cannot write ({exc.strerror or exc})") from None
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
        raise UserInputError(f"--format {format}: expected html, md or csv")
    out = check_out(Path(out))
    cmp = compare_runs(run_dirs, overlap=overlap, labels=labels, progress=progress)
    if progress:
        progress(f"writing {out}")
    return write_text(out, RENDERERS[format](cmp)), cmp
