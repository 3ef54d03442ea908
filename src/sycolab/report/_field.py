"""The run report's "Field benchmarks" section: one block per suite with field groups (groups
whose results.json entry has a ``field`` block, see `sycolab.core.field_metrics`).

Per group: its judge and parse failures, and a table of its field metrics with interval, n,
direction and denominator. Plots per kind: stance, survival and hold rate per reply (all
protocols of the suite on one plot, so prompt variants compare at a glance); feedback, the
positivity shift per template around 0; social, the model's rate beside the human (or community)
rate per label and their paired difference; mimicry, its three rates. Every number is read from
results.json and names its pointer (``data-src``); nothing is recomputed here.
"""

from __future__ import annotations

import re
from typing import Any

from sycolab.core.field_metrics import FEEDBACK_TEMPLATES, OEQ_LABELS, field_metric_doc
from sycolab.report._html import esc, fmt, metric_cell, num, ptr
from sycolab.report.directions import direction
from sycolab.report.svg import Point, Series, forest, legend, line_chart

JUDGE_KIND = {"stance": "stance", "feedback": "pairwise", "social": "social"}
TEMPLATE_TEXT = {"like": "“I really like …”", "wrote": "“I wrote …”",
                 "dislike": "“I really dislike …”", "not_wrote": "“I did not write …”"}
MIMICRY_ROWS = (("repeats_wrong_rate", "repeats the wrong author"),
                ("corrects_rate", "names the true author"),
                ("no_attribution_rate", "names no author"))
CSS = (".jd{margin:2px 0 6px;font-size:13px}table.fm td.den{max-width:260px;font-size:12px;"
       "color:var(--mut)}table.fm code.n{font-size:11px}#field .card p.sub{max-width:440px;"
       "font-size:13px}")
_TURN = re.compile(r"^hold_rate_turn_(\d+)$")

Groups = list[tuple[int, dict[str, Any]]]


def is_field(group: dict[str, Any]) -> bool:
    """A group of a field benchmark (it carries a ``field`` block)."""
    return isinstance(group.get("field"), dict)


def field_section(groups: list[dict[str, Any]], config: dict[str, Any]) -> str:
    """The section's HTML; '' when the run has no field groups."""
    by_suite: dict[str, Groups] = {}
    for gi, g in enumerate(groups):
        if is_field(g):
            by_suite.setdefault(str(g.get("suite")), []).append((gi, g))
    if not by_suite:
        return ""
    blocks = []
    for suite, gs in by_suite.items():
        plots = "".join(_plots(gs))
        kinds = dict.fromkeys(str(g["field"].get("kind")) for _, g in gs)
        cards = "".join(
            _table(k, [(gi, g) for gi, g in gs if g["field"].get("kind") == k], config)
            for k in kinds)
        blocks.append(f"<h3>{esc(suite)}</h3>"
                      + (f'<div class="grid">{plots}</div>' if plots else "")
                      + f'<div class="grid">{cards}</div>')
    return (
        f'<section id="field" data-origin="results"><style>{CSS}</style><h2>Field benchmarks</h2>'
        '<p class="sub">'
        "Stance (SYCON-Bench, freeform pushback), feedback and mimicry (SycophancyEval) and social "
        "sycophancy (ELEPHANT), read by the named judge. Each metric: value, 95% interval "
        "(Wilson for rates, percentile bootstrap over items for means and paired differences), "
        "n = its own denominator. Parse failures are trials with an unparsable verdict: counted, "
        "never scored. Hover a point for its numbers.</p>"
        f'{"".join(blocks)}</section>'
    )


# ---- per group: judge line and metric table -----------------------------------------------------


def _judge(gi: int, g: dict[str, Any], config: dict[str, Any]) -> str:
    f, p = g["field"], ptr("groups", gi, "field")
    if f.get("judge") is None:
        who = "scored by rule, no judge"
    else:
        judges = (config.get("hashed") or {}).get("field_judges") or {}
        mode = (judges.get(JUDGE_KIND.get(str(f.get("kind")), "")) or {}).get("mode")
        who = f"judge <code>{esc(f['judge'])}</code>" + (
            f" (<code>{esc(mode)}</code>)" if mode else "")
        who += f" · parse failures {num(f.get('n_judge_errors'), ptr(p, 'n_judge_errors'))}"
        by = f.get("n_judge_errors_by_template") or {}
        if by:
            who += " (" + ", ".join(
                f"{esc(c)} {num(v, ptr(p, 'n_judge_errors_by_template', c))}"
                for c, v in by.items()) + ")"
    counts = [f"n={num(f.get('n'), ptr(p, 'n'))}"]
    counts += [f"{label} {num(f[key], ptr(p, key))}"
               for key, label in (("n_errors", "errors"), ("n_excluded", "excluded"))
               if f.get(key)]
    labels = f.get("label_counts") or {}
    if labels:
        counts.append("judge labels " + ", ".join(
            f"{esc(k)} {num(v, ptr(p, 'label_counts', k))}" for k, v in labels.items()))
    return f'{who}<span class="n">{" · ".join(counts)}</span>'


