"""Request bodies of the OpenAI-compatible API (validated at the HTTP edge; extra fields
ignored)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TOP_LOGPROBS = 20
MAX_CHOICES = 64


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Body):
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message text; content parts of type `text` are joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError("only text content parts are supported")
            parts.append(part["text"])
        return "".join(parts)


class _Sampling(_Body):
    model: str
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1)

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        return [s for s in stops if s]

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value


class _Scoring(_Body):
    """sycolab extensions: score continuations with the engine's own `Backend.score`.

    `sycolab_choices`: the continuations whose summed log-probabilities are returned (instead of a
    generated completion); `sycolab_next_token_logprobs`: also return the log-probabilities of
    the whole vocabulary at the first reply position. On a steered server both are steered
    exactly as a local `--steer` run (assistant-turn tokens only), which token-id prompts cannot
    be.
    """

    sycolab_choices: list[str] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    sycolab_next_token_logprobs: bool = False

    @property
    def scoring(self) -> bool:
        return self.sycolab_choices is not None or self.sycolab_next_token_logprobs


class ChatCompletionRequest(_Scoring, _Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    # vLLM extensions: continue the trailing assistant message instead of opening a new turn.
    add_generation_prompt: bool = True
    continue_final_message: bool = False


class CompletionRequest(_Scoring, _Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int = Field(default=16, ge=0)
    echo: bool = False
    logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    # vLLM extensions: per-prompt-token log-probabilities, and whether to add BOS etc.
    prompt_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    add_special_tokens: bool = True

    def prompts(self) -> list[str | list[int]]:
        """The prompt as a list of texts or token-id lists (one per completion)."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if not p:
            raise ValueError("prompt: must not be empty")
        flat = [x for x in p if isinstance(x, int)]
        if len(flat) == len(p):
            return [flat]
        return [x for x in p if isinstance(x, str | list)]
