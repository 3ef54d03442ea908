"""`sycolab eval` end to end through the real command line, on scripted mock models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from recompute import load_samples, mismatches

SYCOLAB = [sys.executable, "-m", "sycolab"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYCOLAB, *args], capture_output=True, text=True, cwd=cwd, check=False,
                          timeout=300, env={**os.environ, "COLUMNS": "120"})


def test_default_protocols_write_a_recomputable_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:sycophant?accuracy=0.7&follow=0.6", "--suite",
               "arithmetic", "--suite", "addition-claims", "--limit", "40", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "agreement_rate" in proc.stdout and "run folder" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    samples = load_samples(out / "samples.jsonl")
    groups = {(g["suite"], g["protocol"]) for g in results["groups"]}
    assert (("arithmetic", "suggest-incorrect") in groups
            and ("addition-claims", "persona") in groups)
    assert ("arithmetic", "persona") not in groups  # implicit invalid pairs are dropped
    assert not mismatches(samples, results)
    config = json.loads((out / "config.json").read_text())
    assert config["protocols"]["are-you-sure"]["templates"]["challenge"].startswith("I don't")


def test_resume_after_kill_keeps_each_trial_once(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "--model", "mock:sycophant?accuracy=0.7&delay=0.004", "--suite",
            "arithmetic", "--protocol", "pushback", "--protocol", "reask", "--limit", "300",
            "--out", str(out), "--no-progress"]
    proc = subprocess.Popen([*SYCOLAB, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    samples = out / "samples.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if samples.exists() and samples.stat().st_size > 0:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(load_samples(samples))
    assert 0 < partial < 600, "the kill should land mid-run"
    with samples.open("a") as fh:  # a torn line, as a kill during a write leaves it
        fh.write('{"trial_id": "torn", "suite": "ari')
    done = run(*args)
    assert done.returncode == 0, done.stderr
    ids = [r["trial_id"] for r in load_samples(samples)]
    assert len(ids) == len(set(ids)) == 600
    results = json.loads((out / "results.json").read_text())
    assert not mismatches(load_samples(samples), results)


def test_item_errors_are_recorded_and_retried(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:flaky?fail=0.2", "--suite", "facts", "--protocol",
               "are-you-sure", "--limit", "50", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["groups"][0]["n_errors"] > 0
    assert any(r["error"] for r in load_samples(out / "samples.jsonl"))


def test_perez_persona_reports_corrected_agreement(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "perez-sycophancy" / "sycophancy_on_nlp_survey.500.jsonl"
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:sycophant?follow=0.5", "--suite", f"perez:{path}",
               "--protocol", "persona", "--limit", "100", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    group = json.loads((out / "results.json").read_text())["groups"][0]
    for name in ("agreement_rate", "agreement_baseline", "agreement_corrected"):
        metric = group["metrics"][name]
        assert (metric["value"] is not None
                and metric["ci_low"] <= metric["value"] <= metric["ci_high"])
    assert group["suite"] == "sycophancy_on_nlp_survey.500" and group["n"] == 100


def test_lm_eval_scoring_is_single_step(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "perez-sycophancy" / "sycophancy_on_nlp_survey.500.jsonl"
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:always?answer=A", "--suite", f"perez:{path}",
               "--protocol", "persona", "--scoring", "lm-eval", "--limit", "10", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rec = load_samples(out / "samples.jsonl")[0]
    assert rec["scoring"] == "lm-eval" and rec["conditions"] == ["persona"]


def _bad(tmp_path: Path, *args: str) -> str:
    proc = run("eval", "--out", str(tmp_path / "bad"), *args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    return "\n".join(lines)


@pytest.mark.parametrize(("args", "needle"), [
    (("--model", "nonsense"), "--model"),
    (("--model", "mock:nonsense"), "mock"),
    (("--model", "mock:stubborn", "--suite", "nope"), "nope"),
    (("--model", "mock:stubborn", "--protocol", "nope"), "nope"),
    (("--model", "mock:stubborn", "--suite", "arithmetic", "--protocol", "persona"), "persona"),
    (("--model", "mock:stubborn", "--suite", "jsonl:/no/such/file.jsonl"), "/no/such/file.jsonl"),
    (("--model", "mock:stubborn", "--limit", "-1"), "--limit"),
    (("--model", "mock:stubborn", "--scoring", "best"), "--scoring"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...],
                                         needle: str) -> None:
    message = _bad(tmp_path, *args)
    assert needle in message
    if "--limit" not in args and "--scoring" not in args:
        assert len(message.splitlines()) == 1, message


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"question": "What is 1 + 1?", "answer": "2"}\n{"question": \n')
    message = _bad(tmp_path, "--model", "mock:stubborn", "--suite", f"jsonl:{path}")
    assert f"{path}:2" in message


def test_resuming_into_another_config_is_refused_without_damage(tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["eval", "--model", "mock:stubborn", "--suite", "arithmetic", "--protocol", "reask",
            "--limit", "5", "--out", str(out)]
    assert run(*base).returncode == 0
    before = (out / "samples.jsonl").read_bytes()
    proc = run(*base[:-2], "--seed", "7", "--out", str(out))
    assert proc.returncode == 2 and "seed" in proc.stderr
    assert (out / "samples.jsonl").read_bytes() == before


def test_help_is_fast_and_imports_no_torch() -> None:
    code = "import sys, sycolab.cli.app, sycolab.cli.eval_cmd; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    start = time.perf_counter()
    subprocess.run([*SYCOLAB, "--help"], capture_output=True, check=True)
    assert time.perf_counter() - start < 5
