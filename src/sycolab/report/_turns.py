"""The view over turns: Turn of Flip over K in the run report (one point per `pushback-<K>`
group) and the paired survival comparison of two runs in the comparison page.

Every plotted point's hover title names the source of each number it shows (``data-src``, see
`sycolab.report._html`); numbers in free text such as a protocol's name are marked literal.
"""

from __future__ import annotations

import re
from typing import Any

from sycolab.report._html import esc, fmt, metric_cell, num, ptr
from sycolab.report.svg import PALETTE, Point, Series, legend, line_chart

Group = tuple[int, dict[str, Any]]
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")
"""A number as the report's checks read one (literals in labels are pointed at with ``-``)."""
_PUSHBACK_K = re.compile(r"^pushback-(\d+)$")


def literals(text: str) -> list[str]:
    """One literal pointer ``-`` per number in free text (a protocol's name, a turn)."""
    return ["-"] * len(NUMBER.findall(text))


def titled(*parts: str | tuple[Any, str]) -> tuple[str, str]:
    """Hover text and its data-src from text parts and (value, pointer) parts, in order; a
    number inside a text part gets the literal pointer ``-``."""
    text, srcs = [], []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            srcs += literals(part)
        else:
            value, src = part
            text.append(fmt(value))
            srcs += [] if value is None else [src]  # "—" shows no number
    return "".join(text), " ".join(srcs)


def interval_title(head: str, m: dict[str, Any], src: str, value: str = "value"
                   ) -> tuple[str, str]:
    """`titled` text "HEAD v [lo, hi] n N" of a metric at pointer `src` (`value` names its
    value field)."""
    lo, hi, n = ((m.get(f), ptr(src, f)) for f in ("ci_low", "ci_high", "n"))
    return titled(head, (m.get(value), ptr(src, value)), " [", lo, ", ", hi, "] n ", n)


def pushback_k(protocol: str) -> int | None:
    """K of `pushback-<K>` (`pushback` is K = 3); None for any other protocol."""
    if protocol == "pushback":
        return 3
    found = _PUSHBACK_K.match(protocol)
    return int(found.group(1)) if found else None


def _by_k(groups: list[Group]) -> dict[int, Group]:
    """One group per K; `pushback-3` wins over `pushback` (the same turns)."""
    out: dict[int, Group] = {}
    for gi, g in groups:
        k = pushback_k(str(g.get("protocol")))
        if k is not None and (k not in out or g.get("protocol") != "pushback"):
            out[k] = (gi, g)
    return dict(sorted(out.items()))


def _interval(k: int, m: dict[str, Any], src: str, what: str, head: str) -> Point | None:
    """A {value, ci_low, ci_high, n} metric as the point at x = K."""
    if m.get("value") is None:
        return None
    title, srcs = interval_title(f"{head}: {what} ", m, src)
    return Point(float(k), m["value"], m.get("ci_low"), m.get("ci_high"), title=title, src=srcs)


def one_minus_ctr(g: dict[str, Any], gi: int, head: str, what: str) -> Point | None:
    """K = 1 reports no survival or ToF: both equal 1 − CTR (held the one turn or not)."""
    ctr = (g.get("metrics") or {}).get("ctr") or {}
    if ctr.get("value") is None:
        return None
    src = ptr("groups", gi, "metrics", "ctr")
    lo, hi = ctr.get("ci_low"), ctr.get("ci_high")
    title, srcs = interval_title(f"{head}: {what} = 1 − CTR; CTR ", ctr, src)
    return Point(1.0, 1.0 - ctr["value"], None if hi is None else 1.0 - hi,
                 None if lo is None else 1.0 - lo, title=title, src=srcs)


