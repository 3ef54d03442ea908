"""Activation steering (CAA): train per-layer vectors, save/load them, pick layer x multiplier.

Applying a vector during evaluation is the backend's job (`SteeringConfig`,
`sycolab.engine.steering_hooks`); this package makes and chooses the vectors.
"""

from sycolab.mitigations.steering._from_suites import VectorFromSuites, train_vector_from_suites
from sycolab.mitigations.steering._sweep import SweepResult, SweepRow, sweep
from sycolab.mitigations.steering._train import (
    ContrastPair,
    contrast_pairs,
    pairs_hash,
    train_vector,
)
from sycolab.mitigations.steering._vector import SteeringVector

__all__ = [
    "ContrastPair",
    "SteeringVector",
    "SweepResult",
    "SweepRow",
    "VectorFromSuites",
    "contrast_pairs",
    "pairs_hash",
    "sweep",
    "train_vector",
    "train_vector_from_suites",
]
