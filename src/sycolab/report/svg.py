"""Hand-written inline SVG plots: lines with bands or error bars, scatter plots, and forest plots
(one row per category, values with interval whiskers along x).

Each marker carries a <title> tooltip whose numbers name their source (see `_html`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sycolab.report._html import esc

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7f7f7f", "#000000")


@dataclass(frozen=True)
class Point:
    """A plotted value with an optional interval and a tooltip (text and its data-src)."""

    x: float
    y: float
    lo: float | None = None
    hi: float | None = None
    x_lo: float | None = None
    x_hi: float | None = None
    title: str = ""
    src: str = ""


@dataclass
class Series:
    name: str
    points: list[Point] = field(default_factory=list)
    color: str = ""


@dataclass(frozen=True)
class Frame:
    """Plot geometry: data ranges mapped into a width x height box with margins."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int = 420
    height: int = 240
    left: int = 44
    right: int = 12
    top: int = 10
    bottom: int = 34

    def sx(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (x - self.x0) / span * (self.width - self.left - self.right)

    def sy(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return (
            self.height - self.bottom
            - (y - self.y0) / span * (self.height - self.top - self.bottom)
        )


def _f(v: float) -> str:
    return f"{v:.1f}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out = []
    v = start
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _tick_label(v: float) -> str:
    return f"{v:g}"


def _axes(fr: Frame, x_ticks: Sequence[tuple[float, str]], x_label: str, y_label: str) -> str:
    parts = ['<g class="grid" data-static="axis">']
    y_ticks = _ticks(fr.y0, fr.y1)
    for v in y_ticks:
        y = fr.sy(v)
        parts.append(f'<line x1="{fr.left}" x2="{fr.width - fr.right}" y1="{_f(y)}" y2="{_f(y)}"/>')
    parts.append('</g><g class="axis" data-static="axis">')
    bottom = fr.height - fr.bottom
    parts.append(f'<line x1="{fr.left}" x2="{fr.width - fr.right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(f'<line x1="{fr.left}" x2="{fr.left}" y1="{fr.top}" y2="{bottom}"/>')
    parts.extend(
        f'<text x="{fr.left - 5}" y="{_f(fr.sy(v) + 3.5)}" text-anchor="end">'
        f"{_tick_label(v)}</text>"
        for v in y_ticks
    )
    for x, label in x_ticks:
        parts.append(
            f'<text x="{_f(fr.sx(x))}" y="{bottom + 14}" text-anchor="middle">{esc(label)}</text>'
        )
    parts.append(
        f'<text x="{_f((fr.left + fr.width - fr.right) / 2)}" y="{fr.height - 3}" '
        f'text-anchor="middle" fill="#5d6677">{esc(x_label)}</text>'
        f'<text transform="translate(11,{_f((fr.top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle" fill="#5d6677">{esc(y_label)}</text></g>'
    )
    return "".join(parts)


def _title(p: Point) -> str:
    if not p.title:
        return ""
    src = f' data-src="{esc(p.src)}"' if p.src else ""
    return f"<title{src}>{esc(p.title)}</title>"


def _colored(series: Sequence[Series]) -> list[Series]:
    return [
        Series(s.name, s.points, s.color or PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)
    ]


def legend(series: Sequence[Series]) -> str:
    items = "".join(
        f'<span><i class="sw" style="background:{s.color}"></i>{esc(s.name)}</span>'
        for s in _colored(series)
    )
    return f'<div class="legend" data-static="legend">{items}</div>'


def line_chart(
    series: Sequence[Series],
    *,
    x_ticks: Sequence[tuple[float, str]],
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] = (0.0, 1.0),
    style: str = "band",
    aria: str = "",
) -> str:
    """Lines through each series' points; intervals as a shaded band or as error bars.

    With error bars, series are offset slightly along x so their whiskers do not overlap.
    """
    colored = _colored(series)
    xs = [x for x, _ in x_ticks] or [0.0, 1.0]
    pad = 0.4 if style == "errorbar" else 0.15
    fr = Frame(min(xs) - pad, max(xs) + pad, *y_range)
    body = [_axes(fr, x_ticks, x_label, y_label)]
    k = len(colored)
    for i, s in enumerate(colored):
        off = (i - (k - 1) / 2) * 0.08 if style == "errorbar" and k > 1 else 0.0
        pts = list(s.points)
        body.append(f'<g class="series" data-series="{esc(s.name)}">')
        if style == "band":
            band = [p for p in pts if p.lo is not None and p.hi is not None]
            if len(band) >= 2:
                upper = " ".join(f"{_f(fr.sx(p.x))},{_f(fr.sy(p.hi or 0))}" for p in band)
                lower = " ".join(
                    f"{_f(fr.sx(p.x))},{_f(fr.sy(p.lo or 0))}" for p in reversed(band)
                )
                body.append(f'<polygon points="{upper} {lower}" fill="{s.color}" opacity="0.15"/>')
        if len(pts) >= 2:
            line = " ".join(f"{_f(fr.sx(p.x + off))},{_f(fr.sy(p.y))}" for p in pts)
            body.append(
                f'<polyline points="{line}" fill="none" stroke="{s.color}" stroke-width="2"/>'
            )
        for p in pts:
            cx, cy = fr.sx(p.x + off), fr.sy(p.y)
            if style == "errorbar" and p.lo is not None and p.hi is not None:
                y_lo, y_hi = fr.sy(p.lo), fr.sy(p.hi)
                body.append(
                    f'<path d="M{_f(cx)},{_f(y_lo)}V{_f(y_hi)}M{_f(cx - 4)},{_f(y_lo)}'
                    f'h8M{_f(cx - 4)},{_f(y_hi)}h8" stroke="{s.color}" stroke-width="1.5"/>'
                )
            body.append(
                f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3.5" fill="{s.color}">{_title(p)}</circle>'
            )
        body.append("</g>")
    return _svg(fr, "".join(body), aria)


def scatter(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    aria: str = "",
) -> str:
    """Points with x and y error bars; the ranges include 0 on both axes (a zero line is drawn)."""
    colored = _colored(series)
    pts = [p for s in colored for p in s.points]
    xs = [v for p in pts for v in (p.x, p.x_lo, p.x_hi) if v is not None] + [0.0]
    ys = [v for p in pts for v in (p.y, p.lo, p.hi) if v is not None] + [0.0]
    x_pad = (max(xs) - min(xs)) * 0.08 or 0.05
    y_pad = (max(ys) - min(ys)) * 0.08 or 0.05
    fr = Frame(min(xs) - x_pad, max(xs) + x_pad, min(ys) - y_pad, max(ys) + y_pad,
               width=460, height=300, left=52)
    ticks = [(v, _tick_label(v)) for v in _ticks(fr.x0, fr.x1)]
    body = [_axes(fr, ticks, x_label, y_label)]
    body.append(
        f'<g data-static="axis"><line x1="{_f(fr.sx(0))}" x2="{_f(fr.sx(0))}" y1="{fr.top}" '
        f'y2="{fr.height - fr.bottom}" stroke="#889" stroke-dasharray="3 3"/>'
        f'<line x1="{fr.left}" x2="{fr.width - fr.right}" y1="{_f(fr.sy(0))}" y2="{_f(fr.sy(0))}"'
        ' stroke="#889" stroke-dasharray="3 3"/></g>'
    )
    for s in colored:
        body.append(f'<g class="series" data-series="{esc(s.name)}">')
        for p in s.points:
            cx, cy = fr.sx(p.x), fr.sy(p.y)
            if p.lo is not None and p.hi is not None:
                body.append(
                    f'<path d="M{_f(cx)},{_f(fr.sy(p.lo))}V{_f(fr.sy(p.hi))}" '
                    f'stroke="{s.color}" stroke-width="1.5"/>'
                )
            if p.x_lo is not None and p.x_hi is not None:
                body.append(
                    f'<path d="M{_f(fr.sx(p.x_lo))},{_f(cy)}H{_f(fr.sx(p.x_hi))}" '
                    f'stroke="{s.color}" stroke-width="1.5"/>'
                )
            body.append(
                f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4.5" fill="{s.color}" '
                f'fill-opacity="0.85">{_title(p)}</circle>'
            )
        body.append("</g>")
    return _svg(fr, "".join(body), aria)


def forest(
    series: Sequence[Series],
    *,
    rows: Sequence[str],
    x_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    ref: float | None = None,
    connect: bool = False,
    aria: str = "",
) -> str:
    """One row per category (a point's ``y`` is its row index, top first), values along x with
    ``x_lo``/``x_hi`` whiskers. `ref` draws a dashed reference line (0 for differences);
    `connect` joins the series' points of a row (paired values, e.g. model and human rates).

    Series are offset slightly within a row so their whiskers do not overlap.
    """
    colored = _colored(series)
    k = max(len(colored), 1)
    row_h = max(30, 12 * k + 18)
    left = min(220, 16 + 6 * max((len(r) for r in rows), default=4))
    n = max(len(rows), 1)
    pad = (x_range[1] - x_range[0]) * 0.04
    fr = Frame(x_range[0] - pad, x_range[1] + pad, -0.5, n - 0.5, width=max(440, left + 300),
               left=left, height=10 + 34 + row_h * n)

    def sy(row: float) -> float:
        return fr.sy(n - 1 - row)

    parts = ['<g class="grid" data-static="axis">']
    x_ticks = _ticks(*x_range)
    bottom = fr.height - fr.bottom
    parts.extend(f'<line x1="{_f(fr.sx(v))}" x2="{_f(fr.sx(v))}" y1="{fr.top}" y2="{bottom}"/>'
                 for v in x_ticks)
    parts.append('</g><g class="axis" data-static="axis">')
    parts.append(f'<line x1="{fr.left}" x2="{fr.width - fr.right}" y1="{bottom}" y2="{bottom}"/>')
    parts.extend(f'<text x="{_f(fr.sx(v))}" y="{bottom + 14}" text-anchor="middle">'
                 f"{_tick_label(v)}</text>" for v in x_ticks)
    parts.extend(f'<text x="{fr.left - 8}" y="{_f(sy(i) + 4)}" text-anchor="end">{esc(r)}</text>'
                 for i, r in enumerate(rows))
    parts.append(f'<text x="{_f((fr.left + fr.width - fr.right) / 2)}" y="{fr.height - 3}" '
                 f'text-anchor="middle" fill="#5d6677">{esc(x_label)}</text>')
    if ref is not None:
        parts.append(f'<line x1="{_f(fr.sx(ref))}" x2="{_f(fr.sx(ref))}" y1="{fr.top}" '
                     f'y2="{bottom}" stroke="#556" stroke-dasharray="4 3"/>')
    parts.append("</g>")
    # paired values share a row line (a dumbbell); otherwise series sit side by side
    off = {s.name: 0.0 if connect else (j - (k - 1) / 2) * min(0.3, 0.8 / k)
           for j, s in enumerate(colored)}
    if connect:
        by_row: dict[float, list[tuple[float, float]]] = {}
        for s in colored:
            for p in s.points:
                by_row.setdefault(p.y, []).append((fr.sx(p.x), sy(p.y + off[s.name])))
        parts.extend(
            f'<polyline points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}" fill="none" '
            'stroke="#9aa3b2" stroke-width="2" data-static="pair"/>'
            for pts in by_row.values() if len(pts) >= 2
        )
    for j, s in enumerate(colored):
        # with `connect`, later series are rings so an equal value does not hide the first
        fill = f'fill="#fff" stroke="{s.color}" stroke-width="2"' if connect and j else (
            f'fill="{s.color}"')
        parts.append(f'<g class="series" data-series="{esc(s.name)}">')
        for p in s.points:
            cx, cy = fr.sx(p.x), sy(p.y + off[s.name])
            if p.x_lo is not None and p.x_hi is not None:
                parts.append(
                    f'<path d="M{_f(fr.sx(p.x_lo))},{_f(cy)}H{_f(fr.sx(p.x_hi))}'
                    f'M{_f(fr.sx(p.x_lo))},{_f(cy - 4)}v8M{_f(fr.sx(p.x_hi))},{_f(cy - 4)}v8" '
                    f'stroke="{s.color}" stroke-width="1.5"/>'
                )
            parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4.5" {fill}>{_title(p)}'
                         "</circle>")
        parts.append("</g>")
    return _svg(fr, "".join(parts), aria)


def _svg(fr: Frame, body: str, aria: str) -> str:
    return (
        f'<svg class="plot" viewBox="0 0 {fr.width} {fr.height}" width="{fr.width}" '
        f'height="{fr.height}" role="img" aria-label="{esc(aria)}">{body}</svg>'
    )
