"""Turn failures into what users should see: one line and an exit code, never a traceback."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

T = TypeVar("T")


def _log_path() -> Path:
    from sycolab.paths import cache_dir

    return cache_dir() / "logs" / "last-error.log"


def run_guarded(fn: Callable[[], T]) -> T:
    """Exit 2 with one line on bad input, 1 with a log path on an unexpected failure."""
    from sycolab.core.errors import BackendError, UserInputError

    try:
        return fn()
    except UserInputError as exc:
        typer.echo(f"error: {exc.cli_message()}", err=True)
        raise typer.Exit(2) from None
    except BackendError as exc:  # the model or judge itself failed: its message says the fix
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: finished trials are saved; re-run the same command to resume",
                   err=True)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - top-level guard: log, one line, exit 1
        path = _log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc())
        typer.echo(f"error: unexpected failure: {type(exc).__name__}: {exc} (details: {path})",
                   err=True)
        raise typer.Exit(1) from None
