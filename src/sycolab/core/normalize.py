"""Answer normalization: answers are compared and stored as normalized text, never as letters."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$")


def normalize_answer(text: str) -> str:
    """Normalize an answer for storage and comparison.

    NFKC, lower case, whitespace collapsed, surrounding quotes/brackets and a trailing period
    removed; numbers lose thousands separators and trailing ``.0`` (``"1,000.0"`` -> ``"1000"``).
    """
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = _SPACE.sub(" ", s)
    s = s.strip(" \"'`*")
    s = s.rstrip(".!?;:, ")
    if _NUMBER.match(s):
        s = s.replace(",", "").lstrip("+")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if s in ("-0", ""):
            s = "0"
    return s
