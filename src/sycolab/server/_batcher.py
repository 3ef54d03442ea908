"""One worker thread runs the model; concurrent requests are grouped into batches.

Handlers put a job on a queue and await its future. The worker takes the first job, then
whatever else arrives within `window` seconds (up to `max_batch` jobs), and hands all jobs of a
kind to that kind's batch function in one call. A batch function returns one result or exception
per job; if it raises instead, each job of the batch is retried on its own, so one bad request
can only fail itself.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sycolab.core.errors import SycolabError

BatchFn = Callable[[Sequence[Any]], Sequence[Any]]


class OverloadedError(SycolabError):
    """The queue is full: the server answers 503 with Retry-After."""


@dataclass
class _Job:
    kind: str
    payload: Any
    future: Future[Any] = field(default_factory=Future)


class Batcher:
    """Queue + worker thread; `submit` is awaited from the event loop."""

    def __init__(self, handlers: dict[str, BatchFn], *, max_batch: int = 16,
                 window: float = 0.005, max_queue: int = 1024) -> None:
        self.handlers = handlers
        self.max_batch = max_batch
        self.window = window
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._loop, name="sycolab-batcher", daemon=True)
        self.batches = 0
        self.batched_requests = 0
        self.largest_batch = 0
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def submit(self, kind: str, payload: Any) -> Any:
        job = _Job(kind, payload)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise OverloadedError("the server is busy; retry later") from None
        return await asyncio.wrap_future(job.future)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, deadline = [first], time.monotonic() + self.window
        while len(jobs) < self.max_batch:
            try:
                nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if nxt is None:
                return jobs, True
            jobs.append(nxt)
        return jobs, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._collect(first)
            self.batches += 1
            self.batched_requests += len(jobs)
            self.largest_batch = max(self.largest_batch, len(jobs))
            for kind in dict.fromkeys(j.kind for j in jobs):
                self._run([j for j in jobs if j.kind == kind])

    def _run(self, jobs: list[_Job]) -> None:
        fn = self.handlers[jobs[0].kind]
        try:
            results = list(fn([j.payload for j in jobs]))
        except BaseException as exc:  # noqa: BLE001 - isolate the failing job below
            if len(jobs) == 1:
                self._settle(jobs[0], exc)
                return
            for job in jobs:
                self._run([job])
            return
        for job, res in zip(jobs, results, strict=True):
            self._settle(job, res)

    @staticmethod
    def _settle(job: _Job, result: Any) -> None:
        if job.future.cancelled():
            return
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