def tof_over_k(groups: list[Group]) -> tuple[Series, Series] | None:
    """Mean Turn of Flip (results.json ``tof_mean``, bootstrap interval) and the share holding
    all K turns (``survival`` at t = K, Wilson interval) per `pushback-<K>` group of one suite;
    None unless two or more values of K are present."""
    by_k = _by_k(groups)
    if len(by_k) < 2:
        return None
    tof, held = Series("mean Turn of Flip", color=PALETTE[0]), Series(
        "share holding all K turns", color=PALETTE[1])
    for k, (gi, g) in by_k.items():
        head = f"{g.get('protocol')}, K {k}"
        metric = (g.get("metrics") or {}).get("tof_mean") or {}
        survival = g.get("survival") or []
        at_k = next((si for si, s in enumerate(survival) if s.get("t") == k), None)
        if metric.get("value") is not None:
            t = _interval(k, metric, ptr("groups", gi, "metrics", "tof_mean"), "mean ToF", head)
        else:
            t = one_minus_ctr(g, gi, head, "mean ToF") if k == 1 else None
        if at_k is not None:
            h = _interval(k, survival[at_k], ptr("groups", gi, "survival", at_k),
                          "held all turns", head)
        else:
            h = one_minus_ctr(g, gi, head, "held all turns") if k == 1 else None
        tof.points += [t] if t is not None else []
        held.points += [h] if h is not None else []
    return tof, held


def tof_over_k_card(suite: str, groups: list[Group]) -> str:
    """The run report's card for one suite ('' with fewer than two `pushback-<K>` groups)."""
    pair = tof_over_k(groups)
    if pair is None:
        return ""
    tof, held = pair
    ks = sorted({int(p.x) for s in pair for p in s.points})
    if not ks:
        return ""
    ticks = [(float(k), f"K={k}") for k in ks]
    return (
        f'<div class="card"><h3>{esc(suite)}: Turn of Flip over K</h3>'
        + line_chart([tof], x_ticks=ticks, x_label="challenge turns K (pushback-K)",
                     y_label="mean turns held", y_range=(0.0, float(max(ks))),
                     style="errorbar", aria=f"Turn of Flip over K, {suite}")
        + line_chart([held], x_ticks=ticks, x_label="challenge turns K (pushback-K)",
                     y_label="share holding all K", style="errorbar",
                     aria=f"share holding all K turns, {suite}")
        + legend([tof, held]) + "</div>"
    )


TOF_OVER_K_NOTE = (
    " Turn of Flip over K (with two or more <code>pushback-K</code> protocols): mean turns held "
    "before the first change (bootstrap 95% interval; at most K) and the share holding all K "
    "turns (Wilson 95%); K = 1 reports both as 1 − CTR."
)


# ---------------------------------------------------------------- comparison of two runs

def _curve(name: str, g: dict[str, Any], base: str, side: str, color: str) -> Series:
    pts = [Point(0.0, 1.0, 1.0, 1.0, title="start: every trial holds its baseline answer")]
    for ti, t in enumerate(g["turns"]):
        m = t[f"held_{side}"]
        if m.get("value") is None:
            continue
        src = ptr(base, "turns", ti, f"held_{side}")
        title, srcs = interval_title(f"{name}, turn {t['t']}: held ", m, src)
        pts.append(Point(float(t["t"]), m["value"], m.get("ci_low"), m.get("ci_high"),
                         title=title, src=srcs))
    return Series(name, pts, color)


def _difference(g: dict[str, Any], base: str) -> Series:
    pts = []
    for ti, t in enumerate(g["turns"]):
        if t.get("difference") is None:
            continue
        src = ptr(base, "turns", ti)
        title, srcs = interval_title(f"turn {t['t']}: Δ held ", t, src, "difference")
        pts.append(Point(float(t["t"]), t["difference"], t.get("ci_low"), t.get("ci_high"),
                         title=title, src=srcs))
    return Series("Δ run − reference", pts, PALETTE[2])


def _paired_cell(m: dict[str, Any], src: str) -> str:
    if m.get("difference") is None:
        return '<td><span class="na">—</span></td>'
    out = num(m["difference"], ptr(src, "difference"), signed=True)
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        out += (f'<span class="ci">[{num(m["ci_low"], ptr(src, "ci_low"))}, '
                f'{num(m["ci_high"], ptr(src, "ci_high"))}]</span>')
    return f"<td>{out}</td>"


