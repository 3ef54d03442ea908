"""Batches and worker threads: how the engine splits requests and runs the batches.

On CPU, batches run on ``workers`` threads of one torch thread each (default: one per torch
thread; ``SYCOLAB_CPU_WORKERS`` overrides), each batch computed exactly as it would be alone.
Threads rather than intra-op parallelism: on small CPUs two single-threaded forward passes over
half the rows each use both cores far better than one two-threaded pass (thin matmuls,
element-wise ops and synchronisation dominate at this model size).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal

from sycolab.core.errors import BackendError, UserInputError
from sycolab.engine.base import Progress

BatchSize = int | Literal["auto"]
Job = tuple[Callable[[list[int]], Any], list[int]]
"""A batch function and the indices it runs on."""


def default_workers(device: str) -> int:
    """Batches run in parallel on CPU: one single-threaded worker per torch thread
    (`SYCOLAB_CPU_WORKERS` overrides; 1 = plain intra-op threading). GPUs use one."""
    if device != "cpu":
        return 1
    env = os.environ.get("SYCOLAB_CPU_WORKERS")
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise UserInputError(f"SYCOLAB_CPU_WORKERS={env}: expected a positive integer")
        return value
    import torch

    return max(1, torch.get_num_threads())


def plan_batches(lengths: Sequence[int], *, batch_size: BatchSize, token_budget: int,
                 workers: int, extra_per_row: int = 0) -> list[list[int]]:
    """Indices grouped into batches, longest first (lengths sorted descending); with
    automatic batch sizes, at least one batch per worker thread."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    most_rows = min(64, -(-len(lengths) // max(1, workers)))
    for i in order:
        if batch_size == "auto":
            new_width = max(width, lengths[i] + extra_per_row)
            too_big = bool(current) and (
                (len(current) + 1) * new_width > token_budget or len(current) >= most_rows)
        else:
            too_big = len(current) >= batch_size
        if too_big:
            batches.append(current)
            current, width = [], 0
        current.append(i)
        width = max(width, lengths[i] + extra_per_row)
    if current:
        batches.append(current)
    return batches


def backend_error(exc: Exception) -> Exception:
    """Out-of-memory errors as `BackendError` (the run stops); others unchanged."""
    import torch

    if isinstance(exc, UserInputError | BackendError):
        return exc
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return BackendError(f"the model ran out of memory: {str(exc).splitlines()[0]}")
    return exc


class WorkerPool:
    """Runs batch jobs on `workers` threads of one torch thread each (inline with one)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Any = None

    def run(self, jobs: Sequence[Job], progress: Progress | None,
            scope: AbstractContextManager[Any]) -> Iterator[Any]:
        """Results of `fn(batch)` for each job, in completion order, inside `scope`; progress
        is reported from the calling thread."""
        from concurrent.futures import FIRST_COMPLETED, wait

        with scope:
            if self.workers <= 1 or len(jobs) <= 1:
                for fn, batch in jobs:
                    yield _guarded(fn, batch)
                    if progress is not None:
                        progress(len(batch))
                return
            pool = self._executor()
            pending = {pool.submit(_guarded, fn, batch): len(batch) for fn, batch in jobs}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        size = pending.pop(future)
                        yield future.result()
                        if progress is not None:
                            progress(size)
            finally:
                for future in pending:
                    future.cancel()
                wait(pending)

    def _executor(self) -> Any:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            def one_thread() -> None:
                import torch

                torch.set_num_threads(1)

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sycolab-engine",
                                            initializer=one_thread)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _guarded(fn: Callable[[list[int]], Any], batch: list[int]) -> Any:
    try:
        return fn(batch)
    except Exception as exc:
        raise backend_error(exc) from exc
