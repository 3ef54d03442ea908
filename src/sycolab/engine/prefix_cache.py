"""Key/value states kept across requests, reused when a later prompt starts with the same tokens.

Multi-step protocols send the same conversation again with one more turn (the challenge turn of
"Are you sure?"), and every chat prompt starts with the same system prompt. A stored entry holds a
token sequence (a prompt plus the reply tokens that were fed back) with its per-layer key/value
states; a new prompt reuses the states of its longest common token prefix with any entry and
encodes only the rest. Reuse requires the same steering flags on the reused tokens and the same
model state (`mode`: steering, adapter, parameter versions), so results never depend on what ran
before beyond float rounding.

Written by hand because transformers' prefix caching lives in `generate()` per call and vLLM's is
not available on CPU; what is needed here is small: longest-prefix lookup plus an LRU byte budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class CachedPrefix:
    """A token sequence and its key/value states, one (kv_heads, length, head_dim) pair per
    layer."""

    ids: np.ndarray
    flags: np.ndarray | None
    keys: list[Any]
    values: list[Any]
    nbytes: int


class PrefixCache:
    """LRU store of `CachedPrefix` entries under a byte budget (thread-safe)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[int, CachedPrefix] = OrderedDict()
        self._next = 0
        self._bytes = 0
        self._mode: Hashable = None
        self._lock = threading.Lock()
        self.reused_tokens = 0
        self.encoded_tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def use_mode(self, mode: Hashable) -> None:
        """Drop every entry when the model state they were computed under has changed."""
        with self._lock:
            if mode != self._mode:
                self._entries.clear()
                self._bytes = 0
                self._mode = mode

    def count(self, reused: int, encoded: int) -> None:
        """Tally tokens served from the store and tokens encoded afresh (for reports, tests)."""
        with self._lock:
            self.reused_tokens += reused
            self.encoded_tokens += encoded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def lookup(
        self, ids: Sequence[int], flags: Sequence[float] | None, limit: int
    ) -> tuple[int, CachedPrefix | None]:
        """Length of the longest reusable prefix of `ids` (at most `limit`) and its entry."""
        if limit <= 0 or not self._entries:
            return 0, None
        query = np.asarray(ids, dtype=np.int64)
        qflags = None if flags is None else np.asarray(flags, dtype=np.float32)
        best, found = 0, None
        with self._lock:
            for key, entry in self._entries.items():
                n = min(len(entry.ids), len(query), limit)
                if n <= best:
                    continue
                same = entry.ids[:n] == query[:n]
                if qflags is not None and entry.flags is not None:
                    same &= entry.flags[:n] == qflags[:n]
                elif (qflags is None) != (entry.flags is None):
                    continue
                match = n if bool(same.all()) else int(np.argmin(same))
                if match > best:
                    best, found = match, key
            if found is None:
                return 0, None
            self._entries.move_to_end(found)
            return best, self._entries[found]

    def store(
        self, ids: Sequence[int], flags: Sequence[float] | None, keys: list[Any], values: list[Any]
    ) -> None:
        """Keep a sequence's states (evicting the least recently used beyond the budget)."""
        nbytes = sum(int(t.numel()) * t.element_size() for t in (*keys, *values))
        if not ids or nbytes > self.budget_bytes:
            return
        entry = CachedPrefix(
            np.asarray(ids, dtype=np.int64),
            None if flags is None else np.asarray(flags, dtype=np.float32),
            keys, values, nbytes,
        )
        with self._lock:
            self._entries[self._next] = entry
            self._next += 1
            self._bytes += nbytes
            while self._bytes > self.budget_bytes and self._entries:
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.nbytes
