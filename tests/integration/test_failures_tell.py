"""Failures that tell, work that survives (issue 18): each fault a new user hit, through the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_serve_eval import server

from sycolab.runs.samples import read_samples

SYCOLAB = [sys.executable, "-m", "sycolab"]
MOCK = ["--model", "mock:stubborn", "--suite", "arithmetic", "--limit", "5", "--no-progress"]


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYCOLAB, *args], capture_output=True, text=True, check=False,
                          cwd=cwd, timeout=timeout, env={**os.environ, "COLUMNS": "120",
                                                         **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


# 1. interventions a backend cannot apply are refused before any trial -------------------------
def test_lqcd_steer_adapter_and_tokenizer_are_refused_where_meaningless(tmp_path: Path) -> None:
    remote = ["--model", "openai:m@http://127.0.0.1:9/v1", "--suite", "arithmetic", "--limit", "2"]
    proc = run("eval", *remote, "--decoding", "lqcd", "--out", str(tmp_path / "a"))
    one_line_error(proc, 2, "--decoding lqcd", "local model")
    vec = tmp_path / "v.safetensors"
    vec.write_bytes(b"x")
    proc = run("eval", *remote, "--steer", str(vec), "--multiplier", "1",
               "--out", str(tmp_path / "a"))
    one_line_error(proc, 2, "--steer")
    proc = run("eval", *MOCK, "--tokenizer", "smollm2", "--out", str(tmp_path / "a"))
    one_line_error(proc, 2, "--tokenizer", "openai:")
    assert not (tmp_path / "a").exists()


# 2. a backend failure that repeats stops the run with its cause ------------------------------
def test_all_trials_failing_stops_with_the_cause_and_counts(tmp_path: Path) -> None:
    proc = run("eval", "--model", "mock:flaky?fail=1", "--suite", "arithmetic", "--limit", "12",
               "--protocol", "reask", "--out", str(tmp_path / "run"), "--no-progress")
    one_line_error(proc, 1, "trials all failed with the same error", "mock item error")



def test_configuration_error_during_a_run_exits_2_before_any_trial_fails(tmp_path: Path) -> None:
    # a backend finding a configuration error mid-run (here with item errors around it) stops
    # the run: exit 2, one line, and no trial recorded as failed
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:flaky?fail=0.5&misconfigured=1", "--suite", "arithmetic",
               "--limit", "12", "--protocol", "reask", "--out", str(out), "--no-progress")
    one_line_error(proc, 2, "no chat template")
    assert not [r for r in read_samples(out / "samples.jsonl") if r.get("error")]
    assert not (out / "results.json").exists()


def test_item_errors_are_recorded_on_their_trials_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("eval", "--model", "mock:flaky?fail=0.3", "--suite", "arithmetic", "--limit", "20",
               "--protocol", "reask", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    records = read_samples(out / "samples.jsonl")
    failed = [r for r in records if r.get("error")]
    assert failed and len(failed) < len(records) == 20
    assert all("mock item error" in str(r["error"]) for r in failed)
    assert (out / "results.json").is_file() and (out / "report.html").is_file()

def test_wrong_key_model_or_url_stop_before_any_run_folder(tmp_path: Path) -> None:
    with server("--model", "mock:stubborn", "--served-model-name", "m",
                env={"SYCOLAB_API_KEY": "right"}) as (url, _):
        args = ["--suite", "arithmetic", "--limit", "3", "--no-progress"]
        proc = run("eval", "--model", f"openai:m@{url}", *args, cwd=tmp_path,
                   env={"OPENAI_API_KEY": "wrong"})
        one_line_error(proc, 1, "OPENAI_API_KEY", "401")
        proc = run("eval", "--model", f"openai:nope@{url}", *args, cwd=tmp_path,
                   env={"OPENAI_API_KEY": "right"})
        one_line_error(proc, 1, "not 'nope'")
        assert not (tmp_path / "runs").exists()  # probing left nothing behind
        proc = run("eval", "--model", f"openai:m@{url}", *args, cwd=tmp_path,
                   env={"OPENAI_API_KEY": "right"})
        assert proc.returncode == 0, proc.stderr
        assert len(list((tmp_path / "runs").iterdir())) == 1
        no_v1 = url.removesuffix("/v1")
        proc = run("eval", "--model", f"openai:m@{no_v1}", *args, cwd=tmp_path,
                   env={"OPENAI_API_KEY": "right"})
        one_line_error(proc, 1, "404")


# 3. every finished trial survives Ctrl-C -------------------------------------------------------
def test_sigint_keeps_finished_trials_and_resume_adds_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "--model", "mock:sycophant?delay=0.01", "--suite", "arithmetic",
            "--protocol", "pushback", "--protocol", "reask", "--limit", "200", "--out", str(out),
            "--no-progress"]
    # Ctrl-C as in a terminal: a runner started in the background (nohup, `cmd &` without job
    # control) passes SIGINT on as ignored, and Python then installs no KeyboardInterrupt handler
    proc = subprocess.Popen([*SYCOLAB, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    samples = out / "samples.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if samples.exists() and len(samples.read_bytes().splitlines()) >= 40:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before the test could interrupt it"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = [r["trial_id"] for r in read_samples(samples)]
    assert len(kept) >= 40 and len(kept) == len(set(kept)) < 400
    assert not (out / ".lock").exists()  # the interrupted run let go of its folder
    done = subprocess.run([*SYCOLAB, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{len(kept)} resumed" in done.stdout
    ids = [r["trial_id"] for r in read_samples(samples)]
    assert len(ids) == len(set(ids)) == 400 and set(kept) <= set(ids)


# 4. one run per folder ----------------------------------------------------------------------------
def test_a_second_run_on_a_locked_folder_exits_2_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    slow = ["eval", "--model", "mock:stubborn?delay=0.05", "--suite", "arithmetic", "--limit",
            "60", "--protocol", "reask", "--out", str(out), "--no-progress"]
    first = subprocess.Popen([*SYCOLAB, *slow], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out / ".lock").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = run(*slow)
        one_line_error(second, 2, "in use by another run", f"pid {first.pid}")
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    ids = [r["trial_id"] for r in read_samples(out / "samples.jsonl")]
    assert len(ids) == len(set(ids)) == 60


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                           "started": "2026-01-01 00:00:00"}))
    proc = run("eval", *MOCK, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "took over the lock" in proc.stderr and f"pid {dead.pid}" in proc.stderr


# 5. a vector for another model is refused --------------------------------------------------------
@pytest.mark.slow
def test_a_foreign_vector_is_refused_unless_allowed(tmp_path: Path) -> None:
    import torch

    from sycolab.mitigations.steering import SteeringVector

    vec = SteeringVector({15: torch.zeros(576)}, model="hf:someone/else", weights_hash="f" * 64)
    path = vec.save(tmp_path / "foreign.safetensors")
    base = ["eval", "--model", "smollm2", "--suite", "arithmetic", "--limit", "2", "--protocol",
            "suggest-incorrect", "--steer", str(path), "--multiplier", "1", "--no-progress"]
    proc = run(*base, "--out", str(tmp_path / "a"))
    one_line_error(proc, 2, "--steer", "hf:someone/else", "--allow-foreign-vector")
    proc = run(*base, "--allow-foreign-vector", "--out", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["hashed"]["interventions"]["steer"]["allow_foreign_vector"] is True


# 7. paths are checked before any model loads --------------------------------------------------
def test_bad_out_paths_exit_2_before_loading(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    started = time.perf_counter()
    for out, needle in ((afile / "run", "lies under the file"), (afile, "is a file"),
                        (Path("/proc/sycolab-run"), "kernel file system"),
                        (Path("/sys/x"), "kernel file system")):
        # smollm2 takes seconds to load: these must fail before it does
        proc = run("eval", "--model", "smollm2", "--suite", "arithmetic", "--limit", "2",
                   "--out", str(out))
        one_line_error(proc, 2, "--out", needle)
    assert time.perf_counter() - started < 60


# 8. local paths never detour to the Hub, and name the missing file -----------------------------
def test_local_paths_name_the_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    half = tmp_path / "half-adapter"
    half.mkdir()
    (half / "adapter_config.json").write_text("{}")
    base = ["eval", "--suite", "arithmetic", "--limit", "2", "--out", str(tmp_path / "o")]
    cases = [
        (["--model", f"hf:{empty}"], "config.json"),
        (["--model", "smollm2", "--adapter", str(empty)], "adapter_config.json"),
        (["--model", "smollm2", "--adapter", str(half)], "adapter_model.safetensors"),
        (["--model", "openai:m@http://127.0.0.1:9/v1", "--tokenizer", "./no-such-tokenizer"],
         "no such path"),
        (["--model", "hf:./no/such/model"], "no such path"),
    ]
    for extra, needle in cases:
        started = time.perf_counter()
        proc = run(*base, *extra, timeout=60)
        one_line_error(proc, 2, needle)
        assert time.perf_counter() - started < 20  # no Hub retries
