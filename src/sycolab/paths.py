"""Where sycolab keeps caches (`SYCOLAB_CACHE`, default ~/.cache/sycolab)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("SYCOLAB_CACHE", Path.home() / ".cache" / "sycolab"))
