"""HTML building blocks shared by the run report and the comparison: escaping, numbers that
name their source, and the self-contained page shell (inline CSS, no network).

Every number taken from a results object is written as ``<span data-src="POINTER">TEXT</span>``
where POINTER is a ``/``-separated path into that object (``groups/3/metrics/eir/value``); an
element whose text holds several numbers lists one pointer per number, in order (``-`` marks a
literal such as the 1 of "1 - CTR"). Tests resolve the pointers and compare at the shown precision.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

DIGITS = 3


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def fmt(value: float | None, digits: int = DIGITS, *, signed: bool = False) -> str:
    """A number as shown: ints as is, floats with `digits` decimals, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """A p-value with two significant digits."""
    return "—" if p is None else f"{p:.2g}"


def ptr(*parts: object) -> str:
    return "/".join(str(p) for p in parts)


def num(value: Any, src: str, digits: int = DIGITS, cls: str = "v", *, signed: bool = False) -> str:
    """A number with its source pointer."""
    if isinstance(value, int | float) or value is None:
        shown = fmt(value, digits, signed=signed)
    else:
        shown = esc(value)
    return f'<span class="{cls}" data-src="{esc(src)}">{shown}</span>'


def metric_cell(m: dict[str, Any] | None, src: str, *, show_n: bool = True) -> str:
    """value, [ci_low, ci_high] and n of a {value, ci_low, ci_high, n} metric."""
    if not m:
        return '<span class="na">—</span>'
    out = num(m.get("value"), ptr(src, "value"))
    if m.get("value") is None:
        return out
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        out += (
            f'<span class="ci">[{num(m["ci_low"], ptr(src, "ci_low"))}, '
            f'{num(m["ci_high"], ptr(src, "ci_high"))}]</span>'
        )
    if show_n and m.get("n") is not None:
        out += f'<span class="n">n={num(m["n"], ptr(src, "n"))}</span>'
    return out


def tooltip(label: str, values: Sequence[tuple[Any, str]], digits: int = DIGITS) -> tuple[str, str]:
    """Text and data-src for an SVG <title>: "label: v [lo, hi] n N" style from (value, pointer)."""
    parts = [fmt(v, digits) if isinstance(v, float) else str(v) for v, _ in values]
    srcs = " ".join(p for _, p in values)
    return f"{label}: " + " ".join(parts), srcs


def json_script(element_id: str, obj: Any) -> str:
    """Embed JSON for the page's scripts (``</`` escaped so it cannot end the script early)."""
    blob = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    blob = blob.replace("</", "<\\/").replace("<!--", "<\\!--")
    return f'<script type="application/json" id="{esc(element_id)}">{blob}</script>'


CSS = """
:root{--fg:#1d2330;--mut:#5d6677;--bg:#fff;--alt:#f4f6f9;--line:#d9dee7;--good:#1a7f37;
--bad:#c0392b;--acc:#0b63c5}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;\
color:var(--fg);
background:var(--bg);margin:0}
main{max-width:1280px;margin:0 auto;padding:16px 20px 48px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:28px 0 8px;\
border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.sub{color:var(--mut)}nav a{margin-right:14px;color:var(--acc);text-decoration:none}
table{border-collapse:collapse;margin:6px 0 10px}th,td{padding:4px 8px;\
border-bottom:1px solid var(--line);
text-align:right;vertical-align:top}th{background:var(--alt);font-weight:600;position:sticky;top:0}
td.l,th.l{text-align:left}.wide{overflow-x:auto}
.ci{display:block;color:var(--mut);font-size:12px;white-space:nowrap}.n{display:block;color:var(--mut);
font-size:11px}.na{color:#aab}.dir{display:block;font-weight:400;font-size:11px;color:var(--mut)}
.good{color:var(--good)}.bad{color:var(--bad)}
.grid{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid var(--line);border-radius:6px;
padding:8px 10px;background:#fff}.card h3{margin:0 0 6px;font-size:14px}
table.tm td{width:88px;text-align:center}table.tm th{font-size:12px}
svg{font:11px system-ui,"DejaVu Sans",sans-serif}svg .axis line,svg .axis path{stroke:#889}
svg .grid line{stroke:#e3e7ee}
.legend span{display:inline-block;margin-right:12px;font-size:12px}\
.sw{display:inline-block;width:12px;
height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;background:var(--alt);padding:8px;
border-radius:6px}.filters input[type=search]{width:240px}
table.ex td,table.ex th{text-align:left}\
.step{display:inline-block;margin:1px 4px 1px 0;padding:1px 6px;
border-radius:10px;background:var(--alt);border:1px solid var(--line);font-size:12px}
.step.ok{border-color:#8cc9a0;background:#eaf6ee}.step.no{border-color:#e3a39b;background:#fbeceb}
.step.flip{box-shadow:0 0 0 2px #f0a202}.step .c{color:var(--mut);margin-right:3px}
.q{max-width:420px}pre{background:var(--alt);padding:10px;overflow:auto;max-height:480px;font-size:12px}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dl.kv dt{color:var(--mut)}
dl.kv dd{margin:0}.bar{display:inline-block;height:10px;background:var(--acc);vertical-align:middle}
details summary{cursor:pointer;color:var(--acc)}
"""


def page(title: str, body: str, script: str = "") -> str:
    """A complete self-contained HTML document."""
    js = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main>{js}</body></html>\n"
    )
