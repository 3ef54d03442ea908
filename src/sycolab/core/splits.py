"""Split assignment: a stable hash of (suite, item_id) -> train 40% / validation 20% / test 40%.

The split vocabulary lives here: `SplitName` (an item's split) and `SplitChoice` (what a
`--split` flag accepts: a split or ``all``).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from sycolab.core.errors import flag_error

SplitName = Literal["train", "validation", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "validation", "test")
SplitChoice = Literal["train", "validation", "test", "all"]
SPLIT_CHOICES: tuple[SplitChoice, ...] = (*SPLITS, "all")


def split_bucket(suite: str, item_id: str) -> int:
    """0..9999 from the first 8 bytes of sha256(suite + US + item_id)."""
    digest = hashlib.sha256(f"{suite}\x1f{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def assign_split(suite: str, item_id: str) -> SplitName:
    """The split of an item: buckets 0-3999 train, 4000-5999 validation, 6000-9999 test."""
    bucket = split_bucket(suite, item_id)
    if bucket < 4_000:
        return "train"
    if bucket < 6_000:
        return "validation"
    return "test"


def check_split(split: str, flag: str = "--split") -> SplitChoice:
    """`split` as a `SplitChoice`; one-line `UserInputError` for anything else."""
    if split not in SPLIT_CHOICES:
        raise flag_error(flag, f"unknown value {split!r} (valid: {', '.join(SPLIT_CHOICES)})")
    return split


def in_split(suite: str, item_id: str, split: str) -> bool:
    """Whether the item belongs to `split` (every item belongs to ``all``)."""
    return split == "all" or assign_split(suite, item_id) == split
