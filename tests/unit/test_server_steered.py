"""A steered `sycolab serve` scores options at chat level (`sycolab_choices`): the scores equal a
local `--steer` run, the vector's sign sets the direction a pushback prompt's options move, and a
benign prompt's next-token KL equals what the control layer (`measure_side_effects`) reports.
Token-level requests are steered too: echoed prompt log-probabilities equal the engine's own
steered score; a contrasting (`--decoding`) server refuses them.

Tiny random Llama + word-level tokenizer built in code (tests/unit/test_steering.py); the client
reaches the app through httpx's ASGI transport.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from test_steering import tiny_model, tiny_tokenizer

from sycolab.core.items import Message
from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt, SteeringConfig
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.loading import load_hf_backend
from sycolab.engine.openai_backend import SYCOLAB_CHOICES, OpenAIBackend
from sycolab.engine.steering_hooks import decoder_layers
from sycolab.evaluation.side_effects import measure_side_effects
from sycolab.mitigations.steering import SteeringVector
from sycolab.server import ServedModel, create_app

LAYER = 1
QUESTION = "Which is true ? t1 or f1 ?"
PUSHBACK = Prompt(messages=(
    Message("user", QUESTION),
    Message("assistant", "The answer is t1 ."),
    Message("user", "I think the answer is f1 , but not sure ."),
), prefill="The answer is")
SUGGESTED, OTHER = " f1", " t1"
BENIGN = Prompt(messages=(Message("system", "Be brief ."), Message("user", "hello world")))
REQUESTS = [
    ChoiceRequest(PUSHBACK, (SUGGESTED, OTHER)),
    ChoiceRequest(Prompt(messages=(Message("user", QUESTION),)), ("The answer is t1", "f1", "")),
    ChoiceRequest(Prompt(messages=(Message("system", "Be brief ."), Message("user", QUESTION)),
                         prefill="I think"), (" t1", " f1 or t1")),
    ChoiceRequest(Prompt(raw="Which is true ? t2 or f2 ? The answer is"), (" t2", " f2")),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tok = tiny_tokenizer()
    out = tmp_path_factory.mktemp("tiny-steered")
    tiny_model(tok, seed=5).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def plain(model_dir: Path) -> HFBackend:
    return load_hf_backend(f"hf:{model_dir}", device="cpu", dtype="float32", batch_size=4)


def pushback_gap_gradient(backend: HFBackend) -> Any:
    """d(logp(suggested) - logp(other)) / d(vector at LAYER), the vector added at exactly the
    positions the engine steers (assistant-turn tokens of the prompt and the continuation)."""
    ctx, conts = backend.encode_choice(ChoiceRequest(PUSHBACK, (SUGGESTED, OTHER)))
    ctx_mask = backend.prompt_steer_mask(PUSHBACK, ctx)
    assert 0 < sum(ctx_mask) < len(ctx)  # some prompt tokens are steered, the user's are not
    delta = torch.zeros(backend.model.config.hidden_size, requires_grad=True)

    def option_logprob(cont: list[int]) -> Any:
        mask = torch.tensor(ctx_mask + [1.0] * len(cont))[None, :, None]

        def hook(_: Any, __: Any, output: Any) -> Any:
            if isinstance(output, tuple):
                return (output[0] + mask * delta, *output[1:])
            return output + mask * delta

        handle = decoder_layers(backend.model)[LAYER].register_forward_hook(hook)
        try:
            logits = backend.model(input_ids=torch.tensor([ctx + cont]), use_cache=False).logits
        finally:
            handle.remove()
        lp = torch.log_softmax(logits[0].float(), dim=-1)
        return sum(lp[len(ctx) - 1 + j, t] for j, t in enumerate(cont))

    gap = option_logprob(conts[0]) - option_logprob(conts[1])
    gap.backward()
    assert delta.grad is not None
    return delta.grad.detach().clone()


@pytest.fixture(scope="module")
def vector_file(plain: HFBackend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vector whose positive sign points towards the suggested option (the gap's gradient)."""
    grad = pushback_gap_gradient(plain)
    path = tmp_path_factory.mktemp("vec") / "towards-suggestion.safetensors"
    SteeringVector({LAYER: grad / grad.norm()}, model="tiny").save(path)
    return path


def steered(model: Any, tok: Any, path: Path, multiplier: float) -> HFBackend:
    return HFBackend(model, tok, spec="hf:tiny", weights_hash="tiny",
                     steering=SteeringConfig(str(path), multiplier, None))


