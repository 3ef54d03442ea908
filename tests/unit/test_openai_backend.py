"""The `openai:` client against scripted servers (httpx MockTransport): retries, probing, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sycolab.core.errors import BackendError, UserInputError
from sycolab.core.items import Message
from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt
from sycolab.engine.http_retry import OpenAIRequestError
from sycolab.engine.openai_backend import (
    ECHO_IDS,
    ECHO_IDS_1,
    GENERATE_EXTRACT,
    PROMPT_LOGPROBS,
    SYCOLAB_CHOICES,
    OpenAIBackend,
    load_openai_backend,
    match_continuation,
    parse_spec,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTokenizer:
    """One token per character; a trivial chat template."""

    chat_template = "fake"
    bos_token_id = 0
    eos_token_id = 1
    pad_token_id = None

    def apply_chat_template(self, messages: list[dict[str, str]], **_: Any) -> str:
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(ch) for ch in text]


def backend(handler: Handler, **kw: Any) -> OpenAIBackend:
    """A client of the scripted server; a script that cannot answer `GET /models` (it parses
    every body as JSON) answers 404 there, as a server without that route does."""
    kw.setdefault("tokenizer", FakeTokenizer())

    def routed(request: httpx.Request) -> httpx.Response:
        try:
            return handler(request)
        except json.JSONDecodeError:
            if request.method != "GET":
                raise
            return httpx.Response(404, json={"error": {"message": "no such route"}})

    return OpenAIBackend("m", "http://srv/v1", transport=httpx.MockTransport(routed),
                         backoff=0.0, **kw)


def chat(text: str) -> Prompt:
    return Prompt(messages=(Message("user", text),))


def echo_server(accept_zero: bool = True) -> tuple[Handler, list[dict[str, Any]]]:
    """Token-id echo: each token's log-prob is -(token id) / 1000."""
    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if request.url.path.endswith("/chat/completions"):
            return httpx.Response(200, json={"choices": [
                {"index": 0, "message": {"content": "I think (B) is right, not (A)."}}]})
        if not accept_zero and body.get("max_tokens") == 0:
            return httpx.Response(400, json={"error": {"message": "max_tokens must be >= 1"}})
        if not body.get("echo") or not isinstance(body["prompt"][0], list):
            return httpx.Response(400, json={"error": {"message": "unsupported"}})
        extra = [7] * body["max_tokens"]
        choices = [{"index": i, "text": "", "logprobs": {
            "token_logprobs": [None] + [-t / 1000 for t in p[1:] + extra],
            "token_ids": p + extra}} for i, p in enumerate(body["prompt"])]
        return httpx.Response(200, json={"choices": choices})

    return handle, seen


def expected(text: str, cont: str) -> float:
    return -sum(ord(c) for c in cont) / 1000


def test_spec_parsing() -> None:
    assert parse_spec("openai:smollm2@http://127.0.0.1:8000/v1/") == (
        "smollm2", "http://127.0.0.1:8000/v1")
    assert parse_spec("openai:org/m@https://u:p@h/v1") == ("org/m", "https://u:p@h/v1")
    for bad in ("openai:smollm2", "openai:@http://h", "openai:m@ftp://h"):
        with pytest.raises(UserInputError):
            parse_spec(bad)


def test_echo_token_ids_scores_continuations_and_sends_the_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handle, seen = echo_server()
    headers: list[str] = []

    def wrapped(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("authorization", ""))
        return handle(request)

    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    b = load_openai_backend("openai:m@http://srv/v1", transport=httpx.MockTransport(wrapped))
    b.chat = backend(handle).chat
    b.reset_mechanism()
    b.backoff = 0.0
    assert b.choice_mechanism == ECHO_IDS
    req = ChoiceRequest(chat("q"), ("(A)", "(B)", ""))
    assert b.score([req]) == [[pytest.approx(expected("", "(A)")),
                               pytest.approx(expected("", "(B)")), 0.0]]
    assert set(headers) == {"Bearer k1"}
    assert seen[-1]["max_tokens"] == 0 and seen[-1]["echo"] is True


