"""The run report: ``report.html`` in a run folder, built from config.json, results.json and
samples.jsonl. Every number in the results sections is formatted from results.json and carries
its pointer (``data-src``), so a test can check each one."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sycolab.report._examples import EXAMPLES_JS, examples_section
from sycolab.report._field import field_section, is_field
from sycolab.report._html import esc, fmt, metric_cell, num, page, ptr
from sycolab.report._load import RunData, load_run, questions
from sycolab.report._turns import (
    TOF_OVER_K_NOTE,
    interval_title,
    one_minus_ctr,
    tof_over_k_card,
)
from sycolab.report.directions import HEADLINE, direction
from sycolab.report.svg import Point, Series, legend, line_chart

REPORT = "report.html"
MULTI_TURN = {"are-you-sure", "reask", "pushback"}


def write_run_report(run_dir: Path) -> Path:
    """Write ``RUN_DIR/report.html`` (self-contained, no network) and return its path."""
    run = load_run(Path(run_dir))
    out = run.path / REPORT
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(render_run_report(run), encoding="utf-8")
    tmp.replace(out)
    return out


def render_run_report(run: RunData | Path) -> str:
    """The report's HTML for a loaded run or a run folder."""
    if not isinstance(run, RunData):
        run = load_run(Path(run))
    res = run.results
    groups: list[dict[str, Any]] = res.get("groups", [])
    # field benchmark groups get their own section: accuracy against a synthetic baseline or
    # flips between feedback templates would only mislead in the tables made for gold answers
    plain = [(gi, g) for gi, g in enumerate(groups) if not is_field(g)]
    sections = [
        _header(run),
        _headline(plain),
        field_section(groups, run.config),
        _cross(res.get("cross_protocol") or []),
        _plots(run, plain),
        _transitions(plain),
        _letters(run, groups),
        _statuses(groups),
        side_effects_section(res.get("side_effects"), "side_effects"),
        _all_metrics(groups),
        examples_section(run.records, questions(run)),
        _config(run),
    ]
    return page(f"sycolab report: {run.model}", "".join(s for s in sections if s), EXAMPLES_JS)


def _header(run: RunData) -> str:
    cfg = run.config
    n_trials = sum(int(g.get("n", 0)) for g in run.results.get("groups", []))
    ci = run.results.get("ci") or {}
    groups = run.results.get("groups", [])
    links = [("headline", "metrics")] if not all(is_field(g) for g in groups) else []
    links += [("field", "field benchmarks")] if any(is_field(g) for g in groups) else []
    links += [("plots", "plots"), ("transitions", "transitions"), ("examples", "examples"),
              ("config", "configuration")]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in links)
    return (
        f'<header data-origin="config"><h1>sycolab run report</h1><p class="sub">'
        f"model <b>{esc(run.model)}</b> · run folder <code>{esc(run.path.name)}</code> · "
        f"config <code>{esc(cfg.get('config_hash', '?'))}</code> · {n_trials} trials · "
        f"sycolab {esc(cfg.get('sycolab_version', '?'))} · intervals: "
        f"{esc(ci.get('method', 'wilson+bootstrap'))}, 95%</p><nav>{nav}</nav></header>"
    )


def _group_label(g: dict[str, Any]) -> str:
    """Suite and protocol, a label (the digits of `pushback-4` are no result)."""
    return (f'<span data-static="label">{esc(g.get("suite"))} / <b>{esc(g.get("protocol"))}</b>'
            "</span>")


def _counts(g: dict[str, Any], gi: int) -> str:
    parts = [f"n={num(g.get('n'), ptr('groups', gi, 'n'))}"]
    for key, label in (
        ("n_errors", "errors"), ("n_excluded", "excluded"), ("n_skipped", "skipped")
    ):
        if g.get(key):
            parts.append(f"{label} {num(g[key], ptr('groups', gi, key))}")
    return f'<span class="n">{" · ".join(parts)}</span>'


# shown in the headline only where some group reports them (rebuttal ladders)
EXTRA_HEADLINE = (("sycophantic", "sycophantic (moved to the rebuttal)"),)


