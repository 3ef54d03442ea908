"""``DIR/.lock``: the pid, host and start time of the run that writes a folder.

A second run on the same folder is refused naming the holder; a lock whose process is gone on
this host is taken over with a warning.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.runs.layout import LOCK


def take_lock(folder: Path) -> str | None:
    """Take ``folder/.lock``; a live holder is a UserInputError, a dead one is taken over (the
    returned warning says so)."""
    lock = folder / LOCK
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
                    f"in use by another run (pid {holder.get('pid')} on "
                    f"{holder.get('host')}, since {holder.get('started')}); wait for it or "
                    "use another --out", param="out", value=folder) from None
            warning = None if own else (
                f"{folder}: took over the lock of a run that is gone (pid "
                f"{(holder or {}).get('pid')}, since {(holder or {}).get('started')})")
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        return warning
    raise UserInputError("could not take its lock; another run races for it",
                         param="out", value=folder)


def release_lock(folder: Path) -> None:
    """Remove ``folder/.lock`` if this process holds it."""
    lock = folder / LOCK
    holder = _read_lock(lock)
    if holder is not None and holder.get("pid") == os.getpid():
        lock.unlink(missing_ok=True)


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
