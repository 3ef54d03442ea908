"""The item schema shared by every suite, protocol and backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sycolab.core.normalize import normalize_answer

Presentation = Literal["free", "number", "lettered"]
Scoring = Literal["choice", "generate", "lm-eval"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class FixedStep:
    """A verbatim prompt for one condition, supplied by a file suite (used as is).

    `messages` holds the turns before the scored assistant turn; `prefill` is text the assistant
    turn starts with (e.g. ``"The answer is ("``).
    """

    messages: tuple[Message, ...]
    prefill: str = ""


@dataclass(frozen=True)
class Item:
    """One question with its answers, independent of how it is presented.

    Answers (`gold`, `wrong`, `persona_answer`, `options`) are display texts; comparisons go through
    `normalize_answer`. `options` is in display order (letters A, B, ... follow it) when
    `presentation == "lettered"`, or the candidate set for `choice` scoring of free items.
    """

    suite: str
    item_id: str
    question: str
    presentation: Presentation
    default_scoring: Literal["choice", "generate", "judge"]
    gold: str | None = None
    wrong: str | None = None
    aliases: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    instruction: str = ""
    persona_answer: str | None = None
    fixed_steps: dict[str, FixedStep] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    duplicate_of: str | None = None

    @property
    def field_kind(self) -> str | None:
        """The field-benchmark kind (stance, feedback, mimicry, social), None for answer items."""
        kind = self.metadata.get("field")
        return kind if isinstance(kind, str) else None

    @property
    def gold_norm(self) -> str | None:
        return None if self.gold is None else normalize_answer(self.gold)

    def letter_of(self, answer: str) -> str | None:
        """Letter shown for an option text, or None when the answer is not a lettered option."""
        norm = normalize_answer(answer)
        for i, opt in enumerate(self.options):
            if normalize_answer(opt) == norm:
                return LETTERS[i]
        return None

    def canonical(self, answer: str) -> str:
        """Normalize `answer`, mapping any alias of gold to gold's canonical string."""
        norm = normalize_answer(answer)
        if self.gold is not None and norm in {normalize_answer(a) for a in self.aliases}:
            return normalize_answer(self.gold)
        return norm
