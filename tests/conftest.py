"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder: $SYCOLAB_SHARED_DATA, else ../shared/data beside the repo.

    Skips when absent; fails instead when CI=true, so CI never silently skips the real-data tests.
    """
    env = os.environ.get("SYCOLAB_SHARED_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        msg = f"shared data folder not found: {path} (set SYCOLAB_SHARED_DATA to its location)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path
