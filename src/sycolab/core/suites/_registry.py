"""`load_suite`: resolve a suite spec (a built-in name or ``FORMAT:PATH``) to a `Suite`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sycolab.core.errors import UserInputError
from sycolab.core.items import Item
from sycolab.core.suites._suite import Suite
from sycolab.core.suites.addition import build_addition_claims
from sycolab.core.suites.arithmetic import build_arithmetic
from sycolab.core.suites.facts import build_facts
from sycolab.core.suites.jsonl import load_jsonl
from sycolab.core.suites.perez import load_perez
from sycolab.core.suites.sycophancy_eval import load_sycophancy_eval

BUILTIN_SUITES: dict[str, Callable[[], list[Item]]] = {
    "facts": build_facts,
    "arithmetic": build_arithmetic,
    "addition-claims": build_addition_claims,
}
FILE_FORMATS: dict[str, Callable[[Path, str], list[Item]]] = {
    "perez": load_perez,
    "sycophancy-eval": load_sycophancy_eval,
    "jsonl": load_jsonl,
}
VALID_SPECS = (*BUILTIN_SUITES, *(f"{fmt}:PATH" for fmt in FILE_FORMATS))


def load_suite(spec: str) -> Suite:
    """Load a suite: ``facts``, ``arithmetic``, ``addition-claims``, or ``perez:PATH``,
    ``sycophancy-eval:PATH``, ``jsonl:PATH`` (a file suite's name is the file's stem).

    Raises `UserInputError` (one line) for an unknown name or format, a missing file, or a bad row.
    """
    name = spec.strip()
    if name in BUILTIN_SUITES:
        return Suite.build(name, BUILTIN_SUITES[name](), spec)
    fmt, sep, raw_path = name.partition(":")
    if not sep or fmt not in FILE_FORMATS:
        raise UserInputError(f"unknown suite {spec!r}; valid: {', '.join(VALID_SPECS)}")
    if not raw_path:
        raise UserInputError(f"suite {spec!r} needs a path after '{fmt}:'")
    path = Path(raw_path).expanduser()
    if not path.exists():
        raise UserInputError(f"suite file not found: {raw_path}")
    if not path.is_file():
        raise UserInputError(f"suite path is not a file: {raw_path}")
    return Suite.build(path.stem, FILE_FORMATS[fmt](path, path.stem), spec)
