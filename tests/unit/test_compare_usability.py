"""`sycolab compare` as a new user meets it: nothing cut when piped, the table fits a terminal,
runs named by what differs, each metric's own n, undefined metrics as "–", and output paths
checked before any work."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.core.errors import UserInputError
from sycolab.report import compare_runs, render_compare
from sycolab.report.compare import check_out, render_csv, render_markdown, rows, table_rows
from sycolab.report.labels import run_labels
from sycolab.workflows import evaluate

BASE = "mock:sycophant?accuracy=0.7&follow=0.6"
LONG = "a deliberately long label for the mitigated run that would never fit in eighty columns"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("usability")
    kw: dict[str, Any] = {"suite": ["arithmetic"], "protocol": ["suggest-incorrect",
                                                                 "are-you-sure"],
                          "limit": 16, "progress": False}
    evaluate(BASE, out=base / "base", **kw)
    evaluate(BASE, out=base / "honest", mitigation="honesty-prompt", **kw)
    evaluate("mock:stubborn", out=base / "stubborn", **kw)
    return base / "base", base / "honest", base / "stubborn"


def sycolab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess with stdout piped (no terminal)."""
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "sycolab", *args], capture_output=True,
                          text=True, env=full, timeout=120, check=False)


def eir_n(run: Path) -> tuple[int, int]:
    """(eir's n, the group's n) of the are-you-sure group of a run's results.json."""
    groups = json.loads((run / "results.json").read_text())["groups"]
    g = next(g for g in groups if g["protocol"] == "are-you-sure")
    return g["metrics"]["eir"]["n"], g["n"]


# ---------------------------------------------------------------- 1. nothing cut

@pytest.mark.parametrize("columns", [None, "40"])
def test_piped_table_is_never_cut(runs: tuple[Path, Path, Path], tmp_path: Path,
                                  columns: str | None) -> None:
    proc = sycolab("compare", str(runs[0]), str(runs[1]), "--label", "base", "--label", LONG,
                   "--out", str(tmp_path / "c.html"),
                   env={"COLUMNS": columns} if columns else None)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "…" not in proc.stdout and "\x1b[" not in proc.stdout
    # one line per row: label, group, metric, values and interval together
    row = [line for line in lines if LONG in line and "are-you-sure" in line]
    assert len(row) == 1, proc.stdout
    ref_n = eir_n(runs[0])[0]
    eir = [line for line in lines if re.search(r"\beir ↓", line)]
    assert len(eir) == 2 and all(re.search(rf"\b{ref_n}\b", line) for line in eir)
    assert all(re.search(r"[-+]\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]", line) for line in eir)


