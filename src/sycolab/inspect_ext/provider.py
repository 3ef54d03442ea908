"""The ``sycolab`` model provider: ``--model sycolab/<spec>`` answers Inspect's generate calls
from a sycolab backend (``smollm2``, ``hf:PATH``, ``mock:NAME``, ``openai:MODEL@URL``) with
sycolab's mitigations applied.

Model args (``-M name=value``): steer (a vector file), multiplier, layers, allow_foreign_vector,
decoding (``lqcd``), alpha, beta, adapter, mitigation (``honesty-prompt``, ``third-person``),
device, dtype, batch_size. Decoding is greedy, as in ``sycolab eval``; ``max_tokens`` from
Inspect's generate config (default 32). Concurrent generate calls are batched.
LQCD's neutral prompt here is the rule-based neutralizer applied to the last user turn (Inspect
passes messages, not the protocol), where ``sycolab eval`` uses the protocol's own baseline step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.core.neutralize import neutralize
from sycolab.engine.base import Backend, Contrast, GenerateRequest, Prompt
from sycolab.engine.spec import check_spec, load_backend, refuse_unsupported
from sycolab.evaluation.interventions import Interventions, resolve_interventions

DEFAULT_MAX_TOKENS = 32
MAX_BATCH = 16


def to_prompt(messages: Sequence[ChatMessage]) -> Prompt:
    """Inspect messages as a sycolab prompt; a trailing assistant message is the prefill."""
    plain = [Message(m.role if m.role in ("system", "user", "assistant") else "user", m.text)
             for m in messages]
    prefill = ""
    if plain and plain[-1].role == "assistant":
        prefill = plain.pop().content
    return Prompt(messages=tuple(plain), prefill=prefill)


def _layers(value: Any) -> list[int] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    try:
        return [int(v) for v in items]
    except ValueError:
        raise UserInputError(f"expected layer numbers, got {value!r}", param="layers") from None


def _float(name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"expected a number, got {value!r}", param=name) from None


class _Batcher:
    """Greedy generation requests gathered while the backend is busy, sent as one batch."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.pending: list[tuple[GenerateRequest, asyncio.Future[str]]] = []
        self.lock = asyncio.Lock()

    async def generate(self, request: GenerateRequest) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.pending.append((request, future))
        async with self.lock:
            if not future.done():
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                try:
                    texts = await anyio.to_thread.run_sync(
                        self.backend.generate, [r for r, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiting call gets the failure
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                else:
                    for (_, f), text in zip(batch, texts, strict=True):
                        f.set_result(text)
        return await future


@modelapi(name="sycolab")
class SycolabAPI(ModelAPI):
    """A sycolab backend, mitigations applied, behind Inspect's model interface."""

    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(),  # noqa: B008 - Inspect's signature
                 **model_args: Any) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        args = dict(model_args)
        adapter = args.pop("adapter", None)
        self.interventions: Interventions = resolve_interventions(
            mitigation=args.pop("mitigation", None), steer=args.pop("steer", None),
            multiplier=_float("multiplier", args.pop("multiplier", None)),
            layers=_layers(args.pop("layers", None)), decoding=args.pop("decoding", None),
            alpha=_float("alpha", args.pop("alpha", None)),
            beta=_float("beta", args.pop("beta", None)),
            allow_foreign_vector=bool(args.pop("allow_foreign_vector", False)))
        device, dtype = str(args.pop("device", "auto")), str(args.pop("dtype", "auto"))
        batch_size = args.pop("batch_size", "auto")
        if args:
            raise UserInputError(f"unknown model args for sycolab/: {', '.join(sorted(args))} "
                                 "(valid: steer, multiplier, layers, allow_foreign_vector, "
                                 "decoding, alpha, beta, adapter, mitigation, device, dtype, "
                                 "batch_size)")
        iv = self.interventions
        check_spec(model_name)
        refuse_unsupported(model_name, lqcd=iv.lqcd is not None,
                           steering=iv.steering is not None, adapter=adapter)
        self.backend = load_backend(model_name, adapter=adapter, device=device, dtype=dtype,
                                    batch_size=batch_size, steering=iv.steering)
        self.batcher = _Batcher(self.backend)

    def describe(self) -> dict[str, Any]:
        """The backend's description (spec, weights hash, ...) and the interventions."""
        iv = self.interventions
        return self.backend.describe() | {"decoding": iv.decoding_record(),
                                          "interventions": iv.interventions_record()}

    def request(self, messages: Sequence[ChatMessage], config: GenerateConfig) -> GenerateRequest:
        """The sycolab request for one generate call (mitigations applied)."""
        iv = self.interventions
        prompt = to_prompt(messages)
        contrast = None
        if iv.lqcd is not None:
            msgs = prompt.messages
            last = max((i for i, m in enumerate(msgs) if m.role == "user"), default=None)
            neutral = msgs if last is None else (
                *msgs[:last], Message("user", neutralize(msgs[last].content)), *msgs[last + 1:])
            if iv.preset is not None:
                neutral = iv.preset.apply(neutral)
            contrast = Contrast(Prompt(tuple(neutral), prompt.prefill), *iv.lqcd)
        if iv.preset is not None:
            prompt = Prompt(iv.preset.apply(prompt.messages), prompt.prefill)
        return GenerateRequest(prompt, config.max_tokens or DEFAULT_MAX_TOKENS, contrast=contrast)

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo],
                       tool_choice: ToolChoice, config: GenerateConfig) -> ModelOutput:
        text = await self.batcher.generate(self.request(input, config))
        return ModelOutput.from_content(model=self.model_name, content=text)

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        return 2 * MAX_BATCH
