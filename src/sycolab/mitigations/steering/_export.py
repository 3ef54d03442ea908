"""Export sycolab steering vectors to other runtimes' files and import them back.

Formats (layer l = the output of decoder block l, 0-based, in all of them):
- ``gguf``: llama.cpp's control vector (`--control-vector FILE`, `--control-vector-scaled FILE S`),
  added at every position; layer 0 is refused (llama.cpp cannot address block 0's output);
- ``repeng``: the same GGUF layout, as `repeng.ControlVector.export_gguf` writes it and
  `import_gguf` reads it (layer 0 allowed: repeng wraps block 0 like any other);
- ``steering-vectors``: the `steering_vectors.SteeringVector` fields, ``.pt`` (torch.save of
  ``{"layer_activations": {l: tensor}, "layer_type": "decoder_block"}``, so
  ``SteeringVector(**torch.load(FILE))``) or ``.safetensors`` (tensors
  ``layer_activations.<l>``, ``layer_type`` and sycolab metadata in the header).

The multiplier is baked in: the file holds ``multiplier * vector`` (a runtime's own scale
multiplies on top) and records it where the format has metadata; import divides it back out, so
an imported vector has sycolab's sign (sycophantic minus honest) and `--multiplier` means what it
means for a vector from `steer train`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.steering_hooks import file_sha256
from sycolab.mitigations.steering._gguf import (
    LAYER_CONVENTION,
    SIGN,
    read_control_vector,
    write_control_vector,
)
from sycolab.mitigations.steering._vector import SteeringVector

FORMATS = ("gguf", "repeng", "steering-vectors")
_SV_KEY = "layer_activations"


@dataclass(frozen=True)
class Exported:
    """What `export_vector` wrote."""

    out: Path
    format: str
    layers: list[int]
    multiplier: float
    model_hint: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "format": self.format, "layers": self.layers,
                "multiplier": self.multiplier, "model_hint": self.model_hint,
                "sign": SIGN, "layer_convention": LAYER_CONVENTION}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserInputError(f"unknown format (expected {', '.join(FORMATS)})",
                             param="format", value=fmt)
    return fmt


def model_hint_for(vector: SteeringVector) -> str:
    """The `controlvector.model_hint`: the HF `model_type` where the vector's model tells it
    (``llama`` for smollm2, config.json of a local ``hf:`` folder), else the model spec."""
    spec = vector.model
    if spec == "smollm2":
        return "llama"
    if spec.startswith("hf:"):
        config = Path(spec[3:]).expanduser() / "config.json"
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
        if isinstance(model_type, str) and model_type:
            return model_type
    return spec or "unknown"


def export_vector(
    vector: SteeringVector, fmt: str, out: str | Path, *, multiplier: float = 1.0,
    layers: list[int] | None = None, model_hint: str | None = None,
) -> Exported:
    """Write `multiplier * vector` (the chosen layers) to `out` in format `fmt`."""
    check_format(fmt)
    if multiplier == 0.0:
        raise UserInputError("must not be 0 (it would erase the vector)", param="multiplier",
                             value=multiplier)
    chosen = vector.layers if not layers else sorted(set(layers))
    missing = [layer for layer in chosen if layer not in vector.vectors]
    if missing:
        raise UserInputError(f"not in the vector (it holds layers "
                             f"{', '.join(map(str, vector.layers))})", param="layers",
                             value=" ".join(map(str, missing)))
    if fmt == "gguf" and 0 in chosen:
        raise UserInputError(
            "llama.cpp cannot steer the output of block 0 (it refuses direction.0); export the "
            "other layers with --layers", param="layers", value=0)
    p = Path(out).expanduser()
    if p.is_dir():
        raise UserInputError("is a folder; expected a file name", param="out", value=str(out))
    p.parent.mkdir(parents=True, exist_ok=True)
    scaled = {layer: vector.vectors[layer].detach().float().cpu() * float(multiplier)
              for layer in chosen}
    meta = {**vector.meta(), "layers": chosen, "exported_multiplier": float(multiplier)}
    hint = None
    if fmt in ("gguf", "repeng"):
        hint = model_hint or model_hint_for(vector)
        write_control_vector(p, scaled, model_hint=hint, multiplier=multiplier, metadata=meta)
    else:
        _write_steering_vectors(p, scaled, multiplier, meta)
    return Exported(p, fmt, chosen, float(multiplier), hint)


def _write_steering_vectors(p: Path, scaled: dict[int, Any], multiplier: float,
                            meta: dict[str, Any]) -> None:
    import torch

    if p.suffix in (".pt", ".pth"):
        payload = {_SV_KEY: dict(sorted(scaled.items())), "layer_type": "decoder_block"}
        tmp = p.with_name(p.name + ".tmp")
        try:
            torch.save(payload, str(tmp))
            tmp.replace(p)
        finally:
            tmp.unlink(missing_ok=True)
        return
    if p.suffix != ".safetensors":
        raise UserInputError("steering-vectors files are .pt or .safetensors", param="out",
                             value=str(p))
    from safetensors.torch import save

    blob = save({f"{_SV_KEY}.{k}": v.contiguous() for k, v in scaled.items()},
                metadata={"layer_type": "decoder_block", "sycolab.multiplier": repr(multiplier),
                          "sycolab": json.dumps(meta, ensure_ascii=False)})
    tmp = p.with_name(p.name + ".tmp")
    try:
        tmp.write_bytes(blob)
        tmp.replace(p)
    finally:
        tmp.unlink(missing_ok=True)


def _read_steering_vectors(p: Path) -> tuple[dict[int, Any], dict[str, Any]]:
    import torch

    if p.suffix in (".pt", ".pth"):
        try:
            raw = torch.load(str(p), weights_only=True, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - pickles of objects are refused, one line
            raise UserInputError(
                f"{p}: cannot read it with torch.load(weights_only=True) (a pickled "
                "SteeringVector object is not read; save {'layer_activations': "
                "sv.layer_activations, 'layer_type': sv.layer_type} instead): "
                f"{str(exc).splitlines()[0][:120]}") from None
        if isinstance(raw, dict) and _SV_KEY in raw:
            layer_type, acts = raw.get("layer_type", "decoder_block"), raw[_SV_KEY]
        else:
            layer_type, acts = "decoder_block", raw
        meta: dict[str, Any] = {}
    elif p.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(p), framework="pt") as f:
                header = f.metadata() or {}
                acts = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
        except Exception as exc:  # noqa: BLE001
            raise UserInputError(f"{p}: cannot read it: {str(exc)[:120]}") from None
        prefix = _SV_KEY + "."
        if not all(k.startswith(prefix) for k in acts):
            raise UserInputError(f"{p}: expected tensors named {prefix}<layer>")
        acts = {k[len(prefix):]: v for k, v in acts.items()}
        layer_type = header.get("layer_type", "decoder_block")
        meta = {}
        if "sycolab.multiplier" in header:
            meta["multiplier"] = float(header["sycolab.multiplier"])
        if "sycolab" in header:
            meta["sycolab"] = json.loads(header["sycolab"])
    else:
        raise UserInputError(f"{p}: steering-vectors files are .pt or .safetensors")
    if layer_type != "decoder_block":
        raise UserInputError(f"{p}: layer_type {layer_type!r} is not supported (sycolab steers "
                             "decoder block outputs: decoder_block)")
    if not isinstance(acts, dict) or not acts:
        raise UserInputError(f"{p}: expected a dict of layer -> tensor")
    vectors: dict[int, Any] = {}
    for key, value in acts.items():
        try:
            layer = int(key)
        except (TypeError, ValueError):
            raise UserInputError(f"{p}: layer key {key!r} is not an integer") from None
        t = torch.as_tensor(value).float()
        if t.dim() > 1 and t.shape[:-1].numel() == 1:
            t = t.reshape(-1)
        if t.dim() != 1:
            raise UserInputError(f"{p}: layer {layer} is not one vector (shape "
                                 f"{tuple(t.shape)})")
        vectors[layer] = t
    return vectors, meta


def import_vector(path: str | Path, fmt: str, *, model: str | None = None) -> SteeringVector:
    """A `SteeringVector` from another runtime's file (the baked multiplier divided out);
    `model` (a spec) records which weights it is for, with their hash where it is local."""
    check_format(fmt)
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserInputError(f"{path}: no such file")
    if fmt in ("gguf", "repeng"):
        vectors, meta = read_control_vector(p)
    else:
        vectors, meta = _read_steering_vectors(p)
    multiplier = float(meta.get("multiplier", 1.0)) or 1.0
    if multiplier != 1.0:
        vectors = {k: v / multiplier for k, v in vectors.items()}
    own: dict[str, Any] = meta.get("sycolab") or {}
    known = {"format", "method", "model", "weights_hash", "layers", "n_pairs", "data_hash",
             "pairing_keys", "norms", "exported_multiplier", "imported_from"}
    vector = SteeringVector(
        vectors=vectors,
        model=str(own.get("model") or meta.get("model_hint") or ""),
        weights_hash=str(own.get("weights_hash", "")),
        n_pairs=int(own.get("n_pairs", 0)),
        data_hash=str(own.get("data_hash", "")),
        pairing_keys=[list(k) for k in own.get("pairing_keys", [])],
        metadata={k: v for k, v in own.items() if k not in known},
    )
    vector.metadata["imported_from"] = {"format": fmt, "file": str(p),
                                        "sha256": file_sha256(p), "multiplier": multiplier}
    if model is not None:
        _claim_model(vector, model)
    return vector


def _claim_model(vector: SteeringVector, spec: str) -> None:
    """Record `spec` as the vector's model (and its weights hash where the weights are local),
    checking layers and size against a local folder's config.json."""
    from sycolab.engine.loading import folder_weights_hash
    from sycolab.engine.local_paths import check_model_folder, path_like
    from sycolab.engine.model_spec import parse_spec

    parsed = parse_spec(spec)
    vector.model, vector.weights_hash = spec, ""
    if parsed.kind == "smollm2":
        from sycolab.engine import smollm2

        vector.weights_hash = smollm2.weights_hash()
    elif parsed.kind == "hf" and parsed.target and path_like(parsed.target):
        folder = check_model_folder(parsed.target, "--model hf:")
        vector.weights_hash = folder_weights_hash(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        hidden, n_layers = config.get("hidden_size"), config.get("num_hidden_layers")
        for layer, v in sorted(vector.vectors.items()):
            if isinstance(n_layers, int) and layer >= n_layers:
                raise UserInputError(f"layer {layer} is beyond the model's layers "
                                     f"0..{n_layers - 1}", param="model", value=spec)
            if isinstance(hidden, int) and v.numel() != hidden:
                raise UserInputError(f"layer {layer} has size {v.numel()}, the model's hidden "
                                     f"size is {hidden}", param="model", value=spec)
    elif parsed.kind != "hf":
        raise UserInputError("expected smollm2 or hf:PATH_OR_ID", param="model", value=spec)
