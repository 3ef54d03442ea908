"""Reading located heads: a `locate.json` (its heads in final order) or a JSON list of
``[layer, head]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError


def _pairs(raw: Any, where: str) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise UserInputError(f"{where}: expected a list of [layer, head]")
    out: list[tuple[int, int]] = []
    for n, entry in enumerate(raw):
        ok = (isinstance(entry, list | tuple) and len(entry) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in entry))
        if not ok:
            raise UserInputError(f"{where}: entry {n} is {entry!r}, expected [layer, head] "
                                 "(non-negative integers)")
        pair = (int(entry[0]), int(entry[1]))
        if pair not in out:
            out.append(pair)
    return out


def read_heads(path: str | Path, *, protocol: str | None = None, top: int | None = None
               ) -> list[tuple[int, int]]:
    """The heads of `path`, first `top` of them: a locate.json's heads in final order (heads
    verified by real patching first, by effect; then the others by attribution) for
    `protocol` (needed when it holds several), or a JSON list of [layer, head]."""
    p = Path(path)
    if top is not None and top < 1:
        raise UserInputError("must be a positive integer", param="top", value=top)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{p}: file not found") from None
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{p}: not readable JSON ({exc})") from None
    if isinstance(raw, dict):
        blocks = raw.get("protocols")
        if raw.get("kind") != "sycolab-locate" or not isinstance(blocks, dict) or not blocks:
            raise UserInputError(f"{p}: neither a locate.json nor a list of [layer, head]")
        if protocol is None:
            if len(blocks) > 1:
                raise UserInputError(f"{p}: holds protocols {', '.join(blocks)}; choose one "
                                     "with --protocol")
            protocol = next(iter(blocks))
        block = blocks.get(protocol)
        if not isinstance(block, dict):
            raise UserInputError(f"{p}: no protocol {protocol!r} (it holds "
                                 f"{', '.join(blocks)})")
        heads = _pairs(block.get("heads"), f"{p}: protocols.{protocol}.heads")
    else:
        heads = _pairs(raw, str(p))
    if not heads:
        raise UserInputError(f"{p}: no heads")
    return heads[:top] if top is not None else heads