def _headline(groups: list[tuple[int, dict[str, Any]]]) -> str:
    if not groups:
        return ""
    cols = [(m, label) for m, label, _ in HEADLINE] + [
        (m, label) for m, label in EXTRA_HEADLINE
        if any(m in (g.get("metrics") or {}) for _, g in groups)]
    head = "".join(
        f'<th>{esc(label)}<span class="dir">{esc(direction(m))}</span></th>' for m, label in cols
    )
    rows = []
    for gi, g in groups:
        metrics = g.get("metrics") or {}
        cells = "".join(
            f"<td>{metric_cell(metrics.get(m), ptr('groups', gi, 'metrics', m))}</td>"
            for m, _ in cols
        )
        rows.append(f'<tr><td class="l">{_group_label(g)}{_counts(g, gi)}</td>{cells}</tr>')
    return (
        '<section id="headline" data-origin="results"><h2>Key metrics</h2>'
        '<p class="sub">Per suite / protocol: value, 95% interval (Wilson for rates) and n, the '
        "metric's own denominator. Baseline = first step, final = last step.</p>"
        f'<div class="wide"><table><thead><tr><th class="l">suite / protocol</th>{head}</tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table></div></section>'
    )


def comparison_kind(first: str, second: str) -> str:
    """What a cross_protocol row compares, in words (`sycolab.core.cross_protocol.COMPARISONS`)."""
    if second == "reask":
        return "pressure vs the re-ask control"
    if first == f"{second}-preemptive":
        return "preemptive vs in-context"
    if first.startswith("rebuttal-") and second.startswith("rebuttal-"):
        return "rebuttal rung vs simple rebuttal"
    if (first, second) == ("argument-only", "social-only"):
        return "argument vs social cue"
    if first.startswith("sycon-") and second.startswith("sycon-"):
        return "prompt variant vs base prompt"
    return "protocol vs protocol"


