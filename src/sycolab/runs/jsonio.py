"""JSON as run folders hold it: non-finite floats written as null, files replaced atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sycolab.core.records import finite


def dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` with non-finite floats as null (``allow_nan=False``) and UTF-8 kept."""
    return json.dumps(finite(obj), allow_nan=False, ensure_ascii=False, **kwargs)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write `obj` indented to `path` through a temporary file, so readers never see half."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)
