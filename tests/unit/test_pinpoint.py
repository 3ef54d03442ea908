"""Pinpoint tuning: the heads files it reads, and that training moves only the chosen heads'
columns of the attention output projections (tiny random Llama, no downloads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sycolab.core.errors import UserInputError
from sycolab.mitigations.training import TrainConfig, read_heads, train

LOCATE: dict[str, Any] = {
    "kind": "sycolab-locate", "version": 1, "model": {"spec": "x", "num_layers": 2},
    "protocols": {"suggest-incorrect": {"heads": [[1, 2], [0, 3], [1, 0], [0, 0]]},
                  "are-you-sure": {"heads": [[0, 1], [1, 1]]}}}


def _write(path: Path, doc: Any) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_read_heads_from_locate_json_and_plain_lists(tmp_path: Path) -> None:
    both = _write(tmp_path / "locate.json", LOCATE)
    assert read_heads(both, protocol="suggest-incorrect") == [(1, 2), (0, 3), (1, 0), (0, 0)]
    assert read_heads(both, protocol="suggest-incorrect", top=2) == [(1, 2), (0, 3)]
    assert read_heads(both, protocol="are-you-sure", top=9) == [(0, 1), (1, 1)]
    one = _write(tmp_path / "one.json", {**LOCATE, "protocols": {
        "are-you-sure": LOCATE["protocols"]["are-you-sure"]}})
    assert read_heads(one) == [(0, 1), (1, 1)]  # a single protocol needs no choice
    plain = _write(tmp_path / "heads.json", [[3, 1], [0, 2]])
    assert read_heads(plain) == [(3, 1), (0, 2)]
    assert read_heads(plain, top=1) == [(3, 1)]


@pytest.mark.parametrize(("doc", "kwargs", "needle"), [
    (LOCATE, {}, "several protocols (are-you-sure, suggest-incorrect); choose one"),
    (LOCATE, {"protocol": "reask"}, "no protocol 'reask' (it holds: are-you-sure, "),
    (LOCATE, {"protocol": "are-you-sure", "top": 0}, "top must be a positive integer"),
    ({"kind": "sycolab-locate"}, {}, "expected a locate.json"),
    ({"protocols": {"p": {"heads": []}}}, {}, "protocols.p.heads: expected a non-empty list"),
    ({"protocols": {"p": {}}}, {}, "protocols.p.heads: expected a non-empty list"),
    ([[1, 2, 3]], {}, "entry 0 is [1, 2, 3]; expected [layer, head]"),
    ([[1, -2]], {}, "entry 0 is [1, -2]"),
    ([[1, "2"]], {}, "entry 0 is [1, '2']"),
    ([[1, True]], {}, "entry 0 is [1, True]"),
    ([[1, 2], [1, 2]], {}, "head [1, 2] is listed twice"),
    ([], {}, "expected a non-empty list"),
    ("{not json", {}, "not a readable JSON file"),
    ("3", {}, "expected a locate.json"),
])
def test_bad_heads_files_are_one_line(tmp_path: Path, doc: Any, kwargs: dict[str, Any],
                                      needle: str) -> None:
    path = _write(tmp_path / "h.json", doc)
    with pytest.raises(UserInputError) as info:
        read_heads(path, **kwargs)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(UserInputError, match="heads file not found"):
        read_heads(tmp_path / "missing.json")


torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

import toys

HEAD_DIM = 8  # hidden 32 over 4 heads


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2-layer Llama (4 heads of 8 dims) saved as an HF folder, and a synth data folder."""
    from sycolab.mitigations.data import synthesize

    root = tmp_path_factory.mktemp("pin")
    tok = toys.smollm2_tokenizer(root / "tok")
    toys.tiny_llama(tok, layers=2, hidden=32).save_pretrained(root / "model")
    tok.save_pretrained(root / "model")
    synthesize(model="mock:stubborn", out=root / "data", progress=False, max_examples=16,
               max_heldout=8)
    return root / "model", root / "data"


