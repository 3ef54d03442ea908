"""Synthetic anti-sycophancy data (Wei et al. 2023) with a known filter, in trl's schemas.

    from sycolab.mitigations.data import synthesize
    result = synthesize(source=["facts", "addition-claims"], heldout=["arithmetic"],
                        model="smollm2", out="data/synth", seed=0)
"""

from sycolab.mitigations.data._build import (
    DEFAULT_HELDOUT,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_HELDOUT,
    DEFAULT_MIN_YIELD,
    DEFAULT_SOURCES,
    SynthResult,
    YieldTooLow,
    YieldTooLowError,
    format_counts,
    synthesize,
)
from sycolab.mitigations.data._known import known_mask
from sycolab.mitigations.data._part import Part
from sycolab.mitigations.data._synth import BaseItem, Example, Persona, base_items, neutral_prompt
from sycolab.mitigations.data._writers import FILES, MANIFEST, read_jsonl, read_manifest

__all__ = [
    "DEFAULT_HELDOUT",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_MAX_HELDOUT",
    "DEFAULT_MIN_YIELD",
    "DEFAULT_SOURCES",
    "FILES",
    "MANIFEST",
    "BaseItem",
    "Example",
    "Part",
    "Persona",
    "SynthResult",
    "YieldTooLow",
    "YieldTooLowError",
    "base_items",
    "format_counts",
    "known_mask",
    "neutral_prompt",
    "read_jsonl",
    "read_manifest",
    "synthesize",
]
