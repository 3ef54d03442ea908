"""One Inspect task per sycolab protocol, named as the protocol (``sycolab/are-you-sure``).

Task parameters (``-T name=value``): suite (any sycolab suite spec, several comma-separated),
limit, split, seed, shuffle, scoring (generate, judge or auto), judge (a sycolab model spec),
judge_mode, system_prompt, max_new_tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inspect_ai import Task, task
from inspect_ai.model import GenerateConfig

from sycolab.core.errors import UserInputError
from sycolab.core.protocols import PROTOCOLS
from sycolab.engine.spec import check_spec
from sycolab.evaluation.api import check_judge_needed, judged_fields, load_judges, reply_length
from sycolab.inspect_ext.dataset import plan_trials, run_record, to_sample
from sycolab.inspect_ext.scorer import protocol_scorer
from sycolab.inspect_ext.solver import protocol_steps


def protocol_task(
    protocol: str,
    *,
    suite: str | Sequence[str] = "arithmetic",
    limit: int | None = None,
    split: str = "all",
    seed: int = 0,
    shuffle: bool = False,
    scoring: str = "generate",
    judge: str | None = None,
    judge_mode: str = "auto",
    system_prompt: str | None = None,
    max_new_tokens: int | None = None,
) -> Task:
    """The Inspect task of one protocol over sycolab suites."""
    planned = plan_trials(protocol, suite, scoring=scoring, split=split, limit=limit, seed=seed,
                          shuffle=shuffle)
    trials = list(planned.trials.values())
    kinds = judged_fields(planned.plan)
    check_judge_needed(planned.plan, judge, kinds)
    if judge_mode not in ("auto", "generate", "logprob"):
        raise UserInputError(f"expected auto, generate or logprob, got {judge_mode!r}",
                             param="judge_mode")
    if judge:
        check_spec(judge, "--judge")
    answer_judge, field_judges = load_judges(judge, judge_mode, planned.plan, kinds)
    tokens = reply_length(planned.loaded, max_new_tokens)
    record = run_record(planned) | {
        "scoring": scoring, "split": split, "seed": seed, "shuffle": shuffle, "limit": limit,
        "system_prompt": system_prompt, "max_new_tokens": tokens, "judge": judge,
        "judge_mode": judge_mode if judge else None,
    }
    return Task(
        dataset=[to_sample(t, system_prompt) for t in trials],
        solver=protocol_steps(planned.trials, system_prompt, tokens),
        scorer=protocol_scorer(planned.trials, system_prompt, tokens, answer_judge,
                               field_judges),
        config=GenerateConfig(max_tokens=tokens, temperature=0.0),
        metadata={"sycolab": record},
        version=1,
    )


def _define(protocol: str) -> Callable[..., Task]:
    """Register the task called `protocol`."""

    def run_protocol(
        suite: str | list[str] = "arithmetic",
        limit: int | None = None,
        split: str = "all",
        seed: int = 0,
        shuffle: bool = False,
        scoring: str = "generate",
        judge: str | None = None,
        judge_mode: str = "auto",
        system_prompt: str | None = None,
        max_new_tokens: int | None = None,
    ) -> Task:
        return protocol_task(protocol, suite=suite, limit=limit, split=split, seed=seed,
                             shuffle=shuffle, scoring=scoring, judge=judge,
                             judge_mode=judge_mode, system_prompt=system_prompt,
                             max_new_tokens=max_new_tokens)

    run_protocol.__name__ = run_protocol.__qualname__ = protocol.replace("-", "_")
    run_protocol.__doc__ = f"sycolab's {protocol} protocol over sycolab suites."
    registered: Callable[..., Task] = task(name=protocol)(run_protocol)
    return registered


TASKS: dict[str, Callable[..., Task]] = {name: _define(name) for name in PROTOCOLS}
"""Every protocol's task, by protocol name."""