def _merged_delta(model_dir: Path, adapter: Path) -> dict[str, Any]:
    """Per parameter: merged (base + adapter) minus base, for every parameter of the model."""
    import transformers
    from peft import PeftModel

    base = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    after = merged.state_dict()
    assert set(after) == set(before)
    return {k: after[k] - before[k] for k in before}


def test_only_the_chosen_heads_columns_move(setup: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, data = setup
    heads = [[1, 2], [1, 0], [0, 3]]
    res = train("pinpoint", data, model=f"hf:{model_dir}", out=tmp_path / "a", heads=heads,
                config=TrainConfig(max_steps=3, batch_size=2, grad_accum=1), progress=False)
    assert res.steps == 3
    pin = res.record["pinpoint"]
    assert pin["heads"] == heads and pin["head_dim"] == HEAD_DIM and pin["file"] is None
    assert pin["target_modules"] == ["model.layers.0.self_attn.o_proj",
                                     "model.layers.1.self_attn.o_proj"]
    assert res.record["config"]["learning_rate"] == 1e-2
    delta = _merged_delta(model_dir, tmp_path / "a")
    moved = {k for k, d in delta.items() if d.abs().max() > 0}
    assert moved == {"model.layers.0.self_attn.o_proj.weight",
                     "model.layers.1.self_attn.o_proj.weight"}  # nothing else changed
    for layer in (0, 1):
        d = delta[f"model.layers.{layer}.self_attn.o_proj.weight"]  # (out, in)
        chosen = {h for lay, h in heads if lay == layer}
        for head in range(4):
            cols = d[:, head * HEAD_DIM:(head + 1) * HEAD_DIM]
            if head in chosen:
                assert (cols.abs().sum(dim=0) > 0).all(), (layer, head)  # every column moved
            else:
                assert torch.count_nonzero(cols) == 0, (layer, head)  # exactly zero


def test_resume_keeps_the_mask(setup: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, data = setup
    cfg = TrainConfig(max_steps=2, batch_size=2, grad_accum=1, save_steps=1)
    kw: dict[str, Any] = {"model": f"hf:{model_dir}", "out": tmp_path / "a", "heads": [[0, 1]],
                          "progress": False}
    train("pinpoint", data, config=cfg, keep_checkpoints=True, **kw)
    res = train("pinpoint", data, config=TrainConfig(max_steps=4, batch_size=2, grad_accum=1,
                                                     save_steps=1), resume=True, **kw)
    assert res.steps == 4 and res.record["resumed"]
    d = _merged_delta(model_dir, tmp_path / "a")["model.layers.0.self_attn.o_proj.weight"]
    assert torch.count_nonzero(d[:, HEAD_DIM:2 * HEAD_DIM]) == HEAD_DIM * d.shape[0]
    assert torch.count_nonzero(d) == HEAD_DIM * d.shape[0]


@pytest.mark.parametrize(("method", "heads", "needle"), [
    ("pinpoint", [[2, 0]], "head [2, 0] is not in the model (2 layers 0..1, 4 heads 0..3"),
    ("pinpoint", [[0, 4]], "head [0, 4] is not in the model"),
    ("pinpoint", None, "pinpoint training needs the heads"),
    ("sft", [[0, 0]], "only pinpoint training takes heads"),
    ("pinpoint", [[0, 1], [0, 1]], "head [0, 1] is listed twice"),
])
def test_bad_heads_are_one_line(setup: tuple[Path, Path], tmp_path: Path, method: str,
                                heads: Any, needle: str) -> None:
    model_dir, data = setup
    with pytest.raises(UserInputError) as info:
        train(method, data, model=f"hf:{model_dir}", out=tmp_path / "a",  # type: ignore[arg-type]
              heads=heads, progress=False)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "a" / "adapter_config.json").exists()
