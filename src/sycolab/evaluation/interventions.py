"""Resolve and record a run's interventions: prompt presets, steering and LQCD decoding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, flag_error
from sycolab.core.prompt_presets import PromptPreset, get_preset
from sycolab.engine.base import SteeringConfig
from sycolab.evaluation.plan import Plan

DECODINGS = ("lqcd",)
LQCD_DEFAULTS = (1.0, 0.1)
TRAINING_RECORD = "sycolab_training.json"


@dataclass(frozen=True)
class Interventions:
    """What modifies the model's behaviour in a run (each enters the config hash)."""

    preset: PromptPreset | None = None
    steering: SteeringConfig | None = None
    steer_hash: str | None = None
    lqcd: tuple[float, float] | None = None

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.preset, self.steering, self.lqcd))

    def decoding_record(self) -> dict[str, Any] | None:
        if self.lqcd is None:
            return None
        return {"name": "lqcd", "alpha": self.lqcd[0], "beta": self.lqcd[1]}

    def interventions_record(self) -> dict[str, Any] | None:
        record: dict[str, Any] = {}
        if self.preset is not None:
            record["mitigation"] = self.preset.describe()
        if self.steering is not None:
            layers = list(self.steering.layers) if self.steering.layers is not None else None
            record["steer"] = {"file": Path(self.steering.path).name, "sha256": self.steer_hash,
                               "multiplier": self.steering.multiplier, "layers": layers}
            if self.steering.allow_foreign:
                record["steer"]["allow_foreign_vector"] = True
        return record or None


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def resolve_interventions(
    *,
    mitigation: str | None,
    steer: str | None,
    multiplier: float | None,
    layers: Sequence[int] | None,
    decoding: str | None,
    alpha: float | None,
    beta: float | None,
    allow_foreign_vector: bool = False,
) -> Interventions:
    """Validate the intervention flags together; one-line errors name the flag."""
    if allow_foreign_vector and steer is None:
        raise UserInputError("only meaningful with --steer FILE", param="allow_foreign_vector")
    preset = get_preset(mitigation) if mitigation is not None else None
    steering = None
    steer_hash = None
    if steer is None:
        if multiplier is not None or layers:
            flag = "--multiplier" if multiplier is not None else "--layers"
            raise flag_error(flag, "only meaningful with --steer FILE")
    else:
        path = Path(steer)
        if not path.is_file():
            raise UserInputError(f"file not found: {steer}", param="steer")
        if multiplier is None:
            raise UserInputError("required with --steer (e.g. --multiplier -1)", param="multiplier")
        steering = SteeringConfig(str(path), float(multiplier), tuple(layers) if layers else None,
                                  allow_foreign=allow_foreign_vector)
        steer_hash = _file_hash(path)
    lqcd = None
    if decoding is None:
        if alpha is not None or beta is not None:
            flag = "--alpha" if alpha is not None else "--beta"
            raise flag_error(flag, "only meaningful with --decoding lqcd")
    elif decoding not in DECODINGS:
        raise UserInputError(f"unknown value {decoding!r} (valid: {', '.join(DECODINGS)})",
                             param="decoding")
    else:
        a = LQCD_DEFAULTS[0] if alpha is None else float(alpha)
        b = LQCD_DEFAULTS[1] if beta is None else float(beta)
        if a < 0:
            raise UserInputError(f"must be >= 0, got {a}", param="alpha")
        if not 0 <= b < 1:
            raise UserInputError(f"must be in [0, 1), got {b}", param="beta")
        lqcd = (a, b)
    return Interventions(preset, steering, steer_hash, lqcd)


def _safetensors_metadata(path: Path) -> dict[str, Any]:
    """The `__metadata__` block of a safetensors header (read without torch)."""
    with path.open("rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        if not 0 < size < 100_000_000:
            return {}
        header = json.loads(fh.read(size))
    meta = header.get("__metadata__") or {}
    out: dict[str, Any] = {}
    for key, value in meta.items():
        try:
            out[key] = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            out[key] = value
    return out


def _training_keys(path: Path) -> set[tuple[str, str]]:
    """Pairing keys (suite, item_id) an artifact records it was trained on."""
    if path.is_file() and path.suffix == ".safetensors":
        try:
            meta = _safetensors_metadata(path)
        except (OSError, ValueError):
            meta = {}
        for value in meta.values():
            if isinstance(value, dict) and value.get("pairing_keys"):
                return {(str(k[0]), str(k[1])) for k in value["pairing_keys"]}
    candidates = [path / TRAINING_RECORD] if path.is_dir() else [
        path.with_suffix(".json"), Path(str(path) + ".json")]
    for sidecar in candidates:
        if sidecar.is_file():
            try:
                data = json.loads(sidecar.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            keys = data.get("pairing_keys") or data.get("metadata", {}).get("pairing_keys") or []
            return {(str(k[0]), str(k[1])) for k in keys if isinstance(k, (list, tuple))}
    return set()


def refuse_trained_items(plan: Plan, *, adapter: str | None, steer: str | None) -> None:
    """Exit 2 when the run would report on items an adapter or vector was trained on."""
    for flag, artifact in (("--adapter", adapter), ("--steer", steer)):
        if not artifact:
            continue
        trained = _training_keys(Path(artifact))
        overlap = [t for t in plan.trials if (t.item.suite, t.item.item_id) in trained]
        if overlap:
            first = overlap[0].item
            raise flag_error(flag,
                "was trained on "
                f"{len({(t.item.suite, t.item.item_id) for t in overlap})} "
                f"of the selected items (e.g. {first.suite}/{first.item_id}); evaluate another "
                "--split (e.g. --split test)"
            , artifact)
