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
    stem.

    Field suites (SYCON-Bench, free-form pushback, ELEPHANT, SycophancyEval feedback/mimicry) carry
    `default_protocols` (run when no protocol is asked for) and `default_max_new_tokens` (the reply
    length the benchmark expects); other suites leave them empty / None. Neither enters
    `content_hash`, which covers the items only.
    """

    name: str
    items: list[Item]
    source: str
    content_hash: str
    default_protocols: tuple[str, ...] = ()
    default_max_new_tokens: int | None = None

    @classmethod
    def build(cls, name: str, items: list[Item], source: str, *,
              default_protocols: tuple[str, ...] = (),
              default_max_new_tokens: int | None = None) -> Suite:
        return cls(name=name, items=items, source=source, content_hash=items_hash(items),
                   default_protocols=tuple(default_protocols),
                   default_max_new_tokens=default_max_new_tokens)

    def __len__(self) -> int:
        return len(self.items)
