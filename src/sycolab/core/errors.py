"""Errors that the CLI turns into one clear line and exit code 2."""

from __future__ import annotations


class UserInputError(Exception):
    """Bad input from the user (a flag, a file, a row): exit 2 with this one-line message."""


def at_line(path: str, line: int, message: str) -> UserInputError:
    """A `UserInputError` naming the file and 1-based line of a malformed row."""
    return UserInputError(f"{path}:{line}: {message}")
