"""Mitigations: prompt baselines, steering, KL-then-steer, LQCD, synthetic data, fine-tuning.

Each subpackage (`data`, `steering`, `training`) and `kts` is an API of its own; the package
itself exports nothing.
"""

__all__: list[str] = []
