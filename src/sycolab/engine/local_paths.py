"""Local model, tokenizer and adapter folders: recognised as paths and checked file by file, so
nothing of a local path is ever sent to the Hugging Face Hub (and a mistake names the file)."""

from __future__ import annotations

from pathlib import Path

from sycolab.core.errors import flag_error

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def path_like(value: str) -> bool:
    """A local path rather than a hub id (``org/name``): it exists here, or is written as a
    path (``/``, ``./``, ``../``, ``~``, a trailing slash, a backslash, more than one ``/``)."""
    if Path(value).expanduser().exists():
        return True
    return (value.startswith(("/", "./", "../", "~", ".\\")) or value.endswith(("/", "\\"))
            or "\\" in value or value.count("/") > 1 or value in (".", ".."))


def _folder(value: str, flag: str, what: str) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise flag_error(flag, f"not a {what} folder (no such path)", value)
    if not path.is_dir():
        raise flag_error(flag, f"is a file, not a {what} folder", value)
    return path


def check_model_folder(value: str, flag: str = "--model") -> Path:
    """A local model folder with config.json and a tokenizer."""
    path = _folder(value, flag, "model")
    if not (path / "config.json").is_file():
        raise flag_error(flag, f"no config.json in {path} (not a model folder)", value)
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise flag_error(flag, "no tokenizer.json or tokenizer_config.json in "
                             f"{path}", value)
    return path


def check_tokenizer_folder(value: str, flag: str = "--tokenizer") -> Path:
    """A local tokenizer folder."""
    path = _folder(value, flag, "tokenizer")
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise flag_error(flag, "no tokenizer.json or tokenizer_config.json in "
                             f"{path}", value)
    return path


def check_adapter_folder(value: str, flag: str = "--adapter") -> Path:
    """A local peft adapter folder with its config and weights."""
    path = _folder(value, flag, "adapter")
    if not (path / "adapter_config.json").is_file():
        raise flag_error(flag, f"no adapter_config.json in {path} (not a peft "
                             "adapter folder)", value)
    if not any((path / f).is_file() for f in ADAPTER_WEIGHTS):
        raise flag_error(flag, f"no adapter_model.safetensors in {path}", value)
    return path
