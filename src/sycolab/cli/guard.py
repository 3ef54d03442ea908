"""Turn failures into what users should see: one line and an exit code, never a traceback."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

T = TypeVar("T")

OnError = Callable[[int, str], None]
"""Told (exit code, the one-line message without ``error:``) before the command exits."""


def _log_path() -> Path:
    from sycolab.paths import cache_dir

    return cache_dir() / "logs" / "last-error.log"


def _fail(code: int, message: str, on_error: OnError | None, prefix: str = "error: "
          ) -> NoReturn:
    typer.echo(f"{prefix}{message}", err=True)
    if on_error is not None:
        on_error(code, message)
    raise typer.Exit(code) from None


INTERRUPTED = "interrupted: finished trials are saved; re-run the same command to resume"


def run_guarded(fn: Callable[[], T], on_error: OnError | None = None, *,
                interrupted: str = INTERRUPTED) -> T:
    """Exit 2 with one line on bad input, 1 with a log path on an unexpected failure, 130 on
    Ctrl-C (with `interrupted`); `on_error` (if given) is told the code and the line first."""
    from sycolab.core.errors import BackendError, UserInputError

    try:
        return fn()
    except UserInputError as exc:
        _fail(2, exc.cli_message(), on_error)
    except BackendError as exc:  # the model or judge itself failed: its message says the fix
        _fail(1, str(exc), on_error)
    except KeyboardInterrupt:
        _fail(130, interrupted, on_error, prefix="")
    except Exception as exc:  # noqa: BLE001 - top-level guard: log, one line, exit 1
        path = _log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc())
        _fail(1, f"unexpected failure: {type(exc).__name__}: {exc} (details: {path})", on_error)
