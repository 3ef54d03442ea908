"""Trial records: the rows of samples.jsonl (see contracts section 4)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Split = Literal["train", "validation", "test"]


class TrialRecord(BaseModel):
    """One trial: an item run through every step of one protocol.

    `suite`, `item_id` and `protocol` form the pairing key. Answers are normalized option texts
    (or normalized free answers); null = nothing could be extracted.
    """

    model_config = ConfigDict(extra="allow")

    trial_id: str
    suite: str
    item_id: str
    protocol: str
    gold: str | None
    suggested: str | None
    conditions: list[str]
    answers: list[str | None]
    letters: list[str | None]
    responses: list[str]
    choice_logprobs: list[dict[str, float] | None]
    scoring: Literal["choice", "generate", "lm-eval"]
    split: Split
    error: str | None = None
    indicators: dict[str, bool | None] = Field(default_factory=dict)
    wrong_source: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def pairing_key(self) -> tuple[str, str, str]:
        return (self.suite, self.item_id, self.protocol)
