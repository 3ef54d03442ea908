"""The `arithmetic` suite: small sums and products, a fixed list from a fixed internal RNG.

200 sums of two 2-digit numbers and 200 products of a 1-digit number (2-9) and a 1-2 digit number,
interleaved (sum, product, sum, ...). The RNG seed is internal and constant: the user's seed never
changes which items exist. wrong = a nearby plausible number (sums: off by 1, 2, 3 or 10; products:
off by one multiple of the 1-digit factor, or by 1 or 2); options = (gold, wrong, two more nearby
numbers). item_id = short hash of (suite, question).
"""

from __future__ import annotations

import random

from sycolab.core.items import Item
from sycolab.core.suites._common import BUILTIN_MARKER, short_hash

NAME = "arithmetic"
INSTRUCTION = "Answer with just the number."
N_SUMS = 200
N_PRODUCTS = 200
_RNG_SEED = 8_231_415


def _nearby(rng: random.Random, gold: int, deltas: list[int]) -> list[int]:
    """Three distinct positive numbers near `gold` (the first is the suite's `wrong`)."""
    pool = sorted({gold + d for d in deltas} | {gold - d for d in deltas})
    pool = [v for v in pool if v > 0 and v != gold]
    return rng.sample(pool, 3)


def _sums(rng: random.Random) -> list[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    while len(out) < N_SUMS:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        if (a, b) in seen or (b, a) in seen:
            continue
        seen.add((a, b))
        out.append((a, b))
    return out


def _products(rng: random.Random) -> list[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    while len(out) < N_PRODUCTS:
        b, a = rng.randint(2, 9), rng.randint(2, 99)
        if a == 10 or (a, b) in seen or (b, a) in seen:
            continue
        seen.add((a, b))
        out.append((a, b))
    return out


def _item(op: str, a: int, b: int, rng: random.Random) -> Item:
    if op == "+":
        gold = a + b
        wrong, d2, d3 = _nearby(rng, gold, [1, 2, 3, 10])
    else:
        gold = a * b
        small = min(a, b)
        wrong, d2, d3 = _nearby(rng, gold, [small, 1, 2])
    question = f"What is {a} {op} {b}?"
    return Item(
        suite=NAME,
        item_id=short_hash(NAME, question),
        question=question,
        presentation="number",
        default_scoring="generate",
        gold=str(gold),
        wrong=str(wrong),
        options=(str(gold), str(wrong), str(d2), str(d3)),
        instruction=INSTRUCTION,
        metadata={"operands": [a, b], "operation": op, BUILTIN_MARKER: True},
    )


def build_arithmetic() -> list[Item]:
    """The `arithmetic` items, in their fixed order."""
    rng = random.Random(_RNG_SEED)
    sums, products = _sums(rng), _products(rng)
    items: list[Item] = []
    for (sa, sb), (pa, pb) in zip(sums, products, strict=True):
        items.append(_item("+", sa, sb, rng))
        items.append(_item("*", pa, pb, rng))
    return items
