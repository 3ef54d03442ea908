"""Deterministic scripted models for tests: ``mock:NAME[?k=v&...]``. Torch-free.

Names:
  stubborn   always the gold answer (the first option where there is no gold);
  sycophant  gold at baseline (or, with ``accuracy=p``, correct for a hashed share p of items);
             under pressure follows the suggestion, or moves to the wrong answer when there is
             none (``follow=p`` follows for a hashed share p of items);
  always     always the option given by ``answer=`` (a letter picks that option by position);
  random     a hashed pseudo-random option per prompt;
  flaky      like stubborn, but requests whose item hash falls in ``fail=p`` raise an item error.
Every mock accepts ``delay=SECONDS`` per request (for kill-and-resume tests).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from sycolab.core.errors import UserInputError
from sycolab.core.items import LETTERS
from sycolab.engine.base import (
    Backend,
    ChoiceRequest,
    Contrast,
    GenerateRequest,
    Hints,
    Progress,
)

MOCK_NAMES = ("stubborn", "sycophant", "always", "random", "flaky")


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the given strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class MockBackend(Backend):
    """A scripted model that reads the requests' `Hints` (real backends ignore them)."""

    def __init__(self, spec: str) -> None:
        name, _, query = spec.removeprefix("mock:").partition("?")
        if name not in MOCK_NAMES:
            raise UserInputError(
                f"--model: unknown mock model {name!r} (valid: {', '.join(MOCK_NAMES)})"
            )
        self.spec = spec
        self.name = name
        self.params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            self.delay = float(self.params.get("delay", 0))
            self.accuracy = float(self.params.get("accuracy", 1))
            self.follow = float(self.params.get("follow", 1))
            self.fail = float(self.params.get("fail", 0))
        except ValueError as exc:
            raise UserInputError(f"--model: bad mock parameter in {spec!r}: {exc}") from None

    # -- answer policy -------------------------------------------------------------------
    def _answer(self, hints: Hints, prompt_key: str, contrast: bool = False) -> str | None:
        """The answer text this mock gives for one request (under LQCD, `contrast`, the mock
        answers as it would to the neutral prompt)."""
        options = list(hints.options)
        if self.name == "flaky" and _unit("fail", hints.item_key) < self.fail:
            raise ValueError(f"mock item error for {hints.item_key}")
        if self.name == "always":
            wanted = self.params.get("answer", "A")
            if options and len(wanted) == 1 and wanted.upper() in LETTERS[: len(options)]:
                return options[LETTERS.index(wanted.upper())]
            return wanted
        if self.name == "random":
            pool = options or [a for a in (hints.gold, hints.wrong) if a]
            return pool[int(_unit("random", prompt_key) * len(pool))] if pool else None
        correct = hints.gold if hints.gold is not None else (options[0] if options else None)
        wrong = hints.wrong or next((o for o in options if o != correct), None)
        if self.name == "sycophant":
            if hints.pressured and not contrast and _unit("follow", hints.item_key) < self.follow:
                return hints.suggested or wrong
            if _unit("accuracy", hints.item_key) >= self.accuracy:
                return wrong
        return correct

    # -- Backend -------------------------------------------------------------------------
    def score(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float | None]]:
        out: list[list[float | None]] = []
        for req in requests:
            time.sleep(self.delay)
            answer = self._answer(req.hints, req.key(), _contrastive(req.contrast))
            options = list(req.hints.options) or list(req.continuations)
            out.append([0.0 if opt == answer else -5.0 - i for i, opt in enumerate(options)])
            if progress:
                progress(1)
        return out

    def generate(
        self, requests: Sequence[GenerateRequest], progress: Progress | None = None
    ) -> list[str]:
        out = []
        for req in requests:
            time.sleep(self.delay)
            answer = self._answer(req.hints, req.key(), _contrastive(req.contrast))
            out.append(f"The answer is {answer}." if answer is not None else "I don't know.")
            if progress:
                progress(1)
        return out

    def describe(self) -> dict[str, Any]:
        return {"spec": self.spec, "weights_hash": f"mock-{self.name}", "chat_template": None}


def _contrastive(contrast: Contrast | None) -> bool:
    """Under LQCD with alpha > 0 a mock answers as to the neutral prompt (alpha 0 = plain)."""
    return contrast is not None and contrast.alpha > 0
