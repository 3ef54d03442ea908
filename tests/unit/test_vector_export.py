"""Exporting steering vectors to llama.cpp / repeng GGUF and steering-vectors files, and back."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from sycolab.core.errors import UserInputError
from sycolab.mitigations.steering import (
    SteeringVector,
    export_vector,
    import_vector,
)


def _vector() -> SteeringVector:
    gen = torch.Generator().manual_seed(0)
    return SteeringVector(
        {1: torch.randn(16, generator=gen), 4: torch.randn(16, generator=gen)},
        model="smollm2", weights_hash="w" * 64, n_pairs=7, data_hash="d" * 64,
        pairing_keys=[["arithmetic", "3", "suggest-incorrect"]], metadata={"seed": 3})


def _same(a: SteeringVector, b: SteeringVector, exact: bool = True) -> None:
    assert a.layers == b.layers
    for layer in a.layers:
        if exact:
            assert torch.equal(a.vectors[layer], b.vectors[layer])
        else:
            assert torch.allclose(a.vectors[layer], b.vectors[layer], rtol=1e-6, atol=1e-7)
    for attr in ("model", "weights_hash", "n_pairs", "data_hash", "pairing_keys"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert b.metadata["seed"] == 3


def test_gguf_reads_back_with_the_gguf_package(tmp_path: Path) -> None:
    v = _vector()
    out = tmp_path / "cv.gguf"
    export_vector(v, "gguf", out, multiplier=-2.0)
    reader = gguf.GGUFReader(str(out))
    assert reader.get_field("general.architecture").contents() == "controlvector"
    assert reader.get_field("controlvector.model_hint").contents() == "llama"
    assert reader.get_field("controlvector.layer_count").contents() == 2
    assert reader.get_field("sycolab.multiplier").contents() == -2.0
    tensors = {t.name: t for t in reader.tensors}
    assert sorted(tensors) == ["direction.1", "direction.4"]
    for layer in (1, 4):
        t = tensors[f"direction.{layer}"]
        assert t.tensor_type == gguf.GGMLQuantizationType.F32
        assert list(t.shape) == [16] and t.data.dtype.name == "float32"
        assert torch.equal(torch.from_numpy(t.data.copy()), -2.0 * v.vectors[layer])


@pytest.mark.parametrize(("fmt", "name", "multiplier"), [
    ("gguf", "cv.gguf", 1.0), ("gguf", "cv.gguf", -1.0), ("repeng", "r.gguf", 1.0),
    ("steering-vectors", "sv.safetensors", -1.0), ("steering-vectors", "sv.pt", 1.0),
    ("gguf", "cv.gguf", 2.5),
])
def test_round_trip(tmp_path: Path, fmt: str, name: str, multiplier: float) -> None:
    v = _vector()
    export_vector(v, fmt, tmp_path / name, multiplier=multiplier)
    back = import_vector(tmp_path / name, fmt)
    if name.endswith(".pt"):  # steering-vectors .pt holds the two fields only: no metadata
        assert back.layers == v.layers and back.model == ""
        assert all(torch.equal(back.vectors[k], v.vectors[k]) for k in v.layers)
    else:
        _same(v, back, exact=multiplier in (1.0, -1.0))
    assert back.metadata["imported_from"]["format"] == fmt
    saved = tmp_path / "again.safetensors"
    back.save(saved)
    assert SteeringVector.load(saved).layers == v.layers


def test_steering_vectors_pt_loads_as_its_dataclass_fields(tmp_path: Path) -> None:
    v = _vector()
    export_vector(v, "steering-vectors", tmp_path / "sv.pt", multiplier=-1)
    raw = torch.load(tmp_path / "sv.pt", weights_only=True)
    assert set(raw) == {"layer_activations", "layer_type"}
    assert raw["layer_type"] == "decoder_block" and sorted(raw["layer_activations"]) == [1, 4]
    assert torch.equal(raw["layer_activations"][4], -v.vectors[4])


def test_repeng_export_reads_like_repengs_import(tmp_path: Path) -> None:
    """repeng's import_gguf: model_hint string, direction.<int> tensors (layer 0 allowed)."""
    v = SteeringVector({0: torch.ones(4), 2: torch.full((4,), 2.0)}, model="hf:/nowhere")
    export_vector(v, "repeng", tmp_path / "r.gguf")
    reader = gguf.GGUFReader(str(tmp_path / "r.gguf"))
    hint = reader.get_field("controlvector.model_hint")
    assert str(bytes(hint.parts[-1]), encoding="utf-8") == "hf:/nowhere"
    dirs = {int(t.name.split(".")[1]): t.data for t in reader.tensors}
    assert sorted(dirs) == [0, 2] and float(dirs[2][0]) == 2.0


def test_bad_inputs_are_one_line(tmp_path: Path) -> None:
    v = _vector()
    with pytest.raises(UserInputError, match="unknown format"):
        export_vector(v, "onnx", tmp_path / "x")
    with pytest.raises(UserInputError, match="not in the vector"):
        export_vector(v, "gguf", tmp_path / "x.gguf", layers=[2])
    with pytest.raises(UserInputError, match="block 0"):
        export_vector(SteeringVector({0: torch.ones(4)}), "gguf", tmp_path / "x.gguf")
    with pytest.raises(UserInputError, match="must not be 0"):
        export_vector(v, "gguf", tmp_path / "x.gguf", multiplier=0)
    with pytest.raises(UserInputError, match="no such file"):
        import_vector(tmp_path / "missing.gguf", "gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf")
    with pytest.raises(UserInputError, match="not a GGUF"):
        import_vector(tmp_path / "junk.gguf", "gguf")
    w = gguf.GGUFWriter(str(tmp_path / "model.gguf"), "llama")
    w.add_tensor("token_embd.weight", torch.ones(4).numpy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UserInputError, match="not a control vector"):
        import_vector(tmp_path / "model.gguf", "gguf")
    torch.save({"layer_activations": {3: torch.ones(4)}, "layer_type": "mlp"}, tmp_path / "m.pt")
    with pytest.raises(UserInputError, match="layer_type 'mlp'"):
        import_vector(tmp_path / "m.pt", "steering-vectors")


def test_import_with_a_local_model_records_and_checks_it(tmp_path: Path) -> None:
    import json

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(
        {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 3}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    export_vector(_vector(), "gguf", tmp_path / "cv.gguf", layers=[1])
    back = import_vector(tmp_path / "cv.gguf", "gguf", model=f"hf:{folder}")
    assert back.model == f"hf:{folder}" and len(back.weights_hash) == 64
    assert back.weights_hash != "w" * 64
    export_vector(_vector(), "gguf", tmp_path / "cv4.gguf", layers=[4])
    with pytest.raises(UserInputError, match="layer 4 is beyond"):
        import_vector(tmp_path / "cv4.gguf", "gguf", model=f"hf:{folder}")
