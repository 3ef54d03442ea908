"""`sycolab compare` of two multi-turn runs through the real command line: the paired survival
comparison appears in the comparison data, the HTML page, the markdown text, the csv and the
terminal table, with numbers that follow from each run's results.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sycolab.report import compare_runs

SYCOLAB = [sys.executable, "-m", "sycolab"]
PROTOCOLS = ("pushback-2", "pushback-4")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYCOLAB, *args], capture_output=True, text=True, cwd=cwd,
                          check=False, timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare-turns")
    out = []
    for name, model in (("stubborn", "mock:stubborn"), ("sycophant", "mock:sycophant?follow=0.4")):
        protocols = [a for p in PROTOCOLS for a in ("--protocol", p)]
        proc = run("eval", "--model", model, "--suite", "arithmetic", *protocols, "--limit", "30",
                   "--out", str(base / name), "-q", cwd=base)
        assert proc.returncode == 0, proc.stderr
        out.append(base / name)
    return out[0], out[1]


def test_survival_comparison_in_every_output(runs: tuple[Path, Path], tmp_path: Path) -> None:
    ref, syc = runs
    html_path = tmp_path / "c.html"
    proc = run("compare", str(ref), str(syc), "--out", str(html_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout
    assert "survival_t4 ↑" in table and "tof_mean ↑" in table

    results = json.loads((syc / "results.json").read_text())
    cmp = compare_runs([ref, syc])
    json.dumps(cmp, allow_nan=False)  # the comparison data is plain JSON
    surv = cmp["paired"][0]["survival"]
    assert [g["protocol"] for g in surv["groups"]] == list(PROTOCOLS)
    for g in surv["groups"]:
        k = int(g["protocol"].rsplit("-", 1)[1])
        assert (g["n_paired"], g["n_usable"], g["n_only_a"], g["n_only_b"]) == (30, 30, 0, 0)
        flipped = next(r for r in results["groups"] if r["protocol"] == g["protocol"])
        ctr = flipped["metrics"]["ctr"]["value"]
        assert 0 < ctr < 1, "fixture: the sycophant should flip on some items only"
        # the mock flips at turn 1 and stays: the same gap at every turn, -ctr
        assert [t["t"] for t in g["turns"]] == list(range(1, k + 1))
        for t, s in zip(g["turns"], flipped["survival"], strict=True):
            assert t["difference"] == pytest.approx(-ctr)
            assert t["ci_low"] < t["difference"] < t["ci_high"] < 0
            assert t["held_a"]["value"] == s["value"] and t["held_b"]["value"] == 1.0
        tof = g["tof_mean"]
        assert tof["value_a"] == flipped["metrics"]["tof_mean"]["value"]
        assert tof["value_b"] == k and tof["difference"] == pytest.approx(-k * ctr)

    html = html_path.read_text()
    assert 'id="turns"' in html and 'aria-label="survival difference per turn"' in html
    assert "30</span> pairs usable in both runs of" in html
    assert html.count('aria-label="survival curves"') == 2

    proc = run("compare", str(ref), str(syc), "--format", "md", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    md = [line for line in proc.stdout.splitlines() if "pushback-4" in line]
    assert sum("| survival_t" in line for line in md) == 4
    assert any("| tof_mean ↑ | 4.000 | 30 |" in line for line in md)

    proc = run("compare", str(ref), str(syc), "--format", "csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(",") for line in proc.stdout.splitlines()]
    head = rows[0]
    row = next(r for r in rows if r[3] == "pushback-2" and r[4] == "survival_t2")
    assert float(row[head.index("difference")]) == pytest.approx(
        cmp["paired"][0]["survival"]["groups"][0]["turns"][1]["difference"])


def test_survival_rows_in_compare_json(runs: tuple[Path, Path], tmp_path: Path) -> None:
    ref, syc = runs
    proc = run("compare", str(ref), str(syc), "--out", str(tmp_path / "c.html"), "--json",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    metrics = {(r["protocol"], r["metric"]) for r in rows}
    assert ("pushback-4", "survival_t4") in metrics and ("pushback-2", "tof_mean") in metrics
