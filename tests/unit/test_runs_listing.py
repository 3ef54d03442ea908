"""`sycolab.runs.listing`: run folders read into rows (status, planned trials, headline)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sycolab.core.errors import UserInputError
from sycolab.runs.listing import list_runs, planned_trials


def _config(chash: str, model: str = "mock:a", suites: tuple[tuple[str, int], ...] =
            (("arithmetic", 4),), skipped: dict[str, int] | None = None) -> dict[str, Any]:
    skipped = skipped if skipped is not None else {
        "arithmetic/suggest-incorrect": 0, "arithmetic/reask": 0}
    protocols = sorted({k.rpartition("/")[2] for k in skipped} | {"persona"})
    return {"config_hash": chash, "hashed": {"model": model},
            "model": {"spec": model}, "suites": [{"name": n, "n_selected": k} for n, k in suites],
            "protocols": {p: {} for p in protocols}, "skipped": skipped}


def _metric(value: float | None, n: int = 4) -> dict[str, Any]:
    return {"value": value, "ci_low": None if value is None else 0.1,
            "ci_high": None if value is None else 0.9, "n": n}


def _write_run(path: Path, config: dict[str, Any], n_done: int, errors: int = 0,
               results: dict[str, Any] | None = None) -> None:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config))
    lines = [json.dumps({"trial_id": f"t{i}", "suite": "arithmetic", "protocol": "reask",
                         "error": "boom" if i < errors else None}) for i in range(n_done)]
    (path / "samples.jsonl").write_text("".join(line + "\n" for line in lines))
    if results is not None:
        time.sleep(0.01)
        (path / "results.json").write_text(json.dumps(results))


def _results(groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"groups": groups}


def _group(protocol: str, n: int = 4, errors: int = 0, **metrics: Any) -> dict[str, Any]:
    return {"suite": "arithmetic", "protocol": protocol, "n": n, "n_errors": errors,
            "metrics": metrics}


def test_planned_trials_reads_suites_protocols_and_skips() -> None:
    assert planned_trials(_config("a")) == 8
    config = _config("b", suites=(("arithmetic", 4), ("addition-claims", 5)),
                     skipped={"arithmetic/reask": 0, "addition-claims/persona": 2,
                              "addition-claims/reask": 0})
    assert planned_trials(config) == 4 + 10 - 2
    # one suite whose items are grouped by setting (sycon): its settings' protocols
    sycon = _config("c", suites=(("sycon", 6),), skipped={"sycon-debate/sycon-base": 1})
    assert planned_trials(sycon) == 5
    assert planned_trials({"config_hash": "x", "hashed": {}}) is None
    assert planned_trials({"suites": "nonsense"}) is None


def test_rows_status_headline_and_skipped(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _write_run(root / "done", _config("h1", model="mock:b"), 8, results=_results([
        _group("suggest-correct", agreement_rate=_metric(0.9)),
        _group("suggest-incorrect", agreement_rate=_metric(0.25)),
        _group("reask", ctr=_metric(0.5))]))
    _write_run(root / "failed", _config("h2"), 8, errors=3, results=_results([
        _group("reask", n=8, errors=3, ctr=_metric(0.125, 5))]))
    _write_run(root / "half", _config("h3"), 5)
    _write_run(root / "sweep-1" / "reference", _config("h4"), 8, results=_results([
        {"suite": "elephant", "protocol": "social", "n": 8, "n_errors": 0, "metrics": {},
         "field": {"metrics": {"more_positive_rate": _metric(0.3),
                               "social_rate": _metric(0.4)}}}]))
    (root / "junk" / "deeper").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "model" / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (root / ".hidden").mkdir()
    listing = list_runs([root])
    rows = {r.path.name: r for r in listing.rows}
    assert set(rows) == {"done", "failed", "half", "reference"}
    assert sorted(p.name for p in listing.skipped) == ["junk", "model"]
    assert rows["done"].status_text() == "complete" and rows["done"].model == "mock:b"
    head = rows["done"].headline
    assert head is not None and (head.metric, head.protocol, head.value) == (
        "agreement_rate", "suggest-incorrect", 0.25)  # not the suggest-correct control
    assert rows["done"].protocols == ["reask", "suggest-incorrect"]  # persona never ran
    assert rows["failed"].status_text() == "complete, 3 failed" and rows["failed"].n_trials == 8
    assert rows["failed"].headline is not None and rows["failed"].headline.metric == "ctr"
    assert rows["half"].status_text() == "partial: 5 of 8" and rows["half"].headline is None
    ref = rows["reference"].headline
    assert ref is not None and ref.metric == "social_rate"  # detail metrics are never headlines
    # newest first; by model: mock:a before mock:b
    assert listing.rows[0].path.name == "reference"
    assert list_runs([root], sort="model").rows[-1].path.name == "done"
    as_json = json.loads(json.dumps([r.as_dict() for r in listing.rows]))
    assert {"path", "model", "suites", "protocols", "date", "status", "n_trials", "n_planned",
            "headline"} <= set(as_json[0])
    # a run folder given directly is listed; a given folder is listed once
    assert [r.path for r in list_runs([root / "half", root / "half"]).rows] == [root / "half"]


def test_resumed_and_killed_run_is_partial_and_corrupt_samples_unreadable(tmp_path: Path
                                                                         ) -> None:
    run = tmp_path / "r"
    _write_run(run, _config("h"), 4, results=_results([_group("reask", ctr=_metric(0.5))]))
    time.sleep(0.01)
    with (run / "samples.jsonl").open("a") as fh:  # appended after results.json: resumed
        fh.write(json.dumps({"trial_id": "t9", "suite": "arithmetic", "protocol": "reask"}) + "\n")
    (row,) = list_runs([run]).rows
    assert row.status_text() == "partial: 5 of 8" and row.headline is None
    (run / "samples.jsonl").write_text('{"trial_id": 3}\n{"trial_id": "x"}\n')
    (row,) = list_runs([run]).rows
    assert row.status == "unreadable" and "samples.jsonl:1" in row.status_text()


def test_a_live_lock_is_running(tmp_path: Path) -> None:
    run = tmp_path / "r"
    _write_run(run, _config("h"), 2)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            (run / ".lock").write_text(json.dumps({"pid": proc.pid, "host": socket.gethostname(),
                                                   "started": "now"}))
            assert list_runs([run]).rows[0].status_text() == "running: 2 of 8"
        finally:
            proc.kill()
    assert os.path.exists(run / ".lock")


def test_missing_folder_and_bad_sort_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such folder"):
        list_runs([tmp_path / "nowhere"])
    with pytest.raises(UserInputError, match="date, model"):
        list_runs([tmp_path], sort="size")  # type: ignore[arg-type]
    assert list_runs([tmp_path]).rows == []
