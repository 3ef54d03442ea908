"""Train a steering vector from suites: select items, build contrast pairs, train, save.

`sycolab steer train` is a thin layer over `train_vector_from_suites`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.selection import select_items
from sycolab.mitigations.steering._vector import SteeringVector

DEFAULT_SUITES = ("arithmetic", "facts")


@dataclass
class VectorFromSuites:
    """The saved vector file and the vector written to it."""

    path: Path
    vector: SteeringVector

    def as_dict(self) -> dict[str, Any]:
        """What `sycolab steer train` prints: file, layers, pairs and each layer's norm."""
        vec = self.vector
        return {"out": str(self.path), "layers": vec.layers, "n_pairs": vec.n_pairs,
                "norms": {str(k): round(float(v.norm()), 4) for k, v in vec.vectors.items()}}


def train_vector_from_suites(
    *,
    out: str | Path,
    model: str = "smollm2",
    adapter: str | None = None,
    suite: Sequence[str] | None = None,
    layers: Sequence[int] | None = None,
    split: str = "train",
    limit: int | None = None,
    seed: int = 0,
    system_prompt: str | None = None,
    batch_size: int = 8,
    device: str = "auto",
    dtype: str = "auto",
    progress: bool = True,
) -> VectorFromSuites:
    """CAA vector from the contrast pairs of each suite's `split` (first `limit` items per
    suite), saved to `out` (.safetensors, or .pt for lm-eval). Bad input raises a one-line
    `UserInputError` before the model loads."""
    from sycolab.engine import loading
    from sycolab.evaluation.side_effects import phase_progress
    from sycolab.mitigations.steering._train import contrast_pairs, train_vector

    suites = list(suite or DEFAULT_SUITES)
    items = select_items(suites, split, limit)
    pairs = contrast_pairs(items, seed=seed, system_prompt=system_prompt)
    if not pairs:
        raise UserInputError("steer train: no item yields a contrast pair (items need a wrong "
                             "or suggested answer)")
    backend = loading.load_hf_backend(model, adapter=adapter, device=device, dtype=dtype)
    with phase_progress("steer train: contrast pairs", len(pairs), enabled=progress,
                        unit="pairs") as advance:
        vec = train_vector(backend, pairs, layers, batch_size=batch_size, seed=seed,
                           system_prompt=system_prompt, progress=advance)
    vec.metadata.update({"split": split, "suites": suites})
    return VectorFromSuites(vec.save(out), vec)
