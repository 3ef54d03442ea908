"""The protocol solver: each step's prompt from sycolab, each reply from Inspect's model."""

from __future__ import annotations

from collections.abc import Mapping

from inspect_ai.solver import Generate, Solver, TaskState, solver

from sycolab.evaluation.plan import TrialPlan
from sycolab.inspect_ext.dataset import to_chat
from sycolab.inspect_ext.steps import StepDriver

REPLIES = "sycolab_replies"
"""Sample metadata key: the model's raw reply at each generated step."""


@solver
def protocol_steps(trials: Mapping[str, TrialPlan], system_prompt: str | None = None,
                   max_new_tokens: int = 32) -> Solver:
    """Run the sample's trial step by step; multi-turn protocols continue the conversation with
    the model's own replies (as ``sycolab eval --scoring generate`` does)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        driver = StepDriver(trials[str(state.sample_id)], system_prompt=system_prompt,
                            max_new_tokens=max_new_tokens)
        while not driver.done:
            messages, prefill = driver.next_prompt()
            state.messages = to_chat(messages, prefill)
            state = await generate(state)
            driver.take(state.output.completion)
        state.metadata[REPLIES] = driver.replies
        return state

    return solve