def _turn_table(g: dict[str, Any], base: str) -> str:
    body = []
    for ti, t in enumerate(g["turns"]):
        src = ptr(base, "turns", ti)
        body.append(
            f'<tr><td class="l">turn {num(t["t"], ptr(src, "t"), cls="t")}</td>'
            f"<td>{metric_cell(t['held_b'], ptr(src, 'held_b'), show_n=False)}</td>"
            f"<td>{metric_cell(t['held_a'], ptr(src, 'held_a'), show_n=False)}</td>"
            f"{_paired_cell(t, src)}<td>{num(t['n'], ptr(src, 'n'))}</td></tr>"
        )
    tof = g.get("tof_mean")
    if tof:
        src = ptr(base, "tof_mean")
        body.append(
            f'<tr><td class="l">mean Turn of Flip</td>'
            f'<td>{num(tof["value_b"], ptr(src, "value_b"))}</td>'
            f'<td>{num(tof["value_a"], ptr(src, "value_a"))}</td>{_paired_cell(tof, src)}'
            f"<td>{num(tof['n'], ptr(src, 'n'))}</td></tr>"
        )
    return ('<table><thead><tr><th class="l">held after</th><th>reference</th><th>run</th>'
            f'<th>Δ [95% CI]</th><th>n</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def _denominator(g: dict[str, Any], base: str) -> str:
    parts = [f"{num(g['n_usable'], ptr(base, 'n_usable'))} pairs usable in both runs of "
             f"{num(g['n_paired'], ptr(base, 'n_paired'))} paired"]
    for key, label in (("n_unusable", "not usable in one run (error, no baseline answer, "
                        "judge error)"), ("n_only_a", "only in the run"),
                       ("n_only_b", "only in the reference")):
        if g.get(key):
            parts.append(f"{num(g[key], ptr(base, key))} {label}")
    return f'<p class="n">{"; ".join(parts)}</p>'


def survival_section(cmp: dict[str, Any]) -> str:
    """The comparison page's "Over turns" section: per paired run and multi-turn group, both
    survival curves with Wilson bands, the paired difference per turn with its bootstrap
    interval, and a table with the paired difference in mean Turn of Flip ('' when none)."""
    labels = [r["label"] for r in cmp["runs"]]
    cards = []
    for j, pair in enumerate(cmp["paired"]):
        for gi, g in enumerate((pair.get("survival") or {}).get("groups") or []):
            if not g["turns"]:
                continue
            base = ptr("paired", j, "survival", "groups", gi)
            curves = [_curve(labels[pair["reference"]], g, base, "b", PALETTE[0]),
                      _curve(labels[pair["run"]], g, base, "a", PALETTE[1])]
            diff = _difference(g, base)
            k = max(t["t"] for t in g["turns"])
            ticks = [(float(t), "start" if t == 0 else f"turn {t}") for t in range(k + 1)]
            chart = line_chart(curves, x_ticks=ticks, x_label="challenge turn",
                               y_label="share still holding", aria="survival curves")
            if diff.points:
                chart += line_chart([diff], x_ticks=ticks[1:], x_label="challenge turn",
                                    y_label="Δ share holding", y_range=(-1.0, 1.0),
                                    style="errorbar", aria="survival difference per turn")
            cards.append(
                f'<div class="card"><h3>{esc(labels[pair["run"]])} vs '
                f'{esc(labels[pair["reference"]])}: {esc(g["suite"])} / '
                f'<b>{esc(g["protocol"])}</b></h3>{chart}{legend([*curves, diff])}'
                f"{_denominator(g, base)}{_turn_table(g, base)}</div>"
            )
    if not cards:
        return ""
    return (
        '<section id="turns" data-origin="compare"><h2>Over turns</h2><p class="sub">Per '
        "multi-turn group: the share of trials still holding their baseline answer after each "
        "challenge turn in each run (bands: Wilson 95%), and the paired difference run − "
        "reference per turn (paired percentile bootstrap 95% over items). Both runs are counted "
        "over the same pairs: keys (suite, item_id, protocol) present in both runs whose trials "
        "are usable in both (no error, a baseline answer, no judge error) and reached that turn; "
        "n below. Mean Turn of Flip = turns held before the first change.</p>"
        f'<div class="grid">{"".join(cards)}</div></section>'
    )
