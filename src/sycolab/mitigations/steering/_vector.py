"""`SteeringVector`: per-layer CAA vectors plus where they came from; safetensors or lm-eval .pt."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sycolab.core.errors import UserInputError
from sycolab.engine.steering_hooks import META_KEY, ResidualSteerer, read_steering_file


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a temporary file, then rename: never a half-written file, and the usual
    permissions (the umask applies; safetensors' own writer makes files 0600)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class SteeringVector:
    """One vector per decoder layer (layer l = output of decoder block l), float32 tensors.

    `pairing_keys` are the (suite, item_id, protocol) keys of the contrast pairs it was trained
    on; evaluation refuses to report on them.
    """

    vectors: dict[int, Any]
    model: str = ""
    weights_hash: str = ""
    n_pairs: int = 0
    data_hash: str = ""
    pairing_keys: list[list[str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> list[int]:
        return sorted(self.vectors)

    def meta(self) -> dict[str, Any]:
        """The JSON metadata written beside the tensors."""
        return {
            "format": "sycolab-steering-v1",
            "method": "caa-mean-difference",
            "model": self.model,
            "weights_hash": self.weights_hash,
            "layers": self.layers,
            "n_pairs": self.n_pairs,
            "data_hash": self.data_hash,
            "pairing_keys": self.pairing_keys,
            "norms": {str(k): float(v.norm()) for k, v in sorted(self.vectors.items())},
            **self.metadata,
        }

    def save(self, path: str | Path) -> Path:
        """`.safetensors` (metadata in the header) or `.pt`/`.pth` (lm-eval's steered format)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix in (".pt", ".pth"):
            return self.save_lm_eval(p)
        if p.suffix != ".safetensors":
            raise UserInputError("expected a .safetensors or .pt file name",
                                 param="out", value=path)
        from safetensors.torch import save

        tensors = {f"layers.{k}": v.detach().float().contiguous().cpu()
                   for k, v in self.vectors.items()}
        blob = save(tensors, metadata={META_KEY: json.dumps(self.meta())})
        _write_atomic(p, lambda fh: fh.write(blob))
        return p

    def save_lm_eval(self, path: str | Path, coefficient: float = 1.0) -> Path:
        """lm-evaluation-harness's steered dict {"layers.<l>": {steering_vector,
        steering_coefficient, action: "add", bias: None}} (hookpoints relative to the base
        model, as its ``steered`` model resolves them)."""
        import torch

        p = Path(path)
        payload = {
            f"layers.{k}": {
                "steering_vector": v.detach().float().cpu(),
                "steering_coefficient": float(coefficient),
                "action": "add",
                "bias": None,
            }
            for k, v in sorted(self.vectors.items())
        }
        _write_atomic(p, lambda fh: torch.save(payload, fh))
        return p

    @classmethod
    def load(cls, path: str | Path) -> SteeringVector:
        """Read a file written by `save` (or any lm-eval `.pt` steering dict)."""
        vectors, meta = read_steering_file(path)
        known = {"format", "method", "model", "weights_hash", "layers", "n_pairs", "data_hash",
                 "pairing_keys", "norms"}
        return cls(
            vectors=vectors,
            model=str(meta.get("model", "")),
            weights_hash=str(meta.get("weights_hash", "")),
            n_pairs=int(meta.get("n_pairs", 0)),
            data_hash=str(meta.get("data_hash", "")),
            pairing_keys=[list(k) for k in meta.get("pairing_keys", [])],
            metadata={k: v for k, v in meta.items() if k not in known},
        )

    @contextmanager
    def apply(
        self, model: Any, multiplier: float = 1.0, layers: list[int] | None = None
    ) -> Iterator[ResidualSteerer]:
        """Steer a bare transformers model at EVERY position inside the block (library use;
        sycolab backends steer assistant turns only, through `SteeringConfig`)."""
        chosen = self.layers if layers is None else layers
        steerer = ResidualSteerer(model, {k: self.vectors[k] for k in chosen}, multiplier)
        steerer.begin(None)
        with steerer.installed():
            yield steerer
