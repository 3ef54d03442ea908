"""The prompt pairs localisation patches between: each trial's baseline prompt and its pressured
prompt, with the two answers the margin compares, as token ids.

Trials are run first exactly as `sycolab eval --scoring choice` runs them (the step runner, so
multi-turn conversations carry the model's own earlier answers). The baseline prompt is step 0;
the pressured prompt is the trial's last step. The baseline answer is the model's step-0 choice;
the suggested answer is the protocol's suggestion, or, for a protocol without one (are-you-sure),
the answer the model moved to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.normalize import normalize_answer
from sycolab.engine.base import ChoiceRequest
from sycolab.engine.local_model import LocalModel
from sycolab.evaluation.plan import TrialPlan
from sycolab.evaluation.runner import Runner, TrialState

TRIAL_FILTERS = ("changed", "all")
"""``changed``: trials whose answer moves from the baseline answer to the suggested one under
pressure (what the issue localises); ``all``: every trial with a suggested answer that differs
from the baseline answer."""


@dataclass(frozen=True)
class PromptPair:
    """One trial's two prompts as token ids, and the continuations the margin compares.

    ``clean[r]`` / ``corrupt[r]`` are the full sequences (context + continuation r), r = 0 for
    the baseline answer, 1 for the suggested one; ``region[r]`` counts the tokens from the start
    of the assistant turn to the end of the sequence (the same tokens in both prompts), the
    positions that are patched, aligned from the end.
    """

    key: str  # suite/item_id
    protocol: str
    baseline: str
    suggested: str
    changed: bool
    clean: tuple[list[int], list[int]]
    corrupt: tuple[list[int], list[int]]
    cont_len: tuple[int, int]
    region: tuple[int, int]


@dataclass
class Pairs:
    """The pairs of one protocol, and how many trials were left out and why."""

    protocol: str
    n_trials: int
    pairs: list[PromptPair]
    left_out: dict[str, int]


def header_length(backend: LocalModel, request: ChoiceRequest) -> int:
    """Tokens of the context from the start of the assistant turn (the chat template's
    generation prompt plus any prefill) to its end."""
    prompt = request.prompt
    if prompt.raw is not None:
        raise UserInputError("localisation needs chat prompts (choice scoring), not lm-eval's "
                             "raw prompts", param="scoring")
    tok = backend.tokens.tokenizer
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    before = str(tok.apply_chat_template(messages, add_generation_prompt=False, tokenize=False))
    full = backend.render(prompt)
    if not full.startswith(before):
        raise UserInputError("the chat template's generation prompt does not extend the "
                             "conversation; cannot find the assistant turn", param="model")
    ids, offsets = backend.tokens.encode_with_offsets(full, special=False)
    inside = [j for j, start in enumerate(offsets) if start >= len(before)]
    return len(ids) - inside[0] if inside else 0


def _option_index(plan: TrialPlan, answer: str) -> int | None:
    for i, option in enumerate(plan.presentation.options):
        if plan.item.canonical(option) == answer:
            return i
    return None


def run_trials(runner: Runner, plans: Sequence[TrialPlan], *, batch: int = 16,
               on_done: Callable[[int], None] | None = None
               ) -> list[tuple[TrialState, list[ChoiceRequest]]]:
    """Run every trial with choice scoring through the runner's request cache (a baseline prompt
    shared by several protocols is scored once), keeping each step's request."""
    out: list[tuple[TrialState, list[ChoiceRequest]]] = []
    for start in range(0, len(plans), batch):
        states = [TrialState(p) for p in plans[start:start + batch]]
        asked: list[list[ChoiceRequest]] = [[] for _ in states]
        while todo := [i for i, s in enumerate(states) if not s.done]:
            reqs = [runner.request(states[i]) for i in todo]
            for i, req, res in zip(todo, reqs, runner.fetch(reqs), strict=True):
                if isinstance(req, ChoiceRequest):  # choice scoring: always
                    asked[i].append(req)
                runner.apply(states[i], req, res)
        out += list(zip(states, asked, strict=True))
        if on_done is not None:
            on_done(len(states))
    return out


def make_pair(backend: LocalModel, state: TrialState, asked: list[ChoiceRequest],
              trials: str) -> PromptPair | str:
    """The prompt pair of a finished trial, or why it is left out."""
    plan = state.plan
    if state.error is not None:
        return "trial failed"
    if len(asked) < 2 or plan.conditions[0] in plan.protocol.pressured:
        return "no unpressured baseline step"
    baseline = state.answers[0]
    final = state.answers[-1]
    suggested = state.suggested
    target = normalize_answer(suggested) if suggested is not None else None
    if target is None:
        target = final if final != baseline else None
    if baseline is None or target is None:
        return "no suggested answer (the protocol suggests none and the answer did not move)"
    if target == baseline:
        return "the suggested answer is the baseline answer"
    changed = final == target
    if trials == "changed" and not changed:
        return "pressure did not change the answer"
    ib, isug = _option_index(plan, baseline), _option_index(plan, target)
    if ib is None or isug is None:
        return "the suggested answer is not one of the options"
    clean_req, corrupt_req = asked[0], asked[-1]
    ctx_b, conts_b = backend.encode_choice(clean_req)
    ctx_p, conts_p = backend.encode_choice(corrupt_req)
    head_b, head_p = header_length(backend, clean_req), header_length(backend, corrupt_req)
    if head_b != head_p or ctx_b[len(ctx_b) - head_b:] != ctx_p[len(ctx_p) - head_p:]:
        return "the assistant turn starts differently in the two prompts"
    picks = (ib, isug)
    if any(conts_b[i] != conts_p[i] or not conts_b[i] for i in picks):
        return "an answer tokenizes differently after the two prompts"
    return PromptPair(
        key=f"{plan.item.suite}/{plan.item.item_id}",
        protocol=plan.protocol.name,
        baseline=baseline,
        suggested=target,
        changed=changed,
        clean=(ctx_b + conts_b[ib], ctx_b + conts_b[isug]),
        corrupt=(ctx_p + conts_p[ib], ctx_p + conts_p[isug]),
        cont_len=(len(conts_b[ib]), len(conts_b[isug])),
        region=(head_b + len(conts_b[ib]), head_b + len(conts_b[isug])),
    )


def describe_pairs(found: Sequence[tuple[TrialState, list[ChoiceRequest]]], backend: LocalModel,
                   protocol: str, trials: str) -> Pairs:
    """The usable pairs of one protocol's finished trials, with the reasons for the others."""
    pairs: list[PromptPair] = []
    left: dict[str, int] = {}
    for state, asked in found:
        made = make_pair(backend, state, asked, trials)
        if isinstance(made, str):
            left[made] = left.get(made, 0) + 1
        else:
            pairs.append(made)
    return Pairs(protocol, len(found), pairs, left)


def region_text(backend: LocalModel, pair: PromptPair) -> dict[str, Any]:
    """What the patched positions hold, as text (recorded once per run, for the reader)."""
    seq = pair.corrupt[0]
    return {"patched_tokens": backend.tokens.decode(seq[len(seq) - pair.region[0]:])}
