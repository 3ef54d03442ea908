"""The backend interface the runner talks to. Torch-free: mock backends need no torch."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sycolab.core.errors import (
    BackendError,  # noqa: F401 - re-exported for engines
    )
from sycolab.core.items import Message

Progress = Callable[[int], None]
"""Called with the number of requests just finished (for progress bars)."""


@dataclass(frozen=True)
class Prompt:
    """What the model sees before the scored assistant text.

    Chat mode (`raw is None`): `messages` are rendered with the model's chat template plus the
    generation prompt, then `prefill` is appended verbatim. Raw mode (`raw` set, used by
    ``--scoring lm-eval``): the text is tokenized as is, with no chat template.
    """

    messages: tuple[Message, ...] = ()
    prefill: str = ""
    raw: str | None = None

    def key(self) -> str:
        """Stable hash of the prompt, used to cache shared conversation prefixes."""
        payload = {
            "messages": [[m.role, m.content] for m in self.messages],
            "prefill": self.prefill,
            "raw": self.raw,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


@dataclass(frozen=True)
class Hints:
    """Ground truth that only mock backends read (real backends must ignore it).

    `options[i]` is the answer text that continuation `i` stands for (choice requests).
    """

    gold: str | None = None
    suggested: str | None = None
    wrong: str | None = None
    pressured: bool = False
    options: tuple[str, ...] = ()
    item_key: str = ""


@dataclass(frozen=True)
class Contrast:
    """Leading Query Contrastive Decoding (LQCD) for one request.

    Next-token log-probs = log_softmax((1 + alpha) * logits(neutral) - alpha * logits(leading))
    over the full vocabulary; tokens whose probability under the neutral prompt is below
    `beta` times the most likely token's are masked (no renormalization). The request's own
    prompt is the leading one.
    """

    neutral: Prompt
    alpha: float = 1.0
    beta: float = 0.1

    def key(self) -> str:
        return _hash([self.neutral.key(), self.alpha, self.beta])


@dataclass(frozen=True)
class SteeringConfig:
    """Activation steering applied by a local backend: add `multiplier * vector[layer]` to the
    residual stream at every assistant-turn token (headers included), never at user/system
    tokens. `layers=None` uses every layer the vector file holds."""

    path: str
    multiplier: float
    layers: tuple[int, ...] | None = None
    allow_foreign: bool = False  # apply a vector whose metadata names other weights


@dataclass(frozen=True)
class ChoiceRequest:
    """Score each continuation: raw summed log-probability of its tokens after the prompt.

    With `contrast`, scores are LQCD log-probabilities; an option containing a masked token
    scores None.
    """

    prompt: Prompt
    continuations: tuple[str, ...]
    hints: Hints = field(default_factory=Hints, compare=False)
    contrast: Contrast | None = None

    def key(self) -> str:
        c = self.contrast.key() if self.contrast else None
        return _hash(["choice", self.prompt.key(), list(self.continuations), c])


@dataclass(frozen=True)
class GenerateRequest:
    """Greedy generation of at most `max_new_tokens` tokens after the prompt (LQCD-greedy when
    `contrast` is set)."""

    prompt: Prompt
    max_new_tokens: int
    hints: Hints = field(default_factory=Hints, compare=False)
    contrast: Contrast | None = None

    def key(self) -> str:
        c = self.contrast.key() if self.contrast else None
        return _hash(["generate", self.prompt.key(), self.max_new_tokens, c])


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False).encode()).hexdigest()[:32]


class Backend(ABC):
    """A model the runner can score and sample from. Implementations batch internally."""

    @abstractmethod
    def score(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float | None]]:
        """Per request, the summed log-probability of each continuation, in order (None only
        where LQCD masks a token of that continuation)."""

    @abstractmethod
    def generate(
        self, requests: Sequence[GenerateRequest], progress: Progress | None = None
    ) -> list[str]:
        """Per request, the greedy continuation text (special tokens removed)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Facts recorded in config.json: spec, weights hash, chat template, dtype, device.

        Must contain `spec` and `weights_hash` (both enter the run's config hash).
        """

    @property
    def chunk_trials(self) -> int:
        """How many trials the runner sends through together: big enough to batch well, small
        enough that finished trials are saved often (a slow server gets smaller chunks)."""
        return 64

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources."""
