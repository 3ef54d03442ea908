"""The model behind the server: any `Backend`, plus token-level access for a `LocalModel`.

Greedy chat completions without log-probabilities go through ``backend.generate`` (so the
engine's steering applies, and answers equal ``sycolab eval --model SPEC``'s). Prompt
log-probabilities (``echo``, ``prompt_logprobs``), sampling, generated-token and next-token
log-probabilities go through the engine's public token-level methods (`LocalModel`:
``prompt_logprobs``, ``decode``, ``next_token_logprobs``), in the engine's batches, threads and
prefix store, and under its steering. Option scoring through the ``sycolab_choices`` extension
(chat messages, or a raw text prompt) goes through ``backend.score``.

Steered positions (a server started with ``--steer``), as the engine steers:
- a raw-text or token-id prompt (``/v1/completions``) has no turns: every position is steered,
  prompt and generated tokens alike (as ``--scoring lm-eval`` steers raw prompts);
- a chat prompt (``/v1/chat/completions``) is steered at its assistant-turn tokens (earlier
  assistant turns, the generation header, any ``continue_final_message`` prefill) and at every
  generated token, never at system or user tokens.

A server whose backend contrasts (``--decoding``, LQCD) refuses token-level requests with 501:
the contrast needs each request's neutral prompt, which those requests do not carry.
Everything here runs on the server's single worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sycolab.core.errors import SycolabError
from sycolab.core.items import Message
from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Prompt
from sycolab.engine.local_model import LocalModel
from sycolab.engine.sampling import Decoded, DecodeJob
from sycolab.engine.tokens import ChatTokens
from sycolab.server._schemas import ChatCompletionRequest, CompletionRequest


class RequestError(SycolabError):
    """A request the server refuses: HTTP `status` with a one-line message."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.param = param


@dataclass
class TokenInfo:
    """One token with its log-probability and the most likely alternatives."""

    token_id: int
    text: str
    logprob: float
    top: list[tuple[int, str, float]] = field(default_factory=list)


