"""Activation steering (CAA): train per-layer vectors, save/load them, pick layer x multiplier,
export them for llama.cpp / repeng / steering-vectors and import theirs.

Applying a vector during evaluation is the backend's job (`SteeringConfig`,
`sycolab.engine.steering_hooks`); this package makes and chooses the vectors.
"""

from sycolab.mitigations.steering._export import (
    FORMATS,
    Exported,
    check_format,
    export_vector,
    import_vector,
)
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
    "FORMATS",
    "ContrastPair",
    "Exported",
    "SteeringVector",
    "SweepResult",
    "SweepRow",
    "VectorFromSuites",
    "check_format",
    "contrast_pairs",
    "export_vector",
    "import_vector",
    "pairs_hash",
    "sweep",
    "train_vector",
    "train_vector_from_suites",
]