def served_client(backend: HFBackend, intervened: bool, **kw: Any) -> OpenAIBackend:
    app = create_app(ServedModel(backend, name="tiny", intervened=intervened), max_batch=8)
    return OpenAIBackend("tiny", "http://test/v1", transport=httpx.ASGITransport(app=app),
                         backoff=0.0, **kw)


def gap(scores: list[float | None]) -> float:
    a, b = scores
    assert a is not None and b is not None
    return a - b


def test_steered_server_scores_equal_a_local_steer_run(model_dir: Path, vector_file: Path,
                                                       plain: HFBackend) -> None:
    steer = SteeringConfig(str(vector_file), 4.0, None)
    server_side = load_hf_backend(f"hf:{model_dir}", device="cpu", dtype="float32",
                                  steering=steer)
    local = load_hf_backend(f"hf:{model_dir}", device="cpu", dtype="float32", steering=steer)
    expected = local.score(REQUESTS)
    unsteered = plain.score(REQUESTS)
    assert abs(gap(expected[0]) - gap(unsteered[0])) > 1e-2  # the steering does something
    remote = served_client(server_side, intervened=True, concurrency=4)
    with_tokenizer = served_client(server_side, intervened=True, tokenizer=plain.tokenizer,
                                   tokenizer_spec=f"hf:{model_dir}")
    for client in (remote, with_tokenizer):
        info = client.describe()
        assert info["choice_mechanism"] == SYCOLAB_CHOICES
        assert info["server"]["sycolab"]["steered"] is True
        assert info["continuation_tokenization"].endswith("(server side)")
        got = client.score(REQUESTS)
        for a, b in zip(expected, got, strict=True):
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                assert x is not None and y is not None and abs(x - y) < 1e-4, (a, b)


def test_the_vector_sign_sets_the_direction_of_a_pushback_prompts_options(
        plain: HFBackend, vector_file: Path) -> None:
    m = 2.0
    gaps = {}
    for mult in (-m, 0.0, m):
        backend = steered(plain.model, plain.tokenizer, vector_file, mult)
        gaps[mult] = gap(served_client(backend, intervened=True).score(REQUESTS[:1])[0])
    assert gaps[0.0] == pytest.approx(gap(plain.score(REQUESTS[:1])[0]), abs=1e-5)
    assert gaps[m] > gaps[0.0] + 1e-3  # + points towards the suggested option
    assert gaps[-m] < gaps[0.0] - 1e-3  # - away from it


def test_benign_next_token_kl_is_what_the_control_layer_reports(
        plain: HFBackend, vector_file: Path) -> None:
    backend = steered(plain.model, plain.tokenizer, vector_file, 4.0)
    body = {"model": "tiny", "messages": [{"role": m.role, "content": m.content}
                                          for m in BENIGN.messages],
            "sycolab_next_token_logprobs": True}
    mod = TestClient(create_app(ServedModel(backend, name="tiny", intervened=True)))
    ref = TestClient(create_app(ServedModel(plain, name="tiny")))
    p = mod.post("/v1/chat/completions", json=body).json()["next_token_logprobs"]
    q = ref.post("/v1/chat/completions", json=body).json()["next_token_logprobs"]
    assert len(p) == len(q) == len(plain.tokenizer)
    assert sum(math.exp(v) for v in p) == pytest.approx(1.0, abs=1e-6)
    kl = sum(math.exp(a) * (a - b) for a, b in zip(p, q, strict=True))
    _, rows = measure_side_effects(backend, [BENIGN])
    assert kl > 1e-6
    assert kl == pytest.approx(rows[0]["kl_last"], rel=1e-3, abs=1e-6)


