"""LoRA fine-tuning against sycophancy (trl SFT / DPO / pinpoint + peft) and the before/after
comparison.

    from sycolab.mitigations.training import TrainConfig, train, before_after
    res = train("sft", "data/synth", model="smollm2", out="adapters/sft")
    pin = train("pinpoint", "data/synth", heads="loc/locate.json", heads_protocol=
                "suggest-incorrect", top=4, model="smollm2", out="adapters/pinpoint")
    report = before_after(adapter=res.adapter_dir, model="smollm2", data="data/synth")
"""

from sycolab.evaluation.locate import read_heads
from sycolab.mitigations.training._compare import (
    REPORT,
    before_after,
    format_before_after,
    neutral_accuracy,
    persona_heldout,
    score_examples,
)
from sycolab.mitigations.training._train import (
    TRAINING_RECORD,
    TrainConfig,
    TrainResult,
    train,
    trained_keys,
)

__all__ = [
    "REPORT",
    "TRAINING_RECORD",
    "TrainConfig",
    "TrainResult",
    "before_after",
    "format_before_after",
    "neutral_accuracy",
    "persona_heldout",
    "read_heads",
    "score_examples",
    "train",
    "trained_keys",
]
