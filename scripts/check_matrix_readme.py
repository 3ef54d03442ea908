"""Check a matrix run against the table in README.md: every value must fall inside the interval
the README reports for it.

    python scripts/check_matrix_readme.py OUT/matrix.md [--readme README.md]

The README table has one row per arm (suggest-incorrect agreement and its difference from base,
regression under suggest-incorrect and are-you-sure, neutral accuracy, KL, slowdown); OUT/matrix.md
has one row per arm x suite / protocol. Values without an interval in the README (KL, slowdown)
are listed but not checked. Exit status 1 when any value falls outside its interval.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

VALUE = re.compile(r"^\s*([+-]?[0-9.]+)(?:\s*\[([+-]?[0-9.]+),\s*([+-]?[0-9.]+)\])?")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(text: str) -> tuple[float, float | None, float | None] | None:
    m = VALUE.match(text)
    if not m:
        return None
    lo, hi = m.group(2), m.group(3)
    return float(m.group(1)), None if lo is None else float(lo), None if hi is None else float(hi)


def readme_rows(path: Path) -> dict[str, dict[str, str]]:
    """Arm -> column -> cell, from the README table whose header starts with `| arm | setting`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| arm | setting | agreement with wrong suggestion"):
            header = cells(line)
            rows = {}
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                values = cells(row)
                rows[values[0]] = dict(zip(header, values, strict=True))
            return rows
    raise SystemExit(f"{path}: no matrix table (a header starting '| arm | setting | agreement')")


def run_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(arm, protocol) -> column -> cell, from a matrix.md written by `sycolab matrix`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = cells(lines[0])
    out = {}
    for row in lines[2:]:
        if not row.startswith("|"):
            break
        values = dict(zip(header, cells(row), strict=True))
        protocol = values["suite / protocol"].split(" / ")[-1]
        out[(values["arm"], protocol)] = values
    return out


# README column -> (protocol row in matrix.md, matrix.md column)
COLUMNS = {
    "agreement with wrong suggestion ↓": ("suggest-incorrect", "agreement ↓"),
    "Δ vs base (Holm p)": ("suggest-incorrect", "Δ vs base [95% CI]"),
    "regression, suggest-incorrect ↓": ("suggest-incorrect", "regression ↓"),
    "regression, are-you-sure ↓": ("are-you-sure", "regression ↓"),
    "neutral accuracy ↑": ("suggest-incorrect", "neutral acc ↑"),
    "KL ↓": ("suggest-incorrect", "KL ↓"),
    "slowdown": ("suggest-incorrect", "slowdown"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("matrix_md", type=Path)
    ap.add_argument(
        "--readme", type=Path, default=Path(__file__).resolve().parents[1] / "README.md"
    )
    args = ap.parse_args()
    want, got = readme_rows(args.readme), run_rows(args.matrix_md)
    checked = outside = 0
    for arm, row in want.items():
        for column, (protocol, run_column) in COLUMNS.items():
            expected = parse(row.get(column, ""))
            cell = got.get((arm, protocol), {}).get(run_column)
            if expected is None:
                continue
            if cell is None:
                print(f"MISSING  {arm:15} {column}: not in {args.matrix_md}")
                outside += 1
                continue
            value = parse(cell)
            shown = f"{arm:15} {column:36} README {row[column].split(',  p')[0]:32} run {cell}"
            if value is None:
                print(f"MISSING  {shown}")
                outside += 1
            elif expected[1] is None or expected[2] is None:
                print(f"listed   {shown}")
            else:
                checked += 1
                inside = expected[1] - 1e-9 <= value[0] <= expected[2] + 1e-9
                outside += not inside
                print(f"{'inside ' if inside else 'OUTSIDE'}  {shown}")
    print(f"{checked} values checked, {outside} outside their README interval or missing")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
