"""Reading located heads: a `locate.json` (its heads in final order) or a JSON list of
``[layer, head]``. One-line `UserInputError` naming the file for anything malformed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError

Head = tuple[int, int]


def parse_heads(value: Any, where: str) -> list[Head]:
    """`value` as a non-empty list of distinct non-negative (layer, head) pairs."""
    if not isinstance(value, list) or not value:
        raise UserInputError(f"{where}: expected a non-empty list of [layer, head]")
    heads: list[Head] = []
    for n, pair in enumerate(value):
        if (not isinstance(pair, list | tuple) or len(pair) != 2
                or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in pair)):
            raise UserInputError(f"{where}: entry {n} is {pair!r}; expected [layer, head] "
                                 "(two non-negative integers)")
        head = (int(pair[0]), int(pair[1]))
        if head in heads:
            raise UserInputError(f"{where}: head {list(head)} is listed twice")
        heads.append(head)
    return heads


def take_heads(heads: list[Head], top: int | None, where: str) -> list[Head]:
    if top is None:
        return heads
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise UserInputError(f"{where}: top must be a positive integer, not {top!r}")
    return heads[:top]


def read_heads(path: str | Path, *, protocol: str | None = None, top: int | None = None
               ) -> list[Head]:
    """Heads from a `locate.json` (``protocols[protocol]["heads"]``, in rank order; `protocol`
    is needed when the file holds several) or a JSON list of ``[layer, head]``; the first `top`
    (None: all). One-line `UserInputError` naming the file for anything malformed."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: heads file not found") from None
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(doc, list):
        return take_heads(parse_heads(doc, str(path)), top, str(path))
    protocols = doc.get("protocols") if isinstance(doc, dict) else None
    if not isinstance(protocols, dict) or not protocols:
        raise UserInputError(f"{path}: expected a locate.json (with 'protocols') or a JSON list "
                             "of [layer, head]")
    names = ", ".join(sorted(protocols))
    if protocol is None:
        if len(protocols) > 1:
            raise UserInputError(f"{path}: holds several protocols ({names}); choose one "
                                 "with --protocol")
        protocol = next(iter(protocols))
    entry = protocols.get(protocol)
    if not isinstance(entry, dict):
        raise UserInputError(f"{path}: no protocol {protocol!r} (it holds: {names})")
    where = f"{path}: protocols.{protocol}.heads"
    return take_heads(parse_heads(entry.get("heads"), where), top, str(path))