def test_extension_routes_limits_and_advertisement(plain: HFBackend, vector_file: Path) -> None:
    backend = steered(plain.model, plain.tokenizer, vector_file, 1.0)
    c = TestClient(create_app(ServedModel(backend, name="tiny", intervened=True)))
    entry = c.get("/v1/models").json()["data"][0]["sycolab"]
    assert entry["extensions"] == ["sycolab_choices", "sycolab_next_token_logprobs"]
    assert entry["steered"] is True and entry["token_level"] is True
    msgs = [{"role": "user", "content": QUESTION}]
    ok = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs,
                                              "sycolab_choices": ["t1", "f1"]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["object"] == "sycolab.scores" and [ch["text"] for ch in body["choices"]] == [
        "t1", "f1"]
    assert all(ch["logprob"] < 0 for ch in body["choices"]) and body["sycolab"]["steered"]
    # token-level routes are served, steered (see test_steered_echo_equals_the_engines_score)
    echo = c.post("/v1/completions", json={"model": "tiny", "prompt": [4, 5, 6], "echo": True,
                                           "logprobs": 0, "max_tokens": 0})
    assert echo.status_code == 200
    ids = c.post("/v1/completions", json={"model": "tiny", "prompt": [4, 5, 6],
                                          "sycolab_choices": ["t1"]})
    assert ids.status_code == 400 and "turn structure" in ids.json()["error"]["message"]
    raw = c.post("/v1/completions", json={"model": "tiny", "prompt": "Which is true ?",
                                          "sycolab_choices": [" t1"]})
    assert raw.status_code == 200 and raw.json()["choices"][0]["logprob"] < 0
    many = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs,
                                                "sycolab_choices": ["t1"] * 65})
    assert many.status_code == 422
    stream = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs,
                                                  "sycolab_choices": ["t1"], "stream": True})
    assert stream.status_code == 400
    long = c.post("/v1/chat/completions", json={"model": "tiny", "messages": [
        {"role": "user", "content": "hello " * 9000}], "sycolab_choices": ["t1"]})
    assert long.status_code == 400
    wrong = c.post("/v1/chat/completions", json={"model": "x", "messages": msgs,
                                                 "sycolab_choices": ["t1"]})
    assert wrong.status_code == 404


ECHO_CONTEXT, ECHO_CONTINUATION = "Which is true ? t2 or f2 ? The answer is", " t2"


def echo_logprobs(model: ServedModel, text: str) -> dict[str, Any]:
    c = TestClient(create_app(model))
    answer = c.post("/v1/completions", json={"model": "tiny", "prompt": text, "echo": True,
                                             "logprobs": 1, "max_tokens": 0})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()["choices"][0]["logprobs"]
    return body


def test_steered_echo_equals_the_engines_score(plain: HFBackend, vector_file: Path) -> None:
    backend = steered(plain.model, plain.tokenizer, vector_file, 4.0)
    text = ECHO_CONTEXT + ECHO_CONTINUATION
    got = echo_logprobs(ServedModel(backend, name="tiny", intervened=True), text)
    ref = echo_logprobs(ServedModel(plain, name="tiny"), text)
    assert got["tokens"] == ref["tokens"] and got["token_logprobs"][0] is None
    assert max(abs(a - b) for a, b in zip(got["token_logprobs"][1:], ref["token_logprobs"][1:],
                                          strict=True)) > 1e-3  # the steering applies
    cont = [lp for lp, at in zip(got["token_logprobs"], got["text_offset"], strict=True)
            if at >= len(ECHO_CONTEXT)]
    assert cont  # the split lies at a token boundary
    [[expected]] = backend.score([ChoiceRequest(Prompt(raw=ECHO_CONTEXT), (ECHO_CONTINUATION,))])
    assert expected is not None and abs(sum(cont) - expected) < 1e-4
    [[unsteered]] = plain.score([ChoiceRequest(Prompt(raw=ECHO_CONTEXT), (ECHO_CONTINUATION,))])
    assert unsteered is not None and abs(unsteered - expected) > 1e-3


def test_steered_server_samples_and_returns_logprobs(plain: HFBackend, vector_file: Path
                                                     ) -> None:
    backend = steered(plain.model, plain.tokenizer, vector_file, 4.0)
    c = TestClient(create_app(ServedModel(backend, name="tiny", intervened=True)))
    msgs = [{"role": "user", "content": QUESTION}]
    for body in ({"temperature": 0.7, "seed": 3}, {"temperature": 0.0, "logprobs": True,
                                                   "top_logprobs": 2}):
        answer = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs,
                                                      "max_tokens": 4, **body})
        assert answer.status_code == 200, answer.text
    content = answer.json()["choices"][0]["logprobs"]["content"]
    assert content and all(t["logprob"] <= 0 and len(t["top_logprobs"]) == 2 for t in content)
    # greedy with log-probs decodes the same tokens as the engine's steered generation
    text = backend.generate([GenerateRequest(Prompt(messages=(Message("user", QUESTION),)), 4)])
    assert answer.json()["choices"][0]["message"]["content"] == text[0]


def test_a_contrasting_server_refuses_token_level_requests(plain: HFBackend) -> None:
    c = TestClient(create_app(ServedModel(plain, name="tiny", decoding="lqcd")))
    assert c.get("/v1/models").json()["data"][0]["sycolab"]["token_level"] is False
    echo = c.post("/v1/completions", json={"model": "tiny", "prompt": "Which is true ?",
                                           "echo": True, "logprobs": 0, "max_tokens": 0})
    assert echo.status_code == 501
    assert "--decoding lqcd" in echo.json()["error"]["message"]
