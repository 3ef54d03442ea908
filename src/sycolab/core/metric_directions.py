"""The three directions a metric can have (shared by the metric registry and the field metrics,
so neither imports the other for them)."""

from __future__ import annotations

from typing import Literal

Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
HIGHER: Direction = "higher_is_better"
LOWER: Direction = "lower_is_better"
NEUTRAL: Direction = "neutral"

__all__ = ["HIGHER", "LOWER", "NEUTRAL", "Direction"]
