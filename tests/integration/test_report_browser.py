"""Render the run report and a two-run comparison in real headless Chromium: no console errors,
plots and tables present, the example table filters. Screenshots go to
$SYCOLAB_SCREENSHOTS (default: the test's tmp folder); their paths are printed.

Skips when chromium / chromedriver are missing (scripts/install_browser.sh), fails under CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sycolab.report import write_compare, write_run_report
from sycolab.report._chromium import Chromium, find_chromium
from sycolab.report.directions import HEADLINE
from sycolab.workflows import evaluate


def _need_chromium() -> None:
    if find_chromium() is None:
        msg = "chromium and chromedriver not found: run scripts/install_browser.sh"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    _need_chromium()
    with Chromium() as c:
        yield c


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("SYCOLAB_SCREENSHOTS")
    path = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("browser-runs")
    out = []
    for name, follow in (("a", 0.6), ("b", 0.3)):
        evaluate(f"mock:sycophant?accuracy=0.7&follow={follow}",
                 suite=["arithmetic", "facts", "addition-claims"],
                 protocol=["suggest-incorrect", "are-you-sure", "reask", "pushback"],
                 limit=40, out=base / name, progress=False)
        out.append(base / name)
    return out[0], out[1]


def _log(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    with capsys.disabled():
        print(f"\nscreenshot: {path}")


def test_run_report_renders(browser: Chromium, runs: tuple[Path, Path], shots: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    report = write_run_report(runs[0])
    load = browser.load(report)
    assert load.errors == [], f"console errors: {load.errors}"
    counts = browser.script(
        "return [document.querySelectorAll('svg.plot').length,"
        " document.querySelectorAll('#headline tbody tr').length,"
        " document.querySelectorAll('#ex tbody tr').length,"
        " document.querySelectorAll('svg.plot circle').length,"
        " document.querySelectorAll('table.tm').length];"
    )
    plots, headline_rows, example_rows, markers, matrices = counts
    assert plots >= 6 and markers > 20 and matrices >= 10
    assert headline_rows == 12
    assert example_rows == 50
    path = browser.screenshot(shots / "report.png")
    _log(capsys, path)
    # the example filter works in the browser
    shown = browser.script(
        "const k = document.getElementById('f-kind'); k.value = '2';"
        " k.dispatchEvent(new Event('change'));"
        " document.getElementById('examples').scrollIntoView();"
        " return [document.querySelectorAll('#ex tbody tr').length,"
        " document.querySelectorAll('#ex tbody .step.flip').length,"
        " document.getElementById('f-count').textContent];"
    )
    assert 0 < shown[0] <= 50 and shown[1] >= shown[0], shown
    assert shown[2].startswith(f"showing {shown[0]} of "), shown
    path = browser.screenshot(shots / "report-examples-regressed.png", full_page=False)
    _log(capsys, path)
    assert browser.script("return window.__errors") == []
    assert [m for lvl, m in browser.console() if lvl == "SEVERE"] == []


def test_comparison_renders(browser: Chromium, runs: tuple[Path, Path], shots: Path,
                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = write_compare(list(runs), tmp_path / "compare.html")
    load = browser.load(out)
    assert load.errors == [], f"console errors: {load.errors}"
    plots, paired_rows, side_rows = browser.script(
        "return [document.querySelectorAll('#tradeoff svg.plot').length,"
        " document.querySelectorAll('#paired tbody tr').length,"
        " document.querySelectorAll('#side-by-side tbody tr').length];"
    )
    assert plots >= 1 and paired_rows == 12 and side_rows == 12 * len(HEADLINE)
    path = browser.screenshot(shots / "compare.png")
    _log(capsys, path)
