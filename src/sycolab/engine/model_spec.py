"""The text of a model spec (``smollm2``, ``hf:PATH_OR_ID``, ``openai:MODEL@URL``,
``mock:NAME``) parsed once: its kind and target. Loading lives in `engine.spec`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sycolab.core.errors import flag_error

SPEC_FORMS = "smollm2, hf:PATH_OR_ID, openai:MODEL@BASE_URL, mock:NAME[?k=v]"
SpecKind = Literal["smollm2", "hf", "openai", "mock"]
PREFIXED: tuple[SpecKind, ...] = ("hf", "openai", "mock")  # written KIND:TARGET
LOCAL_KINDS: frozenset[SpecKind] = frozenset({"smollm2", "hf"})


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec: its kind, what follows ``KIND:`` (empty for smollm2) and the text."""

    kind: SpecKind
    target: str
    text: str

    @property
    def local(self) -> bool:
        """Whether the model runs in this process (smollm2 or hf:)."""
        return self.kind in LOCAL_KINDS


def _parse(text: str) -> ModelSpec | None:
    if text == "smollm2":
        return ModelSpec("smollm2", "", text)
    kind, sep, rest = text.partition(":")
    if not sep or kind not in PREFIXED:
        return None
    return ModelSpec(kind, rest, text)


def parse_spec(text: str, flag: str = "--model") -> ModelSpec:
    """The kind and target of a spec; one-line `UserInputError` for a spec of no known form."""
    parsed = _parse(text)
    if parsed is None:
        raise flag_error(flag, f"unknown model spec {text!r} (valid forms: {SPEC_FORMS})")
    return parsed


def spec_kind(text: str) -> SpecKind | None:
    """The kind of a spec, or None for a spec of no known form (never raises)."""
    parsed = _parse(text)
    return None if parsed is None else parsed.kind


def is_local(text: str) -> bool:
    """Whether `text` names a model that runs in this process (smollm2 or hf:...)."""
    parsed = _parse(text)
    return parsed is not None and parsed.local
