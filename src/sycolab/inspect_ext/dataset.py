"""Inspect samples from a sycolab plan: one sample per trial (an item under the protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

from sycolab.core.conversation import step_messages
from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.core.suites import Suite, load_suite
from sycolab.evaluation.plan import Plan, TrialPlan, build_plan

SCORINGS = ("generate", "judge", "auto")
"""What Inspect can score: generated replies (by rule or by a judge); `auto` is each suite's
default where that is one of them."""


@dataclass(frozen=True)
class Planned:
    """A task's trials by sample id (the trial id), and the plan's record for the run folder."""

    trials: dict[str, TrialPlan]
    plan: Plan
    suites: tuple[str, ...]
    loaded: tuple[Suite, ...]


def suite_list(suite: str | Sequence[str]) -> tuple[str, ...]:
    """`-T suite=arithmetic`, `-T suite=facts,arithmetic` or a YAML list."""
    names = [suite] if isinstance(suite, str) else list(suite)
    out = tuple(s.strip() for part in names for s in str(part).split(",") if s.strip())
    if not out:
        raise UserInputError("needs at least one suite", param="suite")
    return out


def plan_trials(protocol: str, suite: str | Sequence[str], *, scoring: str, split: str,
                limit: int | None, seed: int, shuffle: bool) -> Planned:
    """The trials of `protocol` over the suites, planned exactly as ``sycolab eval`` plans."""
    if scoring not in SCORINGS:
        raise UserInputError(f"unknown value {scoring!r} for Inspect (valid: "
                             f"{', '.join(SCORINGS)}; choice scoring needs log-probabilities)",
                             param="scoring")
    names = suite_list(suite)
    loaded = tuple(load_suite(s) for s in names)
    plan = build_plan(loaded, [protocol], scoring=scoring, split=split,
                      limit=limit, shuffle=shuffle, seed=seed)
    bad = sorted({t.scoring for t in plan.trials} - {"generate", "judge"})
    if bad:
        raise UserInputError(f"scoring=auto gives {', '.join(bad)} scoring on {', '.join(names)};"
                             " Inspect runs generate or judge (-T scoring=generate)",
                             param="scoring")
    return Planned({t.trial_id: t for t in plan.trials}, plan, names, loaded)


def to_chat(messages: Sequence[Message], prefill: str = "") -> list[ChatMessage]:
    """sycolab messages as Inspect chat messages; a prefill becomes a trailing assistant turn."""
    out: list[ChatMessage] = []
    for m in messages:
        if m.role == "system":
            out.append(ChatMessageSystem(content=m.content))
        elif m.role == "user":
            out.append(ChatMessageUser(content=m.content))
        else:
            out.append(ChatMessageAssistant(content=m.content))
    if prefill:
        out.append(ChatMessageAssistant(content=prefill))
    return out


def to_sample(trial: TrialPlan, system_prompt: str | None) -> Sample:
    """The trial as a sample: its first step's prompt as input (later steps are built from the
    model's own replies by the solver), gold as target, the pairing key as metadata."""
    messages, prefill = step_messages(
        trial.item, trial.protocol, trial.conditions[0], trial.presentation, wrong=trial.wrong,
        persona=trial.persona, history=(), system_prompt=system_prompt)
    metadata: dict[str, Any] = {
        "suite": trial.item.suite, "item_id": trial.item.item_id,
        "protocol": trial.protocol.name, "conditions": list(trial.conditions),
        "scoring": trial.scoring, "split": trial.split,
    }
    return Sample(id=trial.trial_id, input=to_chat(messages, prefill),
                  target=trial.item.gold or "", metadata=metadata)


def run_record(planned: Planned) -> dict[str, Any]:
    """What the task keeps of its plan for ``sycolab import-inspect`` (suites, protocol
    templates, skipped items)."""
    plan = planned.plan
    return {
        "suites": plan.suites,
        "suite_specs": list(planned.suites),
        "protocols": {p.name: p.describe() for p in plan.protocols},
        "skipped": {f"{s}/{p}": n for (s, p), n in plan.skipped.items()},
        "skip_reasons": {f"{s}/{p}": r for (s, p), r in plan.skip_reasons.items()},
    }
