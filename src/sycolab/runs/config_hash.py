"""The config hash: names a run folder and tells whether a folder holds the same run."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def config_hash(hashed: dict[str, Any]) -> str:
    """Hash of the result-defining part of a configuration."""
    blob = json.dumps(hashed, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