def _order(kind: str, names: list[str]) -> list[str]:
    """Display order: the kind's reading order, then anything else as given."""
    if kind == "stance":
        turns = sorted((n for n in names if _TURN.match(n)), key=lambda n: int(n.rsplit("_")[-1]))
        want = ["tof_mean", "nof_mean", "held_all", *turns]
    elif kind == "feedback":
        want = [f"{m}_{c}" for c in FEEDBACK_TEMPLATES for m in (
            "positivity_shift", "more_positive_rate", "less_positive_rate",
            "position_disagreement")]
    elif kind == "social":
        want = [f"{lab}_{s}" for lab in OEQ_LABELS for s in ("rate", "minus_human")]
        want += ["endorsement_rate", "false_endorsement_rate", "endorsement_minus_community"]
    else:
        want = [m for m, _ in MIMICRY_ROWS]
    return [n for n in want if n in names] + [n for n in names if n not in want]


def _row(name: str, gs: Groups) -> str:
    doc = field_metric_doc(name) or {}
    turn = _TURN.match(name)
    label = doc.get("label") or (f"holds at reply {turn.group(1)}" if turn else "")
    shown = (f'<span data-static="label">{esc(label)}</span><code class="n">{esc(name)}</code>'
             if label else f"<code>{esc(name)}</code>")
    cells = []
    for gi, g in gs:
        m = (g["field"].get("metrics") or {}).get(name)
        p = ptr("groups", gi, "field", "metrics", name)
        value = metric_cell(m if isinstance(m, dict) else None, p)
        if isinstance(m, dict) and (m.get("model_rate") is not None
                                    or m.get("reference_rate") is not None):
            ref = "community" if name == "endorsement_minus_community" else "human"
            value += (f'<span class="n">model {num(m.get("model_rate"), ptr(p, "model_rate"))}'
                      f' · {ref} {num(m.get("reference_rate"), ptr(p, "reference_rate"))}</span>')
        cells.append(f"<td>{value}</td>")
    return (
        f'<tr><td class="l">{shown}</td>{"".join(cells)}'
        f'<td class="l"><span class="dir">{esc(direction(name))}</span></td>'
        f'<td class="l den" data-static="doc">{esc(doc.get("denominator", ""))}</td></tr>'
    )


def _table(kind: str, gs: Groups, config: dict[str, Any]) -> str:
    """The groups of one kind in one suite: their judges, then one column of metrics each."""
    names: list[str] = []
    for _, g in gs:
        names += [n for n, m in (g["field"].get("metrics") or {}).items()
                  if isinstance(m, dict) and n not in names]
    judges = "".join(
        f'<div class="jd"><b>{esc(g.get("protocol"))}</b>: {_judge(gi, g, config)}</div>'
        for gi, g in gs)
    head = "".join(f"<th>{esc(g.get('protocol'))}"
                   '<span class="dir">value · 95% CI · n</span></th>' for _, g in gs)
    rows = "".join(_row(n, gs) for n in _order(kind, names))
    return (
        f'<div class="card"><h3>{esc(gs[0][1].get("suite"))}: {esc(kind)} metrics</h3>{judges}'
        f'<table class="fm"><thead><tr><th class="l">metric</th>{head}<th class="l">direction'
        f'</th><th class="l">denominator</th></tr></thead><tbody>{rows}</tbody></table></div>'
    )


# ---- plots ---------------------------------------------------------------------------------------


def _tip(label: str, m: dict[str, Any], p: str, *, signed: bool = False,
         lead: tuple[str, ...] = ()) -> tuple[str, str]:
    """Tooltip text "label: v [lo, hi] n N" and its data-src (`lead`: pointers of numbers in
    `label`, "-" for literals)."""
    parts, srcs = [fmt(m.get("value"), signed=signed)], [*lead, ptr(p, "value")]
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        parts.append(f"[{fmt(m['ci_low'], signed=signed)}, {fmt(m['ci_high'], signed=signed)}]")
        srcs += [ptr(p, "ci_low"), ptr(p, "ci_high")]
    if m.get("n") is not None:
        parts.append(f"n {m['n']}")
        srcs.append(ptr(p, "n"))
    return f"{label}: {' '.join(parts)}", " ".join(srcs)


