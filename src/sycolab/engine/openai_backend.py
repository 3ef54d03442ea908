"""``openai:MODEL@BASE_URL``: an OpenAI-compatible server (vLLM, ``sycolab serve``) as a backend.

Transport (`engine.http_retry`)
    An ``httpx.AsyncClient`` per call of `score`/`generate`, at most `concurrency` requests in
    flight, retried with exponential backoff; an unreachable or overloaded server stops the run
    with `BackendError` (finished trials kept: re-running resumes), a refused request fails only
    its own trial (recorded with ``error``, retried on resume). The key comes from
    ``OPENAI_API_KEY``; ``SYCOLAB_OPENAI_MAX_RETRIES`` and ``SYCOLAB_OPENAI_TIMEOUT`` set the
    defaults of `max_retries` (5) and `timeout` (120 s).

Choice scoring (``choice_mechanism`` in config.json)
    With a tokenizer (``--tokenizer SPEC``), prompts are rendered with its chat template and
    continuations tokenized exactly as `HFBackend` does (lm-eval's ``whole[len(ctx):]``), and the
    server is asked for the log-probabilities of those very tokens. The first of these that the
    server answers correctly (probed once) is used:

    ``completions-echo-ids``        token-id prompts, ``echo``, ``logprobs``, ``max_tokens`` 0;
    ``completions-echo-ids-1``      the same with ``max_tokens`` 1 (the generated token ignored);
    ``completions-prompt-logprobs`` token-id prompts with vLLM's ``prompt_logprobs``;
    ``completions-echo-text``       text prompts with ``echo``; the continuation's tokens are
                                    those whose ``text_offset`` lies at or after the context's
                                    end (the server's own tokenization);
    ``sycolab-choices``             ``sycolab serve``'s extension (advertised in its ``/models``
                                    entry): chat messages (or a raw text prompt on
                                    ``/completions``) plus ``sycolab_choices``; the server
                                    scores with the engine's own ``Backend.score``, tokenizing
                                    server side by the same rules. Used first on a steered
                                    server (token-id prompts carry no turn structure: the
                                    server steers them at every position, not at the
                                    assistant turns), after the token-id mechanisms
                                    otherwise, and without a tokenizer;
    ``generate-extract``            no tokenizer, or a server that offers none of the above:
                                    greedy generation, then the continuation named first in the
                                    reply (whole-word match) scores 0.0 and the others None; no
                                    match gives a null answer.

Generation
    Greedy (temperature 0, seed 0) ``/v1/chat/completions``; a prompt with an assistant prefill
    goes to ``/v1/completions`` as token ids when a tokenizer is given, else to chat completions
    with vLLM's ``continue_final_message``; raw prompts (``--scoring lm-eval``) go to
    ``/v1/completions``.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx

from sycolab.core.errors import BackendError, UserInputError
from sycolab.core.items import Message
from sycolab.engine.base import (
    Backend,
    ChoiceRequest,
    GenerateRequest,
    Progress,
    Prompt,
)
from sycolab.engine.http_retry import (
    OpenAIRequestError,
    call_with_retries,
    env_number,
    run_client,
)
from sycolab.engine.loading import load_tokenizer
from sycolab.engine.tokens import ChatTokens

T = TypeVar("T")
ECHO_IDS = "completions-echo-ids"
ECHO_IDS_1 = "completions-echo-ids-1"
PROMPT_LOGPROBS = "completions-prompt-logprobs"
ECHO_TEXT = "completions-echo-text"
SYCOLAB_CHOICES = "sycolab-choices"
GENERATE_EXTRACT = "generate-extract"
MECHANISMS = (ECHO_IDS, ECHO_IDS_1, PROMPT_LOGPROBS, ECHO_TEXT, SYCOLAB_CHOICES,
              GENERATE_EXTRACT)
EXTRACT_TOKENS = 16


def parse_spec(spec: str) -> tuple[str, str]:
    """``openai:MODEL@BASE_URL`` -> (MODEL, BASE_URL), split on the first ``@``."""
    body = spec.removeprefix("openai:")
    model, sep, url = body.partition("@")
    if not sep or not model or not url:
        raise UserInputError("expected openai:MODEL@BASE_URL, "
                             "e.g. openai:smollm2@http://127.0.0.1:8000/v1",
                             param="model", value=spec)
    if not url.startswith(("http://", "https://")):
        raise UserInputError("the base URL must start with http:// or https://",
                             param="model", value=spec)
    return model, url.rstrip("/")


def match_continuation(text: str, continuations: Sequence[str]) -> int | None:
    """Index of the continuation named first in `text` (whole-word match; letters match case)."""
    best: tuple[tuple[int, int], int] | None = None
    for k, cont in enumerate(continuations):
        needle = cont.strip()
        if not needle:
            continue
        flags = 0 if len(needle) <= 3 else re.IGNORECASE
        m = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, flags)
        if m is None:
            continue
        key = (m.start(), -len(needle))
        if best is None or key < best[0]:
            best = (key, k)
    return None if best is None else best[1]


class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible HTTP API."""

    def __init__(self, model: str, base_url: str, *, spec: str | None = None,
                 tokenizer: Any = None, tokenizer_spec: str | None = None,
                 api_key: str | None = None, concurrency: int = 8, max_retries: int = 5,
                 timeout: float = 120.0, backoff: float = 0.5, max_backoff: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 mechanism: str | None = None) -> None:
        if concurrency < 1:
            raise UserInputError(f"concurrency: must be a positive integer, got {concurrency}")
        if mechanism is not None and mechanism not in MECHANISMS:
            raise UserInputError(f"mechanism: expected one of {', '.join(MECHANISMS)}")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.spec = spec or f"openai:{model}@{self.base_url}"
        self.chat = ChatTokens(tokenizer) if tokenizer is not None else None
        self.tokenizer_spec = tokenizer_spec
        self.api_key = api_key
        self.concurrency = concurrency
        self.max_retries = max(0, max_retries)
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.transport = transport
        self._mechanism = mechanism
        self._server: dict[str, Any] | None = None
        self._recent: dict[str, Any] = {}
        self.stats = {"requests": 0, "retries": 0, "boundary_misaligned": 0}

    @property
    def chunk_trials(self) -> int:
        """Two rounds of concurrent requests per chunk, so trials are saved as they finish."""
        return max(4, 2 * self.concurrency)

    # ------------------------------------------------------------------ transport
    def _run(self, work: Callable[[httpx.AsyncClient, asyncio.Semaphore], Awaitable[T]]) -> T:
        return run_client(work, base_url=self.base_url, api_key=self.api_key,
                          timeout=self.timeout, concurrency=self.concurrency,
                          transport=self.transport)

    async def _call(self, client: httpx.AsyncClient, sem: asyncio.Semaphore, method: str,
                    path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await call_with_retries(
            client, sem, method, path, body, base_url=self.base_url, stats=self.stats,
            max_retries=self.max_retries, backoff=self.backoff, max_backoff=self.max_backoff)

    def _gather(self, kind: str, requests: Sequence[ChoiceRequest | GenerateRequest],
                one: Callable[[httpx.AsyncClient, asyncio.Semaphore, Any], Awaitable[Any]],
                progress: Progress | None) -> list[Any]:
        results: list[Any] = [None] * len(requests)
        todo: list[int] = []
        for i, req in enumerate(requests):
            key = f"{kind}:{req.key()}"
            if key in self._recent:
                results[i] = self._recent.pop(key)
                if progress is not None:
                    progress(1)
            else:
                todo.append(i)

        async def work(client: httpx.AsyncClient, sem: asyncio.Semaphore) -> list[Any]:
            async def run(i: int) -> Any:
                try:
                    return await one(client, sem, requests[i])
                finally:
                    if progress is not None:
                        progress(1)

            return list(await asyncio.gather(*(run(i) for i in todo), return_exceptions=True))

        outcomes = self._run(work) if todo else []
        failures: list[BaseException] = []
        for i, res in zip(todo, outcomes, strict=True):
            if isinstance(res, BaseException):
                failures.append(res)
            else:
                results[i] = res
        if failures:
            fatal = [f for f in failures if not isinstance(f, Exception)
                     or isinstance(f, BackendError | UserInputError)]
            if fatal:
                raise fatal[0]
            self._recent = {f"{kind}:{requests[i].key()}": res for i, res in zip(
                todo, outcomes, strict=True) if not isinstance(res, BaseException)}
            raise failures[0]
        return results

    # ------------------------------------------------------------------ server facts
    async def _fetch_info(self, client: httpx.AsyncClient, sem: asyncio.Semaphore
                          ) -> dict[str, Any]:
        if self._server is None:
            try:
                data = await self._call(client, sem, "GET", "/models")
            except OpenAIRequestError as exc:
                self._refuse(exc)
                data = {}
            entries = data.get("data") if isinstance(data.get("data"), list) else []
            ids = [e.get("id") for e in entries or [] if isinstance(e, dict)]
            if ids and self.model not in ids:
                raise BackendError(
                    f"the server at {self.base_url} serves {', '.join(map(str, ids[:5]))}"
                    f"{' ...' if len(ids) > 5 else ''}, not {self.model!r}: fix MODEL in "
                    "openai:MODEL@BASE_URL")
            found = [e for e in entries or [] if isinstance(e, dict) and e.get("id") == self.model]
            self._server = found[0] if found else {}
        return self._server

    def _refuse(self, exc: OpenAIRequestError) -> None:
        """Stop before any trial when the server refuses us outright (the fix is on our side)."""
        if exc.status in (401, 403):
            raise BackendError(
                f"the server at {self.base_url} refused the request ({exc}): set OPENAI_API_KEY "
                "to a key it accepts") from None

    def server_info(self) -> dict[str, Any]:
        """The server's `/models` entry for this model (empty where the server lists none)."""
        if self._server is None:
            self._run(self._fetch_info)
        return self._server or {}

    @staticmethod
    def _offers_choices(info: dict[str, Any]) -> tuple[bool, bool]:
        """(whether the server offers `sycolab_choices`, whether it is steered/intervened)."""
        facts = info.get("sycolab")
        if not isinstance(facts, dict):
            return False, False
        extensions = facts.get("extensions")
        offers = isinstance(extensions, list) and "sycolab_choices" in extensions
        return offers, bool(facts.get("steered")) or facts.get("token_level") is False

    def reset_mechanism(self) -> None:
        """Forget the chosen scoring mechanism: the next use probes the server again."""
        self._mechanism = None

    @property
    def choice_mechanism(self) -> str:
        """How options are scored on this server (probed once)."""
        if self._mechanism is None:
            self._mechanism = self._run(self._probe)
        return self._mechanism

    async def _probe(self, client: httpx.AsyncClient, sem: asyncio.Semaphore) -> str:
        """Token-id mechanisms first (with a tokenizer), then `sycolab_choices` where the server
        advertises it; where the `/models` entry is already known and says the server steers,
        `sycolab_choices` comes first (a steered server steers token-id prompts everywhere)."""
        probe = ChoiceRequest(Prompt(messages=(Message("user", "Say hello."),)), ("Hello", "Hi"))
        order = [ECHO_IDS, ECHO_IDS_1, PROMPT_LOGPROBS, ECHO_TEXT] if self.chat else []
        offers, steered = self._offers_choices(self._server or {})
        order = [SYCOLAB_CHOICES, *order] if offers and steered else [*order, SYCOLAB_CHOICES]
        statuses: list[int] = []
        for mech in order:
            if mech == SYCOLAB_CHOICES and not self._offers_choices(
                    await self._fetch_info(client, sem))[0]:
                continue
            try:
                values = await self._score_with(client, sem, mech, probe)
            except OpenAIRequestError as exc:
                self._refuse(exc)
                statuses.append(exc.status)
                continue
            if all(v is not None and math.isfinite(v) and v < 0 for v in values):
                return mech
        if statuses and set(statuses) == {404}:
            await self._chat_reachable(client, sem)
        return GENERATE_EXTRACT

    async def _chat_reachable(self, client: httpx.AsyncClient, sem: asyncio.Semaphore) -> None:
        """Every probe answered 404: a wrong base URL or model stops here, not in every trial."""
        body = {"model": self.model, "max_tokens": 1, "temperature": 0.0,
                "messages": [{"role": "user", "content": "Say hello."}]}
        try:
            await self._call(client, sem, "POST", "/chat/completions", body)
        except OpenAIRequestError as exc:
            self._refuse(exc)
            if exc.status == 404:
                raise BackendError(
                    f"{self.base_url}/chat/completions answered HTTP 404: the server does not "
                    f"serve {self.model!r}, or the base URL lacks /v1 (e.g. "
                    "http://127.0.0.1:8000/v1)") from None

    def describe(self) -> dict[str, Any]:
        info = self.server_info()
        facts = info.get("sycolab") if isinstance(info.get("sycolab"), dict) else {}
        weights = (facts or {}).get("weights_hash")
        mechanism = self.choice_mechanism
        if mechanism == SYCOLAB_CHOICES:
            tokenization: str | None = "lm-eval: whole[len(enc(ctx)):] (server side)"
        elif self.chat and mechanism != GENERATE_EXTRACT:
            tokenization = "lm-eval: whole[len(enc(ctx)):] (client side)"
        else:
            tokenization = None
        return {
            "spec": self.spec,
            "weights_hash": weights or f"served:{self.model}",
            "base_url": self.base_url,
            "served_model": self.model,
            "server": info,
            "tokenizer": self.tokenizer_spec,
            "chat_template": getattr(self.chat.tokenizer, "chat_template", None)
            if self.chat else None,
            "choice_mechanism": mechanism,
            "continuation_tokenization": tokenization,
            "generation": "greedy chat.completions (temperature 0, seed 0)",
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "timeout_s": self.timeout,
        }

    # ------------------------------------------------------------------ scoring
    def score(self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
              ) -> list[list[float | None]]:
        mech = self.choice_mechanism

        async def one(client: httpx.AsyncClient, sem: asyncio.Semaphore,
                      req: ChoiceRequest) -> list[float | None]:
            return await self._score_with(client, sem, mech, req)

        return self._gather(f"score/{mech}", requests, one, progress)

    async def _score_with(self, client: httpx.AsyncClient, sem: asyncio.Semaphore, mech: str,
                          req: ChoiceRequest) -> list[float | None]:
        if mech == SYCOLAB_CHOICES:
            return await self._score_remote(client, sem, req)
        if mech == GENERATE_EXTRACT or self.chat is None:
            text = await self._generate(client, sem, req.prompt, EXTRACT_TOKENS)
            won = match_continuation(text, req.continuations)
            return [0.0 if k == won else None for k in range(len(req.continuations))]
        if mech == ECHO_TEXT:
            return await self._score_text(client, sem, req)
        ctx, conts = self.chat.encode_choice(req)
        values: list[float | None] = [0.0] * len(conts)
        live = [k for k, c in enumerate(conts) if c]
        if not live:
            return values
        prompts = [ctx + conts[k] for k in live]
        body: dict[str, Any] = {"model": self.model, "prompt": prompts, "temperature": 0.0}
        if mech == PROMPT_LOGPROBS:
            body.update(max_tokens=1, prompt_logprobs=0)
        else:
            body.update(echo=True, logprobs=1, max_tokens=0 if mech == ECHO_IDS else 1)
        data = await self._call(client, sem, "POST", "/completions", body)
        choices = self._choices(data, len(prompts))
        for slot, (k, ids) in enumerate(zip(live, prompts, strict=True)):
            lps = self._token_logprobs(mech, choices[slot], ids)
            values[k] = float(sum(lps[len(ctx):]))
        return values

    @staticmethod
    def _choices(data: dict[str, Any], n: int) -> list[dict[str, Any]]:
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) != n:
            raise OpenAIRequestError(200, f"expected {n} choices in the answer")
        return sorted(choices, key=lambda c: int(c.get("index", 0)))

    @staticmethod
    def _token_logprobs(mech: str, choice: dict[str, Any], ids: list[int]) -> list[float]:
        """Log-probabilities of `ids[1:]` (index 0 is a placeholder 0.0)."""
        out = [0.0]
        if mech == PROMPT_LOGPROBS:
            entries = choice.get("prompt_logprobs")
            if not isinstance(entries, list) or len(entries) < len(ids):
                raise OpenAIRequestError(200, "no prompt_logprobs in the answer")
            for j in range(1, len(ids)):
                entry = entries[j] or {}
                item = entry.get(str(ids[j])) if isinstance(entry, dict) else None
                if not isinstance(item, dict) or not isinstance(item.get("logprob"), int | float):
                    raise OpenAIRequestError(200, "prompt_logprobs lack the prompt's token")
                out.append(float(item["logprob"]))
            return out
        lp = (choice.get("logprobs") or {}).get("token_logprobs")
        if not isinstance(lp, list) or len(lp) < len(ids):
            raise OpenAIRequestError(200, "the echoed prompt has no token log-probabilities")
        returned = (choice.get("logprobs") or {}).get("token_ids")
        if isinstance(returned, list) and returned[1:len(ids)] != ids[1:]:
            raise OpenAIRequestError(200, "the server re-tokenized the token-id prompt")
        for v in lp[1:len(ids)]:
            if not isinstance(v, int | float):
                raise OpenAIRequestError(200, "a prompt token has no log-probability")
            out.append(float(v))
        return out

    async def _score_remote(self, client: httpx.AsyncClient, sem: asyncio.Semaphore,
                            req: ChoiceRequest) -> list[float | None]:
        """`sycolab serve`'s extension: the server scores with its engine (steering included)."""
        conts = list(req.continuations)
        if not conts:
            return []
        body: dict[str, Any] = {"model": self.model, "sycolab_choices": conts,
                                "temperature": 0.0}
        if req.prompt.raw is not None:
            path = "/completions"
            body.update(prompt=req.prompt.raw, max_tokens=0)
        else:
            path = "/chat/completions"
            messages = [{"role": m.role, "content": m.content} for m in req.prompt.messages]
            if req.prompt.prefill:
                messages.append({"role": "assistant", "content": req.prompt.prefill})
                body.update(continue_final_message=True, add_generation_prompt=False)
            body["messages"] = messages
        data = await self._call(client, sem, "POST", path, body)
        values: list[float | None] = []
        for k, choice in enumerate(self._choices(data, len(conts))):
            if choice.get("text") not in (None, conts[k]):
                raise OpenAIRequestError(200, "the scores answer the wrong continuations")
            lp = choice.get("logprob")
            if lp is not None and not isinstance(lp, int | float):
                raise OpenAIRequestError(200, "a continuation has no log-probability")
            values.append(None if lp is None else float(lp))
        return values

    async def _score_text(self, client: httpx.AsyncClient, sem: asyncio.Semaphore,
                          req: ChoiceRequest) -> list[float | None]:
        assert self.chat is not None
        context, conts = self.chat.texts(req)
        values: list[float | None] = [0.0] * len(conts)
        live = [k for k, c in enumerate(conts) if c]
        if not live:
            return values
        prompts = [context + conts[k] for k in live]
        body = {"model": self.model, "prompt": prompts, "echo": True, "logprobs": 1,
                "max_tokens": 0, "temperature": 0.0, "add_special_tokens": False}
        data = await self._call(client, sem, "POST", "/completions", body)
        for slot, k in enumerate(live):
            lp = (self._choices(data, len(prompts))[slot].get("logprobs") or {})
            offsets, values_k = lp.get("text_offset"), lp.get("token_logprobs")
            if not isinstance(offsets, list) or not isinstance(values_k, list):
                raise OpenAIRequestError(200, "the echoed prompt has no text offsets")
            end = len(prompts[slot])
            picked = [(o, v) for o, v in zip(offsets, values_k, strict=False)
                      if len(context) <= o < end]
            if not any(o == len(context) for o, _ in picked):
                self.stats["boundary_misaligned"] += 1
            if any(not isinstance(v, int | float) for _, v in picked) or not picked:
                raise OpenAIRequestError(200, "continuation tokens have no log-probabilities")
            values[k] = float(sum(v for _, v in picked))
        return values

    # ------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None
                 ) -> list[str]:
        async def one(client: httpx.AsyncClient, sem: asyncio.Semaphore,
                      req: GenerateRequest) -> str:
            if req.max_new_tokens < 1:
                return ""
            return await self._generate(client, sem, req.prompt, req.max_new_tokens)

        return self._gather("generate", requests, one, progress)

    async def _generate(self, client: httpx.AsyncClient, sem: asyncio.Semaphore,
                        prompt: Prompt, max_new: int) -> str:
        base: dict[str, Any] = {"model": self.model, "max_tokens": max_new, "temperature": 0.0,
                                "seed": 0}
        if prompt.raw is not None or (prompt.prefill and self.chat is not None):
            body = dict(base)
            if self.chat is not None:
                body["prompt"] = self.chat.encode(self.chat.render(prompt), prompt.raw is not None)
            else:
                body.update(prompt=prompt.raw, add_special_tokens=False)
            data = await self._call(client, sem, "POST", "/completions", body)
            return str(self._choices(data, 1)[0].get("text") or "")
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        body = dict(base, messages=messages)
        if prompt.prefill:
            messages.append({"role": "assistant", "content": prompt.prefill})
            body.update(continue_final_message=True, add_generation_prompt=False)
        data = await self._call(client, sem, "POST", "/chat/completions", body)
        message = self._choices(data, 1)[0].get("message") or {}
        return str(message.get("content") or "")


def load_openai_backend(spec: str, *, tokenizer: str | None = None, concurrency: int = 8,
                        max_retries: int | None = None, timeout: float | None = None,
                        transport: httpx.AsyncBaseTransport | None = None) -> OpenAIBackend:
    """Build the backend for ``openai:MODEL@BASE_URL`` (see the module docstring)."""
    model, url = parse_spec(spec)
    tok = load_tokenizer(tokenizer) if tokenizer else None
    retries = max_retries if max_retries is not None else int(
        env_number("SYCOLAB_OPENAI_MAX_RETRIES", 5))
    limit = timeout if timeout is not None else env_number("SYCOLAB_OPENAI_TIMEOUT", 120.0)
    return OpenAIBackend(model, url, spec=spec, tokenizer=tok, tokenizer_spec=tokenizer,
                         api_key=os.environ.get("OPENAI_API_KEY") or None,
                         concurrency=concurrency, max_retries=retries, timeout=limit,
                         transport=transport)
