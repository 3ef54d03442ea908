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


def load_heads_file(path: str | Path) -> tuple[bytes, Any]:
    """A heads file's bytes and its parsed JSON; one-line `UserInputError` when unreadable."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        return raw, json.loads(raw)
    except FileNotFoundError:
        raise UserInputError(f"{path}: heads file not found") from None
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: not a readable JSON file ({exc})") from None


def heads_from_doc(doc: Any, where: str, *, protocol: str | None = None, top: int | None = None
                   ) -> tuple[list[Head], str | None]:
    """The first `top` heads of a parsed heads file (None: all) and the locate.json protocol
    they come from (None for a plain list); `where` names the file in errors."""
    if isinstance(doc, list):
        return take_heads(parse_heads(doc, where), top, where), None
    protocols = doc.get("protocols") if isinstance(doc, dict) else None
    if not isinstance(protocols, dict) or not protocols:
        raise UserInputError(f"{where}: expected a locate.json (with 'protocols') or a JSON list "
                             "of [layer, head]")
    names = ", ".join(sorted(protocols))
    if protocol is None:
        if len(protocols) > 1:
            raise UserInputError(f"{where}: holds several protocols ({names}); choose one "
                                 "with --protocol")
        protocol = next(iter(protocols))
    entry = protocols.get(protocol)
    if not isinstance(entry, dict):
        raise UserInputError(f"{where}: no protocol {protocol!r} (it holds: {names})")
    heads = parse_heads(entry.get("heads"), f"{where}: protocols.{protocol}.heads")
    return take_heads(heads, top, where), protocol


def read_heads(path: str | Path, *, protocol: str | None = None, top: int | None = None
               ) -> list[Head]:
    """Heads from a `locate.json` (``protocols[protocol]["heads"]``, in rank order; `protocol`
    is needed when the file holds several) or a JSON list of ``[layer, head]``; the first `top`
    (None: all). One-line `UserInputError` naming the file for anything malformed."""
    _, doc = load_heads_file(path)
    return heads_from_doc(doc, str(path), protocol=protocol, top=top)[0]
