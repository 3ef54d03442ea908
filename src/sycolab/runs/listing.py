"""Run folders as listing rows (`sycolab runs`): read-only, torch-free.

A *run folder* holds a ``config.json`` with ``config_hash`` and ``hashed`` (what `RunFolder`
writes); any other folder is skipped and counted. `list_runs` looks at each given folder, its
subfolders and theirs (so ``runs/`` finds ``runs/<hash>`` and ``runs/sweep-x/<setting>``).

Each row's status:
- ``complete``: results.json is newer than samples.jsonl (a finished run); its failed trials
  (``error`` set; re-running the command retries them) are counted;
- ``running``: no results.json yet and the folder's lock is held by a live process;
- ``partial``: no (or an older) results.json: k trials of the n planned, where n is read from
  config.json (items selected per suite x its protocols, less the skipped items);
- ``unreadable``: samples.jsonl has a corrupt line (the reason says where).
The headline is one group's key metric from results.json, first found of: ``agreement_rate``
(a group other than ``suggest-correct``), ``sycophantic``, the first headline metric of a field
benchmark group, ``ctr``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sycolab.core.errors import UserInputError
from sycolab.core.records import latest_records
from sycolab.runs.layout import CONFIG, LOCK, RESULTS, SAMPLES
from sycolab.runs.lock import _alive, _read_lock
from sycolab.runs.samples import read_samples

FIELD_DETAIL = ("more_positive_rate", "less_positive_rate", "position_disagreement")
"""Prefixes of field benchmark metrics that are details, never a headline."""

SortKey = Literal["date", "model"]
SORT_KEYS: tuple[SortKey, ...] = ("date", "model")
Status = Literal["complete", "partial", "running", "unreadable"]


@dataclass
class Headline:
    """One group's key metric: {value, ci_low, ci_high, n} of `metric` in suite/protocol."""

    metric: str
    suite: str
    protocol: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int | None


@dataclass
class RunRow:
    """One run folder as `sycolab runs` shows it."""

    path: Path
    config_hash: str
    model: str
    suites: list[str]
    protocols: list[str]
    date: float  # seconds since the epoch: results.json, else samples.jsonl, else config.json
    status: Status
    n_trials: int
    n_planned: int | None
    n_failed: int
    headline: Headline | None = None
    reason: str = ""  # why a folder is unreadable

    def status_text(self) -> str:
        """``complete``, ``complete, 3 failed``, ``partial: 12 of 30``, ``running: ...``."""
        if self.status == "unreadable":
            return f"unreadable: {self.reason}"
        failed = f", {self.n_failed} failed" if self.n_failed else ""
        if self.status == "complete":
            return f"complete{failed}"
        of = f" of {self.n_planned}" if self.n_planned is not None else " trials"
        return f"{self.status}: {self.n_trials}{of}{failed}"

    def date_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.date))

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "config_hash": self.config_hash, "model": self.model,
            "suites": self.suites, "protocols": self.protocols,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.date)),
            "status": self.status, "status_text": self.status_text(),
            "n_trials": self.n_trials, "n_planned": self.n_planned, "n_failed": self.n_failed,
            "headline": None if self.headline is None else vars(self.headline).copy(),
        }


@dataclass
class Listing:
    """The rows found and the folders skipped (not run folders)."""

    rows: list[RunRow] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def read_config(path: Path) -> dict[str, Any] | None:
    """`path`'s config.json when `path` is a run folder, else None."""
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(config, dict) and "config_hash" in config and "hashed" in config:
        return config
    return None