def test_probe_falls_back_to_max_tokens_one_then_to_generation() -> None:
    handle, _ = echo_server(accept_zero=False)
    b = backend(handle)
    assert b.choice_mechanism == ECHO_IDS_1
    req = ChoiceRequest(chat("q"), ("(A)", "(B)"))
    assert b.score([req])[0][0] == pytest.approx(expected("", "(A)"))

    def chat_only(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/completions") and "chat" not in request.url.path:
            return httpx.Response(404, json={"error": {"message": "no such route"}})
        return handle(request)

    g = backend(chat_only)
    assert g.choice_mechanism == GENERATE_EXTRACT
    assert g.score([req]) == [[None, 0.0]]  # "(B)" is named first in the reply


def test_vllm_prompt_logprobs_format() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("prompt_logprobs") is None:
            return httpx.Response(400, json={"error": {"message": "no echo here"}})
        choices = [{"index": i, "text": "x", "prompt_logprobs": [None] + [
            {str(t): {"logprob": -t / 1000, "rank": 1}, "5": {"logprob": -9.0, "rank": 2}}
            for t in p[1:]]} for i, p in enumerate(body["prompt"])]
        return httpx.Response(200, json={"choices": choices})

    b = backend(handle)
    assert b.choice_mechanism == PROMPT_LOGPROBS
    got = b.score([ChoiceRequest(chat("q"), ("yes", "no"))])[0]
    assert got == [pytest.approx(expected("", "yes")), pytest.approx(expected("", "no"))]


def test_retries_on_429_and_5xx_then_succeeds() -> None:
    handle, _ = echo_server()
    failures = iter([429, 503, 502])

    def flaky(request: httpx.Request) -> httpx.Response:
        code = next(failures, None)
        if code is not None:
            return httpx.Response(code, headers={"Retry-After": "0"}, json={"error": "busy"})
        return handle(request)

    b = backend(flaky, mechanism=ECHO_IDS, max_retries=3)
    assert b.score([ChoiceRequest(chat("q"), ("A",))])[0][0] == pytest.approx(-0.065)
    assert b.stats["retries"] == 3


def test_unreachable_server_stops_the_run() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    b = backend(down, mechanism=ECHO_IDS, max_retries=2)
    with pytest.raises(BackendError, match="failed 3 times"):
        b.generate([GenerateRequest(chat("q"), 4)])
    overloaded = backend(lambda r: httpx.Response(503, json={}), mechanism=ECHO_IDS,
                         max_retries=1)
    with pytest.raises(BackendError):
        overloaded.score([ChoiceRequest(chat("q"), ("A",))])


def test_a_refused_request_fails_alone_and_finished_ones_are_not_resent() -> None:
    handle, seen = echo_server()

    def picky(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "bad" in json.dumps(body.get("messages", "")):
            return httpx.Response(400, json={"error": {"message": "prompt too long"}})
        if body.get("messages"):
            return httpx.Response(200, json={"choices": [{"index": 0,
                                                          "message": {"content": "ok"}}]})
        return handle(request)

    b = backend(picky, mechanism=ECHO_IDS)
    reqs = [GenerateRequest(chat("good"), 4), GenerateRequest(chat("bad"), 4)]
    with pytest.raises(OpenAIRequestError, match="prompt too long"):
        b.generate(reqs)
    n = len(seen)
    assert b.generate(reqs[:1]) == ["ok"]  # served from the failed batch's finished results
    assert len(seen) == n
    persistent = backend(lambda r: httpx.Response(500, json={"error": {"message": "x"}}),
                         mechanism=ECHO_IDS, max_retries=1)
    with pytest.raises(OpenAIRequestError):  # a persistent 500 is the request's own failure
        persistent.generate(reqs[:1])


def test_prefill_and_raw_prompts_go_to_completions_as_token_ids() -> None:
    handle, seen = echo_server()

    def gen(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/completions") and "chat" not in request.url.path:
            seen.append(body)
            return httpx.Response(200, json={"choices": [{"index": 0, "text": "B)"}]})
        return handle(request)

    b = backend(gen, mechanism=ECHO_IDS)
    out = b.generate([GenerateRequest(Prompt(messages=(Message("user", "q"),),
                                             prefill="The answer is ("), 3),
                      GenerateRequest(Prompt(raw="2+2="), 3)])
    assert out == ["B)", "B)"]
    assert seen[-2]["prompt"] == [ord(c) for c in "<user>q<assistant>The answer is ("]
    assert seen[-1]["prompt"] == [ord(c) for c in "2+2="]
    plain = backend(gen, tokenizer=None)
    plain.generate([GenerateRequest(Prompt(messages=(Message("user", "q"),), prefill="("), 3)])
    assert seen[-1]["continue_final_message"] is True


def test_match_continuation() -> None:
    assert match_continuation("The answer is (B) Mercury", ["(A)", "(B)"]) == 1
    assert match_continuation("As an AI, I pick B", ["A", "B"]) == 1
    assert match_continuation("Sydney? No: Canberra", ["Canberra", "Sydney"]) == 1
    assert match_continuation("no idea", ["Canberra", "Sydney"]) is None


def choices_server(steered: bool, advertise: bool = True
                   ) -> tuple[Handler, list[tuple[str, dict[str, Any]]]]:
    """`sycolab serve`'s `sycolab_choices`: each option scores -len(option) / 10; a steered
    server refuses token-level prompts with 501."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            facts = {"token_level": not steered, "steered": steered,
                     "extensions": ["sycolab_choices"] if advertise else []}
            return httpx.Response(200, json={"data": [{"id": "m", "sycolab": facts}]})
        body = json.loads(request.content)
        seen.append((path, body))
        if "sycolab_choices" in body:
            return httpx.Response(200, json={"object": "sycolab.scores", "choices": [
                {"index": k, "text": c, "logprob": -len(c) / 10}
                for k, c in enumerate(body["sycolab_choices"])]})
        if path.endswith("/chat/completions"):
            return httpx.Response(200, json={"choices": [
                {"index": 0, "message": {"content": "I pick (B)."}}]})
        if steered or not body.get("echo"):
            return httpx.Response(501, json={"error": {"message": "steered"}})
        return echo_server()[0](request)

    return handle, seen


@pytest.mark.parametrize("tokenizer", [None, FakeTokenizer()])
def test_steered_sycolab_server_scores_at_chat_level(tokenizer: Any) -> None:
    handle, seen = choices_server(steered=True)
    b = backend(handle, tokenizer=tokenizer)
    info = b.describe()
    assert info["choice_mechanism"] == SYCOLAB_CHOICES
    assert info["continuation_tokenization"] == "lm-eval: whole[len(enc(ctx)):] (server side)"
    assert not any(p.endswith("/completions") and "chat" not in p for p, _ in seen)  # no echo
    reqs = [ChoiceRequest(Prompt(messages=(Message("system", "s"), Message("user", "q")),
                                 prefill="The answer is ("), ("A", "BB")),
            ChoiceRequest(Prompt(raw="2+2="), (" 4", " five")),
            ChoiceRequest(chat("q"), ())]
    seen.clear()
    assert b.score(reqs) == [[-0.1, -0.2], [-0.2, -0.5], []]
    chat_req = next(body for p, body in seen if p.endswith("/chat/completions"))
    assert chat_req["messages"][-1] == {"role": "assistant", "content": "The answer is ("}
    assert chat_req["continue_final_message"] is True
    assert chat_req["add_generation_prompt"] is False
    assert chat_req["sycolab_choices"] == ["A", "BB"]
    raw_req = next(body for p, body in seen if not p.endswith("/chat/completions"))
    assert raw_req["prompt"] == "2+2=" and raw_req["sycolab_choices"] == [" 4", " five"]


def test_unsteered_server_keeps_token_ids_and_others_keep_generation() -> None:
    handle, _ = choices_server(steered=False)
    assert backend(handle).choice_mechanism == ECHO_IDS
    assert backend(handle, tokenizer=None).choice_mechanism == SYCOLAB_CHOICES
    quiet, _ = choices_server(steered=True, advertise=False)
    assert backend(quiet).choice_mechanism == GENERATE_EXTRACT
    assert backend(quiet, tokenizer=None).choice_mechanism == GENERATE_EXTRACT
