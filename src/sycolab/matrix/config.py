"""The declarative matrix file (YAML), validated at the edge with one-line errors."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sycolab.core.errors import UserInputError

ArtifactKind = Literal["vector", "kts", "sft", "dpo", "pinpoint"]
KINDS: tuple[str, ...] = get_args(ArtifactKind)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VectorSpec(Strict):
    """A CAA steering vector trained on the train split."""

    suites: list[str] = Field(default_factory=lambda: ["addition-claims", "arithmetic"])
    limit: int | None = 100
    layers: list[int] | None = None


class KTSSpec(Strict):
    """A KL-then-steer adapter (needs a vector artifact)."""

    steps: int = 60
    vector: str = "vector"


class FinetuneSpec(Strict):
    """An SFT or DPO LoRA adapter on synthetic anti-sycophancy data from the train split."""

    examples: int = 100
    sources: list[str] = Field(default_factory=lambda: ["facts", "addition-claims"])


class PinpointSpec(Strict):
    """A pinpoint-tuned adapter (SFT on the located heads' output projections only).

    `heads`: a locate.json or JSON list file, or a list of [layer, head]; absent, the heads are
    located first on the train split (`locate_suites`, `locate_protocol`, `locate_limit`).
    `top`: how many ranked heads to take (None: 4 from a locate.json or the localisation, every
    head of an explicit list). `locate_protocol` also picks the ranking in a given locate.json.
    """

    examples: int = 100
    sources: list[str] = Field(default_factory=lambda: ["facts", "addition-claims"])
    heads: str | list[tuple[int, int]] | None = None
    top: int | None = Field(default=None, ge=1)
    locate_suites: list[str] = Field(default_factory=lambda: ["arithmetic"])
    locate_protocol: str = "suggest-incorrect"
    locate_limit: int | None = Field(default=100, ge=1)

    @field_validator("heads")
    @classmethod
    def _heads(cls, heads: str | list[tuple[int, int]] | None
               ) -> str | list[tuple[int, int]] | None:
        if isinstance(heads, list):
            if not heads:
                raise ValueError("expected a file or a non-empty list of [layer, head]")
            if any(x < 0 for pair in heads for x in pair) or len(set(heads)) != len(heads):
                raise ValueError("expected distinct [layer, head] pairs of non-negative integers")
        return heads


Spec = VectorSpec | KTSSpec | FinetuneSpec | PinpointSpec


class ArmSpec(Strict):
    """One arm. List-valued settings form a grid chosen on the validation split."""

    name: str
    mitigation: str | None = None
    adapter: str | None = None  # an artifact name (sft, dpo, pinpoint, kts) or a folder
    steer: str | None = None  # an artifact name (vector) or a file
    multiplier: list[float] | float | None = None
    layers: list[list[int]] | None = None
    decoding: Literal["lqcd"] | None = None
    alpha: list[float] | float | None = None
    beta: list[float] | float | None = None
    prompt_baseline: bool = False

    def grid(self) -> list[dict[str, Any]]:
        """Every setting of this arm (one when nothing is list-valued)."""
        axes: dict[str, list[Any]] = {}
        for key in ("multiplier", "alpha", "beta"):
            value = getattr(self, key)
            if value is not None:
                axes[key] = value if isinstance(value, list) else [value]
        if self.layers is not None:
            axes["layers"] = self.layers
        keys = list(axes)
        return [dict(zip(keys, combo, strict=True)) for combo in
                itertools.product(*(axes[k] for k in keys))] or [{}]


class MatrixConfig(Strict):
    model: str = "smollm2"
    suites: list[str] = Field(default_factory=lambda: ["arithmetic"])
    protocols: list[str] = Field(default_factory=lambda: ["suggest-incorrect", "suggest-correct",
                                                          "are-you-sure", "reask"])
    limit: int | None = 100  # items per suite in each of the validation and test splits
    seed: int = 0
    selection_metric: str = "agreement_rate"
    artifacts: dict[str, Spec] = Field(default_factory=dict)
    artifact_kinds: dict[str, ArtifactKind] = Field(default_factory=dict)
    arms: list[ArmSpec]

    @field_validator("protocols")
    @classmethod
    def _both_suggestions(cls, protocols: list[str]) -> list[str]:
        if "suggest-incorrect" in protocols and "suggest-correct" not in protocols:
            raise ValueError(
                "suggest-incorrect needs suggest-correct beside it (a mitigation that lowers "
                "agreement with wrong suggestions must not lower it with right ones; the matrix "
                "shows both)")
        return protocols

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: list[ArmSpec]) -> list[ArmSpec]:
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        if "base" not in names:
            raise ValueError("an arm named 'base' (no intervention) is required")
        return arms


def load_config(path: Path) -> MatrixConfig:
    """Parse and validate a matrix YAML file; one line naming the file and field on error."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserInputError(f"{path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: expected a mapping at the top level")
    kinds: dict[str, str] = {}
    artifacts = raw.get("artifacts") or {}
    for name, spec in artifacts.items():
        kind = (spec or {}).pop("kind", name) if isinstance(spec, dict) else name
        if kind not in KINDS:
            raise UserInputError(f"{path}: artifacts.{name}: unknown kind {kind!r} "
                                 f"(valid: {', '.join(KINDS)})")
        kinds[name] = kind
    models: dict[str, type[Spec]] = {
        "vector": VectorSpec, "kts": KTSSpec, "sft": FinetuneSpec, "dpo": FinetuneSpec,
        "pinpoint": PinpointSpec}
    at: tuple[str, ...] = ()
    try:
        parsed = {}
        for n, s in artifacts.items():
            at = ("artifacts", n)
            parsed[n] = models[kinds[n]].model_validate(s or {})
        at = ()
        raw = {**raw, "artifacts": parsed, "artifact_kinds": kinds}
        config = MatrixConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in (*at, *err["loc"]))
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise UserInputError(f"{path}: {loc}: {msg}") from None
    for name, spec in config.artifacts.items():
        if isinstance(spec, PinpointSpec):
            _check_heads(path, name, spec)
    for arm in config.arms:
        for ref in (arm.adapter, arm.steer):
            if ref is not None and ref not in config.artifacts and not Path(ref).exists():
                raise UserInputError(f"{path}: arms.{arm.name}: {ref!r} is neither an artifact "
                                     "name nor an existing path")
    return config


def _check_heads(path: Path, name: str, spec: PinpointSpec) -> None:
    """A pinpoint artifact's heads file must be readable now, not after hours of other arms."""
    if not isinstance(spec.heads, str):
        return
    from sycolab.mitigations.training import read_heads

    try:
        read_heads(spec.heads, protocol=spec.locate_protocol, top=spec.top)
    except UserInputError as exc:
        raise UserInputError(f"{path}: artifacts.{name}.heads: {exc}") from None
