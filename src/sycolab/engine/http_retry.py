"""The ``openai:`` client's HTTP transport: one async client per call, bounded concurrency, and
retries with exponential backoff.

429, 5xx, timeouts and connection errors are retried (``Retry-After`` honoured). When retries
run out on an unreachable or overloaded server (transport errors, 429, 502-504) the run stops
with `BackendError`; a persistent 500 or any other 4xx raises `OpenAIRequestError`, which fails
only its own trial.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from sycolab.core.errors import BackendError, SycolabError, UserInputError

T = TypeVar("T")
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({429, 502, 503, 504})


class OpenAIRequestError(SycolabError, RuntimeError):
    """The server refused one request (4xx, or a persistent 500): that trial fails alone."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def env_number(name: str, default: float) -> float:
    """A number from the environment variable `name`, else `default`."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise UserInputError(f"${name}: expected a number, got {value!r}") from None


def error_message(resp: httpx.Response) -> str:
    """The server's error message (OpenAI's ``error.message``), else the body, shortened."""
    try:
        err = resp.json().get("error")
        text = err.get("message") if isinstance(err, dict) else err
    except (ValueError, AttributeError):
        text = None
    return str(text or resp.text or resp.reason_phrase)[:300]


def run_client(work: Callable[[httpx.AsyncClient, asyncio.Semaphore], Awaitable[T]], *,
               base_url: str, api_key: str | None, timeout: float, concurrency: int,
               transport: httpx.AsyncBaseTransport | None) -> T:
    """Run `work(client, semaphore)` to completion with a fresh client (also from inside a
    running event loop, as in notebooks)."""
    async def main() -> T:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency,
                              max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, headers=headers,
                                     timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                     limits=limits, transport=transport) as client:
            return await work(client, asyncio.Semaphore(concurrency))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1) as pool:  # called from inside an event loop (notebooks)
        return pool.submit(asyncio.run, main()).result()


async def call_with_retries(client: httpx.AsyncClient, sem: asyncio.Semaphore, method: str,
                            path: str, body: dict[str, Any] | None, *, base_url: str,
                            stats: dict[str, int], max_retries: int, backoff: float,
                            max_backoff: float) -> dict[str, Any]:
    """The JSON object answered to one request, retried as the module docstring says;
    `stats` counts requests and retries."""
    problem = ""
    status = 0
    for attempt in range(max_retries + 1):
        delay = min(max_backoff, backoff * 2**attempt) * (0.5 + random.random())
        try:
            async with sem:
                stats["requests"] += 1
                resp = await client.request(method, path, json=body)
        except httpx.TransportError as exc:  # connection refused, reset, timeouts
            status, problem = 0, f"{type(exc).__name__}: {exc}".rstrip(": ")
        else:
            if resp.status_code == 200:
                try:
                    data = resp.json()
                except ValueError:
                    raise OpenAIRequestError(200, "the server's answer is not JSON") from None
                if not isinstance(data, dict):
                    raise OpenAIRequestError(200, "the server's answer is not an object")
                return data
            status, problem = resp.status_code, error_message(resp)
            if status not in RETRY_STATUS:
                raise OpenAIRequestError(status, problem)
            after = resp.headers.get("retry-after", "")
            if after.replace(".", "", 1).isdigit():
                delay = min(max_backoff, float(after))
        if attempt < max_retries:
            stats["retries"] += 1
            await asyncio.sleep(delay)
    if status == 500:
        raise OpenAIRequestError(status, problem)
    where = f"{base_url}{path}"
    raise BackendError(f"the server at {where} failed {max_retries + 1} times "
                       f"({f'HTTP {status}: ' if status else ''}{problem}); finished trials "
                       "are saved, re-run the same command to resume")