def planned_trials(config: dict[str, Any]) -> int | None:
    """Trials the run plans, from config.json: per suite, items selected x protocols run on
    them, less the items a protocol skips; None when config.json does not tell."""
    try:
        skipped: dict[str, int] = config.get("skipped") or {}
        by_part: dict[str, set[str]] = {}
        for key in skipped:
            part, _, protocol = key.rpartition("/")
            by_part.setdefault(part, set()).add(protocol)
        suites = config["suites"]
        names = {s["name"] for s in suites}
        orphans = {p: ps for p, ps in by_part.items() if p not in names}
        total = 0
        for suite in suites:
            protocols = by_part.get(suite["name"])
            if protocols is None:  # a suite whose items are grouped under settings
                if len([s for s in suites if s["name"] not in by_part]) != 1:
                    return None
                protocols = set().union(*orphans.values()) if orphans else set()
            total += int(suite["n_selected"]) * len(protocols)
        return total - sum(int(n) for n in skipped.values())
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _read_results(path: Path) -> dict[str, Any] | None:
    try:
        results = json.loads((path / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) else None


def _headline(results: dict[str, Any]) -> Headline | None:
    groups = [g for g in results.get("groups") or [] if isinstance(g, dict)]

    def found(g: dict[str, Any], name: str, m: Any) -> Headline | None:
        if not isinstance(m, dict) or m.get("value") is None:
            return None
        return Headline(name, str(g.get("suite")), str(g.get("protocol")), m["value"],
                        m.get("ci_low"), m.get("ci_high"), m.get("n"))

    for g in groups:
        if g.get("protocol") != "suggest-correct" and (
                h := found(g, "agreement_rate", (g.get("metrics") or {}).get("agreement_rate"))):
            return h
    for g in groups:
        if h := found(g, "sycophantic", (g.get("metrics") or {}).get("sycophantic")):
            return h
    for g in groups:
        for name, m in ((g.get("field") or {}).get("metrics") or {}).items():
            if not name.startswith(FIELD_DETAIL) and (h := found(g, name, m)):
                return h
    for g in groups:
        if h := found(g, "ctr", (g.get("metrics") or {}).get("ctr")):
            return h
    return None


def _running(path: Path) -> bool:
    holder = _read_lock(path / LOCK)
    return holder is not None and _alive(holder)


def read_run(path: Path, config: dict[str, Any]) -> RunRow:
    """The listing row of run folder `path` whose config.json is `config`."""
    hashed = config.get("hashed") or {}
    model = (config.get("model") or {}).get("spec") or hashed.get("model") or "?"
    suites = [str(s.get("name")) for s in config.get("suites") or [] if isinstance(s, dict)] \
        or [str(s) for s in hashed.get("suites") or []]
    ran = {key.rpartition("/")[2] for key in config.get("skipped") or {}}  # groups planned
    protocols = [p for p in config.get("protocols") or {} if not ran or p in ran] \
        or list(hashed.get("protocols") or [])
    t_results, t_samples = _mtime(path / RESULTS), _mtime(path / SAMPLES)
    date = t_results or t_samples or _mtime(path / CONFIG) or 0.0
    row = RunRow(path, str(config.get("config_hash")), str(model), suites, protocols, date,
                 "partial", 0, planned_trials(config), 0)
    results = _read_results(path) if t_results is not None else None
    fresh = results is not None and t_results is not None and (
        t_samples is None or t_results >= t_samples)
    if fresh and results is not None:
        groups = [g for g in results.get("groups") or [] if isinstance(g, dict)]
        row.status = "complete"
        row.n_trials = sum(int(g.get("n") or 0) for g in groups)
        row.n_failed = sum(int(g.get("n_errors") or 0) for g in groups)
    else:
        try:
            records = latest_records(read_samples(path / SAMPLES))
        except UserInputError as exc:
            row.status, row.reason = "unreadable", str(exc)
            return row
        row.n_trials = len(records)
        row.n_failed = sum(1 for r in records if r.get("error") is not None)
        row.status = "running" if _running(path) else "partial"
    row.headline = _headline(results) if results is not None and fresh else None
    return row


def _scan(folder: Path, depth: int) -> tuple[list[tuple[Path, dict[str, Any]]], list[Path]]:
    """(run folders with their configs, skipped folders) at and below `folder`, down to `depth`
    levels; a folder with no run folder in it counts once as skipped."""
    config = read_config(folder)
    if config is not None:
        return [(folder, config)], []
    runs: list[tuple[Path, dict[str, Any]]] = []
    skipped: list[Path] = []
    if depth > 0:
        for sub in _subfolders(folder):
            found, passed = _scan(sub, depth - 1)
            runs += found
            skipped += passed
    return (runs, skipped) if runs else ([], [folder])


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def list_runs(folders: Sequence[Path], sort: SortKey = "date") -> Listing:
    """Rows of the run folders in `folders` (each, its subfolders and theirs), newest first
    (``sort="date"``) or by model then date; a missing folder is a `UserInputError`."""
    if sort not in SORT_KEYS:
        raise UserInputError(f"expected one of {', '.join(SORT_KEYS)}", param="sort",
                             value=sort)
    listing = Listing()
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "no such folder"
            raise UserInputError(f"{folder}: {what} (list other folders: sycolab runs DIR ...)")
        config = read_config(folder)
        if config is not None:
            found: list[tuple[Path, dict[str, Any]]] = [(folder, config)]
        else:  # the given folder itself is never counted as skipped: its subfolders are
            found = []
            for sub in _subfolders(folder):
                runs, skipped = _scan(sub, 1)
                found += runs
                listing.skipped += skipped
        for path, cfg in found:
            if (key := path.resolve()) not in seen:
                seen.add(key)
                listing.rows.append(read_run(path, cfg))
    listing.rows.sort(key=lambda r: -r.date)
    if sort == "model":
        listing.rows.sort(key=lambda r: r.model)
    return listing


__all__ = ["FIELD_DETAIL", "SORT_KEYS", "Headline", "Listing", "RunRow", "SortKey",
           "list_runs", "planned_trials", "read_config", "read_run"]
