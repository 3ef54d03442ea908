"""Progress display for long runs: trials with trials/s and ETA, plus model requests."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def bar_columns(*, rate: bool = False) -> tuple[ProgressColumn, ...]:
    """Description, bar, done/total, (with `rate`: the task's ``rate`` field,) elapsed and ETA:
    the columns of every sycolab bar."""
    shown = (TextColumn("{task.fields[rate]}"),) if rate else ()
    return (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *shown,
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())


class RunProgress:
    """Two bars on stderr: trials (with rate and ETA) and model requests of the current chunk."""

    def __init__(self, total: int, done: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = Progress(*bar_columns(rate=True), console=Console(stderr=True),
                                  disable=not enabled)
        self._trials: TaskID = self._progress.add_task("trials", total=total, completed=done,
                                                       rate="")
        self._requests: TaskID = self._progress.add_task("model requests", total=None, rate="")
        self._start_done = done

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def trials_done(self, n: int) -> None:
        self._progress.advance(self._trials, n)
        task = self._progress.tasks[self._trials]
        speed = task.speed
        self._progress.update(self._trials, rate=f"{speed:.2f} trials/s" if speed else "")

    def requests_done(self, n: int) -> None:
        self._progress.advance(self._requests, n)
        task = self._progress.tasks[self._requests]
        speed = task.speed
        self._progress.update(self._requests, rate=f"{speed:.1f} req/s" if speed else "")
