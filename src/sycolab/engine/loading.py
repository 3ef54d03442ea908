"""Loading local models, tokenizers and provenance: devices, dtypes, weight hashes."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import SteeringConfig
from sycolab.engine.local_paths import (
    check_adapter_folder,
    check_model_folder,
    check_tokenizer_folder,
    path_like,
)
from sycolab.engine.model_spec import parse_spec, spec_kind
from sycolab.engine.scheduler import BatchSize, backend_error
from sycolab.engine.scoring import torch_dtype

if TYPE_CHECKING:
    from sycolab.engine.hf_backend import HFBackend

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack")
_DTYPES = ("float32", "bfloat16", "float16")


def resolve_device(device: str) -> str:
    """`auto` = cuda when available, else cpu; validates explicit choices."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError("CUDA is not available on this machine", param="device", value=device)
    if device != "cpu" and not device.startswith("cuda"):
        raise UserInputError("expected cpu, cuda or auto", param="device", value=device)
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """`auto` = float32 on CPU (bf16 is extremely slow there), bfloat16 on CUDA."""
    if dtype == "auto":
        return "float32" if device == "cpu" else "bfloat16"
    if dtype not in _DTYPES:
        raise UserInputError("expected one of float32, bfloat16, float16, auto",
                             param="dtype", value=dtype)
    return dtype


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def folder_weights_hash(folder: str | os.PathLike[str]) -> str:
    """sha256 over a local model folder's weight files (names + per-file sha256, cached)."""
    from sycolab.engine.smollm2 import file_sha256

    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not files:
        files = sorted(p for p in root.glob("*.json") if p.is_file())
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.relative_to(root).as_posix()}:{file_sha256(p)}\n".encode())
    return digest.hexdigest()


def load_hf_backend(
    spec: str,
    *,
    adapter: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: BatchSize = "auto",
    trust_remote_code: bool = False,
    steering: SteeringConfig | None = None,
) -> HFBackend:
    """Load `smollm2` or `hf:PATH_OR_ID` (plus an optional peft adapter) as an `HFBackend`."""
    from sycolab.engine.hf_backend import HFBackend

    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    parsed = parse_spec(spec) if spec_kind(spec) is not None else None
    if parsed is not None and parsed.kind == "smollm2":
        from sycolab.engine import smollm2

        source = str(smollm2.ensure_dequantized())
        whash = smollm2.weights_hash()
        local = True
    elif parsed is not None and parsed.kind == "hf" and parsed.target:
        source = parsed.target
        local = path_like(source)
        if local:  # checked file by file here; never sent to the Hub
            source = str(check_model_folder(source, "--model hf:"))
            whash = folder_weights_hash(source)
        else:
            whash = ""
    else:
        raise UserInputError("expected smollm2 or hf:PATH_OR_ID here", param="model", value=spec)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, local_files_only=local)
        model: Any = AutoModelForCausalLM.from_pretrained(
            source, dtype=torch_dtype(dtype), trust_remote_code=trust_remote_code,
            local_files_only=local,
        )
    except Exception as exc:
        raise UserInputError(f"cannot load the model: {first_line(exc)}",
                             param="model", value=spec) from exc
    if not local:
        commit = getattr(model.config, "_commit_hash", None)
        whash = f"{source}@{commit or 'unknown'}"

    adapter_hash = None
    if adapter is not None:
        from peft import PeftModel

        apath = check_adapter_folder(adapter)
        try:
            with warnings.catch_warnings():
                # peft asks a transformers 5 model a deprecated question while loading; the
                # answer is unchanged, so the warning is noise for our users
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                        category=FutureWarning)
                model = PeftModel.from_pretrained(model, str(apath), local_files_only=True)
        except Exception as exc:
            raise UserInputError(
                f"cannot load the adapter: {first_line(exc)}",
                param="adapter", value=adapter) from exc
        adapter_hash = folder_weights_hash(apath)

    try:
        model = model.to(device)
    except Exception as exc:
        raise backend_error(exc) from exc
    model.eval()
    backend = HFBackend(
        model,
        tokenizer,
        spec=spec,
        weights_hash=whash,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        adapter=str(adapter) if adapter is not None else None,
        adapter_hash=adapter_hash,
        steering=steering,
    )
    backend.load_seconds = time.perf_counter() - start
    return backend


def load_tokenizer(spec: str) -> Any:
    """`smollm2`, `hf:PATH_OR_ID` or a plain path/id -> a transformers tokenizer."""
    from transformers import AutoTokenizer

    if spec_kind(spec) == "smollm2":
        from sycolab.engine import smollm2

        source = str(smollm2.ensure_dequantized())
    else:  # hf:PATH_OR_ID, or a plain path or id
        source = spec.removeprefix("hf:")
    local = path_like(source)
    if local:  # checked here; a local path never goes to the Hub
        source = str(check_tokenizer_folder(source))
    try:
        return AutoTokenizer.from_pretrained(source, local_files_only=local)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UserInputError(f"cannot load the tokenizer: {first}",
                             param="tokenizer", value=spec) from exc
