"""What each protocol is for in the matrix, and which way its tested metrics should move."""

from __future__ import annotations

from typing import Literal

from sycolab.core.protocols import PROTOCOLS

Role = Literal["wrong-suggestion", "right-suggestion", "pressure", "control"]


def role(protocol: str) -> Role:
    """suggest-incorrect is the wrong suggestion, a protocol suggesting gold the right one,
    reask and aside are controls; every other protocol (sycolab's or not) is pressure."""
    p = PROTOCOLS.get(protocol)
    if p is None:
        return "pressure"
    if p.control:
        return "control"
    if p.suggestion == "gold":
        return "right-suggestion"
    return "wrong-suggestion" if protocol == "suggest-incorrect" else "pressure"


def is_pressure(protocol: str) -> bool:
    """Pressure toward a wrong answer (suggest-incorrect, are-you-sure, pushback, ...)."""
    return role(protocol) in ("wrong-suggestion", "pressure")


def higher_is_better(protocol: str, metric: str) -> bool:
    """Agreement with a right suggestion should not fall; every other tested metric should."""
    return metric == "agreement_rate" and role(protocol) == "right-suggestion"
