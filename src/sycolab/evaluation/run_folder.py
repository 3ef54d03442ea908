"""The run folder: config.json, samples.jsonl (append-only, resumable) and results.json.

A run holds ``DIR/.lock`` (its pid, host and start time) while it writes the folder, so a second
run on the same folder exits 2 naming the holder; a lock whose process is gone on this host is
taken over with a warning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Self

from sycolab.core.errors import UserInputError

CONFIG = "config.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
LOCK = ".lock"


def config_hash(hashed: dict[str, Any]) -> str:
    """Hash of the result-defining part of a configuration."""
    blob = json.dumps(hashed, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by None (JSON is written with allow_nan=False)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(_finite(obj), allow_nan=False, ensure_ascii=False, **kwargs)


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


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
            raise UserInputError(f"--out {path}: exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path)
        warnings: list[str] = []
        stale = folder._lock()
        if stale:
            warnings.append(stale)
        try:
            folder._check_config(config, warnings)
        except BaseException:
            folder.close()
            raise
        return folder, warnings

    def _check_config(self, config: dict[str, Any], warnings: list[str]) -> None:
        path, folder = self.path, self
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
                    f"--out {path}: holds a run of another configuration (differs in: "
                    f"{', '.join(diff) or 'config hash'}); use another --out"
                )
            for key in ("run",):
                if old.get(key) != config.get(key):
                    warnings.append(f"resuming {path} with different {key} settings")
        elif folder.samples_path.exists() and folder.samples_path.stat().st_size > 0:
            raise UserInputError(f"--out {path}: has samples.jsonl but no config.json; use another --out")
        write_json_atomic(cfg_path, config)

    # -- lock ------------------------------------------------------------------------------
    def _lock(self) -> str | None:
        """Take DIR/.lock; a live holder is a UserInputError, a dead one is taken over."""
        lock = self.path / LOCK
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        warning = None
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_lock(lock)
                own = holder is not None and holder.get("pid") == os.getpid() and \
                    holder.get("host") == socket.gethostname()
                if holder is not None and _alive(holder):
                    raise UserInputError(
                        f"--out {self.path}: in use by another run (pid {holder.get('pid')} on "
                        f"{holder.get('host')}, since {holder.get('started')}); wait for it or "
                        "use another --out") from None
                warning = None if own else (
                    f"{self.path}: took over the lock of a run that is gone (pid "
                    f"{(holder or {}).get('pid')}, since {(holder or {}).get('started')})")
                lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.locked = True
            return warning
        raise UserInputError(f"--out {self.path}: could not take its lock; another run races "
                             "for it")

    def close(self) -> None:
        """Release the lock (only if this process holds it)."""
        if not self.locked:
            return
        lock = self.path / LOCK
        holder = _read_lock(lock)
        if holder is not None and holder.get("pid") == os.getpid():
            lock.unlink(missing_ok=True)
        self.locked = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_samples(self) -> list[dict[str, Any]]:
        """All records; a torn last line (from a kill) is cut off the file and dropped."""
        return read_samples(self.samples_path, repair=True)

    def append(self, records: list[dict[str, Any]]) -> None:
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
        raise UserInputError(f"{flag} {path}: not a place for run folders (a kernel file system)")
    probe = resolved
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == resolved else f"lies under the file {probe}"
        raise UserInputError(f"{flag} {path}: {what}, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserInputError(f"{flag} {path}: {probe} is not writable")


def _read_lock(lock: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(lock.read_text())
    except (OSError, ValueError):
        return None  # unreadable or half-written: treated as stale
    return data if isinstance(data, dict) else None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the lock's process still runs (a lock from another host counts as alive)."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # this process's own lock (a run that did not release it): re-entrant
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_samples(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """Parse samples.jsonl. A torn final line is dropped (and cut off when `repair`);
    a corrupt line elsewhere is an error naming file and line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    good_end = 0
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        last = i == len(lines) - 1
        if not raw.strip():
            if not last:
                good_end += len(raw) + 1
            continue
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict) or "trial_id" not in rec:
                raise ValueError("not a trial record")
        except ValueError as exc:
            tail = b"".join(line + b"\n" for line in lines[i + 1 :]).strip()
            if last or not tail:
                break  # torn last line
            raise UserInputError(f"{path}:{i + 1}: corrupt trial record ({exc})") from None
        if last:  # complete JSON but no newline yet: keep it and finish the line
            records.append(rec)
            good_end = len(data)
            if repair:
                with path.open("ab") as fh:
                    fh.write(b"\n")
                good_end += 1
            break
        records.append(rec)
        good_end += len(raw) + 1
    if repair and good_end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return records


def latest_by_trial(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Readers take the last record per trial_id."""
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        out[rec["trial_id"]] = rec
    return out
