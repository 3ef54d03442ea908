"""The `Suite` value: a named, hashed list of items."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from sycolab.core.items import Item


def items_hash(items: list[Item]) -> str:
    """sha256 over the items' full content (every field, in item order)."""
    h = hashlib.sha256()
    for item in items:
        blob = json.dumps(dataclasses.asdict(item), sort_keys=True, ensure_ascii=False, default=str)
        h.update(blob.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True)
class Suite:
    """A loaded suite. `source` is the spec it came from; `name` is the built-in name or file
    stem."""

    name: str
    items: list[Item]
    source: str
    content_hash: str

    @classmethod
    def build(cls, name: str, items: list[Item], source: str) -> Suite:
        return cls(name=name, items=items, source=source, content_hash=items_hash(items))

    def __len__(self) -> int:
        return len(self.items)