def _defined(m: Any) -> bool:
    return isinstance(m, dict) and isinstance(m.get("value"), int | float)


def _at(x: float, y: float, m: dict[str, Any], tip: tuple[str, str], *, along_x: bool
        ) -> Point:
    lo, hi = m.get("ci_low"), m.get("ci_high")
    if along_x:
        return Point(x, y, x_lo=lo, x_hi=hi, title=tip[0], src=tip[1])
    return Point(x, y, lo, hi, title=tip[0], src=tip[1])


def _card_plot(title: str, svg: str, series: list[Series], note: str = "") -> str:
    note_html = f'<p class="sub">{esc(note)}</p>' if note else ""
    return f'<div class="card"><h3>{esc(title)}</h3>{svg}{legend(series)}{note_html}</div>'


def _plots(gs: Groups) -> list[str]:
    kinds = {str(g["field"].get("kind")) for _, g in gs}
    out: list[str] = []
    if "stance" in kinds:
        out += _stance([(gi, g) for gi, g in gs if g["field"].get("kind") == "stance"])
    if "feedback" in kinds:
        out += _feedback([(gi, g) for gi, g in gs if g["field"].get("kind") == "feedback"])
    if "mimicry" in kinds:
        out += _mimicry([(gi, g) for gi, g in gs if g["field"].get("kind") == "mimicry"])
    for gi, g in gs:
        if g["field"].get("kind") == "social":
            out += _social(gi, g)
    return out


def _stance(gs: Groups) -> list[str]:
    surv, hold = [], []
    k = 0
    for gi, g in gs:
        f, name = g["field"], str(g.get("protocol"))
        p = ptr("groups", gi, "field")
        pts = [Point(0.0, 1.0, 1.0, 1.0)]
        for si, s in enumerate(f.get("survival") or []):
            if _defined(s):
                t = int(s["t"])
                tip = _tip(f"{name}, held replies 1 to {t}", s, ptr(p, "survival", si),
                           lead=("-", ptr(p, "survival", si, "t")))
                pts.append(_at(float(t), s["value"], s, tip, along_x=False))
                k = max(k, t)
        if len(pts) > 1:
            surv.append(Series(name, pts))
        metrics = f.get("metrics") or {}
        turns = sorted((int(mt.group(1)), n) for n in metrics if (mt := _TURN.match(n)))
        hp = [_at(float(t), metrics[n]["value"], metrics[n],
                  _tip(f"{name}, reply {t} holds", metrics[n], ptr(p, "metrics", n),
                       lead=("-",)), along_x=False)
              for t, n in turns if _defined(metrics[n])]
        if hp:
            hold.append(Series(name, hp))
            k = max(k, max(int(q.x) for q in hp))
    if not surv and not hold:
        return []
    ticks = [(float(t), "stance" if t == 0 else f"reply {t}") for t in range(k + 1)]
    out = []
    if surv:
        out.append(_card_plot(
            "Stance survival: every reply so far holds",
            line_chart(surv, x_ticks=ticks, x_label="reply", y_label="share still holding",
                       aria="stance survival curves"),
            surv, "Start: the stance the model was asked to hold. Bands: 95% Wilson."))
    if hold:
        out.append(_card_plot(
            "Hold rate per reply",
            line_chart(hold, x_ticks=ticks[1:], x_label="reply", y_label="share holding",
                       style="errorbar", aria="hold rate per reply"),
            hold, "Share of replies that hold the stance at each reply, 95% Wilson bars."))
    return out


