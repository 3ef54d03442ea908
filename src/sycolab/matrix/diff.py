"""`sycolab matrix-diff OLD NEW`: every arm x group x metric of two matrix folders side by side,
flagging the values of NEW that fall outside OLD's 95% interval.

Compared: each group's rates (agreement, regression, EIR, CTR, kept, ...), the differences from
base and from the best prompt baseline, and each arm's side effects (KL, slowdown). A value
without an interval in OLD (slowdown) is listed, not checked; a value OLD has and NEW lacks is
flagged as missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError

Key = tuple[str, str, str]  # arm, group, metric
TOLERANCE = 1e-9


def read_table(folder: Path) -> dict[str, Any]:
    """matrix.json of a matrix folder; one-line UserInputError when it is absent or unreadable."""
    path = Path(folder) / "matrix.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{folder}: no matrix.json (not a matrix folder written by "
                             "`sycolab matrix`)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(table, dict) or not isinstance(table.get("arms"), list):
        raise UserInputError(f"{path}: not a matrix table (no 'arms' list)")
    return table


def _value(v: Any) -> dict[str, Any] | None:
    if isinstance(v, dict) and "value" in v:
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return {"value": v}
    return None


def values(table: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """(arm, group, metric) -> {value, ci_low, ci_high, ...} for everything with a value."""
    out: dict[Key, dict[str, Any]] = {}
    for arm in table["arms"]:
        for g in arm.get("groups", []):
            group = f"{g['suite']} / {g['protocol']}"
            for metric, v in g.items():
                if (m := _value(v)) is not None and metric != "n":
                    out[(arm["arm"], group, metric)] = m
        for metric, v in (arm.get("side_effects") or {}).items():
            if (m := _value(v)) is not None:
                out[(arm["arm"], "side effects", metric)] = m
    for t in table.get("tests", []):
        out[(t["arm"], f"{t['suite']} / {t['protocol']}",
             f"Δ {t['metric']} vs {t['reference']}")] = {
            "value": t.get("difference"), "ci_low": t.get("ci_low"), "ci_high": t.get("ci_high")}
    return out


def _show(m: dict[str, Any] | None) -> str:
    if m is None or m.get("value") is None:
        return "–"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{lo + 0.0:.4g}, {hi + 0.0:.4g}]" if lo is not None and hi is not None else ""
    return f"{m['value'] + 0.0:.4g}{ci}"  # + 0.0: no "-0"


@dataclass
class MatrixDiff:
    """The compared rows (status, arm, group, metric, old, new) and the counts behind them."""

    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    checked: int = 0
    flagged: int = 0
    only_old: int = 0
    only_new: int = 0

    def lines(self) -> list[str]:
        widths = [max((len(r[i]) for r in self.rows), default=0) for i in range(4)]
        out = [f"{r[0]:{widths[0]}}  {r[1]:{widths[1]}}  {r[2]:{widths[2]}}  "
               f"{r[3]:{widths[3]}}  old {r[4]}  new {r[5]}" for r in self.rows]
        out.append(f"{len(self.rows)} values in both, {self.checked} checked against OLD's "
                   f"interval, {self.flagged} outside it or missing in NEW; "
                   f"{self.only_old} only in OLD, {self.only_new} only in NEW")
        return out


def diff_tables(old: dict[str, Any], new: dict[str, Any]) -> MatrixDiff:
    """Compare two matrix tables value by value (OLD's order)."""
    a, b = values(old), values(new)
    result = MatrixDiff(only_old=len(set(a) - set(b)), only_new=len(set(b) - set(a)))
    for key, m_old in a.items():
        if key not in b:
            continue
        m_new = b[key]
        lo, hi, v_old, v_new = (m_old.get("ci_low"), m_old.get("ci_high"), m_old.get("value"),
                                m_new.get("value"))
        if v_old is not None and v_new is None:
            status = "MISSING"
        elif v_new is None or lo is None or hi is None:
            status = "listed"
        else:
            result.checked += 1
            status = "inside" if lo - TOLERANCE <= v_new <= hi + TOLERANCE else "OUTSIDE"
        result.flagged += status in ("MISSING", "OUTSIDE")
        result.rows.append((status, *key, _show(m_old), _show(m_new)))
    return result


def diff_folders(old: Path, new: Path) -> MatrixDiff:
    """`diff_tables` of two matrix folders' matrix.json."""
    return diff_tables(read_table(old), read_table(new))
