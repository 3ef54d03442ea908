"""Finished chunks of a localisation, kept on disk so an interrupted `sycolab locate` resumes.

Each chunk's arrays go to ``OUT/partial/<key>/<stage>-<chunk>.npz``; the key hashes everything
the numbers depend on (model weights and adapter, protocol, the pairs' token ids, chunk size and,
for patching, the verified components), so a changed input never reuses a stale chunk. The
folder is removed once the whole localisation is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np


class PartialStore:
    """Chunk arrays under one folder; None (`disabled`) stores nothing."""

    def __init__(self, root: Path | None, identity: Any) -> None:
        blob = json.dumps(identity, sort_keys=True, default=str).encode()
        self.folder = None if root is None else root / hashlib.sha256(blob).hexdigest()[:16]
        self.reused = 0

    def _path(self, stage: str, index: int) -> Path | None:
        return None if self.folder is None else self.folder / f"{stage}-{index}.npz"

    def get(self, stage: str, index: int) -> dict[str, Any] | None:
        path = self._path(stage, index)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path) as data:
                found = {k: data[k] for k in data.files}
        except (OSError, ValueError):
            return None  # a chunk cut short by the interruption: computed again
        self.reused += 1
        return found

    def put(self, stage: str, index: int, **arrays: Any) -> None:
        path = self._path(stage, index)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