@dataclass
class Completion:
    """One generated completion (plus the echoed prompt for /v1/completions)."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tokens: list[TokenInfo] | None = None  # generated tokens, where log-probs were asked for
    prompt: list[TokenInfo | None] | None = None  # prompt tokens (first has no log-prob)
    prompt_text: str = ""
    prompt_offsets: list[int] | None = None


@dataclass
class Scores:
    """The answer to a `sycolab_choices` / `sycolab_next_token_logprobs` request."""

    choices: list[str]
    logprobs: list[float | None]
    prompt_tokens: int
    next_token: list[float] | None = None


@dataclass
class ServerLimits:
    """Per-request limits; violations are 4xx answers, never crashes."""

    max_prompt_tokens: int = 8192
    max_new_tokens: int = 1024
    max_prompts: int = 64


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class ServedModel:
    """Executes batches of API requests on one backend (called from the worker thread only)."""

    def __init__(self, backend: Backend, *, name: str, limits: ServerLimits | None = None,
                 intervened: bool = False, decoding: str | None = None) -> None:
        self.backend = backend
        self.name = name
        self.limits = limits or ServerLimits()
        self.intervened = intervened  # steered (or otherwise modified): reported to clients
        self.decoding = decoding  # a contrastive decoding (LQCD): no token-level requests
        self.local: LocalModel | None = backend if isinstance(backend, LocalModel) else None

    @property
    def token_level(self) -> bool:
        """Whether token-level requests (prompt log-probs, sampling, logprobs) are served."""
        return self.local is not None and self.decoding is None

    def _engine(self, what: str) -> LocalModel:
        if self.local is None:
            raise RequestError(501, f"{what} needs a local transformers model; this server "
                                    f"serves {self.name} without token-level access")
        if self.decoding is not None:
            raise RequestError(501, f"{what} is not available on a server started with "
                                    f"--decoding {self.decoding}: the contrast needs each "
                                    "request's neutral prompt, which these requests do not "
                                    "carry; use greedy chat completions")
        return self.local

    @property
    def _tokens(self) -> ChatTokens:
        return self._engine("token-level access").tokens

    def _raw_flags(self, ids: list[int]) -> list[float]:
        """Steering flags of a raw-text or token-id prompt: every position, when steering."""
        local = self.local
        return [1.0] * len(ids) if local is not None and local.steering_active else []

    def count(self, text: str) -> int:
        if self.local is not None:
            return self.local.tokens.count(text)
        return len(re.findall(r"\S+", text))

    def _tok_text(self, token_id: int) -> str:
        return self._tokens.decode([token_id])

    def _check_prompt(self, n_tokens: int) -> None:
        if n_tokens > self.limits.max_prompt_tokens:
            raise RequestError(400, f"the prompt has {n_tokens} tokens; this server accepts at "
                                    f"most {self.limits.max_prompt_tokens}", "prompt")

    def _check_new(self, n: int, param: str = "max_tokens") -> None:
        if n > self.limits.max_new_tokens:
            raise RequestError(400, f"{param} = {n}; this server generates at most "
                                    f"{self.limits.max_new_tokens} tokens per request", param)

    # ------------------------------------------------------------------ chat
    @staticmethod
    def chat_prompt(req: ChatCompletionRequest) -> Prompt:
        msgs: list[Message] = []
        for m in req.messages:
            try:
                text = m.text()
            except ValueError as exc:
                raise RequestError(400, f"messages: {exc}", "messages") from None
            msgs.append(Message("system" if m.role == "developer" else m.role, text))
        prefill = ""
        if req.continue_final_message:
            if msgs[-1].role != "assistant":
                raise RequestError(400, "continue_final_message needs a final assistant message",
                                   "messages")
            prefill = msgs.pop().content
        return Prompt(messages=tuple(msgs), prefill=prefill)

    def _render(self, prompt: Prompt) -> str:
        if self.local is not None:
            return self.local.render(prompt)
        return "\n".join(f"{m.role}: {m.content}" for m in prompt.messages) + prompt.prefill

    def run_chat(self, reqs: Sequence[ChatCompletionRequest]) -> list[Completion | Exception]:
        """Greedy requests without log-probs share one `backend.generate` batch; the others
        (sampled, or with log-probs) share one token-level decode."""
        out: list[Completion | Exception] = [RuntimeError("not run")] * len(reqs)
        greedy: list[tuple[int, Prompt, int, int]] = []
        decode: list[tuple[int, DecodeJob]] = []
        for i, req in enumerate(reqs):
            try:
                prompt = self.chat_prompt(req)
                n_prompt = self.count(self._render(prompt))
                self._check_prompt(n_prompt)
                limit = req.max_completion_tokens or req.max_tokens or self.limits.max_new_tokens
                self._check_new(limit)
                temperature = 1.0 if req.temperature is None else req.temperature
                if temperature == 0.0 and not req.logprobs:
                    greedy.append((i, prompt, limit, n_prompt))
                    continue
                engine = self._engine("sampling (temperature > 0) or logprobs")
                if not self._render(prompt):
                    raise RequestError(400, "messages: the rendered prompt is empty", "messages")
                ids, flags = engine.prompt_tokens(prompt)
                top = (req.top_logprobs or 0) if req.logprobs else None
                decode.append((i, DecodeJob(ids, limit, temperature, req.top_p or 1.0, req.seed,
                                            top, flags)))
            except Exception as exc:  # noqa: BLE001 - one request's failure stays its own
                out[i] = exc
        if decode:
            decoded = self.decode([job for _, job in decode])
            for (i, job), d in zip(decode, decoded, strict=True):
                try:
                    out[i] = self._completion(job, d, reqs[i].stops())
                except Exception as exc:  # noqa: BLE001
                    out[i] = exc
        if greedy:
            texts = self.backend.generate(
                [GenerateRequest(p, limit) for _, p, limit, _ in greedy])
            for (i, _, limit, n_prompt), text in zip(greedy, texts, strict=True):
                n_new = self.count(text)
                cut, stopped = _cut_at_stop(text, reqs[i].stops())
                reason = "stop" if stopped or n_new < limit else "length"
                out[i] = Completion(cut, reason, n_prompt, self.count(cut) if stopped else n_new)
        return out

    # ------------------------------------------------------------------ option scores
    @property
    def scores_choices(self) -> bool:
        """Whether `sycolab_choices` is offered: a local transformers backend that scores."""
        return self.local is not None

    def _score_prompt(self, req: ChatCompletionRequest | CompletionRequest) -> Prompt:
        if isinstance(req, ChatCompletionRequest):
            return self.chat_prompt(req)
        try:
            prompts = req.prompts()
        except ValueError as exc:
            raise RequestError(400, str(exc), "prompt") from None
        if len(prompts) != 1 or not isinstance(prompts[0], str):
            raise RequestError(400, "prompt: sycolab_choices scores one text prompt (token ids "
                                    "carry no turn structure)", "prompt")
        return Prompt(raw=prompts[0])

    def run_scores(self, reqs: Sequence[ChatCompletionRequest | CompletionRequest]
                   ) -> list[Scores | Exception]:
        """Option log-probabilities from `backend.score` (one engine batch for all requests)."""
        out: list[Scores | Exception] = [RuntimeError("not run")] * len(reqs)
        jobs: list[tuple[int, Prompt, tuple[str, ...], int]] = []
        for i, req in enumerate(reqs):
            try:
                if self.local is None:
                    raise RequestError(501, "sycolab_choices needs a local transformers model; "
                                            f"this server serves {self.name} without it")
                if req.stream:
                    raise RequestError(400, "stream: not supported with sycolab_choices",
                                       "stream")
                prompt = self._score_prompt(req)
                choices = tuple(req.sycolab_choices or ())
                n_prompt = len(self.local.prompt_tokens(prompt)[0])
                longest = max((self.count(c) for c in choices), default=0)
                self._check_prompt(n_prompt + longest)
                jobs.append((i, prompt, choices, n_prompt))
            except Exception as exc:  # noqa: BLE001 - one request's failure stays its own
                out[i] = exc
        asked = [(i, ChoiceRequest(p, c)) for i, p, c, _ in jobs if c]
        scored = dict(zip((i for i, _ in asked), self.backend.score([r for _, r in asked]),
                          strict=True)) if asked else {}
        for i, prompt, choices, n_prompt in jobs:
            try:
                nxt = (self.next_token_logprobs(prompt)
                       if reqs[i].sycolab_next_token_logprobs else None)
                out[i] = Scores(list(choices), list(scored.get(i, [])), n_prompt, nxt)
            except Exception as exc:  # noqa: BLE001
                out[i] = exc
        return out

    def next_token_logprobs(self, prompt: Prompt) -> list[float]:
        """Log-probabilities over the vocabulary at the first reply position, steered as the
        engine steers (the prompt's assistant-turn tokens)."""
        if self.local is None:
            raise RequestError(501, "sycolab_next_token_logprobs needs a local transformers "
                                    f"model; this server serves {self.name} without it")
        return self.local.next_token_logprobs(prompt)

    # ------------------------------------------------------------------ completions
    def _encode_prompt(self, prompt: str | list[int], special: bool
                       ) -> tuple[list[int], list[int] | None]:
        """Token ids and (for text prompts) each token's character offset."""
        tokens = self._tokens
        if isinstance(prompt, list):
            vocab = tokens.vocab_size
            if any(t < 0 or t >= vocab for t in prompt):
                raise RequestError(400, f"prompt: token ids must lie in [0, {vocab})", "prompt")
            return list(prompt), None
        return tokens.encode_with_offsets(prompt, special)

    def run_completions(self, reqs: Sequence[CompletionRequest]
                        ) -> list[list[Completion] | Exception]:
        out: list[list[Completion] | Exception] = [RuntimeError("not run")] * len(reqs)
        jobs: list[tuple[int, list[str | list[int]]]] = []
        for i, req in enumerate(reqs):
            try:
                try:
                    prompts = req.prompts()
                except ValueError as exc:
                    raise RequestError(400, str(exc), "prompt") from None
                if len(prompts) > self.limits.max_prompts:
                    raise RequestError(400, f"prompt: at most {self.limits.max_prompts} prompts "
                                            "per request", "prompt")
                self._check_new(req.max_tokens)
                if req.stream:
                    raise RequestError(400, "stream: not supported on /v1/completions", "stream")
                temperature = 1.0 if req.temperature is None else req.temperature
                needs_tokens = (req.echo and req.logprobs is not None) or (
                    req.prompt_logprobs is not None) or req.logprobs is not None or (
                    req.max_tokens > 0 and temperature > 0) or any(
                    isinstance(p, list) for p in prompts)
                if needs_tokens:
                    self._engine("prompt log-probabilities, token-id prompts, logprobs or "
                                 "sampling")
                    jobs.append((i, prompts))
                else:
                    out[i] = self._plain_completions(req, [str(p) for p in prompts])
            except Exception as exc:  # noqa: BLE001 - one request's failure stays its own
                out[i] = exc
        if jobs:
            self._token_completions(reqs, jobs, out)
        return out

    def _plain_completions(self, req: CompletionRequest, prompts: list[str]) -> list[Completion]:
        """Greedy completions of text prompts through `backend.generate` (any backend)."""
        counts = [self.count(p) for p in prompts]
        for n in counts:
            self._check_prompt(n)
        texts = [""] * len(prompts)
        if req.max_tokens > 0:
            texts = self.backend.generate(
                [GenerateRequest(Prompt(raw=p), req.max_tokens) for p in prompts])
        result = []
        for p, n, text in zip(prompts, counts, texts, strict=True):
            cut, stopped = _cut_at_stop(text, req.stops())
            n_new = self.count(cut)
            reason = "stop" if stopped or n_new < req.max_tokens else "length"
            result.append(Completion((p if req.echo else "") + cut, reason, n, n_new,
                                     prompt_text=p))
        return result

    def _token_completions(self, reqs: Sequence[CompletionRequest],
                           jobs: list[tuple[int, list[str | list[int]]]],
                           out: list[list[Completion] | Exception]) -> None:
        encoded: dict[int, list[tuple[list[int], list[int] | None]]] = {}
        scoring: list[tuple[int, int]] = []  # (request, prompt) pairs needing prompt log-probs
        for i, prompts in jobs:
            req = reqs[i]
            try:
                enc = [self._encode_prompt(p, req.add_special_tokens) for p in prompts]
                for ids, _ in enc:
                    if not ids:
                        raise RequestError(400, "prompt: must not be empty", "prompt")
                    self._check_prompt(len(ids))
                encoded[i] = enc
                if (req.echo and req.logprobs is not None) or req.prompt_logprobs is not None:
                    scoring.extend((i, k) for k in range(len(enc)))
            except Exception as exc:  # noqa: BLE001
                out[i] = exc
        top_k = {i: max(reqs[i].logprobs or 0, reqs[i].prompt_logprobs or 0) for i in encoded}
        seqs = [encoded[i][k][0] for i, k in scoring]
        scored = self.prompt_logprobs(seqs, max((top_k[i] for i, _ in scoring), default=0))
        by_pair = dict(zip(scoring, scored, strict=True))
        gen: dict[tuple[int, int], DecodeJob] = {}
        for i, enc in encoded.items():
            req = reqs[i]
            temperature = 1.0 if req.temperature is None else req.temperature
            if req.max_tokens > 0:
                for k, (ids, _) in enumerate(enc):
                    gen[(i, k)] = DecodeJob(ids, req.max_tokens, temperature, req.top_p or 1.0,
                                            req.seed, req.logprobs, self._raw_flags(ids))
        decoded = dict(zip(gen, self.decode(list(gen.values())), strict=True)) if gen else {}
        for i, enc in encoded.items():
            req = reqs[i]
            try:
                result = []
                for k, (ids, offsets) in enumerate(enc):
                    plp = by_pair.get((i, k))
                    if plp is not None:
                        plp = [None if t is None else TokenInfo(t.token_id, t.text, t.logprob,
                                                                t.top[: top_k[i]]) for t in plp]
                    text_prompt = enc_text = (req.prompts()[k] if offsets is not None
                                              else self._tokens.decode(ids))
                    if req.max_tokens > 0:
                        comp = self._completion(gen[(i, k)], decoded[(i, k)], req.stops())
                    else:
                        comp = Completion("", "length", len(ids), 0,
                                          tokens=[] if req.logprobs is not None else None)
                    comp.prompt = plp
                    comp.prompt_text = str(text_prompt)
                    comp.prompt_offsets = (offsets if offsets is not None
                                           else self._tokens.offsets(ids))
                    comp.prompt_tokens = len(ids)
                    if req.echo:
                        comp.text = str(enc_text) + comp.text
                    result.append(comp)
                out[i] = result
            except Exception as exc:  # noqa: BLE001
                out[i] = exc

    # ------------------------------------------------------------------ token level
    def prompt_logprobs(self, seqs: Sequence[list[int]], top_k: int
                        ) -> list[list[TokenInfo | None]]:
        """Per sequence, each token's log-probability given the tokens before it (None first),
        steered at every position on a steered server."""
        engine = self._engine("prompt log-probabilities")
        if not seqs:
            return []
        rows = engine.prompt_logprobs([(s, self._raw_flags(s)) for s in seqs], top_k)
        return [[None if t is None else TokenInfo(
            t.token_id, self._tok_text(t.token_id), t.logprob,
            [(a, self._tok_text(a), v) for a, v in t.top]) for t in row] for row in rows]

    def decode(self, jobs: Sequence[DecodeJob]) -> list[Decoded]:
        """Batched token-level generation of `jobs` by the engine."""
        return self._engine("token-level generation").decode(jobs)

    def _completion(self, job: DecodeJob, d: Decoded, stops: Sequence[str]) -> Completion:
        """A decoded row as a completion: stop strings cut, log-probabilities where asked."""
        new = list(d.tokens)
        infos: list[TokenInfo] = []
        if job.top_logprobs is not None:
            infos = [TokenInfo(tok, self._tok_text(tok), lp,
                               [(t, self._tok_text(t), v) for t, v in alts])
                     for tok, lp, alts in zip(new, d.logprobs, d.top, strict=True)]
        tokens = self._tokens
        text = tokens.decode(new, skip_special=True)
        cut, hit = _cut_at_stop(text, stops)
        if hit:
            keep = 0
            while keep < len(new) and len(tokens.decode(new[: keep + 1],
                                                        skip_special=True)) <= len(cut):
                keep += 1
            new, infos = new[:keep], infos[:keep]
        reason = "stop" if d.stopped or hit else "length"
        return Completion(cut, reason, len(job.ids), len(new),
                          tokens=infos if job.top_logprobs is not None else None)
