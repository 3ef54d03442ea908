"""The OpenAI-compatible server on scripted backends (no model): routes, auth, limits, batching."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Progress
from sycolab.engine.mock import MockBackend
from sycolab.server import ServedModel, ServerLimits, create_app

KEY = "s3cret"


class EchoBackend(Backend):
    """Replies with the last user message; 'boom' raises; records batch sizes."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def score(self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
              ) -> list[list[float | None]]:
        raise NotImplementedError

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None
                 ) -> list[str]:
        self.batches.append(len(requests))
        time.sleep(self.delay)
        out = []
        for r in requests:
            text = r.prompt.messages[-1].content if r.prompt.messages else (r.prompt.raw or "")
            if "boom" in text:
                raise ValueError("boom")
            out.append(f"you said: {text}{r.prompt.prefill}")
        return out

    def describe(self) -> dict[str, Any]:
        return {"spec": "echo", "weights_hash": "echo-hash"}


def chat_body(text: str, **kw: Any) -> dict[str, Any]:
    return {"model": "echo", "messages": [{"role": "user", "content": text}], "temperature": 0,
            **kw}


@pytest.fixture
def backend() -> EchoBackend:
    return EchoBackend()


@pytest.fixture
def client(backend: EchoBackend) -> TestClient:
    app = create_app(ServedModel(backend, name="echo", limits=ServerLimits(max_new_tokens=64)),
                     api_key=KEY, max_body_bytes=4096)
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"})


def test_health_is_open_and_everything_else_needs_the_key(client: TestClient) -> None:
    bare = TestClient(client.app)
    assert bare.get("/health").json()["status"] == "ok"
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"),
                         ("POST", "/v1/completions")):
        r = bare.request(method, path, json=chat_body("hi"))
        assert r.status_code == 401, path
        assert r.json()["error"]["type"] == "authentication_error"
    wrong = bare.get("/v1/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    models = client.get("/v1/models").json()
    assert models["data"][0]["id"] == "echo"
    assert models["data"][0]["sycolab"]["weights_hash"] == "echo-hash"


def test_chat_completion_and_stream(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=chat_body("hello", stop=["said"]))
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "you "}
    assert body["choices"][0]["finish_reason"] == "stop"
    full = client.post("/v1/chat/completions", json=chat_body("hello")).json()
    assert full["choices"][0]["message"]["content"] == "you said: hello"
    with client.stream("POST", "/v1/chat/completions",
                       json=chat_body("hello", stream=True)) as s:
        lines = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "you said: hello"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_prefill_through_continue_final_message(client: TestClient) -> None:
    body = chat_body("q", continue_final_message=True, add_generation_prompt=False)
    body["messages"].append({"role": "assistant", "content": "The answer is ("})
    r = client.post("/v1/chat/completions", json=body)
    assert r.json()["choices"][0]["message"]["content"] == "you said: qThe answer is ("


def test_bad_requests_get_clear_4xx_and_the_server_keeps_serving(client: TestClient) -> None:
    h = {"Content-Type": "application/json"}
    bad_json = client.post("/v1/chat/completions", content=b"{not json", headers=h)
    assert bad_json.status_code == 400
    assert "JSON" in bad_json.json()["error"]["message"]
    missing = client.post("/v1/chat/completions", json={"model": "echo"})
    assert missing.status_code == 422 and "messages" in missing.json()["error"]["message"]
    big = client.post("/v1/chat/completions", json=chat_body("x" * 10_000))
    assert big.status_code == 413
    too_many = client.post("/v1/chat/completions", json=chat_body("hi", max_tokens=100_000))
    assert too_many.status_code == 400 and "max_tokens" in too_many.json()["error"]["message"]
    other = client.post("/v1/chat/completions", json={**chat_body("hi"), "model": "gpt-9"})
    assert other.status_code == 404
    crash = client.post("/v1/chat/completions", json=chat_body("boom"))
    assert crash.status_code == 500 and "boom" in crash.json()["error"]["message"]
    ok = client.post("/v1/chat/completions", json=chat_body("still there?"))
    assert ok.status_code == 200


def test_chunked_oversized_body_is_413(client: TestClient) -> None:
    def gen() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    r = client.post("/v1/completions", content=gen(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_token_level_features_are_refused_without_a_local_model(client: TestClient) -> None:
    r = client.post("/v1/completions", json={"model": "echo", "prompt": "hi", "echo": True,
                                             "logprobs": 1, "max_tokens": 0})
    assert r.status_code == 501
    plain = client.post("/v1/completions", json={"model": "echo", "prompt": "hi",
                                                 "temperature": 0, "max_tokens": 5})
    assert plain.json()["choices"][0]["text"] == "you said: hi"
    assert client.get("/v1/models").json()["data"][0]["sycolab"]["extensions"] == []
    scores = client.post("/v1/chat/completions", json=chat_body("hi", sycolab_choices=["a"]))
    assert scores.status_code == 501 and "sycolab_choices" in scores.json()["error"]["message"]


def test_concurrent_requests_are_batched_and_a_bad_one_fails_alone() -> None:
    backend = EchoBackend(delay=0.05)
    app = create_app(ServedModel(backend, name="echo"), max_batch=16)

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            texts = [f"q{i}" if i != 5 else "boom" for i in range(12)]
            return list(await asyncio.gather(*(
                c.post("/v1/chat/completions", json=chat_body(t)) for t in texts)))

    responses = asyncio.run(main())
    codes = [r.status_code for r in responses]
    assert codes.count(500) == 1 and codes[5] == 500 and codes.count(200) == 11
    for i, r in enumerate(responses):
        if i != 5:
            assert r.json()["choices"][0]["message"]["content"] == f"you said: q{i}"
    assert max(backend.batches) > 1  # served together, then re-run one by one after the failure


def test_mock_models_serve_too() -> None:
    app = create_app(ServedModel(MockBackend("mock:always?answer=Paris"), name="m"))
    c = TestClient(app)
    r = c.post("/v1/chat/completions", json={**chat_body("capital?"), "model": "m"})
    assert r.json()["choices"][0]["message"]["content"] == "The answer is Paris."
