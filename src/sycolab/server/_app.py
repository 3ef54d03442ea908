"""The FastAPI application: OpenAI-compatible routes over a `ServedModel`."""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sycolab.server._batcher import Batcher, OverloadedError
from sycolab.server._model import Completion, RequestError, Scores, ServedModel, TokenInfo
from sycolab.server._schemas import ChatCompletionRequest, CompletionRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OPEN_PATHS = frozenset({"/health"})
SCORING_EXTENSIONS = ("sycolab_choices", "sycolab_next_token_logprobs")


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | int | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = {401: "authentication_error", 404: "not_found_error", 413: "request_too_large",
            429: "rate_limit_error", 501: "not_implemented", 503: "server_busy"}.get(
        status, "invalid_request_error" if status < 500 else "server_error")
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return JSONResponse(error_body(message, kind, param, status), status_code=status,
                        headers=headers)


class BodyLimit:
    """Pure ASGI middleware: 413 for bodies over `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = _error(413, f"request body over the server's limit of {self.max_bytes} bytes")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_big(scope, receive, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): buffer up to the limit, then replay to the app.
        buffered: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await too_big(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)




def _stamp(prefix: str) -> tuple[str, int]:
    return f"{prefix}-{uuid.uuid4().hex[:24]}", int(time.time())


def _chat_logprobs(tokens: list[TokenInfo] | None) -> dict[str, Any] | None:
    if tokens is None:
        return None
    return {"content": [
        {"token": t.text, "logprob": t.logprob, "bytes": list(t.text.encode()),
         "top_logprobs": [{"token": s, "logprob": v, "bytes": list(s.encode())}
                          for _, s, v in t.top]} for t in tokens]}


def _legacy_logprobs(c: Completion, echo: bool) -> dict[str, Any]:
    tokens: list[str] = []
    ids: list[int] = []
    lps: list[float | None] = []
    tops: list[dict[str, float] | None] = []
    offsets: list[int] = []
    if echo:
        prompt = c.prompt or []
        for j, t in enumerate(prompt):
            offsets.append((c.prompt_offsets or [0] * len(prompt))[j])
            if t is None:
                tokens.append("")
                ids.append(-1)
                lps.append(None)
                tops.append(None)
                continue
            tokens.append(t.text)
            ids.append(t.token_id)
            lps.append(t.logprob)
            tops.append({s: v for _, s, v in t.top})
    pos = len(c.prompt_text) if echo else 0
    for t in c.tokens or []:
        tokens.append(t.text)
        ids.append(t.token_id)
        lps.append(t.logprob)
        tops.append({s: v for _, s, v in t.top})
        offsets.append(pos)
        pos += len(t.text)
    return {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops,
            "text_offset": offsets, "token_ids": ids}


def _prompt_logprobs(c: Completion) -> list[dict[str, dict[str, Any]] | None]:
    out: list[dict[str, dict[str, Any]] | None] = []
    for t in c.prompt or []:
        if t is None:
            out.append(None)
            continue
        entry = {str(t.token_id): {"logprob": t.logprob, "rank": None, "decoded_token": t.text}}
        for rank, (tid, s, v) in enumerate(t.top, start=1):
            entry.setdefault(str(tid), {"logprob": v, "rank": rank, "decoded_token": s})
            if tid == t.token_id:
                entry[str(tid)]["rank"] = rank
        out.append(entry)
    return out


def create_app(served: ServedModel, *, api_key: str | None = None,
               max_body_bytes: int = 1 << 20, max_batch: int = 16,
               extra_info: dict[str, Any] | None = None) -> FastAPI:
    """The OpenAI-compatible app. `api_key` protects every route but /health."""
    batcher = Batcher({"chat": served.run_chat, "completions": served.run_completions,
                       "scores": served.run_scores}, max_batch=max_batch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()

    app = FastAPI(title="sycolab serve", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.batcher = batcher
    app.state.served = served
    created = int(time.time())

    @app.middleware("http")
    async def _auth(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if api_key and request.url.path not in OPEN_PATHS:
            given = request.headers.get("authorization", "")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(token.encode(), api_key.encode()):
                return _error(401, "missing or wrong API key (Authorization: Bearer KEY)")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "the request body is not valid JSON")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(error_body(f"{where}: {first.get('msg', 'invalid value')}",
                                       param=where or None, code=422), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": served.name, "queued": batcher.pending,
                "batches": batcher.batches, "batched_requests": batcher.batched_requests}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        describe = served.backend.describe()
        info = {"spec": describe.get("spec", served.name),
                "token_level": served.token_level,
                "max_prompt_tokens": served.limits.max_prompt_tokens,
                "max_new_tokens": served.limits.max_new_tokens,
                "extensions": list(SCORING_EXTENSIONS) if served.scores_choices else [],
                "steered": served.intervened, **(extra_info or {})}
        info.setdefault("weights_hash", describe.get("weights_hash"))
        return {"object": "list", "data": [
            {"id": served.name, "object": "model", "created": created, "owned_by": "sycolab",
             "max_model_len": served.limits.max_prompt_tokens, "sycolab": info}]}

    async def _submit(kind: str, body: ChatCompletionRequest | CompletionRequest) -> Any:
        if body.model != served.name:
            raise RequestError(404, f"model {body.model!r} is not served here "
                                    f"(this server serves {served.name!r})", "model")
        try:
            result = await batcher.submit(kind, body)
        except OverloadedError as exc:
            raise RequestError(503, str(exc)) from None
        return result

    async def _scores(body: ChatCompletionRequest | CompletionRequest) -> JSONResponse:
        try:
            s: Scores = await _submit("scores", body)
        except RequestError as exc:
            return _error(exc.status, str(exc), exc.param)
        except Exception as exc:  # noqa: BLE001 - this request fails, the server stays up
            return _error(500, f"internal error: {type(exc).__name__}: {exc}")
        sid, now = _stamp("scores")
        answer: dict[str, Any] = {
            "id": sid, "object": "sycolab.scores", "created": now, "model": served.name,
            "choices": [{"index": k, "text": text, "logprob": s.logprobs[k]}
                        for k, text in enumerate(s.choices)],
            "usage": {"prompt_tokens": s.prompt_tokens, "completion_tokens": 0,
                      "total_tokens": s.prompt_tokens},
            "sycolab": {"steered": served.intervened,
                        "scoring": "engine Backend.score (summed continuation log-probs)"}}
        if s.next_token is not None:
            answer["next_token_logprobs"] = s.next_token
        return JSONResponse(answer)

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatCompletionRequest) -> JSONResponse | StreamingResponse:
        if body.scoring:
            return await _scores(body)
        try:
            c: Completion = await _submit("chat", body)
        except RequestError as exc:
            return _error(exc.status, str(exc), exc.param)
        except Exception as exc:  # noqa: BLE001 - this request fails, the server stays up
            return _error(500, f"internal error: {type(exc).__name__}: {exc}")
        cid, now = _stamp("chatcmpl")
        usage = {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
                 "total_tokens": c.prompt_tokens + c.completion_tokens}
        if body.stream:
            return StreamingResponse(_stream(cid, now, served.name, c, usage, body.logprobs),
                                     media_type="text/event-stream")
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": now, "model": served.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": c.text},
                         "logprobs": _chat_logprobs(c.tokens) if body.logprobs else None,
                         "finish_reason": c.finish_reason}],
            "usage": usage})

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest) -> JSONResponse:
        if body.scoring:
            return await _scores(body)
        try:
            results: list[Completion] = await _submit("completions", body)
        except RequestError as exc:
            return _error(exc.status, str(exc), exc.param)
        except Exception as exc:  # noqa: BLE001 - this request fails, the server stays up
            return _error(500, f"internal error: {type(exc).__name__}: {exc}")
        cid, now = _stamp("cmpl")
        choices = []
        for k, c in enumerate(results):
            choice: dict[str, Any] = {
                "index": k, "text": c.text, "finish_reason": c.finish_reason,
                "logprobs": _legacy_logprobs(c, body.echo) if body.logprobs is not None else None}
            if body.prompt_logprobs is not None:
                choice["prompt_logprobs"] = _prompt_logprobs(c)
            choices.append(choice)
        n_prompt = sum(c.prompt_tokens for c in results)
        n_new = sum(c.completion_tokens for c in results)
        return JSONResponse({
            "id": cid, "object": "text_completion", "created": now, "model": served.name,
            "choices": choices,
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new,
                      "total_tokens": n_prompt + n_new}})

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


async def _stream(cid: str, now: int, model: str, c: Completion, usage: dict[str, int],
                  logprobs: bool) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None,
              lp: dict[str, Any] | None = None) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": now, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": lp,
                             "finish_reason": finish}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if c.tokens:
        for t in c.tokens:
            yield chunk({"content": t.text}, lp=_chat_logprobs([t]) if logprobs else None)
    elif c.text:
        yield chunk({"content": c.text})
    last = json.loads(chunk({}, c.finish_reason)[6:])
    last["usage"] = usage
    yield f"data: {json.dumps(last)}\n\n"
    yield "data: [DONE]\n\n"