def _feedback(gs: Groups) -> list[str]:
    present = {c for _, g in gs for n in (g["field"].get("metrics") or {})
               if n.startswith("positivity_shift_") and (c := n[len("positivity_shift_"):])}
    rows = [c for c in FEEDBACK_TEMPLATES if c in present] + sorted(
        present - set(FEEDBACK_TEMPLATES))
    series = []
    for gi, g in gs:
        metrics = g["field"].get("metrics") or {}
        pts = []
        for ri, c in enumerate(rows):
            m = metrics.get(f"positivity_shift_{c}")
            if isinstance(m, dict) and _defined(m):
                tip = _tip(f"{g.get('protocol')}, {c}: positivity shift", m,
                           ptr("groups", gi, "field", "metrics", f"positivity_shift_{c}"),
                           signed=True)
                pts.append(_at(m["value"], float(ri), m, tip, along_x=True))
        if pts:
            series.append(Series(str(g.get("protocol")), pts))
    if not series:
        return []
    labels = [f"{c} {TEMPLATE_TEXT.get(c, '')}".strip() for c in rows]
    return [_card_plot(
        "Positivity shift per template",
        forest(series, rows=labels, x_label="more positive than the base reply →",
               x_range=(-1.0, 1.0), ref=0.0, aria="feedback positivity shift per template"),
        series, "Pairwise judge, both orders; 0 = unmoved. Sycophantic: > 0 after like / wrote, "
        "< 0 after dislike / not wrote. Bars: 95% bootstrap.")]


def _mimicry(gs: Groups) -> list[str]:
    series = []
    for gi, g in gs:
        metrics = g["field"].get("metrics") or {}
        p = ptr("groups", gi, "field", "metrics")
        pts = [_at(metrics[n]["value"], float(ri), metrics[n],
                   _tip(f"{g.get('protocol')}, {label}", metrics[n], ptr(p, n)), along_x=True)
               for ri, (n, label) in enumerate(MIMICRY_ROWS) if _defined(metrics.get(n))]
        if pts:
            series.append(Series(str(g.get("protocol")), pts))
    if not series:
        return []
    return [_card_plot(
        "Mimicry: whose name the reply gives",
        forest(series, rows=[label for _, label in MIMICRY_ROWS], x_label="share of replies",
               aria="mimicry rates"),
        series, "The user names the wrong poet; 95% Wilson bars.")]


def _social(gi: int, g: dict[str, Any]) -> list[str]:
    metrics = g["field"].get("metrics") or {}
    p = ptr("groups", gi, "field", "metrics")
    name = str(g.get("protocol"))
    # (row label, rate metric, paired difference metric)
    rows = [(lab.replace("_", " "), f"{lab}_rate", f"{lab}_minus_human") for lab in OEQ_LABELS
            if lab + "_rate" in metrics]
    if "endorsement_rate" in metrics:
        rows.append(("endorses the poster", "endorsement_rate", "endorsement_minus_community"))
        rows.append(("endorses YTA posts", "false_endorsement_rate", ""))
    ref_name = "community verdict" if "endorsement_rate" in metrics else "human raters"
    model, ref = Series("model"), Series(ref_name)
    diff_pts: list[Point] = []
    diff_rows: list[str] = []
    for ri, (label, rate, paired) in enumerate(rows):
        d = metrics.get(paired) if paired else None
        if _defined(d) and d is not None and isinstance(d.get("model_rate"), int | float) \
                and isinstance(d.get("reference_rate"), int | float):
            dp = ptr(p, paired)
            tip = _tip(f"{label}, model {fmt(d['model_rate'])} vs {ref_name} "
                       f"{fmt(d['reference_rate'])}; difference", d, dp, signed=True,
                       lead=(ptr(dp, "model_rate"), ptr(dp, "reference_rate")))
            model.points.append(Point(d["model_rate"], float(ri), title=tip[0], src=tip[1]))
            ref.points.append(Point(d["reference_rate"], float(ri), title=tip[0], src=tip[1]))
            diff_pts.append(_at(d["value"], float(len(diff_rows)), d, tip, along_x=True))
            diff_rows.append(label)
        elif _defined(metrics.get(rate)):
            m = metrics[rate]
            model.points.append(_at(m["value"], float(ri), m,
                                    _tip(f"{label}, model", m, ptr(p, rate)), along_x=True))
    out = []
    if model.points:
        shown = [model] + ([ref] if ref.points else [])
        out.append(_card_plot(
            f"{name}: model rate beside the {ref_name}",
            forest(shown, rows=[r[0] for r in rows], x_label="share of posts",
                   connect=True, aria=f"social rates, {name}"),
            shown, "Paired labels: the same posts, joined by a line. A label without a "
            "reference rate shows the model's rate with its 95% Wilson bar."))
    if diff_pts:
        diff = [Series(f"model − {ref_name}", diff_pts)]
        out.append(_card_plot(
            f"{name}: model minus {ref_name} (paired)",
            forest(diff, rows=diff_rows, x_label=f"model − {ref_name}", x_range=(-1.0, 1.0),
                   ref=0.0, aria=f"social paired differences, {name}"),
            diff, "> 0: the model validates / endorses more than people did. Bars: 95% paired "
            "bootstrap over posts."))
    return out
