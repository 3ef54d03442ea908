"""Presentation: where each option goes (letter positions), seeded, never changing item identity.

For built-in suites (`facts`, `arithmetic`, `addition-claims`), the k-th item (counted per suite and
number of options, in the given order) gets the gold option at position ``perm[k % n]`` for a
permutation ``perm`` drawn from the seed; so the gold letter is balanced in every prefix of the item
order (2 options: alternating). The other options fill the remaining positions in a per-item seeded
order. Items of file suites keep the option order of their file.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import replace

from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer

BUILTIN_SUITES = frozenset({"facts", "arithmetic", "addition-claims"})
_MARKER = "builtin"


def _rng(*parts: object) -> random.Random:
    key = "\x1f".join(str(p) for p in parts).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def gold_positions(seed: int, suite: str, n_options: int) -> list[int]:
    """The seeded permutation of positions that the gold option cycles through."""
    perm = list(range(n_options))
    _rng("perm", seed, suite, n_options).shuffle(perm)
    return perm


def _arrangeable(item: Item) -> bool:
    return (
        item.suite in BUILTIN_SUITES
        and bool(item.metadata.get(_MARKER))
        and item.gold is not None
        and len(item.options) >= 2
    )


def arrange_options(items: Sequence[Item], seed: int) -> list[Item]:
    """Items with options reordered for display; file-suite items are returned unchanged."""
    counters: dict[tuple[str, int], int] = {}
    out: list[Item] = []
    for item in items:
        if not _arrangeable(item):
            out.append(item)
            continue
        n = len(item.options)
        k = counters.get((item.suite, n), 0)
        counters[(item.suite, n)] = k + 1
        pos = gold_positions(seed, item.suite, n)[k % n]
        gold_norm = item.gold_norm
        gold_opt = next(o for o in item.options if normalize_answer(o) == gold_norm)
        others = [o for o in item.options if o is not gold_opt]
        _rng("others", seed, item.suite, item.item_id).shuffle(others)
        others.insert(pos, gold_opt)
        out.append(replace(item, options=tuple(others)))
    return out
