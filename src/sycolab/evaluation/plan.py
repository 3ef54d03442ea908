"""Plan an evaluation: which trials run, how each item is presented, what is skipped."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sycolab.core.conversation import Presentation, fixed_step_for, script_turns
from sycolab.core.errors import UserInputError
from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer
from sycolab.core.presentation import arrange_options
from sycolab.core.protocols import DEFAULT_PROTOCOLS, Protocol, get_protocol
from sycolab.core.records import Split
from sycolab.core.selection import check_limit, seeded_rng, select_items
from sycolab.core.splits import assign_split, check_split
from sycolab.core.suites import Suite
from sycolab.core.suites.addition import PERSONA_NAMES, addition_persona_prompt

SCORINGS = ("auto", "choice", "generate", "lm-eval", "judge")


@dataclass(frozen=True)
class TrialPlan:
    """Everything needed to run one trial (one item under one protocol)."""

    trial_id: str
    item: Item
    protocol: Protocol
    conditions: tuple[str, ...]
    scoring: str
    presentation: Presentation
    split: Split
    wrong: str | None
    wrong_source: str | None
    suggested: str | None
    persona: str

    @property
    def gold(self) -> str | None:
        return self.item.gold_norm

    @property
    def suggested_norm(self) -> str | None:
        return None if self.suggested is None else normalize_answer(self.suggested)


@dataclass
class Plan:
    trials: list[TrialPlan]
    skipped: dict[tuple[str, str], int]
    suites: list[dict[str, Any]]
    protocols: list[Protocol]
    skip_reasons: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


def _presentation(item: Item, scoring: str) -> Presentation | str:
    """How the item is shown under `scoring`, or why it cannot be."""
    fixed = fixed_step_for(item, "neutral")
    prefill = fixed.prefill if fixed else ""
    if item.presentation == "lettered":
        return Presentation(True, item.options, prefill)
    if scoring == "choice":
        if item.options and item.metadata.get("builtin"):  # facts, arithmetic: lettered A-D
            return Presentation(True, item.options, prefill)
        if item.options:  # file items: scored on option text ("Canberra" vs "Sydney")
            return Presentation(False, item.options, prefill)
        if item.gold is not None and item.wrong is not None:
            return Presentation(False, (item.gold, item.wrong), prefill)
        return "choice scoring needs options or a gold and a wrong answer"
    return Presentation(False, (), prefill)


JUDGED_FIELDS = frozenset({"stance", "feedback", "social"})
"""Field kinds whose replies only a judge can label (mimicry is scored by rule)."""


def _field_conditions(item: Item, protocol: Protocol, scoring: str) -> tuple[str, ...] | str:
    """The steps a field protocol runs on `item`, or why it cannot (contracts section 7)."""
    kind = item.field_kind
    if protocol.kind != kind:
        return (f"protocol {protocol.name} is for {protocol.kind} items" if protocol.kind
                else f"{kind} items run only under their own protocols")
    if kind in JUDGED_FIELDS and scoring != "judge":
        return f"{kind} items are scored by a judge (--scoring auto or judge)"
    if kind == "mimicry" and scoring != "generate":
        return "mimicry items are scored by rule on generated replies (--scoring auto)"
    if protocol.script:
        _, turns = script_turns(item, protocol)
        wanted = len(protocol.conditions) - int(protocol.synthetic_baseline)
        if len(turns) != wanted:
            return f"needs {wanted} user turns in variant {protocol.script!r}"
    if kind == "feedback":
        present = tuple(c for c in protocol.conditions if c in item.fixed_steps)
        if not present or present[0] != protocol.conditions[0] or len(present) < 2:
            return "needs the base prompt and at least one prefixed prompt"
        return present
    return protocol.conditions


def _trial(
    item: Item, protocol: Protocol, scoring: str, seed: int, identity: dict[str, Any]
) -> TrialPlan | str:
    """A planned trial, or the reason the item does not qualify."""
    if scoring == "auto":
        scoring = item.default_scoring
    conditions = protocol.conditions
    if item.field_kind or protocol.kind:
        steps = _field_conditions(item, protocol, scoring)
        if isinstance(steps, str):
            return steps
        conditions = steps
    if scoring == "lm-eval" and (protocol.name != "persona" or "persona" not in item.fixed_steps):
        return "lm-eval scoring is defined for perez: suites under persona"
    pres = _presentation(item, scoring)
    if isinstance(pres, str):
        return pres
    if protocol.needs_gold and item.gold is None:
        return "needs a gold answer"
    wrong, wrong_source = item.wrong, ("item" if item.wrong is not None else None)
    if wrong is None and protocol.needs_wrong and pres.lettered and item.gold is not None:
        others = [o for o in pres.options if normalize_answer(o) != item.gold_norm]
        if others:
            rng = seeded_rng(seed, "wrong", item.suite, item.item_id)
            wrong, wrong_source = rng.choice(others), "seeded"
    if protocol.needs_wrong and wrong is None:
        return "needs a wrong answer"
    persona = ""
    if protocol.needs_persona:
        if item.persona_answer is None:
            return "needs a persona"
        if item.suite == "addition-claims":
            name = seeded_rng(seed, "persona", item.item_id).choice(PERSONA_NAMES)
            persona = addition_persona_prompt(item, name)
        elif "persona" not in item.fixed_steps:
            return "needs a persona prompt"
        if scoring == "lm-eval" or (item.fixed_steps and "neutral" not in item.fixed_steps):
            conditions = ("persona",)
    suggested = {"wrong": wrong, "gold": item.gold, "persona": item.persona_answer, None: None}[
        protocol.suggestion
    ]
    key = [item.suite, item.item_id, protocol.name, protocol.describe(), scoring, seed, identity]
    trial_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return TrialPlan(
        trial_id=trial_id,
        item=item,
        protocol=protocol,
        conditions=conditions,
        scoring=scoring,
        presentation=pres,
        split=assign_split(item.suite, item.item_id),
        wrong=wrong,
        wrong_source=wrong_source,
        suggested=suggested,
        persona=persona,
    )


def build_plan(
    suites: Sequence[Suite],
    protocols: Sequence[str] | None,
    *,
    scoring: str = "auto",
    split: str = "all",
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    identity: dict[str, Any] | None = None,
) -> Plan:
    """Every (item, protocol) trial to run. `identity` (model, adapter, interventions, system
    prompt, generation length) enters each trial id."""
    if scoring not in SCORINGS:
        raise UserInputError(f"unknown value {scoring!r} (valid: {', '.join(SCORINGS)})",
                             param="scoring")
    check_split(split)
    check_limit(limit)
    explicit = protocols is not None and len(protocols) > 0
    named = [get_protocol(p) for p in protocols] if explicit and protocols else None
    plan = Plan(trials=[], skipped={}, suites=[], protocols=[])
    unmet: list[dict[str, int]] = []  # why each suite/protocol pair had no trial
    for suite in suites:
        chosen = named or [get_protocol(p)
                           for p in (suite.default_protocols or DEFAULT_PROTOCOLS)]
        plan.protocols.extend(p for p in chosen if p not in plan.protocols)
        items = arrange_options(select_items([suite], split, limit, shuffle=shuffle, seed=seed),
                                seed)
        plan.suites.append(
            {"name": suite.name, "spec": suite.source, "n_items": len(suite.items),
             "n_selected": len(items), "content_hash": suite.content_hash}
        )
        for protocol in chosen:
            reasons: dict[str, int] = {}
            by_part: dict[str, dict[str, int]] = {}  # results group by item.suite (a setting)
            group: list[TrialPlan] = []
            for item in items:
                trial = _trial(item, protocol, scoring, seed, identity or {})
                part = by_part.setdefault(item.suite, {})
                if isinstance(trial, str):
                    reasons[trial] = reasons.get(trial, 0) + 1
                    part[trial] = part.get(trial, 0) + 1
                else:
                    group.append(trial)
            if not group:
                unmet.append(reasons)
                if explicit:
                    why = "; ".join(sorted(reasons)) or "no items selected"
                    raise UserInputError(
                        f"--suite {suite.name} with --protocol {protocol.name}: no item qualifies "
                        f"({why})"
                    )
                continue
            plan.trials.extend(group)
            ran = {t.item.suite for t in group}
            for name, counts in by_part.items():
                if name in ran:
                    plan.skipped[(name, protocol.name)] = sum(counts.values())
                    if counts:
                        plan.skip_reasons[(name, protocol.name)] = counts
    if not plan.trials:
        why = "; ".join(sorted({r for rs in unmet for r in rs})) or "no items selected"
        raise UserInputError("nothing to run: no suite/protocol pair has a qualifying item "
                             f"({why})")
    return plan


__all__ = ["Plan", "TrialPlan", "build_plan"]
