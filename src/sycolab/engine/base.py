"""The backend interface the runner talks to. Torch-free: mock backends need no torch."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sycolab.core.errors import BackendError  # noqa: F401 - re-exported for engines
from sycolab.core.errors import UserInputError
from sycolab.core.items import Message

if TYPE_CHECKING:
    from sycolab.engine.sampling import Decoded, DecodeJob
    from sycolab.engine.token_logprobs import TokenLogprob
    from sycolab.engine.tokens import ChatTokens

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

    def close(self) -> None:
        """Release resources."""


@runtime_checkable
class LocalModel(Protocol):
    """A local transformers model with token-level access (`HFBackend` implements it).

    Tensors are torch tensors (typed `Any`: this module is torch-free). Steering masks are
    (batch, width) floats, 1 = steer that column; columns fed later through a KV cache (generated
    tokens) are steered; a None mask steers every position.
    """

    model: Any  # the torch module (a peft wrapper when an adapter is loaded)
    tokens: ChatTokens  # rendering and tokenization (`sycolab.engine.tokens`)
    spec: str
    weights_hash: str
    device: str
    adapter: str | None
    adapter_hash: str | None
    steering: SteeringConfig | None
    steering_info: dict[str, Any] | None
    pad_id: int
    stop_ids: list[int]
    hidden_size: int  # 0 where the config does not say
    num_layers: int
    num_heads: int
    head_dim: int

    def score(self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
              ) -> list[list[float | None]]: ...

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None
                 ) -> list[str]: ...

    def describe(self) -> dict[str, Any]: ...

    def render(self, prompt: Prompt) -> str:
        """The text the model sees before the assistant text."""
        ...

    def prompt_tokens(self, prompt: Prompt) -> tuple[list[int], list[float]]:
        """The prompt's token ids and steering flags (empty when not steering)."""
        ...

    def encode_choice(self, request: ChoiceRequest) -> tuple[list[int], list[list[int]]]:
        """Context tokens and each continuation's tokens, as `score` sees them."""
        ...

    @property
    def steering_active(self) -> bool: ...

    def steering_scope(self, mask: Any) -> AbstractContextManager[Any]:
        """Steering on for the forward passes in the block, at `mask`'s positions."""
        ...

    def unmodified(self) -> AbstractContextManager[Any]:
        """Steering off and any adapter disabled inside the block."""
        ...

    def forward_logits(self, ids: Any, attention_mask: Any = None, steer_mask: Any = None, *,
                       grad: bool = False, keep: int = 0) -> Any:
        """The model's logits (batch, seq or the last `keep`, vocab), steered at `steer_mask`,
        under `torch.inference_mode` or, with `grad`, with gradients."""
        ...

    def hook_points(self) -> list[str]:
        """Names of the hook points (`sycolab.engine.hook_points`)."""
        ...

    def hooked(self, point: str, fn: Callable[[Any], Any]) -> AbstractContextManager[None]:
        """`fn(activation)` runs at `point` in every forward of the block; a tensor it returns
        replaces the activation."""
        ...

    def prompt_logprobs(self, prompts: Sequence[tuple[list[int], list[float]]], top_k: int
                        ) -> list[list[TokenLogprob | None]]:
        """Per (ids, steering flags) prompt, each token's log-probability given those before it
        (None for the first), batched on the engine's workers."""
        ...

    def decode(self, jobs: Sequence[DecodeJob]) -> list[Decoded]:
        """Greedy or sampled continuations with log-probabilities where asked."""
        ...

    def next_token_logprobs(self, prompt: Prompt) -> list[float]:
        """Log-probabilities over the vocabulary at the first reply position."""
        ...


def require_local(backend: Backend | LocalModel, what: str) -> LocalModel:
    """`backend` as a `LocalModel`, or a `UserInputError` naming `what` needs one."""
    if not isinstance(backend, LocalModel):
        raise UserInputError(f"{what} needs a local transformers model (smollm2 or hf:PATH)")
    return backend
