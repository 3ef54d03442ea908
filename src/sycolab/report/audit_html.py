"""The scoring-audit page: headline accuracy per scorer, status confusion, per-kind accuracy, the
field judges' agreement (stance, pairwise, social) and the rows a scorer got wrong (with a text
filter). One self-contained file, no network.

Numbers carry ``data-src`` pointers into the audit summary, as in the run report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sycolab.core.audit import verdict_text
from sycolab.core.labels import JUDGE_KINDS, LabelledReply
from sycolab.report._html import esc, metric_cell, num, page, ptr

SCORERS = (("extraction", "rule extraction"), ("judge", "LLM judge"))
_STYLE = (
    "<style>td.diag{background:#eaf6ee;font-weight:600}td.off{color:#c0392b}"
    ".reply{white-space:pre-wrap;max-width:520px;text-align:left;font-family:monospace;"
    "font-size:12px}td.zero{color:#aab}</style>"
)
_FILTER_JS = (
    "(function(){var box=document.getElementById('filter');var rows=document.querySelectorAll("
    "'#wrong tbody tr');box.addEventListener('input',function(){var q=box.value.toLowerCase();"
    "rows.forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';"
    "});});})();"
)


def _scorers(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(key, name, summary[key]) for key, name in SCORERS if summary.get(key)]


def _headline(summary: dict[str, Any]) -> str:
    body = "".join(
        f'<tr><td class="l"><b>{esc(name)}</b></td><td>{num(s["n"], ptr(key, "n"))}</td>'
        f'<td>{metric_cell(s["answer_accuracy"], ptr(key, "answer_accuracy"))}</td>'
        f'<td>{metric_cell(s["status_accuracy"], ptr(key, "status_accuracy"))}</td>'
        f'<td>{num(s["status_kappa"], ptr(key, "status_kappa"))}</td>'
        f'<td>{num(s["n_judge_errors"], ptr(key, "n_judge_errors"))}</td>'
        f'<td class="{"bad" if s["rejects_scored_as_agreeing"] else "good"}">'
        f'{num(s["rejects_scored_as_agreeing"], ptr(key, "rejects_scored_as_agreeing"))}</td></tr>'
        for key, name, s in _scorers(summary)
    )
    return (
        '<section id="headline"><h2>Headline</h2><p class="sub">Accuracy against the hand labels '
        "with Wilson 95% intervals; kappa: Cohen's kappa of the statuses; the last column must be "
        '0.</p><table><thead><tr><th class="l">scorer</th><th>n</th><th>answer accuracy</th>'
        "<th>status accuracy</th><th>status κ</th><th>judge errors</th>"
        f"<th>rejects scored as agreeing</th></tr></thead><tbody>{body}</tbody></table></section>"
    )


def _confusion(key: str, name: str, s: dict[str, Any]) -> str:
    conf: dict[str, dict[str, int]] = s["confusion"]
    cols = list(next(iter(conf.values()), {}))
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for lab, row in conf.items():
        cells = []
        for c in cols:
            cls = "diag" if c == lab else ("zero" if not row[c] else "off")
            cells.append(f'<td class="{cls}">{num(row[c], ptr(key, "confusion", lab, c))}</td>')
        body.append(f'<tr><th class="l">{esc(lab)}</th>{"".join(cells)}</tr>')
    return (
        f'<div class="card"><h3>{esc(name)}</h3><table><thead><tr><th class="l">label ↓ / '
        f'predicted →</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def _by_kind(summary: dict[str, Any]) -> str:
    body = []
    for key, name, s in _scorers(summary):
        for kind, k in s["by_kind"].items():
            src = ptr(key, "by_kind", kind)
            body.append(
                f'<tr><td class="l">{esc(name)}</td><td class="l">{esc(kind)}</td>'
                f'<td>{num(k["n"], ptr(src, "n"))}</td>'
                f'<td>{metric_cell(k["answer_accuracy"], ptr(src, "answer_accuracy"))}</td>'
                f'<td>{metric_cell(k["status_accuracy"], ptr(src, "status_accuracy"))}</td></tr>'
            )
    return (
        '<section id="by-kind"><h2>By kind</h2><table><thead><tr><th class="l">scorer</th>'
        '<th class="l">kind</th><th>n</th><th>answer accuracy</th><th>status accuracy</th></tr>'
        f'</thead><tbody>{"".join(body)}</tbody></table></section>'
    )


def _field_judges(summary: dict[str, Any]) -> str:
    sections = [(k, summary[k]) for k in JUDGE_KINDS if summary.get(k)]
    if not sections:
        return ""
    body, labels = [], []
    for kind, f in sections:
        if not f.get("scored"):
            body.append(f'<tr><td class="l">{esc(kind)}</td>'
                        f'<td>{num(f["n_rows"], ptr(kind, "n_rows"))}</td>'
                        '<td colspan="4" class="l">not scored (needs --judge)</td></tr>')
            continue
        extra = ""
        if kind == "stance":
            extra = metric_cell(f["holds_agreement"], ptr(kind, "holds_agreement"))
        elif kind == "pairwise":
            count = num(f["order_disagreements"], ptr(kind, "order_disagreements"))
            extra = f"order disagreements {count}"
        body.append(
            f'<tr><td class="l">{esc(kind)}</td><td>{num(f["n"], ptr(kind, "n"))}</td>'
            f'<td>{metric_cell(f["agreement"], ptr(kind, "agreement"))}</td>'
            f'<td>{num(f.get("kappa"), ptr(kind, "kappa"))}</td>'
            f'<td>{num(f["n_judge_errors"], ptr(kind, "n_judge_errors"))}</td>'
            f'<td class="l">{extra}</td></tr>')
        for name, m in f.get("per_label", {}).items():
            src = ptr(kind, "per_label", name)
            labels.append(
                f'<tr><td class="l">{esc(name)}</td>'
                f'<td>{metric_cell(m["accuracy"], ptr(src, "accuracy"))}</td>'
                f'<td>{num(m["kappa"], ptr(src, "kappa"))}</td>'
                f'<td>{num(m["label_rate"], ptr(src, "label_rate"))}</td>'
                f'<td>{num(m["judge_rate"], ptr(src, "judge_rate"))}</td></tr>')
    per_label = (
        '<h3>Social labels</h3><table><thead><tr><th class="l">label</th><th>accuracy</th>'
        "<th>κ</th><th>rate by hand</th><th>rate by judge</th></tr></thead>"
        f'<tbody>{"".join(labels)}</tbody></table>' if labels else "")
    return (
        '<section id="field-judges"><h2>Field judges</h2><p class="sub">Agreement of the judge of '
        "each verdict kind with the hand labels (Wilson 95%); a judge error disagrees. Stance: "
        "the last column is agreement on holds against not holding.</p><table><thead><tr>"
        '<th class="l">kind</th><th>n</th><th>agreement</th><th>κ</th><th>judge errors</th>'
        f'<th class="l"></th></tr></thead><tbody>{"".join(body)}</tbody></table>{per_label}'
        "</section>"
    )


def _pair(answer: Any, status: Any, ok_answer: Any, ok_status: Any) -> str:
    def one(value: Any, ok: Any) -> str:
        cls = ' class="bad"' if ok is False else ""
        return f"<span{cls}>{'—' if value is None else esc(value)}</span>"

    return (f'<td class="l">{one(answer, ok_answer)}'
            f'<span class="n">{one(status, ok_status)}</span></td>')


def _wrong(rows: list[dict[str, Any]], labels: Sequence[LabelledReply], judge: bool) -> str:
    by_id = {lab.id: lab for lab in labels}
    oks = ("answer_ok", "status_ok", "judge_answer_ok", "judge_status_ok")
    body = []
    for row in rows:
        if not any(row.get(k) is False for k in oks):
            continue
        lab = by_id.get(row["id"])
        shown = verdict_text(row["judge_label"]) if "judge_label" in row else row["judge_answer"]
        judge_cell = _pair(shown, row["judge_status"], row["judge_answer_ok"],
                           row["judge_status_ok"]) if judge else ""
        reply = lab.reply if lab else ""
        if lab is not None and isinstance(lab.raw.get("reply_b"), str):
            reply += f"\n— reply_b —\n{lab.raw['reply_b']}"
        rule_cell = _pair(row["extracted_answer"], row["extracted_status"], row["answer_ok"],
                          row["status_ok"])
        body.append(
            f'<tr><td class="l"><code>{esc(row["id"])}</code></td><td class="l">{esc(row["kind"])}'
            f'</td><td class="l q">{esc(lab.question if lab else "")}</td>'
            f'<td class="l"><div class="reply">{esc(reply)}</div></td>'
            f'{_pair(row["label_answer"], row["label_status"], None, None)}'
            f"{rule_cell}{judge_cell}</tr>"
        )
    judge_head = '<th class="l">judge</th>' if judge else ""
    return (
        f'<section id="wrong-rows"><h2>Wrong rows ({len(body)})</h2><p class="sub">Rows where a '
        "scorer's answer or status differs from the label (red). Answer above, status below.</p>"
        '<div class="filters"><input type="search" id="filter" placeholder="filter rows by text">'
        '</div><div class="wide"><table id="wrong" class="ex"><thead><tr><th>id</th><th>kind</th>'
        "<th>question</th><th>reply</th><th>label</th><th>extraction</th>"
        f'{judge_head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>'
    )


def render_audit(summary: dict[str, Any], rows: list[dict[str, Any]],
                 labels: Sequence[LabelledReply]) -> str:
    """The audit page as one HTML string."""
    meta = (
        f'<dl class="kv"><dt>labels</dt><dd>{esc(", ".join(map(str, summary.get("labels", []))))}'
        f'</dd><dt>rules version</dt><dd>{esc(summary.get("rules_version"))}</dd><dt>judge</dt>'
        f'<dd>{esc(summary.get("judge_spec") or "none")}</dd></dl>'
    )
    confusion = "".join(_confusion(key, name, s) for key, name, s in _scorers(summary))
    body = (
        f'{_STYLE}<header><h1>sycolab scoring audit</h1>{meta}</header>{_headline(summary)}'
        '<section id="confusion"><h2>Status confusion</h2><p class="sub">Rows: label; columns: '
        f'predicted; the diagonal agrees.</p><div class="grid">{confusion}</div></section>'
        f"{_by_kind(summary)}{_field_judges(summary)}"
        f"{_wrong(rows, labels, bool(summary.get('judge')))}"
    )
    return page("sycolab scoring audit", body, _FILTER_JS)


def write_audit_html(path: str | Path, summary: dict[str, Any], rows: list[dict[str, Any]],
                     labels: Sequence[LabelledReply]) -> Path:
    """Write the audit page to `path` and return it."""
    out = Path(path)
    out.write_text(render_audit(summary, rows, labels), encoding="utf-8")
    return out
