"""One trial's steps, driven one reply at a time, with sycolab's own runner rules.

Inspect generates each reply; everything else (the step's messages and prefill, extraction of
the answer, the history the next step sees, the counter-suggestion a rebuttal pushes) is the
runner's (`sycolab.evaluation.runner`), so prompts are exactly those of ``sycolab eval``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.core.records import TrialRecord
from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Progress
from sycolab.evaluation.field_judges import FieldJudge
from sycolab.evaluation.judge import Judge
from sycolab.evaluation.plan import TrialPlan
from sycolab.evaluation.runner import Runner, TrialState


class NoModel(Backend):
    """The runner's backend when Inspect generates: asking it for anything is a bug."""

    def score(self, requests: Sequence[ChoiceRequest],
              progress: Progress | None = None) -> list[list[float | None]]:
        raise UserInputError("choice scoring is not available through Inspect (use generate)")

    def generate(self, requests: Sequence[GenerateRequest],
                 progress: Progress | None = None) -> list[str]:
        raise RuntimeError("Inspect generates the replies")

    def describe(self) -> dict[str, Any]:
        return {"spec": "inspect", "weights_hash": None}


class StepDriver:
    """A trial in progress: the next prompt, then the reply Inspect generated for it."""

    def __init__(self, plan: TrialPlan, *, system_prompt: str | None,
                 max_new_tokens: int) -> None:
        self.runner = Runner(NoModel(), system_prompt=system_prompt,
                             max_new_tokens=max_new_tokens)
        self.state = TrialState(plan)
        self.replies: list[str] = []
        self._pending: GenerateRequest | None = None

    @property
    def done(self) -> bool:
        return self.state.done

    def next_prompt(self) -> tuple[tuple[Message, ...], str]:
        """The next step's messages and the assistant prefill that starts its reply."""
        request = self.runner.request(self.state)
        if not isinstance(request, GenerateRequest):
            raise UserInputError("choice scoring is not available through Inspect (use "
                                 "scoring=generate or judge)", param="scoring")
        self._pending = request
        return request.prompt.messages, request.prompt.prefill

    def take(self, reply: str) -> None:
        """Record the reply to the prompt `next_prompt` returned (extraction, history)."""
        if self._pending is None:
            raise RuntimeError("take() without next_prompt()")
        self.runner.apply(self.state, self._pending, reply)
        self.replies.append(reply)
        self._pending = None


def score_trial(plan: TrialPlan, replies: Sequence[str], *, system_prompt: str | None,
                max_new_tokens: int, judge: Judge | None = None,
                field_judges: Mapping[str, FieldJudge] | None = None) -> TrialRecord:
    """The trial's record from its stored replies: extraction per step, the judge where the
    trial is judge-scored (as ``sycolab rescore`` re-scores a run)."""
    runner = Runner(NoModel(), system_prompt=system_prompt, max_new_tokens=max_new_tokens,
                    judge=judge, field_judges=field_judges,
                    stored_replies={plan.trial_id: list(replies)})
    return runner.run_chunk([plan])[0]