def _cross(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    body = []
    for i, r in enumerate(rows):
        p = ptr("cross_protocol", i)
        first, second, metric = (str(r.get(k)) for k in ("pressure", "control", "metric"))
        body.append(
            f'<tr><td class="l">{esc(r.get("suite"))}</td><td class="l">'
            f'<b>{esc(first)}</b> − {esc(second)}<span class="dir">'
            f'{esc(comparison_kind(first, second))}</span></td><td class="l">'
            f'{esc(metric)}<span class="dir">{esc(direction(metric))}</span></td>'
            f"<td>{num(r.get('value_pressure'), ptr(p, 'value_pressure'))}</td>"
            f"<td>{num(r.get('value_control'), ptr(p, 'value_control'))}</td>"
            f"<td>{metric_cell(r, p)}</td></tr>"
        )
    return (
        '<section id="cross" data-origin="results"><h2>Paired protocol comparisons</h2>'
        '<p class="sub">One protocol minus another on the same items, each rate over its own '
        "denominator: pressure minus the neutral re-ask (how much of the change is the pressure, "
        "not being asked again), a stronger rebuttal rung minus the simple rebuttal, a "
        "preemptive rebuttal minus its in-context twin, argument minus social cue, a prompt "
        "variant (SYCON-Bench third person) minus the base prompt. Positive = the first "
        "protocol's rate is higher; the arrow says which way is better for that metric. Paired "
        "percentile bootstrap over items.</p><table><thead><tr>"
        '<th class="l">suite</th><th class="l">first − second</th><th class="l">metric</th>'
        "<th>first</th><th>second</th><th>difference</th></tr></thead>"
        f'<tbody>{"".join(body)}</tbody></table></section>'
    )


def _multi_turn(run: RunData, protocol: str) -> bool:
    spec = (run.config.get("protocols") or {}).get(protocol)
    if isinstance(spec, dict) and "multi_turn" in spec:
        return bool(spec["multi_turn"])
    return protocol in MULTI_TURN


def _survival_series(run: RunData, groups: list[tuple[int, dict[str, Any]]]) -> list[Series]:
    out = []
    for gi, g in groups:
        if not _multi_turn(run, str(g.get("protocol"))):
            continue
        name = str(g.get("protocol"))
        pts = [Point(0, 1.0, 1.0, 1.0)]
        if g.get("survival"):
            for si, s in enumerate(g["survival"]):
                if s.get("value") is None:
                    continue
                p = ptr("groups", gi, "survival", si)
                title, src = interval_title(f"{name}, turn {s['t']}: held ", s, p)
                pts.append(Point(float(s["t"]), s["value"], s.get("ci_low"), s.get("ci_high"),
                                 title=title, src=src))
        else:
            held = one_minus_ctr(g, gi, f"{name}, turn 1", "held")
            if held is None:
                continue
            pts.append(held)
        out.append(Series(name, pts))
    return out


def _step_series(groups: list[tuple[int, dict[str, Any]]]) -> list[Series]:
    out = []
    for gi, g in groups:
        metrics = g.get("metrics") or {}
        pts = []
        for i in range(int(g.get("steps") or 0)):
            m = metrics.get(f"accuracy_step_{i}") or {}
            if m.get("value") is None:
                continue
            p = ptr("groups", gi, "metrics", f"accuracy_step_{i}")
            title, src = interval_title(f"{g.get('protocol')}, step {i}: accuracy ", m, p)
            pts.append(Point(float(i), m["value"], m.get("ci_low"), m.get("ci_high"),
                             title=title, src=src))
        if pts:
            out.append(Series(str(g.get("protocol")), pts))
    return out


def _plots(run: RunData, groups: list[tuple[int, dict[str, Any]]]) -> str:
    by_suite: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for gi, g in groups:
        by_suite.setdefault(str(g.get("suite")), []).append((gi, g))
    cards = []
    for suite, gs in by_suite.items():
        surv = _survival_series(run, gs)
        if surv:
            k = max(int(p.x) for s in surv for p in s.points)
            ticks = [(float(t), "start" if t == 0 else f"turn {t}") for t in range(k + 1)]
            cards.append(
                f'<div class="card"><h3>{esc(suite)}: holding the baseline answer</h3>'
                + line_chart(surv, x_ticks=ticks, x_label="challenge turn",
                             y_label="share still holding", aria=f"survival curves, {suite}")
                + legend(surv) + "</div>"
            )
        cards.append(tof_over_k_card(suite, gs))
        steps = _step_series(gs)
        if steps:
            k = max(int(p.x) for s in steps for p in s.points)
            ticks = [(float(t), "baseline" if t == 0 else f"step {t}") for t in range(k + 1)]
            cards.append(
                f'<div class="card"><h3>{esc(suite)}: accuracy per step</h3>'
                + line_chart(steps, x_ticks=ticks, x_label="step", y_label="accuracy",
                             style="errorbar", aria=f"accuracy per step, {suite}")
                + legend(steps) + "</div>"
            )
    if not any(cards):
        return ""
    return (
        '<section id="plots" data-origin="results"><h2>Over turns</h2><p class="sub">Survival: '
        "share of trials still holding their baseline answer after each challenge turn (bands: "
        "95% Wilson); a two-step protocol holds 1 − CTR." + TOF_OVER_K_NOTE + " Accuracy per "
        "step with 95% error bars. Hover a point for its numbers.</p>"
        f'<div class="grid">{"".join(cards)}</div></section>'
    )


def _transitions(groups: list[tuple[int, dict[str, Any]]]) -> str:
    cards = []
    for gi, g in groups:
        tr = g.get("transition")
        if not tr or not tr.get("n"):
            continue
        total = max(int(tr["n"]), 1)
        p = ptr("groups", gi, "transition")

        def cell(key: str, bad: bool, tr: dict[str, Any] = tr, p: str = p,
                 total: int = total) -> str:
            share = int(tr.get(key, 0)) / total
            color = "192,57,43" if bad else "26,127,55"
            return (
                f'<td style="background:rgba({color},{0.08 + 0.6 * share:.2f})">'
                f"{num(tr.get(key), ptr(p, key))}</td>"
            )

        cards.append(
            f'<div class="card"><h3>{_group_label(g)}</h3><table class="tm"><thead><tr>'
            '<th class="l">baseline ↓ / final →</th><th>correct</th><th>wrong</th></tr></thead>'
            f'<tbody><tr><th class="l">correct</th>{cell("correct_to_correct", False)}'
            f'{cell("correct_to_wrong", True)}</tr><tr><th class="l">wrong</th>'
            f'{cell("wrong_to_correct", False)}{cell("wrong_to_wrong", True)}</tr></tbody>'
            f'</table><span class="n">n={num(tr["n"], ptr(p, "n"))}</span></div>'
        )
    if not cards:
        return ""
    return (
        '<section id="transitions" data-origin="results"><h2>Transitions</h2><p class="sub">'
        "Correct / wrong at baseline against correct / wrong at the final step, over "
        "flip-eligible trials with a gold answer. Red cells: the final answer is wrong.</p>"
        f'<div class="grid">{"".join(cards)}</div></section>'
    )


def _letter_counts(run: RunData, suite: str, protocol: str) -> Counter[str]:
    return Counter(
        r["letters"][-1]
        for r in run.records
        if r.get("suite") == suite and r.get("protocol") == protocol and r.get("error") is None
        and r.get("letters") and r["letters"][-1] is not None
    )


def _letters(run: RunData, groups: list[dict[str, Any]]) -> str:
    rows = []
    for gi, g in enumerate(groups):
        if g.get("letter_bias") is None:
            continue
        counts = _letter_counts(run, str(g.get("suite")), str(g.get("protocol")))
        total = sum(counts.values()) or 1
        bars = "".join(
            f'<div data-origin="samples"><code>{esc(letter)}</code> <span class="bar" '
            f'style="width:{160 * c / total:.0f}px"></span> {c}</div>'
            for letter, c in sorted(counts.items())
        )
        rows.append(
            f'<tr><td class="l">{_group_label(g)}</td><td>'
            f'{num(g["letter_bias"], ptr("groups", gi, "letter_bias"))}</td>'
            f'<td class="l">{bars}</td></tr>'
        )
    if not rows:
        return ""
    return (
        '<section id="letters" data-origin="results"><h2>Letter bias</h2><p class="sub">Share of '
        "the most chosen letter at the final step where options are lettered; the gold letter "
        "is balanced, so a value far above 1/options means position preference, not knowledge. "
        "Bars: final-step letter counts from samples.jsonl.</p><table><thead><tr>"
        '<th class="l">suite / protocol</th><th>letter bias'
        f'<span class="dir">{esc(direction("letter_bias"))}</span></th><th class="l">'
        f'final letters</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


STATUS_ORDER = ("answered", "reaffirmed", "abandoned", "ambiguous", "truncated", "empty",
                "judge_error", "unknown")


def _statuses(groups: list[dict[str, Any]]) -> str:
    """Per group and step, how many replies answered, reaffirmed, gave up, ..."""
    rows = []
    for gi, g in enumerate(groups):
        counts = g.get("status_counts")
        if not counts:
            continue
        for si, step in enumerate(counts):
            cells = "".join(
                f"<td>{num(step[k], ptr('groups', gi, 'status_counts', si, k), 0)}</td>"
                if k in step else '<td><span class="na">·</span></td>' for k in STATUS_ORDER)
            rows.append(f'<tr><td class="l">{_group_label(g) if si == 0 else ""}</td>'
                        f'<td><span data-src="-">{si}</span></td>{cells}</tr>')
    if not rows:
        return ""
    head = "".join(f"<th>{esc(k)}</th>" for k in STATUS_ORDER)
    return (
        '<section id="statuses" data-origin="results"><h2>Answer status</h2><p class="sub">'
        "How each generated reply was read, per step: answered, reaffirmed (kept its previous "
        "answer without restating it), abandoned (apology, hedge or refusal with no answer), "
        "ambiguous, truncated by the token limit, empty, or an unparsable judge verdict. A null "
        "answer counts as a change in CTR; <code>ctr_answered</code> leaves out replies that gave "
        "up answering.</p><table><thead><tr><th class=\"l\">suite / protocol</th><th>step</th>"
        f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def _flatten(obj: Any, path: str, label: str, out: list[str]) -> None:
    if isinstance(obj, dict) and "value" in obj:
        name = label.rsplit(".", 1)[-1]
        out.append(
            f'<tr><td class="l">{esc(label)}<span class="dir">{esc(direction(name))}</span></td>'
            f"<td>{metric_cell(obj, path)}</td></tr>"
        )
        for key in sorted(k for k in obj if k not in ("value", "ci_low", "ci_high", "n")):
            _flatten(obj[key], ptr(path, key), f"{label}.{key}", out)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _flatten(value, ptr(path, key), f"{label}.{key}" if label else str(key), out)
    elif isinstance(obj, bool) or obj is None:
        out.append(f'<tr><td class="l">{esc(label)}</td><td>{fmt(obj)}</td></tr>')
    elif isinstance(obj, int | float):
        out.append(f'<tr><td class="l">{esc(label)}</td><td>{num(obj, path)}</td></tr>')
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _flatten(value, ptr(path, i), f"{label}[{i}]", out)
    else:
        out.append(
            f'<tr><td class="l">{esc(label)}</td><td class="l" data-origin="text">'
            f"{esc(obj)}</td></tr>"
        )


def side_effects_table(side: Any, path: str) -> str:
    """Side effects (KL, neutral accuracy, slowdown, benign set) as a table, whatever their shape;
    numbers point into `path`."""
    rows: list[str] = []
    _flatten(side, path, "", rows)
    return f'<table><tbody>{"".join(rows)}</tbody></table>'


def side_effects_section(side: Any, path: str) -> str:
    if not side:
        return ""
    return (
        '<section id="side-effects" data-origin="results"><h2>Side effects</h2><p class="sub">'
        "What the intervention costs on benign prompts: KL from the unmodified model at the "
        "positions of a fixed reference reply (kl_reply), at its first position (kl_last) and "
        "at the prompt's positions (kl), neutral accuracy, slowdown.</p>"
        f"{side_effects_table(side, path)}</section>"
    )


def _all_metrics(groups: list[dict[str, Any]]) -> str:
    blocks = []
    for gi, g in enumerate(groups):
        rows = "".join(
            f'<tr><td class="l">{esc(name)}<span class="dir">{esc(direction(name))}</span></td>'
            f"<td>{metric_cell(m, ptr('groups', gi, 'metrics', name))}</td></tr>"
            for name, m in (g.get("metrics") or {}).items()
            if isinstance(m, dict)
        )
        blocks.append(
            f'<div class="card"><h3>{_group_label(g)}</h3>{_counts(g, gi)}<table>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    return (
        '<section id="all-metrics" data-origin="results"><h2>All metrics</h2><details><summary>'
        "every metric of every group, with its direction</summary>"
        f'<div class="grid">{"".join(blocks)}</div></details></section>'
    )


def _config(run: RunData) -> str:
    cfg = run.config
    hashed = cfg.get("hashed") or {}
    suites = cfg.get("suites") or []
    facts = [
        ("model", run.model),
        ("weights hash", hashed.get("weights_hash")),
        ("adapter", hashed.get("adapter")),
        ("suites", ", ".join(
            f"{s.get('name')} ({s.get('n_selected', '?')} of {s.get('n_items', '?')} items)"
            for s in suites if isinstance(s, dict))),
        ("protocols", ", ".join(hashed.get("protocols") or cfg.get("protocols") or [])),
        ("scoring / split / seed",
         f"{hashed.get('scoring')} / {hashed.get('split')} / {hashed.get('seed')}"),
        ("config hash", cfg.get("config_hash")),
        ("versions", (f"sycolab {cfg.get('sycolab_version')}, python {cfg.get('python')}, "
                      f"torch {cfg.get('torch')}, transformers {cfg.get('transformers')}")),
    ]
    kv = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts if v not in (None, ""))
    blob = json.dumps(cfg, indent=2, ensure_ascii=False)
    return (
        '<section id="config" data-origin="config"><h2>Configuration</h2>'
        f'<dl class="kv">{kv}</dl><details><summary>config.json (everything needed to reproduce '
        f"this run)</summary><pre>{esc(blob)}</pre></details></section>"
    )
