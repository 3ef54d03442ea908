"""Control-vector GGUF files, as llama.cpp's `--control-vector` and repeng read and write them.

Layout (llama.cpp `common_control_vector_load_one`, repeng `ControlVector.export_gguf`):
``general.architecture = "controlvector"``, ``controlvector.model_hint`` (a string),
``controlvector.layer_count`` (uint32, the number of tensors) and one 1-D float32 tensor
``direction.<l>`` per layer. llama.cpp adds ``direction.<l>`` to the output of decoder block l
(0-based, after the block's last residual add) at every position; it refuses ``direction.0``
(block 0's output cannot be steered) and ignores layers at or beyond the model's layer count.
The loader reads no metadata; ours rides along under ``sycolab.*``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError

ARCH = "controlvector"
_DIRECTION = re.compile(r"^direction\.(\d+)$")
KEY_MULTIPLIER = "sycolab.multiplier"
KEY_METADATA = "sycolab.metadata"
KEY_SIGN = "sycolab.sign"
KEY_LAYERS = "sycolab.layer_convention"
SIGN = ("the stored tensor is multiplier * (h(sycophantic answer) - h(honest answer)): a positive "
        "scale pushes toward sycophancy, a negative one away from it")
LAYER_CONVENTION = ("direction.<l> is added to the output of decoder block l (0-based) at every "
                    "position; the same l as sycolab's layer l")


def write_control_vector(
    path: Path, vectors: dict[int, Any], *, model_hint: str, multiplier: float,
    metadata: dict[str, Any],
) -> None:
    """Write `vectors` (already scaled) as a control-vector GGUF, through a temporary file."""
    import gguf

    tmp = path.with_name(path.name + ".tmp")
    try:
        writer = gguf.GGUFWriter(str(tmp), ARCH)
        writer.add_string(f"{ARCH}.model_hint", model_hint)
        writer.add_uint32(f"{ARCH}.layer_count", len(vectors))
        writer.add_float32(KEY_MULTIPLIER, float(multiplier))
        writer.add_string(KEY_SIGN, SIGN)
        writer.add_string(KEY_LAYERS, LAYER_CONVENTION)
        writer.add_string(KEY_METADATA, json.dumps(metadata, ensure_ascii=False))
        for layer in sorted(vectors):
            array = vectors[layer].detach().float().cpu().contiguous().numpy()
            writer.add_tensor(f"direction.{layer}", array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _field(reader: Any, key: str) -> Any:
    field = reader.get_field(key)
    return None if field is None else field.contents()


def read_control_vector(path: Path) -> tuple[dict[int, Any], dict[str, Any]]:
    """The float32 vectors of a control-vector GGUF and its metadata (`model_hint`,
    `multiplier`, `sycolab` where present); one-line `UserInputError` for anything else."""
    import gguf
    import numpy as np
    import torch

    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        raise UserInputError(f"{path}: not a GGUF file ({str(exc).splitlines()[0][:120]})"
                             ) from None
    arch = _field(reader, "general.architecture")
    if arch != ARCH:
        raise UserInputError(f"{path}: general.architecture is {arch!r}, not {ARCH!r} "
                             "(not a control vector)")
    vectors: dict[int, Any] = {}
    for tensor in reader.tensors:
        m = _DIRECTION.match(tensor.name)
        if m is None:
            raise UserInputError(f"{path}: unexpected tensor {tensor.name!r} (expected "
                                 "direction.<layer>)")
        if tensor.tensor_type != gguf.GGMLQuantizationType.F32 or len(tensor.shape) != 1:
            raise UserInputError(f"{path}: {tensor.name} is not a 1-D float32 tensor")
        vectors[int(m.group(1))] = torch.from_numpy(np.array(tensor.data, dtype=np.float32))
    if not vectors:
        raise UserInputError(f"{path}: holds no direction.<layer> tensors")
    sizes = {v.numel() for v in vectors.values()}
    if len(sizes) != 1:
        raise UserInputError(f"{path}: direction tensors differ in size ({sorted(sizes)})")
    meta: dict[str, Any] = {"model_hint": _field(reader, f"{ARCH}.model_hint")}
    multiplier = _field(reader, KEY_MULTIPLIER)
    if multiplier is not None:
        meta["multiplier"] = float(multiplier)
    raw = _field(reader, KEY_METADATA)
    if raw is not None:
        try:
            meta["sycolab"] = json.loads(str(raw))
        except ValueError:
            raise UserInputError(f"{path}: {KEY_METADATA} is not JSON") from None
    return vectors, meta
