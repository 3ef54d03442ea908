"""A run folder: config.json, samples.jsonl (append-only, resumable) and results.json.

A run holds ``DIR/.lock`` while it writes the folder (see `sycolab.runs.lock`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from sycolab.core.errors import UserInputError, flag_error
from sycolab.core.records import TrialRecord
from sycolab.runs.jsonio import dumps, write_json_atomic
from sycolab.runs.layout import CONFIG, RESULTS, SAMPLES
from sycolab.runs.lock import release_lock, take_lock
from sycolab.runs.samples import read_samples


class RunFolder:
    """One run's folder. Opening it checks that an existing run has the same configuration."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.samples_path = path / SAMPLES
        self.locked = False

    @classmethod
    def open(cls, path: Path, config: dict[str, Any]) -> tuple[RunFolder, list[str]]:
        """Create or reopen the folder and lock it; returns it and warnings (non-hashed
        differences, a stale lock taken over). Call `close()` (or use `with`) to unlock."""
        if path.exists() and not path.is_dir():
            raise UserInputError("exists and is not a folder", param="out", value=path)
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path)
        warnings: list[str] = []
        stale = take_lock(path)
        folder.locked = True
        if stale:
            warnings.append(stale)
        try:
            folder.check_config(config, warnings)
        except BaseException:
            folder.close()
            raise
        return folder, warnings

    def check_config(self, config: dict[str, Any], warnings: list[str]) -> None:
        """Write config.json, or check an existing one has the same hash (else exit 2 naming
        the differing keys); appends warnings for non-hashed differences."""
        path = self.path
        cfg_path = path / CONFIG
        if cfg_path.exists():
            try:
                old = json.loads(cfg_path.read_text())
            except (json.JSONDecodeError, OSError) as exc:
                raise UserInputError(f"{cfg_path}: unreadable config ({exc})") from None
            if old.get("config_hash") != config["config_hash"]:
                diff = sorted(
                    k for k in set(old.get("hashed", {})) | set(config["hashed"])
                    if old.get("hashed", {}).get(k) != config["hashed"].get(k)
                )
                raise UserInputError(
                    "holds a run of another configuration (differs in: "
                    f"{', '.join(diff) or 'config hash'}); use another --out",
                    param="out", value=path)
            warnings.extend(
                f"resuming {path} with different {key} settings"
                for key in ("run",)
                if old.get(key) != config.get(key)
            )
        elif self.samples_path.exists() and self.samples_path.stat().st_size > 0:
            raise UserInputError(
                "has samples.jsonl but no config.json; use another --out", param="out", value=path)
        write_json_atomic(cfg_path, config)

    def close(self) -> None:
        """Release the lock (only if this process holds it)."""
        if not self.locked:
            return
        release_lock(self.path)
        self.locked = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_samples(self) -> list[TrialRecord]:
        """All records; a torn last line (from a kill) is cut off the file and dropped."""
        return read_samples(self.samples_path, repair=True)

    def append(self, records: Sequence[TrialRecord]) -> None:
        """Append finished trials and flush them to disk."""
        if not records:
            return
        with self.samples_path.open("a", encoding="utf-8") as fh:
            fh.write("".join(dumps(r) + "\n" for r in records))
            fh.flush()
            os.fsync(fh.fileno())

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.path / RESULTS, results)


def check_out_dir(path: Path, flag: str = "--out") -> None:
    """One-line `UserInputError` unless `path` is (or can be made) a writable folder: checked
    before a model loads. Refuses /proc and /sys, a file on the way, a read-only parent."""
    resolved = path.expanduser().absolute()
    if any(str(resolved) == p or str(resolved).startswith(p + "/") for p in ("/proc", "/sys")):
        raise flag_error(flag, "not a place for run folders (a kernel file system)", path)
    probe = resolved
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == resolved else f"lies under the file {probe}"
        raise flag_error(flag, f"{what}, not a folder", path)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise flag_error(flag, f"{probe} is not writable", path)
