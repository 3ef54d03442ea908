"""``--quiet`` and ``--json``: what a results command prints, for people and for scripts.

- default: progress bars and logs on stderr, the results table on stdout;
- ``--quiet`` / ``-q``: nothing but errors (one line on stderr); the exit code is unchanged;
- ``--json``: exactly one JSON object on stdout (the command's summary) and nothing else there:
  progress bars are off, logs go to stderr, and anything a library prints to stdout while the
  command runs is sent to stderr. On failure stdout holds ``{"error": {"message", "exit_code"}}``
  while stderr has the usual one line and the exit code is the usual 2 (bad input), 1 (failure)
  or 130 (interrupted). ``--json --quiet`` is JSON on stdout and only errors on stderr.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TextIO, TypeVar

import typer

from sycolab.cli.guard import run_guarded

T = TypeVar("T")

Quiet = Annotated[bool, typer.Option(
    "--quiet", "-q", help="print nothing but errors (no progress, logs or table); same exit "
                          "codes")]
Json = Annotated[bool, typer.Option(
    "--json", help="print one JSON object (the summary) on stdout and nothing else there; "
                   "progress off, logs on stderr; on failure {\"error\": {message, exit_code}} "
                   "and the same exit code")]


@dataclass
class Output:
    """How one command prints: `human` (tables, bars), `quiet` or `json`."""

    quiet: bool = False
    json: bool = False
    _failure: list[tuple[int, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.quiet or self.json:
            from sycolab.cli.log_output import quiet_output

            quiet_output(errors_only=self.quiet)

    @property
    def human(self) -> bool:
        """Whether tables, progress bars and info lines are shown."""
        return not (self.quiet or self.json)

    def progress(self, wanted: bool) -> bool:
        """Progress bars only when asked for and the output is for people."""
        return wanted and self.human

    def run(self, fn: Callable[[], T]) -> T:
        """`run_guarded(fn)` with stdout kept clean (``--json``: to stderr; ``--quiet``: dropped);
        on failure under ``--json`` the error object is printed before the exit."""
        try:
            with self._shielded():
                return run_guarded(fn, on_error=lambda code, msg: self._failure.append(
                    (code, msg)))
        finally:
            if self._failure and self.json:
                code, message = self._failure[-1]
                self.emit({"error": {"message": message, "exit_code": code}})

    def emit(self, obj: dict[str, Any]) -> None:
        """Print `obj` as one line of JSON on stdout (``--json`` only)."""
        if self.json:
            from sycolab.runs.jsonio import dumps

            typer.echo(dumps(obj, default=str))

    def echo(self, text: str) -> None:
        """A line for people (not under ``--quiet`` or ``--json``)."""
        if self.human:
            typer.echo(text)

    @contextlib.contextmanager
    def _shielded(self) -> Iterator[None]:
        if self.human:
            yield
            return
        target: TextIO = sys.stderr if self.json and not self.quiet else io.StringIO()
        with contextlib.ExitStack() as stack:
            if sys.stdout is sys.__stdout__ and sys.__stdout__ is not None:
                stack.enter_context(_fd_redirect(sys.__stdout__, target))
            stack.enter_context(contextlib.redirect_stdout(target))
            yield


@contextlib.contextmanager
def _fd_redirect(stdout: TextIO, target: TextIO) -> Iterator[None]:
    """Point file descriptor 1 at `target`'s (or /dev/null) while the block runs, so output
    written below Python (C extensions, subprocesses) stays off stdout too."""
    try:
        fd = stdout.fileno()
    except (OSError, ValueError):
        yield
        return
    stdout.flush()
    saved = os.dup(fd)
    try:
        try:
            dest = target.fileno()
            devnull = None
        except (OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            dest = devnull
        os.dup2(dest, fd)
        if devnull is not None:
            os.close(devnull)
        yield
    finally:
        stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
