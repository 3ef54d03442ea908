"""The contract of a local model: what the server, side effects, KTS, steering training and
(next) causal localisation may use of a transformers backend (`HFBackend` implements it).

Its own module (not `engine.base`) because it names the engine's token-level types
(`ChatTokens`, `DecodeJob`, `TokenLogprob`), which themselves build on `engine.base`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from sycolab.core.errors import UserInputError
from sycolab.engine.base import (
    Backend,
    ChoiceRequest,
    GenerateRequest,
    Progress,
    Prompt,
    SteeringConfig,
)
from sycolab.engine.sampling import Decoded, DecodeJob
from sycolab.engine.token_logprobs import TokenLogprob
from sycolab.engine.tokens import ChatTokens


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

    def cache_kwarg(self) -> str:
        """The forward keyword that takes a key/value cache (``past_key_values``, or ``cache``
        in later transformers)."""
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


@runtime_checkable
class Steerable(Protocol):
    """A backend whose steering can change after loading (`HFBackend`); the steering sweep
    re-steers one loaded model for each setting."""

    steering: SteeringConfig | None

    def set_steering(self, steering: SteeringConfig | None) -> None:
        """Steer with `steering` from now on (None: stop), as a fresh load with it would."""
        ...


def require_local(backend: Backend | LocalModel, what: str) -> LocalModel:
    """`backend` as a `LocalModel`, or a `UserInputError` naming `what` needs one."""
    if not isinstance(backend, LocalModel):
        raise UserInputError(f"{what} needs a local transformers model (smollm2 or hf:PATH)")
    return backend
