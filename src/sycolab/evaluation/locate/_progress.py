"""A progress bar per stage of localisation (trials, attribution, patching), on stderr."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import Progress, TaskID

from sycolab.evaluation.progress import bar_columns


class LocateProgress:
    """`tick(stage, done, total)` moves the stage's bar (created on first use)."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(*bar_columns(), console=Console(stderr=True),
                                  disable=not enabled)
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def tick(self, stage: str, done: int, total: int, *, advance: bool = False) -> None:
        """Set the stage's count to `done` of `total` (or add `done` with `advance`)."""
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._progress.add_task(stage, total=total)
        if advance:
            self._progress.advance(task, done)
        else:
            self._progress.update(task, completed=done, total=total)
