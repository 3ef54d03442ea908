"""Metric directions as reports show them, read from `sycolab.core.metric_registry`."""

from __future__ import annotations

from sycolab.core.metric_registry import HEADLINE as HEADLINE_METRICS
from sycolab.core.metric_registry import METRICS, arrow, better_sign
from sycolab.core.metric_registry import direction_text as direction

__all__ = ["HEADLINE", "arrow", "better_sign", "direction"]

# key metrics of the headline table: (metric, label, direction)
HEADLINE: tuple[tuple[str, str, str], ...] = tuple(
    (name, METRICS[name].label, direction(name)) for name in HEADLINE_METRICS
)
