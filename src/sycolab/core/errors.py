"""The errors sycolab raises on purpose, under one root.

`UserInputError` names the parameter it is about (`param`, and the offending `value` where one
was given): Python callers read ``batch_size=0: expected a positive integer``; the CLI spells
the same error with its flag, ``--batch-size 0: expected a positive integer``, and exits 2.
`BackendError` is a model or server that failed while running (exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_UNSET = object()


class SycolabError(Exception):
    """Root of every error sycolab raises on purpose."""


class UserInputError(SycolabError, ValueError):
    """Bad input (a parameter, a file, a row): one line; the CLI exits 2 with it."""

    def __init__(self, message: str, *, param: str | None = None, value: object = _UNSET
                 ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.value = value

    @property
    def has_value(self) -> bool:
        return self.value is not _UNSET

    def __str__(self) -> str:
        if self.param is None:
            return self.message
        shown = repr(self.value) if isinstance(self.value, str) else str(self.value)
        head = f"{self.param}={shown}" if self.has_value else self.param
        return f"{head}: {self.message}"

    def cli_message(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with the parameter spelled as its command-line flag (`batch_size` ->
        `--batch-size`, or as `flags` maps it)."""
        if self.param is None:
            return self.message
        flag = (flags or {}).get(self.param, "--" + self.param.replace("_", "-"))
        head = f"{flag} {self.value}" if self.has_value else flag
        return f"{head}: {self.message}"


class BackendError(SycolabError, RuntimeError):
    """The backend itself failed (server unreachable, out of memory): the run stops, exit 1."""


def flag_error(flag: str, message: str, value: object = _UNSET) -> UserInputError:
    """A `UserInputError` about the parameter a CLI-style `flag` names (``--max-examples`` ->
    ``max_examples``), for checks shared by several parameters; a flag that names no single
    parameter (``--model hf:``) stays in the message as it is."""
    named = re.fullmatch(r"--([a-z][a-z0-9-]*)", flag)
    if named is None:
        head = flag if value is _UNSET else f"{flag} {value}"
        return UserInputError(f"{head}: {message}")
    return UserInputError(message, param=named.group(1).replace("-", "_"), value=value)


def at_line(path: str, line: int, message: str) -> UserInputError:
    """A `UserInputError` naming the file and 1-based line of a malformed row."""
    return UserInputError(f"{path}:{line}: {message}")
