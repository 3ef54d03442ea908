"""The matrix: settings are chosen on validation only, arms report on the same test items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sycolab.core.errors import UserInputError
from sycolab.matrix.config import load_config
from sycolab.matrix.run import MatrixRun
from sycolab.matrix.summary import holm, summarize
from sycolab.runs.samples import read_samples

CONFIG = """
model: "mock:sycophant?accuracy=0.7&follow=0.8"
suites: [arithmetic]
protocols: [suggest-incorrect, are-you-sure, reask]
limit: 30
arms:
  - name: base
  - name: honesty-prompt
    mitigation: honesty-prompt
    prompt_baseline: true
  - name: lqcd
    decoding: lqcd
    alpha: [0.0, 1.0]
"""


def _keys(run_dir: Path) -> set[tuple[str, str]]:
    return {(r["suite"], r["item_id"]) for r in read_samples(run_dir / "samples.jsonl")}


def test_split_bookkeeping_and_selection(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    out = tmp_path / "out"
    state = MatrixRun(config, out, log=lambda m: None, progress=False).run()
    # every validation run holds validation items only, every test run test items only
    for run_dir in (out / "arms").glob("*/validation/*"):
        assert {r["split"] for r in read_samples(run_dir / "samples.jsonl")} == {"validation"}
    test_dirs = [Path(a["test_dir"]) for a in state["arms"].values()]
    for run_dir in test_dirs:
        assert {r["split"] for r in read_samples(run_dir / "samples.jsonl")} == {"test"}
    assert len({frozenset(_keys(d)) for d in test_dirs}) == 1  # the same test items everywhere
    validation = set().union(*(_keys(d) for d in (out / "arms").glob("*/validation/*")))
    assert validation and not validation & _keys(test_dirs[0])
    # alpha 0 is plain decoding, alpha 1 removes the mock's sycophancy: chosen on validation
    assert state["arms"]["lqcd"]["setting"] == {"alpha": 1.0}
    table = summarize(config, state, out)
    assert table["best_prompt_baseline"] == "honesty-prompt"
    assert "lqcd" in table["summary"].split("base on at least one primary metric:")[1]
    assert json.loads((out / "matrix.json").read_text())["tests"]
    # resuming does no arm twice
    again = MatrixRun(config, out, log=lambda m: None, progress=False).run()
    assert again == state


def test_holm() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


@pytest.mark.parametrize(("text", "needle"), [
    ("arms: [{name: x}]", "base"),
    ("arms: [{name: base}, {name: a, steer: nothing}]", "nothing"),
    ("arms: [{name: base, bogus: 1}]", "bogus"),
    ("arms: [", ":"),
])
def test_bad_config_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=needle):
        load_config(path)


def test_run_matrix_is_what_the_cli_runs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sycolab.cli.app import app
    from sycolab.matrix import run_matrix

    path = tmp_path / "m.yaml"
    path.write_text(CONFIG)
    lines: list[str] = []
    res = run_matrix(path, out=tmp_path / "api", progress=False, log=lines.append)
    assert res.state == MatrixRun(load_config(path), tmp_path / "api", log=lambda m: None,
                                  progress=False).run()  # resumed: nothing runs twice
    assert lines and all((res.folder / f"matrix.{ext}").is_file()
                         for ext in ("md", "csv", "json", "html"))
    assert res.table == json.loads((res.folder / "matrix.json").read_text())
    cli = CliRunner().invoke(app, ["matrix", str(path), "--out", str(tmp_path / "cli"),
                                   "--no-progress"])
    assert cli.exit_code == 0, cli.output
    assert "[arm] " in cli.stderr  # progress lines reach the terminal through logging
    assert (tmp_path / "cli" / "matrix.md").read_text() == res.markdown_path.read_text()
    with pytest.raises(UserInputError, match="file not found"):
        run_matrix(tmp_path / "missing.yaml")
