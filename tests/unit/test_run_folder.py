"""samples.jsonl survives kills: torn last lines are dropped, corrupt middles are refused."""

import json
from pathlib import Path

import pytest

from sycolab.core.errors import UserInputError
from sycolab.core.records import latest_by_trial
from sycolab.runs.folder import RunFolder
from sycolab.runs.samples import read_samples


def _rec(tid: str, **kw: object) -> dict[str, object]:
    return {"trial_id": tid, "error": None, **kw}


def test_torn_last_line_is_cut_and_dropped(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    good = json.dumps(_rec("a")) + "\n" + json.dumps(_rec("b")) + "\n"
    path.write_text(good + '{"trial_id": "c", "err')
    assert [r["trial_id"] for r in read_samples(path, repair=True)] == ["a", "b"]
    assert path.read_text() == good  # the torn bytes are gone, appends start on a fresh line


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps(_rec("a")) + "\n" + json.dumps(_rec("b")))
    assert len(read_samples(path, repair=True)) == 2
    assert path.read_text().endswith("\n")


def test_corrupt_middle_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps(_rec("a")) + "\nnot json\n" + json.dumps(_rec("b")) + "\n")
    with pytest.raises(UserInputError, match=r"samples.jsonl:2"):
        read_samples(path)


def test_last_record_per_trial_wins() -> None:
    recs = [_rec("a", error="boom"), _rec("b"), _rec("a")]
    assert latest_by_trial(recs)["a"]["error"] is None


def test_reopening_with_another_config_is_refused(tmp_path: Path) -> None:
    cfg = {"config_hash": "x1", "hashed": {"seed": 0}, "run": {}}
    RunFolder.open(tmp_path / "run", cfg)
    other = {"config_hash": "x2", "hashed": {"seed": 1}, "run": {}}
    with pytest.raises(UserInputError, match="differs in: seed"):
        RunFolder.open(tmp_path / "run", other)
    _, warnings = RunFolder.open(tmp_path / "run", {**cfg, "run": {"batch_size": 4}})
    assert warnings


def test_record_of_the_wrong_shape_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    bad = json.dumps(_rec("b", answers="A"))
    path.write_text(json.dumps(_rec("a")) + "\n" + bad + "\n" + json.dumps(_rec("c")) + "\n")
    with pytest.raises(UserInputError, match=r"samples.jsonl:2: bad trial record \(field "
                                             r"'answers' is str, expected list\)"):
        read_samples(path)
    path.write_text(json.dumps(_rec("a")) + "\n" + bad + "\n")  # complete, so not a torn line
    with pytest.raises(UserInputError, match=r"samples.jsonl:2"):
        read_samples(path)
