"""Localisation mechanics on a tiny random Llama (SmolLM2's tokenizer): the margins are the ones
choice scoring computes, cached patching equals full patching, attribution approximates real
patching, and locate.json / read_heads keep their contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import toys

from sycolab.core.errors import UserInputError
from sycolab.core.stats import bootstrap_column_means, bootstrap_ratio, spearman
from sycolab.core.suites import load_suite
from sycolab.engine.spec import load_backend
from sycolab.evaluation.locate import patching, read_heads, run_locate
from sycolab.evaluation.locate import prompt_pairs as pairs_mod
from sycolab.evaluation.plan import build_plan
from sycolab.evaluation.runner import Runner


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    tok = toys.smollm2_tokenizer(tmp_path_factory.mktemp("tok"))
    model = toys.tiny_llama(tok, layers=3, hidden=64)
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def backend(tiny: Path) -> Any:
    return load_backend(f"hf:{tiny}", dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def found(backend: Any) -> tuple[Any, Any]:
    plan = build_plan([load_suite("arithmetic")], ["suggest-incorrect"], scoring="choice",
                      split="train", limit=8)
    trials = pairs_mod.run_trials(Runner(backend, system_prompt=None, max_new_tokens=1),
                                  plan.trials)
    return trials, pairs_mod.describe_pairs(trials, backend, "suggest-incorrect", "all")


def test_margins_equal_choice_scoring(backend: Any, found: tuple[Any, Any]) -> None:
    trials, pairs = found
    assert pairs.pairs, pairs.left_out
    batch = patching.make_batch(pairs.pairs, backend.pad_id)
    comps = patching.components(backend.num_layers, backend.num_heads)
    clean, corrupt, _ = patching.attribute(backend, batch, comps)
    by_key = {f"{s.plan.item.suite}/{s.plan.item.item_id}": s for s, _ in trials}
    for i, pair in enumerate(pairs.pairs):
        lp = by_key[pair.key].logprobs
        assert clean[i].item() == pytest.approx(lp[0][pair.baseline] - lp[0][pair.suggested],
                                                abs=1e-4)
        assert corrupt[i].item() == pytest.approx(lp[-1][pair.baseline] - lp[-1][pair.suggested],
                                                  abs=1e-4)


def test_patched_region_is_the_assistant_turn(backend: Any, found: tuple[Any, Any]) -> None:
    pair = found[1].pairs[0]
    for seqs in (pair.clean, pair.corrupt):
        tail = backend.tokens.decode(seqs[0][len(seqs[0]) - pair.region[0]:])
        assert tail.startswith("<|im_start|>assistant\n")
    assert pair.clean[0][-pair.region[0]:] == pair.corrupt[0][-pair.region[0]:]


def _full_patch(backend: Any, batch: Any, comps: list[Any]) -> Any:
    """Reference: every patched run recomputes the whole sequence."""
    points = sorted({f"blocks.{c.layer}.mlp" if c.head is None else f"blocks.{c.layer}.attn.heads"
                     for c in comps})
    _, clean_acts = patching.capture(backend, batch.clean, points, batch)
    outs = []
    for c in comps:
        point = f"blocks.{c.layer}.mlp" if c.head is None else f"blocks.{c.layer}.attn.heads"
        clean = clean_acts[point]

        def swap(act: Any, c: Any = c, clean: Any = clean) -> Any:
            new = act.clone()
            tail = new[:, -batch.m:]
            if c.head is None:
                tail[batch.region] = clean[batch.region]
            else:
                own = tail[:, :, c.head]
                own[batch.region] = clean[:, :, c.head][batch.region]
            return new

        with torch.inference_mode(), backend.hooked(point, swap):
            ids, mask, pos = batch.corrupt
            logits = backend.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                   logits_to_keep=batch.m).logits
            lp = torch.log_softmax(logits.float(), -1)
            tok = torch.gather(lp, 2, batch.targets[:, :, None])[:, :, 0]
            outs.append(((tok * batch.reads).sum(-1) * batch.sign).view(-1, 2).sum(-1))
    return torch.stack(outs, 1).double()


def test_cached_patching_equals_full_patching_and_tracks_attribution(
        backend: Any, found: tuple[Any, Any]) -> None:
    pairs = found[1].pairs
    batch = patching.make_batch(pairs, backend.pad_id)
    comps = patching.components(backend.num_layers, backend.num_heads)
    fast = patching.patch(backend, batch, comps)
    assert torch.allclose(fast, _full_patch(backend, batch, comps), atol=1e-4)
    _, corrupt, att = patching.attribute(backend, batch, comps)
    effect = (fast - corrupt[:, None]).mean(0).numpy()
    rho = spearman(att.mean(0).numpy(), effect)
    assert rho is not None and rho > 0.9, rho  # a near-linear tiny model: first order is close


def test_locate_document_contract(tiny: Path, tmp_path: Path) -> None:
    doc = run_locate(f"hf:{tiny}", suites=["arithmetic"], protocols=["suggest-incorrect"],
                     limit=8, trials="all", verify_top=5, progress=False, out=tmp_path,
                     bootstrap_b=200)
    saved = json.loads((tmp_path / "locate.json").read_text())
    assert saved["kind"] == "sycolab-locate" and saved["version"] == 1
    block = saved["protocols"]["suggest-incorrect"]
    n_comp = 3 * (4 + 1)
    assert len(block["components"]) == n_comp
    assert sorted(c["attribution_rank"] for c in block["components"]) == list(range(1, n_comp + 1))
    verified = [c for c in block["components"] if c["patching"] is not None]
    assert len(verified) == 5 == block["rank_agreement"]["n"]
    assert [c["patching_rank"] for c in block["components"][:5]] == [1, 2, 3, 4, 5]
    for c in block["components"]:
        a = c["attribution"]
        assert a["n"] == block["n_used"] and a["ci_low"] <= a["value"] <= a["ci_high"]
    assert len(block["heads"]) == 3 * 4
    first_head = next(c for c in block["components"] if c["kind"] == "head")
    assert block["heads"][0] == [first_head["layer"], first_head["head"]]
    assert read_heads(tmp_path / "locate.json", top=2) == [tuple(h) for h in block["heads"][:2]]
    assert doc["protocols"]["suggest-incorrect"]["n_used"] == block["n_used"]


def test_read_heads_list_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "heads.json"
    good.write_text("[[3, 1], [0, 2]]")
    assert read_heads(good) == [(3, 1), (0, 2)]
    assert read_heads(good, top=1) == [(3, 1)]
    for text, expect in (("[[1]]", "entry 0"), ('{"a": 1}', "expected a locate.json"),
                         ("nope", "JSON"), ("[]", "non-empty"), ("[[1, -2]]", "entry 0"),
                         ("[[3, 1], [3, 1]]", "listed twice")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(UserInputError, match=expect):
            read_heads(bad)
    with pytest.raises(UserInputError, match="not found"):
        read_heads(tmp_path / "missing.json")
    two = tmp_path / "two.json"
    two.write_text(json.dumps({"kind": "sycolab-locate", "protocols": {
        "a": {"heads": [[0, 0]]}, "b": {"heads": [[1, 1]]}}}))
    with pytest.raises(UserInputError, match="choose one"):
        read_heads(two)
    assert read_heads(two, protocol="b") == [(1, 1)]


def test_bad_inputs_are_one_line_errors(tiny: Path) -> None:
    with pytest.raises(UserInputError, match="local transformers model"):
        run_locate("mock:sycophant", suites=["arithmetic"], limit=2, progress=False)
    with pytest.raises(UserInputError, match="trials"):
        run_locate(f"hf:{tiny}", suites=["arithmetic"], trials="some", progress=False)
    with pytest.raises(UserInputError, match="no trial to localise"):
        run_locate(f"hf:{tiny}", suites=["arithmetic"], protocols=["reask"], limit=3,
                   progress=False)


def test_column_bootstrap_matches_the_ratio_bootstrap() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(15, 3))
    ids = [str(i) for i in range(15)]
    low, high = bootstrap_column_means(ids, values, b=500, seed=3)
    for j in range(3):
        ref = bootstrap_ratio(ids, values[:, j], np.ones(15), b=500, seed=3)
        assert low[j] == pytest.approx(ref.ci_low) and high[j] == pytest.approx(ref.ci_high)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1], [0, 1]) is None


def test_an_interrupted_locate_resumes_from_its_finished_chunks(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs: dict[str, Any] = {"suites": ["arithmetic"], "protocols": ["suggest-incorrect"],
                              "limit": 8, "trials": "all", "verify_top": 3, "chunk": 2,
                              "progress": False, "bootstrap_b": 100}
    fresh = run_locate(f"hf:{tiny}", out=tmp_path / "fresh", **kwargs)
    real = patching.patch

    def interrupted(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(patching, "patch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_locate(f"hf:{tiny}", out=tmp_path / "cut", **kwargs)
    assert any((tmp_path / "cut" / "partial").rglob("attribution-*.npz"))
    monkeypatch.setattr(patching, "patch", real)
    resumed = run_locate(f"hf:{tiny}", out=tmp_path / "cut", **kwargs)
    block, again = fresh["protocols"]["suggest-incorrect"], resumed["protocols"][
        "suggest-incorrect"]
    n_chunks = -(-block["n_used"] // 2)
    assert again["resumed_chunks"] == n_chunks and block["resumed_chunks"] == 0
    assert again["components"] == block["components"]
    assert not (tmp_path / "cut" / "partial").exists()
