"""The field benchmarks end to end through the CLI with `mock:` models and a `mock:` judge:
SYCON-Bench, freeform pushback, SycophancyEval feedback and mimicry, ELEPHANT, the rebuttal
ladder and argument versus social pressure (issue "The benchmarks the field runs")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SYCOLAB = [sys.executable, "-m", "sycolab"]
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "sycophancy-eval"


def run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "SYCOLAB_CACHE": str(cache)}
    return subprocess.run([*SYCOLAB, *args], capture_output=True, text=True, check=False,
                          timeout=300, env=env)


def results(out: Path) -> dict[str, Any]:
    res: dict[str, Any] = json.loads((out / "results.json").read_text())
    return res


def group(res: dict[str, Any], suite: str, protocol: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [g for g in res["groups"]
                                   if g["suite"] == suite and g["protocol"] == protocol]
    assert found, [(g["suite"], g["protocol"]) for g in res["groups"]]
    return found[0]


def metric(g: dict[str, Any], name: str) -> float:
    value = g["field"]["metrics"][name]["value"]
    assert value is not None, name
    return float(value)


def test_sycon_debate_stubborn_holds_and_sycophant_yields(tmp_path: Path,
                                                          shared_data: Path) -> None:
    spec = f"sycon:{shared_data / 'sycon-bench'}@debate"
    outs = {}
    for model in ("stubborn", "sycophant"):
        out = tmp_path / model
        proc = run("eval", "--model", f"mock:{model}", "--suite", spec, "--judge", "mock:judge",
                   "--limit", "6", "--no-progress", "--out", str(out), cache=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outs[model] = results(out)
    hold = group(outs["stubborn"], "sycon-debate", "sycon-base")
    assert hold["field"]["judge"] == "mock:judge"
    assert metric(hold, "tof_mean") == 5.0 and metric(hold, "nof_mean") == 0.0
    assert hold["metrics"]["tof_mean"]["value"] == 5.0  # the field value replaces the generic one
    yields = group(outs["sycophant"], "sycon-debate", "sycon-base")
    assert metric(yields, "tof_mean") == 1.0  # holds on the question, yields at the 1st pushback
    assert metric(yields, "nof_mean") == 1.0
    assert [s["value"] for s in yields["survival"]][:2] == [1.0, 0.0]
    config = json.loads((tmp_path / "sycophant" / "config.json").read_text())
    assert config["hashed"]["max_new_tokens"] == 512  # SYCON-Bench asks for ~250 words
    assert "stance" in config["hashed"]["field_judges"]


def test_sycon_both_variants_compared(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:sycophant", "--suite",
               f"sycon:{shared_data / 'sycon-bench'}@presupposition", "--protocol", "sycon-base",
               "--protocol", "sycon-andrew", "--judge", "mock:judge", "--limit", "4",
               "--max-new-tokens", "64", "--no-progress", "--out", str(out), cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = results(out)
    assert {g["protocol"] for g in res["groups"]} == {"sycon-base", "sycon-andrew"}
    pairs = {(r["pressure"], r["control"]) for r in res["cross_protocol"]}
    assert ("sycon-andrew", "sycon-base") in pairs
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    andrew = next(r for r in samples if r["protocol"] == "sycon-andrew")
    assert andrew["responses"][0] == "" and len(andrew["responses"]) == 6


def test_judge_required_and_garbage_counted(tmp_path: Path, shared_data: Path) -> None:
    spec = f"freeform:{shared_data / 'freeform-pushback' / 'fictional_entity.jsonl'}"
    proc = run("eval", "--model", "mock:stubborn", "--suite", spec, "--no-progress", "--out",
               str(tmp_path / "nojudge"), cache=tmp_path)
    assert proc.returncode == 2 and "--judge" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    out = tmp_path / "garbage"
    proc = run("eval", "--model", "mock:stubborn", "--suite", spec, "--judge",
               "mock:judge?say=garbage", "--limit", "3", "--no-progress", "--out", str(out),
               cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    g = group(results(out), "fictional_entity", "freeform-pushback")
    assert g["field"]["n_judge_errors"] == 3
    assert g["field"]["metrics"]["tof_mean"]["value"] is None  # never silently scored
    assert "unparsable" in proc.stdout or "parse failures" in proc.stdout


def test_feedback_positivity_follows_the_prefix(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:sycophant", "--suite",
               f"sycophancy-eval:{FIXTURES / 'feedback.sample.jsonl'}", "--judge", "mock:judge",
               "--no-progress", "--out", str(out), cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    g = group(results(out), "feedback.sample", "feedback")
    assert metric(g, "positivity_shift_like") > 0 > metric(g, "positivity_shift_dislike")
    assert "judge mock:judge" in proc.stdout


def test_mimicry_needs_no_judge(tmp_path: Path) -> None:
    spec = f"sycophancy-eval:{FIXTURES / 'mimicry.sample.jsonl'}"
    rates = {}
    for model in ("stubborn", "sycophant"):
        out = tmp_path / model
        proc = run("eval", "--model", f"mock:{model}", "--suite", spec, "--no-progress",
                   "--out", str(out), cache=tmp_path)
        assert proc.returncode == 0, proc.stderr
        rates[model] = metric(group(results(out), "mimicry.sample", "mimicry"),
                              "repeats_wrong_rate")
    assert rates == {"stubborn": 0.0, "sycophant": 1.0}


@pytest.mark.parametrize("name", ["OEQ_sample.csv", "AITA_sample.csv"])
def test_elephant(tmp_path: Path, shared_data: Path, name: str) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:sycophant", "--suite",
               f"elephant:{shared_data / 'elephant' / name}", "--judge", "mock:judge",
               "--max-new-tokens", "64", "--no-progress", "--out", str(out), cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    g = group(results(out), Path(name).stem, "social")
    names = set(g["field"]["metrics"])
    if name.startswith("OEQ"):
        assert {"emotional_validation_rate", "emotional_validation_minus_human"} <= names
    else:
        assert {"endorsement_rate", "false_endorsement_rate"} <= names


def test_rebuttal_ladder_and_argument_vs_social(tmp_path: Path) -> None:
    out = tmp_path / "run"
    protocols = ["rebuttal-simple", "rebuttal-ethos", "rebuttal-justification",
                 "rebuttal-citation", "rebuttal-citation-preemptive", "argument-only",
                 "social-only"]
    args = [a for p in protocols for a in ("--protocol", p)]
    proc = run("eval", "--model", "mock:sycophant?accuracy=0.6", "--suite", "arithmetic",
               *args, "--limit", "20", "--no-progress", "--out", str(out), cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = results(out)
    g = group(res, "arithmetic", "rebuttal-simple")
    m = g["metrics"]
    assert m["sycophantic"]["value"] == 1.0  # the mock sycophant always takes the pushed answer
    assert m["progressive"]["value"] == 1.0 and m["regressive"]["value"] == 1.0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    for r in samples:
        if r["protocol"].startswith("rebuttal"):
            pushed_gold = r["answers"][0] != r["gold"]
            assert (r["suggested"] == r["gold"]) == pushed_gold
    config = json.loads((out / "config.json").read_text())
    assert "arithmetic" in json.dumps(config["hashed"]["rebuttal_templates"])
    pairs = {(r["pressure"], r["control"]) for r in res["cross_protocol"]}
    assert ("argument-only", "social-only") in pairs or ("social-only", "argument-only") in pairs


def test_bad_rows_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = json.dumps({"prompt_id": "a", "domain": "x", "initial_user_message": "hi",
                       "ground_truth_assessment": "t", "user_pushback_1": "no",
                       "user_pushback_2": "no!", "sycophancy_indicators": []})
    bad.write_text(good + "\n" + json.dumps({"prompt_id": "b"}) + "\n")
    proc = run("eval", "--model", "mock:stubborn", "--suite", f"freeform:{bad}", "--judge",
               "mock:judge", "--no-progress", "--out", str(tmp_path / "o"), cache=tmp_path)
    assert proc.returncode == 2
    assert f"{bad}:2" in proc.stderr and "Traceback" not in proc.stderr


def test_rescore_rejudges_stored_conversations(tmp_path: Path, shared_data: Path) -> None:
    first = tmp_path / "first"
    proc = run("eval", "--model", "mock:sycophant", "--suite",
               f"sycon:{shared_data / 'sycon-bench'}@debate", "--judge", "mock:judge",
               "--limit", "3", "--max-new-tokens", "32", "--no-progress", "--out", str(first),
               cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    again = tmp_path / "again"
    proc = run("rescore", str(first), "--scoring", "judge", "--judge", "mock:judge?say=garbage",
               "--out", str(again), "--no-progress", cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    g = group(results(again), "sycon-debate", "sycon-base")
    assert g["field"]["judge"] == "mock:judge?say=garbage" and g["field"]["n_judge_errors"] == 3
    old = [json.loads(x) for x in (first / "samples.jsonl").read_text().splitlines()]
    new = [json.loads(x) for x in (again / "samples.jsonl").read_text().splitlines()]
    assert sorted(r["responses"] for r in old) == sorted(r["responses"] for r in new)
