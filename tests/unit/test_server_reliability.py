"""`sycolab serve` reliability: sampled requests are batched and stay reproducible per seed; the
CLI refuses bad ports, busy ports and keyless off-loopback hosts with one line, before loading.

The model is a tiny random Llama over a word-level tokenizer built in code (tests/toys.py); the
CLI tests run `python -m sycolab serve` with a model folder that does not exist, so any message
about the model would mean it was loaded before the check.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_serve_eval import free_port, server

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from toys import word_tokenizer

from sycolab.engine.hf_backend import HFBackend
from sycolab.server import (
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    ServedModel,
    create_app,
    is_loopback,
)

WORDS = [*"abcdefghijklmnopqrstuvwxyz", "hello", "world", "what", "is", "the", "answer", "?"]
SERVE = [sys.executable, "-m", "sycolab", "serve"]
MISSING_MODEL = "hf:/nonexistent/sycolab-test-model"


@pytest.fixture(scope="module")
def tiny() -> HFBackend:
    tok = word_tokenizer(WORDS)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        tie_word_embeddings=True, initializer_range=0.5, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id)
    model = transformers.LlamaForCausalLM(config).to(torch.float32).eval()
    return HFBackend(model, tok, spec="hf:tiny", weights_hash="tiny-hash")


@pytest.fixture
def served(tiny: HFBackend) -> ServedModel:
    if tiny.prefix_cache is not None:
        tiny.prefix_cache.clear()
    return ServedModel(tiny, name="tiny")


def chat(text: str, **kw: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "tiny", "messages": [{"role": "user", "content": text}], "max_tokens": 10,
         **kw})


def ok(result: Completion | Exception) -> Completion:
    assert isinstance(result, Completion), result
    return result


def shape(c: Completion) -> tuple[Any, ...]:
    lps = [(t.token_id, round(t.logprob, 4)) for t in c.tokens] if c.tokens is not None else None
    return c.text, c.finish_reason, c.completion_tokens, lps


TARGET = chat("what is the answer ?", seed=11, temperature=0.9, top_p=0.95)
OTHERS = [
    chat("hello", seed=1),
    chat("a b c d e f g h i j k l m n o p", seed=2, temperature=1.5),
    chat("x y z", temperature=0, logprobs=True, top_logprobs=2),
    chat("hello world", seed=3, top_p=0.5, max_tokens=4),
    chat("what", temperature=0),
    chat("q r s", seed=11, temperature=0.9, top_p=0.95, logprobs=True, top_logprobs=3),
    chat("the answer", seed=5, temperature=0.3),
]


# ------------------------------------------------------------------ batched sampling
def test_a_seeded_request_is_the_same_alone_and_in_any_batch(served: ServedModel) -> None:
    alone = [ok(served.run_chat([r])[0]) for r in [TARGET, *OTHERS]]
    assert alone[0].completion_tokens > 0 and sum(c.completion_tokens for c in alone) > 20
    for at in (0, 3, len(OTHERS)):
        batch = [*OTHERS[:at], TARGET, *OTHERS[at:]]
        got = [ok(c) for c in served.run_chat(batch)]
        assert shape(got[at]) == shape(alone[0]), at
        others = got[:at] + got[at + 1:]
        assert [shape(c) for c in others] == [shape(c) for c in alone[1:]]
    # The same seed and settings on another prompt is another row with its own generator.
    twice = [ok(c) for c in served.run_chat([TARGET, TARGET])]
    assert shape(twice[0]) == shape(twice[1]) == shape(alone[0])


def test_seeds_temperatures_and_top_p_are_per_row(served: ServedModel) -> None:
    hot = [chat("hello world", seed=s, temperature=2.0, max_tokens=8) for s in range(6)]
    texts = [ok(c).text for c in served.run_chat(hot)]
    assert len(set(texts)) > 1  # each row draws from its own generator
    unseeded = [ok(c).text for c in served.run_chat([chat("hello world", temperature=2.0,
                                                          max_tokens=8)] * 4)]
    assert len(set(unseeded)) > 1  # no seed: a fresh one per request
    # temperature -> 0 and top_p -> 0 both approach greedy, row by row
    greedy = ok(served.run_chat([chat("x y z", temperature=0)])[0])
    near = served.run_chat([chat("x y z", seed=4, temperature=1e-4),
                            chat("x y z", seed=5, top_p=1e-6),
                            chat("x y z", seed=6, temperature=2.0)])
    assert ok(near[0]).text == ok(near[1]).text == greedy.text


def test_greedy_with_logprobs_equals_plain_greedy(served: ServedModel) -> None:
    prompts = ["hello", "x y z", "a b c d e f g h i j", "what is the answer ?"]
    plain = [ok(c) for c in served.run_chat([chat(p, temperature=0) for p in prompts])]
    with_lp = [ok(c) for c in served.run_chat(
        [chat(p, temperature=0, logprobs=True, top_logprobs=1) for p in prompts])]
    for a, b in zip(plain, with_lp, strict=True):
        assert a.text == b.text  # (the plain path infers finish_reason from a re-count)
        assert b.tokens is not None
        for t in b.tokens:  # greedy: the chosen token is the likeliest
            assert t.top[0][0] == t.token_id


def test_sampled_completions_are_batched_and_reproducible(served: ServedModel) -> None:
    def body(prompt: Any, **kw: Any) -> CompletionRequest:
        return CompletionRequest.model_validate({"model": "tiny", "prompt": prompt,
                                                 "max_tokens": 6, "seed": 9, **kw})

    alone = served.run_completions([body("hello world")])[0]
    both = served.run_completions([body(["a b c", "hello world"], logprobs=1),
                                   body("hello world")])
    assert isinstance(alone, list) and isinstance(both[0], list) and isinstance(both[1], list)
    assert both[1][0].text == both[0][1].text == alone[0].text


def test_sampled_requests_share_forward_passes(served: ServedModel, tiny: HFBackend) -> None:
    sizes: list[int] = []

    def hook(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        assert ids is not None
        sizes.append(int(ids.shape[0]))

    reqs = [chat(f"hello {w}", seed=i, max_tokens=6) for i, w in enumerate("abcdefgh")]
    handle = tiny.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        results = served.run_chat(reqs)
    finally:
        handle.remove()
    assert all(isinstance(r, Completion) for r in results)
    # One at a time would be 8 rows x up to 6 steps, each a batch of one.
    assert max(sizes) >= len(reqs) // max(1, tiny.workers)
    assert len(sizes) <= 6 * max(1, tiny.workers)


def test_concurrent_sampled_http_requests_batch_and_match_alone(tiny: HFBackend) -> None:
    app = create_app(ServedModel(tiny, name="tiny"), max_batch=16)
    bodies = [{"model": "tiny", "messages": [{"role": "user", "content": f"hello {w}"}],
               "max_tokens": 6, "seed": i} for i, w in enumerate("abcdefgh")]

    async def post_all(group: list[dict[str, Any]]) -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rs = await asyncio.gather(*(c.post("/v1/chat/completions", json=b) for b in group))
        assert all(r.status_code == 200 for r in rs), [r.text for r in rs]
        return [r.json()["choices"][0]["message"]["content"] for r in rs]

    together = asyncio.run(post_all(bodies))
    assert app.state.batcher.largest_batch > 1
    alone = [asyncio.run(post_all([b]))[0] for b in bodies]
    assert together == alone
    health = TestClient(app).get("/health").json()
    assert health["batched_requests"] == 2 * len(bodies) > health["batches"]


# ------------------------------------------------------------------ the CLI's checks
def keyless_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SYCOLAB_API_KEY"}


def refused(*args: str) -> str:
    """Run `sycolab serve ARGS`; assert exit 2 with one line and nothing else; the line."""
    r = subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=120,
                       env=keyless_env(), check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "serving" not in r.stderr + r.stdout
    assert "--model" not in lines[0]  # refused before the model was looked at
    return lines[0]


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_out_of_range_ports_are_one_line(port: str) -> None:
    assert f"--port {port}" in refused("--model", MISSING_MODEL, "--port", port)


def test_a_busy_port_is_refused_before_loading() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused("--model", MISSING_MODEL, "--port", str(port))
    assert f"--port {port}" in line and "in use" in line


def test_off_loopback_without_a_key_is_refused() -> None:
    line = refused("--model", MISSING_MODEL, "--host", "0.0.0.0", "--port", str(free_port()))
    assert "--host 0.0.0.0" in line and "--api-key" in line and "--insecure-no-auth" in line


def test_loopback_names() -> None:
    for host in ("127.0.0.1", "127.4.5.6", "::1", "[::1]", "localhost", "LOCALHOST",
                 "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.x"):
        assert not is_loopback(host), host


@pytest.fixture
def insecure_server(monkeypatch: pytest.MonkeyPatch
                    ) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    monkeypatch.delenv("SYCOLAB_API_KEY", raising=False)
    with server("--model", "mock:stubborn", "--served-model-name", "m", "--host", "0.0.0.0",
                "--insecure-no-auth", wait=60) as (url, proc):
        yield url.removesuffix("/v1"), proc


def test_insecure_no_auth_serves_warns_and_records_it(
        insecure_server: tuple[str, subprocess.Popen[str]]) -> None:
    url, proc = insecure_server
    info = httpx.get(f"{url}/v1/models", timeout=10).json()["data"][0]["sycolab"]
    assert info["auth"] == "none (--insecure-no-auth)"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=10).status_code == 200
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert "serving m on http://0.0.0.0:" in err
    assert "WARNING: --insecure-no-auth" in err and "without an API key" in err
