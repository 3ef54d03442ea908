"""Where the library's `logging` messages go when sycolab runs as a command.

Library modules log to ``logging.getLogger(__name__)`` (loggers under ``sycolab``); they never
print. The command line shows INFO and above on stderr, warnings as ``warning: ...``
(``SYCOLAB_LOG_LEVEL=DEBUG`` shows more). Progress bars and result tables stay `rich`.
"""

from __future__ import annotations

import logging
import os

import typer

_PREFIX = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.CRITICAL: "error: "}


class _EchoHandler(logging.Handler):
    """Writes through `typer.echo` at emit time, so redirected or captured stderr gets it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            typer.echo(_PREFIX.get(record.levelno, "") + record.getMessage(), err=True)
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def configure_cli_logging() -> None:
    """Route the `sycolab` loggers to stderr (idempotent)."""
    logger = logging.getLogger("sycolab")
    level = os.environ.get("SYCOLAB_LOG_LEVEL", "INFO").upper()
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
    logger.propagate = False


# libraries whose own loggers or bars may write to stderr while a command runs
_THIRD_PARTY = ("transformers", "huggingface_hub", "peft", "trl", "accelerate", "datasets",
                "httpx")


def quiet_output(errors_only: bool) -> None:
    """For ``--json`` / ``--quiet``: third-party progress bars off; with `errors_only`, every
    log below ERROR and Python warnings off as well (errors still reach stderr)."""
    os.environ["TQDM_DISABLE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if not errors_only:
        return
    import warnings

    warnings.simplefilter("ignore")
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    for name in ("sycolab", *_THIRD_PARTY):
        logging.getLogger(name).setLevel(logging.ERROR)
