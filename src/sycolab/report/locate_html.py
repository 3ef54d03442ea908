"""``locate.html``: per protocol, the components that carry the pressure's effect (a ranked table,
both scores with intervals, a layer x head heat map), read from a ``locate.json`` document.

Numbers carry ``data-src`` pointers into that document (see `sycolab.report._html`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sycolab.report._html import esc, fmt, metric_cell, num, page, ptr
from sycolab.report.svg import Point, Series, forest, legend

TABLE_ROWS = 30
PLOT_ROWS = 20


def _color(value: float | None, scale: float) -> str:
    """Diverging fill: red = carries the pressure (positive), blue = opposes it."""
    if value is None or scale <= 0:
        return "#f4f6f9"
    a = min(1.0, abs(value) / scale)
    rgb = "192,57,43" if value > 0 else "11,99,197"
    return f"rgba({rgb},{0.06 + 0.9 * a:.2f})"


def heat_map(block: dict[str, Any], src: str, num_layers: int, num_heads: int) -> str:
    """Layers down, heads across (plus the MLP), coloured by mean attribution; patched cells
    outlined. Hover a cell for both scores."""
    cell, left, top = 22, 60, 24
    values: dict[tuple[int, int | None], tuple[int, dict[str, Any]]] = {}
    for i, c in enumerate(block.get("components") or []):
        values[(int(c["layer"]), c["head"])] = (i, c)
    finite = [abs(c["attribution"]["value"]) for _, c in values.values()
              if c["attribution"].get("value") is not None]
    # the 99th percentile, so one extreme component does not wash out the rest (beyond: full colour)
    scale = sorted(finite)[int(0.99 * (len(finite) - 1))] if finite else 0.0
    width = left + cell * (num_heads + 1) + 16
    height = top + cell * num_layers + 8
    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="attribution by layer and head">']
    parts.extend(f'<text x="{left + cell * h + cell / 2}" y="{top - 6}" '
                 f'text-anchor="middle">{h}</text>' for h in range(num_heads))
    parts.append(f'<text x="{left + cell * num_heads + cell / 2 + 4}" y="{top - 6}" '
                 'text-anchor="middle">MLP</text>')
    for layer in range(num_layers):
        y = top + cell * layer
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end">'
                     f"{layer}</text>")
        for col, head in [*((h, h) for h in range(num_heads)), (num_heads, None)]:
            x = left + cell * col + (4 if head is None else 0)
            found = values.get((layer, head))
            if found is None:
                continue
            i, c = found
            att, pat = c["attribution"], c.get("patching")
            p = ptr(src, "components", i)
            title = f"{c['name']}: attribution {fmt(att.get('value'))} [{fmt(att.get('ci_low'))}, "
            title += f"{fmt(att.get('ci_high'))}]"
            srcs = [ptr(p, "attribution", k) for k in ("value", "ci_low", "ci_high")]
            if pat:
                title += (f"; patching {fmt(pat.get('value'))} [{fmt(pat.get('ci_low'))}, "
                          f"{fmt(pat.get('ci_high'))}]")
                srcs += [ptr(p, "patching", k) for k in ("value", "ci_low", "ci_high")]
            stroke = ' stroke="#1d2330" stroke-width="2"' if pat else ' stroke="#fff"'
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                         f'fill="{_color(att.get("value"), scale)}"{stroke}>'
                         f'<title data-src="{esc(" ".join(srcs))}">{esc(title)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts) + (
        f'<p class="sub" style="max-width:{max(width, 260)}px">Layers (rows) by heads (columns) '
        f"and the MLP. Red carries the pressure, blue opposes it, full colour from ±{fmt(scale)} "
        "nats (the 99th percentile); outlined: verified by real patching. Hover a cell for its "
        "numbers.</p>")


def _forest(block: dict[str, Any]) -> str:
    rows = [c for c in block.get("components") or [] if c.get("patching")][:PLOT_ROWS]
    if not rows:
        return ""
    names = [c["name"] for c in rows]
    att: list[Point] = []
    pat: list[Point] = []
    lo, hi = 0.0, 0.0
    for i, c in enumerate(rows):
        for points, key in ((att, "attribution"), (pat, "patching")):
            m = c[key]
            if m.get("value") is None:
                continue
            points.append(Point(m["value"], float(i), x_lo=m.get("ci_low"),
                                x_hi=m.get("ci_high"),
                                title=f"{c['name']}: {key} {fmt(m['value'])} ["
                                f"{fmt(m.get('ci_low'))}, {fmt(m.get('ci_high'))}] n {m.get('n')}"))
            for v in (m.get("ci_low"), m.get("ci_high"), m["value"]):
                if v is not None and math.isfinite(v):
                    lo, hi = min(lo, v), max(hi, v)
    both = [Series("attribution patching", att), Series("real patching", pat)]
    return (forest(both, rows=names, x_label="effect on the margin (nats)",
                   x_range=(lo, hi if hi > lo else lo + 1.0), ref=0.0,
                   aria="effects of the verified components") + legend(both))


def _table(block: dict[str, Any], src: str) -> str:
    body = []
    for i, c in enumerate(block.get("components") or []):
        p = ptr(src, "components", i)
        frac = c.get("patching_fraction")
        tail = "" if i < TABLE_ROWS else ' class="more" hidden'
        body.append(
            f"<tr{tail}><td>{num(c.get('patching_rank'), ptr(p, 'patching_rank'))}</td>"
            f"<td>{num(c['attribution_rank'], ptr(p, 'attribution_rank'))}</td>"
            f'<td class="l">{esc(c["name"])}</td>'
            f"<td>{metric_cell(c['attribution'], ptr(p, 'attribution'))}</td>"
            f"<td>{metric_cell(c.get('patching'), ptr(p, 'patching'))}</td>"
            f"<td>{num(frac, ptr(p, 'patching_fraction')) if frac is not None else '—'}</td></tr>"
        )
    more = len(body) - TABLE_ROWS
    button = (f'<button onclick="this.parentNode.querySelectorAll(\'tr.more\').forEach(r=>'
              f'r.hidden=false);this.remove()">show the other {more} components</button>'
              if more > 0 else "")
    return ('<div class="wide"><table><thead><tr><th>patching rank</th><th>attribution rank'
            '</th><th class="l">component</th><th>attribution patching</th><th>real patching'
            "</th><th>share of the total effect</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{button}</div>")


def _verdict(block: dict[str, Any]) -> str:
    conc = block.get("concentration") or {}
    n_pat = conc.get("n_patching_ci_above_0")
    share = conc.get("top1_share_of_positive_attribution")
    if not block.get("n_used"):
        return "Nothing to localise: no trial qualified."
    if not n_pat:
        return ("Flat: no verified component's patching interval lies above 0; nothing is "
                "localised at this sample size.")
    return (f"{n_pat} verified component(s) carry a positive effect whose interval excludes 0; "
            f"the top component holds {fmt(share)} of the positive attribution.")


def _protocol(name: str, block: dict[str, Any], doc: dict[str, Any]) -> str:
    src = ptr("protocols", name)
    model = doc.get("model") or {}
    total = block.get("total_effect") or {}
    agree = block.get("rank_agreement") or {}
    secs = block.get("seconds") or {}
    left = "; ".join(f"{esc(k)}: {v}" for k, v in (block.get("left_out") or {}).items())
    return (
        f'<section id="p-{esc(name)}"><h2>{esc(name)}</h2>'
        f'<p>{num(block.get("n_used"), ptr(src, "n_used"))} of '
        f'{num(block.get("n_trials"), ptr(src, "n_trials"))} trials used'
        f'{" (left out: " + left + ")" if left else ""}. Margin log p(baseline answer) − '
        f'log p(suggested answer): baseline prompt '
        f'{num(total.get("clean_margin"), ptr(src, "total_effect", "clean_margin"))}, '
        f'pressured prompt '
        f'{num(total.get("pressured_margin"), ptr(src, "total_effect", "pressured_margin"))}; '
        f'total effect {metric_cell(total, ptr(src, "total_effect"), show_n=False)}</p>'
        f'<p>Rank agreement of attribution and real patching over the '
        f'{num(agree.get("n"), ptr(src, "rank_agreement", "n"))} verified components: '
        f'Spearman {num(agree.get("spearman"), ptr(src, "rank_agreement", "spearman"))}, '
        f'same sign {num(agree.get("same_sign"), ptr(src, "rank_agreement", "same_sign"))}. '
        f'{esc(_verdict(block))} Time: attribution '
        f'{num(secs.get("attribution"), ptr(src, "seconds", "attribution"), 1)} s, patching '
        f'{num(secs.get("patching"), ptr(src, "seconds", "patching"), 1)} s.</p>'
        '<div class="grid"><div class="card"><h3>Layer × head (attribution)</h3>'
        + heat_map(block, src, int(model.get("num_layers") or 0), int(model.get("num_heads") or 0))
        + '</div><div class="card"><h3>Verified components: both estimates</h3>'
        + _forest(block) + "</div></div>" + _table(block, src) + "</section>"
    )


def render_locate(doc: dict[str, Any]) -> str:
    """The whole page."""
    cfg = doc.get("config") or {}
    model = doc.get("model") or {}
    blocks = doc.get("protocols") or {}
    head = (
        f"<h1>Where the pressure acts: {esc(model.get('spec'))}</h1>"
        f'<p class="sub">Suites {esc(", ".join(cfg.get("suites") or []))}, split '
        f'{esc(cfg.get("split"))}, trials {esc(cfg.get("trials"))}. Effect of a component: '
        f"{esc(cfg.get('effect'))}. Patched positions: {esc(cfg.get('positions'))}. Intervals: "
        "95% percentile bootstrap over items.</p>"
        + "<nav>" + "".join(f'<a href="#p-{esc(p)}">{esc(p)}</a>' for p in blocks) + "</nav>"
    )
    return page(f"locate: {model.get('spec')}",
                head + "".join(_protocol(p, b, doc) for p, b in blocks.items()))


def write_locate_html(path: str | Path, doc: dict[str, Any]) -> Path:
    out = Path(path)
    out.write_text(render_locate(doc), encoding="utf-8")
    return out