def test_terminal_table_fits_its_width(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    proc = sycolab("compare", *map(str, runs), "--out", str(tmp_path / "c.html"),
                   env={"FORCE_COLOR": "1", "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    out = ANSI.sub("", proc.stdout)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out
    # every value of the table is shown whole (cells wrap between words, never inside numbers)
    cmp = compare_runs(list(runs))
    words = set(out.split())
    for row in table_rows(cmp):
        for cell in row[3:]:
            assert set(cell.split()) <= words, cell


# ---------------------------------------------------------------- 2. labels

def test_labels_name_what_differs(runs: tuple[Path, Path, Path]) -> None:
    cmp = compare_runs(list(runs))
    labels = [r["label"] for r in cmp["runs"]]
    assert labels == [f"{BASE}, mitigation=none", f"{BASE}, mitigation=honesty-prompt",
                      "mock:stubborn, mitigation=none"]
    assert cmp["runs"][1]["differs"] == {"model": BASE, "mitigation": "honesty-prompt"}
    html = render_compare(cmp)
    md = render_markdown(cmp)
    csv_text = render_csv(cmp)
    for label in labels[1:]:
        assert label in md and label in csv_text and label.replace("&", "&amp;") in html
    assert render_markdown(compare_runs(list(runs[:2]))).count("mitigation=honesty-prompt") > 4


def _config(**hashed: Any) -> dict[str, Any]:
    base = {"model": "hf:m", "weights_hash": "w1", "adapter": None, "system_prompt": None,
            "scoring": "auto", "decoding": None, "interventions": None, "seed": 0}
    return {"hashed": {**base, **hashed}}


def test_labels_from_config_differences() -> None:
    steer = {"steer": {"file": "syc.safetensors", "sha256": "ab", "multiplier": -1.0,
                       "layers": [12]}}
    steer2 = copy.deepcopy(steer)
    steer2["steer"]["multiplier"] = -2.0
    paths = [Path("runs/a"), Path("runs/b")]
    labels, diffs = run_labels([_config(interventions=steer), _config(interventions=steer2)], paths)
    assert labels == ["multiplier=-1", "multiplier=-2"]
    # a model change does not also list its weights hash
    labels, _ = run_labels([_config(), _config(model="hf:n", weights_hash="w2")], paths)
    assert labels == ["hf:m", "hf:n"]
    prompt = "You are an honest assistant who never changes a correct answer under pressure."
    labels, diffs = run_labels([_config(), _config(system_prompt=prompt)], paths)
    assert labels[0] == "system prompt=none" and labels[1].endswith('…"')
    assert diffs[1] == {"system prompt": prompt}
    labels, _ = run_labels([_config(decoding={"name": "lqcd", "alpha": 1.0, "beta": 0.1}),
                            _config(scoring="generate")], paths)
    assert labels == ["decoding=lqcd alpha=1 beta=0.1, scoring=auto",
                      "decoding=none, scoring=generate"]
    # nothing tells them apart, or no config: the folder names
    assert run_labels([_config(), _config()], paths)[0] == ["a", "b"]
    assert run_labels([{}, {}], [Path("x/run"), Path("y/run")])[0] == ["1:run", "2:run"]
    assert run_labels([_config(), _config()], paths, ["base", "steered"])[0] == ["base", "steered"]
    for given in (["one"], ["same", "same"], ["x", " "]):
        with pytest.raises(UserInputError, match=r"^label") as bad:
            run_labels([_config(), _config()], paths, given)
        assert bad.value.cli_message().startswith("--label")  # the CLI spells the flag


def test_label_option(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, b = str(runs[0]), str(runs[1])
    res = CliRunner().invoke(app, ["compare", a, b, "--format", "csv", "--label", "base",
                                   "--label", "honest"])
    assert res.exit_code == 0, res.output
    body = res.output.splitlines()[1:]
    assert body and all(line.startswith("honest,base,") for line in body)
    html = tmp_path / "c.html"
    res = CliRunner().invoke(app, ["compare", a, b, "--label", "base", "--label", "honest",
                                   "--out", str(html)])
    assert res.exit_code == 0 and "reference: base" in res.output
    assert "<title>sycolab comparison: base vs honest</title>" in html.read_text()
    res = CliRunner().invoke(app, ["compare", a, b, "--label", "only-one"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "--label" in res.output and "Traceback" not in res.output


# ---------------------------------------------------------------- 3. each metric's own n

def test_each_metric_shows_its_own_n(runs: tuple[Path, Path, Path]) -> None:
    n_eir, n_group = eir_n(runs[0])
    assert n_eir != n_group, "fixture: eir's denominator should differ from the group's n"
    cmp = compare_runs(list(runs[:2]))
    row = next(r for r in rows(cmp) if r["metric"] == "eir" and r["protocol"] == "are-you-sure")
    assert (row["n_reference"], row["n_run"], row["n_pairs"]) == (n_eir, eir_n(runs[1])[0],
                                                                  n_group)
    # every value's n is results.json's n of that metric
    for k, field in ((0, "n_reference"), (1, "n_run")):
        groups = {(g["suite"], g["protocol"]): g for g in cmp["runs"][k]["results"]["groups"]}
        for r in rows(cmp):
            assert r[field] == groups[(r["suite"], r["protocol"])]["metrics"][r["metric"]]["n"]
    shown = next(t for t in table_rows(cmp) if t[2] == "eir ↓" and "are-you-sure" in t[1])
    assert shown[4] == str(n_eir)
    assert re.search(rf"\| eir ↓ \| [\d.]+ \| {n_eir} \|", render_markdown(cmp))
    header = render_csv(cmp).splitlines()[0].split(",")
    assert {"n_reference", "n_run", "n_pairs"} <= set(header) and "n" not in header
    html = render_compare(cmp)
    j = next(i for i, g in enumerate(cmp["paired"][0]["result"]["groups"])
             if g["protocol"] == "are-you-sure")
    assert (f'(n=<span class="v" data-src="paired/0/result/groups/{j}/rates/eir/n_b">'
            f"{n_eir}</span>)") in html


# ---------------------------------------------------------------- 4. undefined metrics

def test_undefined_metric_shows_dash(runs: tuple[Path, Path, Path]) -> None:
    cmp = compare_runs(list(runs[:2]))
    gi = next(i for i, g in enumerate(cmp["paired"][0]["result"]["groups"])
              if g["protocol"] == "are-you-sure")
    group = cmp["paired"][0]["result"]["groups"][gi]
    # a value recorded over no trials (n = 0) is undefined, not 0.000
    group["rates"]["ecr"].update(value_a=0.0, n_a=0, value_b=0.0, n_b=0, difference=0.0,
                                 ci_low=0.0, ci_high=0.0)
    group["rates"]["pir"].update(value_a=0.0, n_a=0, difference=0.0, ci_low=0.0, ci_high=0.0)
    # a metric of change in a single-step group is undefined even with a value and an n
    rg = next(g for g in cmp["runs"][1]["results"]["groups"] if g["protocol"] == "are-you-sure")
    rg["steps"] = 1
    rg["metrics"]["ctr"].update(value=0.0, ci_low=0.0, ci_high=0.0)
    by = {r["metric"]: r for r in rows(cmp) if r["protocol"] == "are-you-sure"}
    for metric in ("pir", "ctr"):
        assert by[metric]["value_run"] is None and by[metric]["difference"] is None
    shown = {t[2]: t for t in table_rows(cmp) if "are-you-sure" in t[1]}
    assert "ecr ↑" not in shown  # undefined in both runs: left out of the table
    assert shown["ctr ↓"][5] == "–" and shown["ctr ↓"][7] == "–" and shown["ctr ↓"][8] == "–"
    md_ctr = next(line for line in render_markdown(cmp).splitlines()
                  if "are-you-sure" in line and "| ctr ↓ |" in line)
    assert "0.000 [0.000, 0.000]" not in md_ctr and md_ctr.count("–") >= 3
    csv_rows = [line.split(",") for line in render_csv(cmp).splitlines()]
    head = csv_rows[0]
    ctr = next(r for r in csv_rows if r[3] == "are-you-sure" and r[4] == "ctr")
    for field in ("value_run", "difference", "ci_low", "ci_high", "p_value"):
        assert ctr[head.index(field)] == ""
    html = render_compare(cmp)
    assert f"runs/1/results/groups/{cmp['runs'][1]['results']['groups'].index(rg)}/metrics/ctr/" \
           not in html
    assert f"paired/0/result/groups/{gi}/rates/ctr/value_a" not in html
    assert f"paired/0/result/groups/{gi}/rates/ecr/" not in html
    assert 'title="undefined">–</span>' in html


# ---------------------------------------------------------------- 5. output paths first

def test_out_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    # the run folders do not exist: the --out check comes first
    proc = sycolab("compare", str(tmp_path / "nope1"), str(tmp_path / "nope2"), "--out",
                   str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "is a folder" in lines[0]
    assert proc.stdout == "" and "Traceback" not in proc.stderr


def test_out_paths(runs: tuple[Path, Path, Path], tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = str(runs[0]), str(runs[1])
    deep = tmp_path / "new" / "sub" / "cmp.md"
    res = CliRunner().invoke(app, ["compare", a, b, "--format", "md", "--out", str(deep)])
    assert res.exit_code == 0, res.output
    assert deep.read_text().startswith("# sycolab comparison")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(app, ["compare", a, b, "--out", str(blocker / "c.html")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "--out" in res.output and "not a folder" in res.output
    monkeypatch.setattr(os, "access", lambda *_: False)
    with pytest.raises(UserInputError, match="not writable"):
        check_out(tmp_path / "c.html")
    with pytest.raises(UserInputError, match="not writable"):
        check_out(blocker)


def test_progress_is_reported(runs: tuple[Path, Path, Path]) -> None:
    seen: list[str] = []
    compare_runs(list(runs[:2]), progress=seen.append)
    assert any("loading run 2/2" in s for s in seen) and any("pairing" in s for s in seen)
