"""Build each step's conversation for a trial: question blocks, pressure turns, history.

Rules (recorded in config.json):
- A user turn is the protocol template filled with the item's question, then, where options are
  lettered, the choices block and ``"\n\nAnswer:"``; for free items the item's instruction
  (e.g. "Answer with just the number.") ends every user turn, follow-ups included.
- Answers named in a user turn are shown with their letter where options are lettered
  (``(B) Mercury``).
- File suites that supply a verbatim prompt for a condition (`Item.fixed_steps`) use it as is; a
  prefill found there (``"The answer is ("``) starts the assistant turn of every step.
- In multi-turn protocols the assistant's earlier turn is its raw reply (generate) or the
  canonical sentence `CANONICAL_TURN` built from the chosen option (choice).
- Scripted protocols (SYCON-Bench, freeform pushback: `Protocol.script`) take their system message
  and every user turn from the item's `variants[script]`; a ``--system-prompt`` goes before the
  variant's system text.
- Rebuttal templates fill ``{justification}``, ``{citation}`` and ``{field}`` from the per-suite
  texts of `sycolab.core.rebuttal_templates` (recorded in config.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sycolab.core.items import LETTERS, FixedStep, Item, Message
from sycolab.core.protocols import Protocol
from sycolab.core.rebuttal_templates import rebuttal_fields

CHOICES_HEADER = "\n\nChoices:\n"
ANSWER_TAIL = "\n\nAnswer:"
CANONICAL_TURN = {"lettered": "The answer is ({letter}) {text}.", "plain": "The answer is {text}."}
NO_ANSWER_TURN = "I'm not sure."


@dataclass(frozen=True)
class Presentation:
    """How one trial shows its item: lettered options, plain choice candidates, or free text."""

    lettered: bool
    options: tuple[str, ...]
    prefill: str = ""

    def shown(self, answer: str) -> str:
        """The answer as the user names it: with its letter where options are lettered."""
        if self.lettered and answer in self.options:
            return f"({LETTERS[self.options.index(answer)]}) {answer}"
        return answer

    def continuations(self) -> tuple[str, ...]:
        """What `choice` scoring compares: letters as shown, or the option texts."""
        if not self.lettered:
            return self.options
        if self.prefill.endswith("("):
            return tuple(LETTERS[i] for i in range(len(self.options)))
        return tuple(f"({LETTERS[i]})" for i in range(len(self.options)))

    def choices_block(self) -> str:
        lines = [f" ({LETTERS[i]}) {opt}" for i, opt in enumerate(self.options)]
        return CHOICES_HEADER + "\n".join(lines)


def _tail(item: Item, pres: Presentation, first_turn: bool) -> str:
    if pres.lettered:
        return pres.choices_block() + ANSWER_TAIL if first_turn else ""
    return f" {item.instruction}" if item.instruction else ""


def _fill(template: str, item: Item, pres: Presentation, wrong: str | None, persona: str) -> str:
    shown = pres.shown(wrong) if wrong is not None else ""
    needs = any(f"{{{k}}}" in template for k in ("field", "justification", "citation"))
    extra = rebuttal_fields(item, wrong=shown) if needs else {}
    return template.format(
        question=item.question,
        wrong=shown,
        gold=pres.shown(item.gold) if item.gold is not None else "",
        persona=persona,
        **extra,
    )


def script_turns(item: Item, protocol: Protocol) -> tuple[str | None, tuple[str, ...]]:
    """A scripted protocol's system text and user turns for `item` (empty when it has none)."""
    variants = item.metadata.get("variants") or {}
    variant = variants.get(protocol.script) if protocol.script else None
    if not isinstance(variant, dict):
        return None, ()
    system = variant.get("system")
    return (system if isinstance(system, str) else None), tuple(variant.get("turns") or ())


def _script_step(item: Item, protocol: Protocol, condition: str, history: Sequence[Message],
                 system_prompt: str | None) -> tuple[Message, ...]:
    """A scripted step: system texts, the conversation so far, then the condition's user turn."""
    system, turns = script_turns(item, protocol)
    index = int(condition.rsplit("_", 1)[1]) - 1  # turn_1 is the first user turn
    texts = [t for t in (system_prompt, system) if t]
    head = (Message("system", "\n\n".join(texts)),) if texts else ()
    return (*head, *history, Message("user", turns[index]))


def fixed_step_for(item: Item, condition: str) -> FixedStep | None:
    """The file's verbatim prompt for `condition` (baseline conditions share one)."""
    if condition in item.fixed_steps:
        return item.fixed_steps[condition]
    if condition in ("initial", "neutral"):
        for name in ("neutral", "initial", "persona"):
            if name in item.fixed_steps:
                return item.fixed_steps[name]
    return None


def assistant_turn(pres: Presentation, answer: str | None, reply: str | None) -> str:
    """The assistant's earlier turn in the history: raw reply, else the canonical sentence."""
    if reply:
        return pres.prefill + reply if pres.prefill else reply
    if answer is None:
        return NO_ANSWER_TURN
    if pres.lettered and answer in pres.options:
        letter = LETTERS[pres.options.index(answer)]
        return CANONICAL_TURN["lettered"].format(letter=letter, text=answer)
    return CANONICAL_TURN["plain"].format(text=answer)


def followup_turn(item: Item, pres: Presentation, template: str, wrong: str | None) -> Message:
    """A later user turn of a multi-turn protocol (template filled, instruction appended)."""
    return Message("user", _fill(template, item, pres, wrong, "") + _tail(item, pres, False))


def step_messages(
    item: Item,
    protocol: Protocol,
    condition: str,
    pres: Presentation,
    *,
    wrong: str | None,
    persona: str,
    history: Sequence[Message],
    system_prompt: str | None,
) -> tuple[tuple[Message, ...], str]:
    """Messages and prefill for one step (`condition`) of a trial.

    `history` is the conversation so far in multi-turn protocols (without the system message),
    ending with the assistant's previous turn; empty at the first step.
    """
    if protocol.script:
        return _script_step(item, protocol, condition, history, system_prompt), pres.prefill
    system = (Message("system", system_prompt),) if system_prompt else ()
    if protocol.multi_turn and history:
        turn = followup_turn(item, pres, protocol.templates[condition], wrong)
        return (*system, *history, turn), pres.prefill
    fixed = fixed_step_for(item, condition)
    if fixed is not None:
        return (*system, *fixed.messages), fixed.prefill
    text = _fill(protocol.templates[condition], item, pres, wrong, persona)
    return (*system, Message("user", text + _tail(item, pres, True))), pres.prefill
