"""The run report and run comparisons: every shown number traces back to its source."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.core.metric_registry import metric as registered
from sycolab.report import compare_runs, render_compare, write_run_report
from sycolab.report._html import fmt_p
from sycolab.report.compare import render_csv, render_markdown
from sycolab.report.directions import direction
from sycolab.workflows import evaluate

SUITES = ["arithmetic", "facts", "addition-claims"]
PROTOCOLS = ["suggest-incorrect", "are-you-sure", "reask", "pushback"]
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")
VOID = {"meta", "link", "br", "input", "img", "hr", "col", "wbr", "source"}
# text under these is explanation or a label, not a result
LABEL_TAGS = {"p", "th", "h1", "h2", "h3", "summary", "title", "option", "label", "button",
              "style", "script", "code", "dt"}


def make_run(path: Path, follow: float, limit: int = 24) -> Path:
    evaluate(f"mock:sycophant?accuracy=0.7&follow={follow}", suite=SUITES, protocol=PROTOCOLS,
             limit=limit, out=path, progress=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("report")
    return make_run(base / "a", 0.6), make_run(base / "b", 0.3)


class Numbers(HTMLParser):
    """Collects (pointers, text) of data-src elements and numbers shown outside them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.sourced: list[tuple[str, str]] = []
        self.stray: list[tuple[str, str]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self.stack.append((tag, {k: v or "" for k, v in attrs}))
        if "data-src" in self.stack[-1][1]:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.stack:
            return
        while self.stack:
            name, attrs = self.stack.pop()
            if "data-src" in attrs:
                self.sourced.append((attrs["data-src"], "".join(self._text)))
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if any("data-src" in a for _, a in self.stack):
            self._text.append(data)
            return
        origins = [a.get("data-origin") for _, a in self.stack if "data-origin" in a]
        if not origins or origins[-1] not in ("results", "compare"):
            return
        if any(t in LABEL_TAGS or "data-static" in a or a.get("class") in ("dir", "sub")
               for t, a in self.stack):
            return
        for token in NUMBER.findall(data):
            self.stray.append((token, data.strip()[:80]))


def resolve(doc: Any, pointer: str) -> Any:
    for part in pointer.split("/"):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def check_numbers(html: str, doc: Any) -> int:
    """Every data-src number equals its source at the shown precision; no unsourced numbers."""
    parser = Numbers()
    parser.feed(html)
    assert not parser.stray, f"numbers without a source: {parser.stray[:10]}"
    checked = 0
    for pointers, text in parser.sourced:
        tokens = NUMBER.findall(text)
        ptrs = pointers.split()
        if len(ptrs) == 1 and not tokens:
            assert resolve(doc, ptrs[0]) is None, f"{pointers}: shown as {text!r}"
            continue
        assert len(tokens) == len(ptrs), f"{pointers}: {text!r}"
        for token, pointer in zip(tokens, ptrs, strict=True):
            if pointer == "-":
                continue
            value = resolve(doc, pointer)
            assert isinstance(value, int | float), f"{pointer}: {value!r} shown as {token}"
            if pointer.endswith("p_value"):
                assert token == fmt_p(value), (pointer, value, token)
            elif "." in token:
                d = len(token.split(".")[1])
                assert token in (f"{value:.{d}f}", f"{value:+.{d}f}"), (pointer, value, token)
            else:
                assert float(value) == int(token), (pointer, value, token)
            checked += 1
    return checked


def test_report_numbers_equal_results_json(runs: tuple[Path, Path]) -> None:
    path = write_run_report(runs[0])
    assert path == runs[0] / "report.html"
    html = path.read_text()
    results = json.loads((runs[0] / "results.json").read_text())
    assert check_numbers(html, results) > 500
    # every headline metric of every group is shown, with its direction
    for gi, _g in enumerate(results["groups"]):
        for metric in ("accuracy_baseline", "eir", "ctr", "regression_rate"):
            assert f'data-src="groups/{gi}/metrics/{metric}/value"' in html
    assert "lower is better" in html and "higher is better" in html



def test_every_reported_metric_is_registered(runs: tuple[Path, Path]) -> None:
    results = json.loads((runs[0] / "results.json").read_text())
    names = {name for g in results["groups"] for name in g["metrics"]}
    names |= {row["metric"] for row in results.get("cross_protocol") or []}
    for name in names:
        entry = registered(name)
        assert entry is not None and entry.denominator, name
        assert direction(name), name

def test_report_sections_and_self_contained(runs: tuple[Path, Path]) -> None:
    html = write_run_report(runs[0]).read_text()
    for section in ('id="headline"', 'id="cross"', 'id="plots"', 'id="transitions"',
                    'id="letters"', 'id="examples"', 'id="config"'):
        assert section in html
    assert html.count("<svg") >= 6
    assert "http://" not in html and "https://" not in html
    found = re.search(r'id="trials">(.*?)</script>', html, re.DOTALL)
    assert found is not None
    data = json.loads(found.group(1))
    assert len(data["t"]) == sum(1 for _ in (runs[0] / "samples.jsonl").open())
    assert data["q"], "questions of built-in suites are shown"


def test_report_side_effects_shown(runs: tuple[Path, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "samples.jsonl"):
        (run / name).write_bytes((runs[0] / name).read_bytes())
    results = json.loads((runs[0] / "results.json").read_text())
    results["side_effects"] = {
        "kl": {"value": 0.0213, "ci_low": 0.018, "ci_high": 0.025, "n": 50},
        "neutral_accuracy": {"value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 72,
                             "unmodified": None},
        "slowdown": 1.07, "benign": {"name": "alpaca-mini", "size": 50, "hash": "ab12"},
    }
    (run / "results.json").write_text(json.dumps(results))
    html = write_run_report(run).read_text()
    assert 'id="side-effects"' in html and "alpaca-mini" in html
    assert check_numbers(html, results) > 500


def test_report_cli(runs: tuple[Path, Path], tmp_path: Path) -> None:
    (runs[1] / "report.html").unlink(missing_ok=True)
    res = CliRunner().invoke(app, ["report", str(runs[1])])
    assert res.exit_code == 0, res.output
    assert (runs[1] / "report.html").is_file()
    res = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "run folder not found" in res.output


def test_compare_numbers_and_formats(runs: tuple[Path, Path]) -> None:
    cmp = compare_runs(list(runs))
    html = render_compare(cmp)
    assert check_numbers(html, cmp) > 300
    assert 'id="tradeoff"' in html and "<svg" in html
    md = render_markdown(cmp)
    assert md.count("\n| ") > 10 and "McNemar" in md
    lines = render_csv(cmp).splitlines()
    assert lines[0].startswith("run,reference,suite,protocol,metric")
    assert len(lines) > 10


def test_compare_cli(runs: tuple[Path, Path], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    a, b = (str(r) for r in runs)
    res = CliRunner().invoke(app, ["compare", a, b])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "compare.html").is_file() and "McNemar" in res.output
    res = CliRunner().invoke(app, ["compare", a, b, "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("run,reference")
    res = CliRunner().invoke(app, ["compare", a, b, "--format", "md", "--out", "c.md"])
    assert res.exit_code == 0 and (tmp_path / "c.md").read_text().startswith("# sycolab")
    res = CliRunner().invoke(app, ["compare", a, str(tmp_path / "nope")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1


def test_compare_refuses_mismatched_keys(runs: tuple[Path, Path], tmp_path: Path) -> None:
    small = make_run(tmp_path / "small", 0.3, limit=10)
    res = CliRunner().invoke(app, ["compare", str(runs[0]), str(small), "--out",
                                   str(tmp_path / "x.html")])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "--overlap" in res.output
    res = CliRunner().invoke(app, ["compare", str(runs[0]), str(small), "--overlap", "--out",
                                   str(tmp_path / "x.html")])
    assert res.exit_code == 0, res.output
    cmp = compare_runs([runs[0], small], overlap=True)
    assert cmp["paired"][0]["result"]["n_only_b"] > 0
