"""Which items of which suites a command uses: by split, shuffled or not, the first N per suite.

`select_items` is the one place that rule lives (evaluation plans, steering vectors, matrix
artifacts, fine-tuning checks all call it).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from typing import TypeVar

from sycolab.core.errors import flag_error
from sycolab.core.items import Item
from sycolab.core.splits import check_split, in_split
from sycolab.core.suites import Suite, load_suite

T = TypeVar("T")


def seeded_rng(seed: int, *parts: str) -> random.Random:
    """A `random.Random` seeded by sha256 of the seed and `parts` (stable across runs)."""
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def check_limit(limit: int | None, flag: str = "--limit") -> None:
    """One-line `UserInputError` unless `limit` is None or a positive integer."""
    if limit is not None and limit < 1:
        raise flag_error(flag, f"must be a positive integer, got {limit}")


def take(rows: Sequence[T], limit: int | None) -> list[T]:
    """The first `limit` rows (all of them when `limit` is None)."""
    return list(rows[:limit] if limit is not None else rows)


def select_items(
    suites: Iterable[Suite | str],
    split: str = "all",
    limit: int | None = None,
    *,
    shuffle: bool = False,
    seed: int = 0,
) -> list[Item]:
    """The items of `split` in each suite (a `Suite` or a spec to load), in suite order.

    Per suite: its items in file order, kept when in `split` (``all`` keeps every one), then
    shuffled by a generator seeded with (`seed`, suite name) when `shuffle`, then the first
    `limit` (per suite, not overall; per setting of a folder suite such as `sycon:DIR`).
    One-line `UserInputError` for an unknown split or suite or a limit below 1.
    """
    check_split(split)
    check_limit(limit)
    out: list[Item] = []
    for spec in suites:
        suite = load_suite(spec) if isinstance(spec, str) else spec
        items = [it for it in suite.items if in_split(it.suite, it.item_id, split)]
        if shuffle:
            seeded_rng(seed, "shuffle", suite.name).shuffle(items)
        parts: dict[str, list[Item]] = {}  # a folder suite (sycon:DIR) holds several settings
        for it in items:
            parts.setdefault(it.suite, []).append(it)
        for part in parts.values():
            out += take(part, limit)
    return out
