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
protocols: [suggest-incorrect, suggest-correct, are-you-sure, reask, aside]
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
    ("protocols: [suggest-incorrect, reask]\narms: [{name: base}]",
     "protocols: suggest-incorrect needs suggest-correct"),
    ("arms: [{name: base}, {name: a, steer: nothing}]", "nothing"),
    ("arms: [{name: base, bogus: 1}]", "bogus"),
    ("arms: [", ":"),
])
def test_bad_config_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=needle) as info:
        load_config(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


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


def test_default_protocols_ask_both_suggestions() -> None:
    from sycolab.matrix.config import MatrixConfig

    protocols = MatrixConfig(arms=[{"name": "base"}]).protocols  # type: ignore[list-item]
    assert "suggest-incorrect" in protocols and "suggest-correct" in protocols
    example = load_config(Path(__file__).resolve().parents[2] / "examples" / "matrix-smollm2.yaml")
    assert {"suggest-correct", "aside"} <= set(example.protocols)
    assert {"dpo", "dpo+steering"} <= {a.name for a in example.arms}
    assert example.artifact_kinds["dpo"] == "dpo"


def _record(item: str, protocol: str, answers: list[str | None], *, gold: str = "1",
            error: str | None = None) -> dict[str, object]:
    return {"trial_id": f"{item}-{protocol}", "suite": "s", "item_id": item,
            "protocol": protocol, "gold": gold, "suggested": None, "answers": answers,
            "error": error}


def test_kept_is_paired_on_a_denominator_fixed_by_base() -> None:
    from sycolab.matrix.summary import kept_counts

    base = [_record("1", "p", ["1", "1"]), _record("2", "p", ["1", "2"]),
            _record("3", "p", ["2", "1"]), _record("4", "p", [None, "1"]),
            _record("5", "p", ["1", "1"], error="boom"), _record("6", "p", ["1", "1"])]
    # base answers 1, 2 and 6 correctly at the first step: n = 3 for every arm
    assert kept_counts(base, base) == {("s", "p"): (2, 3)}
    arm = [_record("1", "p", ["2", "1"]),  # wrong first, right final: kept (final counts)
           _record("2", "p", ["1", "1"]),  # base lost it, the arm keeps it
           _record("3", "p", ["1", "1"]), _record("4", "p", ["1", "1"]),  # outside base's n
           _record("5", "p", ["1", "1"])]  # item 6 missing: not kept
    assert kept_counts(base, arm) == {("s", "p"): (2, 3)}
    errored = [{**r, "error": "x"} for r in arm] + [_record("6", "p", ["1", None])]
    assert kept_counts(base, errored) == {("s", "p"): (0, 3)}
    # the last record per trial wins, as everywhere
    assert kept_counts(base, [*arm, _record("1", "p", ["1", "2"])]) == {("s", "p"): (1, 3)}


def test_pooled_kept_resamples_items_not_trials() -> None:
    from sycolab.matrix.summary import pooled_kept

    base = [_record(str(i), p, ["1", "1"]) for i in range(1, 21) for p in ("p", "q")]
    arm = [_record(str(i), p, ["1", "1" if i <= 10 else "2"]) for i in range(1, 21)
           for p in ("p", "q")]
    got = pooled_kept(base, arm, ["p", "q"])["s"]
    assert (got["k"], got["n"], got["n_items"]) == (20, 40, 20) and got["value"] == 0.5
    # each item keeps both or neither: the effective sample is 20 items, so the interval is as
    # wide as for 20 independent trials (wider than a Wilson interval on 40 trials)
    assert got["ci_high"] - got["ci_low"] > 0.35  # Wilson on 40 trials: 0.30
    assert pooled_kept(base, arm, ["p"])["s"]["n"] == 20
    assert pooled_kept(base, arm, ["other"]) == {}


def _matrix(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    path = tmp_path / "m.yaml"
    path.write_text(CONFIG)
    out = tmp_path / "out"
    state = MatrixRun(load_config(path), out, log=lambda m: None, progress=False).run()
    return out, summarize(load_config(path), state, out)


def test_matrix_tables(tmp_path: Path) -> None:
    out, table = _matrix(tmp_path)
    arms = table["arms"]
    assert isinstance(arms, list)
    # kept: the same denominator for every arm, per pressure protocol
    for protocol in ("suggest-incorrect", "are-you-sure"):
        ns = {g["kept"]["n"] for a in arms for g in a["groups"] if g["protocol"] == protocol}
        assert len(ns) == 1 and ns.pop() > 0
    # a paired test on agreement with the right suggestion, where a rise is the better way
    tests = table["tests"]
    assert isinstance(tests, list)
    right = [t for t in tests if t["protocol"] == "suggest-correct"
             and t["metric"] == "agreement_rate"]
    assert right and all(t["better"] == "higher" for t in right)
    md = (out / "matrix.md").read_text()
    summarize(load_config(tmp_path / "m.yaml"), json.loads((out / "state.json").read_text()), out)
    assert (out / "matrix.md").read_text() == md  # deterministic given the runs
    blocks = md.split("\n\n")
    titles = [b for b in blocks if b.startswith("**")]
    assert [t.split("**")[1] for t in titles] == [
        "Every arm on the test split", "Under pressure, per protocol", "Other side effects"]
    head = blocks[blocks.index(titles[0]) + 1].splitlines()
    assert head[0].startswith("| arm | setting | agreement, wrong suggestion ↓ | "
                              "Δ vs base, Holm p | agreement, right suggestion ↑ |")
    assert "kept under pressure ↑" in head[0] and "aside: changed ↓" in head[0]
    assert [r.split(" | ")[0] for r in head[2:]] == ["| base", "| honesty-prompt", "| lqcd"]
    assert all(r.count("|") == head[0].count("|") for r in head)
    detail = blocks[blocks.index(titles[1]) + 1].splitlines()
    assert [tuple(c.strip() for c in r.split("|")[1:3]) for r in detail[2:4]] == [
        ("base", "suggest-incorrect"), ("base", "are-you-sure")]  # pressure only, config order
    assert "| EIR ↓ | changed, answered ↓ | kept ↑ |" in detail[0]
    assert "kept denominators: suggest-incorrect" in md  # the legend names them
    assert "Significantly lower agreement with correct suggestions than base:" in md
    assert str(tmp_path) not in md
    from sycolab.matrix.report import write_matrix_report

    html = write_matrix_report(table, out).read_text()
    assert "<h2>Under pressure, per protocol</h2>" in html and "kept denominators" in html
    assert (out / "matrix.csv").read_text().splitlines()[0].startswith(
        "arm,setting,suite,protocol,n,agreement_rate,")


def test_side_effects_kl_reply_and_old_blocks() -> None:
    from sycolab.matrix.tables import to_markdown

    group = {"suite": "s", "protocol": "suggest-incorrect", "n": 1, "kept": {"k": 0, "n": 0},
             **dict.fromkeys(("agreement_rate", "regression_rate", "eir", "ctr", "ctr_answered",
                              "accuracy_baseline"))}
    kl = {"value": 0.0123, "ci_low": 0.011, "ci_high": 0.0135, "n": 8, "n_positions": 200}
    table = {"tests": [], "summary": "S.", "arms": [
        {"arm": "base", "setting": {}, "groups": [group], "side_effects": None},
        {"arm": "lqcd", "setting": {}, "groups": [group],
         "side_effects": {"kl": None, "kl_reply": kl, "kl_last": kl, "slowdown": 1.5}},
        {"arm": "old", "setting": {"layers": [12]}, "groups": [group],
         "side_effects": {"kl": kl, "slowdown": 1.0}}]}
    head, _, side = (block.splitlines()[2:] for block in to_markdown(table).split("\n\n")
                     if block.startswith("| arm"))
    rows = {line.split(" | ")[0][2:]: line for line in head}
    assert rows["lqcd"].endswith("| 0.0123 [0.011, 0.0135] | 1.50 |")  # kl_reply, slowdown
    assert rows["old"].startswith("| old | layers=[12] |") and rows["old"].endswith("| – | 1.00 |")
    assert side == ["| base | – | – |", "| lqcd | 0.0123 [0.011, 0.0135] | – |",
                    "| old | – | 0.0123 [0.011, 0.0135] |"]  # kl_last, kl (null for LQCD)


def test_matrix_diff_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sycolab.cli.app import app

    out, table = _matrix(tmp_path)
    runner = CliRunner()
    same = runner.invoke(app, ["matrix-diff", str(out), str(out)])
    assert same.exit_code == 0, same.output
    assert "lqcd" in same.stdout and " 0 outside it or missing in NEW" in same.stdout
    moved = tmp_path / "moved"
    moved.mkdir()
    arms = json.loads(json.dumps(table["arms"]))
    arms[0]["groups"][0]["agreement_rate"]["value"] = 2.0  # far outside any rate's interval
    (moved / "matrix.json").write_text(json.dumps({**table, "arms": arms}))
    res = runner.invoke(app, ["matrix-diff", str(out), str(moved)])
    assert res.exit_code == 1, res.output
    flagged = [line for line in res.stdout.splitlines() if line.startswith("OUTSIDE")]
    assert len(flagged) == 1 and "base" in flagged[0] and "agreement_rate" in flagged[0]
    missing = runner.invoke(app, ["matrix-diff", str(out), str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1 and "no matrix.json" in missing.stderr


def test_matrix_readme_block(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sycolab.cli.app import app
    from sycolab.matrix.readme import BEGIN, END, readme_block

    out, _ = _matrix(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\n(pending)\n{END}\n\ntail\n")
    res = CliRunner().invoke(app, ["matrix-readme", str(out), "--readme", str(readme)])
    assert res.exit_code == 0, res.output
    text = readme.read_text()
    assert readme_block(text) == (out / "matrix.md").read_text() and text.endswith("\ntail\n")
    bare = tmp_path / "bare.md"
    bare.write_text("# no markers\n")
    res = CliRunner().invoke(app, ["matrix-readme", str(out), "--readme", str(bare)])
    assert res.exit_code == 2 and "matrix.md begin" in res.stderr
