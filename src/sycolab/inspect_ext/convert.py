"""An Inspect log of a sycolab task (``inspect eval sycolab/<protocol>``) as a sycolab run
folder: config.json, samples.jsonl (the scorer's `TrialRecord`s), results.json and report.html,
so ``sycolab report``, ``compare`` and ``matrix`` read it like a run of ``sycolab eval``."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.extraction import RULES_VERSION
from sycolab.core.metrics import compute_results
from sycolab.core.records import TrialRecord
from sycolab.inspect_ext.scorer import RECORD
from sycolab.report.run_report import write_run_report
from sycolab.runs.config_hash import config_hash
from sycolab.runs.folder import RunFolder, check_out_dir


@dataclass(frozen=True)
class Imported:
    """What `import_log` wrote."""

    run_dir: Path
    results: dict[str, Any]
    n_trials: int
    task: str
    model: str


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _read(path: Path) -> Any:
    """The Inspect log at `path`; one-line error when it is not one."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file (an Inspect .eval or .json log)")
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise UserInputError("reading Inspect logs needs inspect_ai: pip install "
                             "'sycolab[inspect]'") from None
    try:
        return read_eval_log(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad log
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"{path}: not a readable Inspect log ({first[:160]})") from None


def records_from_log(log: Any, path: Path) -> list[TrialRecord]:
    """The trial records the sycolab scorer stored in the log's samples."""
    task = str(log.eval.task)
    if not task.startswith("sycolab/"):
        raise UserInputError(f"{path}: a log of task {task!r}, not of a sycolab task "
                             "(inspect eval sycolab/<protocol>)")
    records: list[TrialRecord] = []
    for sample in log.samples or []:
        for score in (sample.scores or {}).values():
            meta = score.metadata or {}
            if isinstance(meta.get(RECORD), dict):
                records.append(meta[RECORD])
                break
    if not records:
        raise UserInputError(f"{path}: no scored samples (status {log.status}); run the task to "
                             "the end, or rescore it with `inspect score`")
    return records


def run_config(log: Any, path: Path) -> dict[str, Any]:
    """config.json for the imported run: what the task recorded of its plan, the model Inspect
    served, and the log it came from."""
    spec = log.eval
    task_meta = (spec.metadata or {}).get("sycolab") or {}
    protocols = task_meta.get("protocols") or {}
    model = f"inspect:{spec.model}"
    hashed = {
        "model": model, "weights_hash": None, "adapter": None,
        "model_args": spec.model_args or {},
        "suites": task_meta.get("suite_specs") or [],
        "protocols": sorted(protocols) or None,
        "scoring": task_meta.get("scoring"), "split": task_meta.get("split"),
        "seed": task_meta.get("seed"), "shuffle": task_meta.get("shuffle"),
        "system_prompt": task_meta.get("system_prompt"),
        "max_new_tokens": task_meta.get("max_new_tokens"),
        "decoding": None, "interventions": None, "extraction": RULES_VERSION,
        "templates": protocols,
        "suite_hashes": {s.get("spec", s.get("name")): s.get("content_hash")
                         for s in task_meta.get("suites") or []},
        "inspect_eval_id": spec.eval_id,
    }
    if task_meta.get("judge"):
        hashed["judge"] = {"spec": task_meta["judge"], "mode": task_meta.get("judge_mode")}
    return {
        "config_hash": config_hash(hashed),
        "hashed": hashed,
        "sycolab_version": _version("sycolab"),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "model": {"spec": model, "weights_hash": None, "inspect_model": spec.model},
        "suites": task_meta.get("suites") or [],
        "protocols": protocols,
        "skipped": task_meta.get("skipped") or {},
        "skip_reasons": task_meta.get("skip_reasons") or {},
        "run": {"limit": task_meta.get("limit")},
        "inspect": {"log": str(path.resolve()), "task": spec.task, "eval_id": spec.eval_id,
                    "run_id": spec.run_id, "created": spec.created, "status": log.status,
                    "inspect_ai": _version("inspect_ai")},
    }


def _skipped(config: dict[str, Any]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for key, n in (config.get("skipped") or {}).items():
        suite, _, protocol = str(key).rpartition("/")
        out[(suite, protocol)] = int(n)
    return out


def import_log(log_path: str | Path, out: str | Path, *, report: bool = True) -> Imported:
    """Write the run folder `out` from the Inspect log at `log_path`; importing the same log into
    the same folder again replaces nothing (the records are already there)."""
    path, run_dir = Path(log_path), Path(out)
    check_out_dir(run_dir)
    log = _read(path)
    records = records_from_log(log, path)
    config = run_config(log, path)
    folder, _ = RunFolder.open(run_dir, config)
    with folder:
        held = {str(r["trial_id"]) for r in folder.read_samples()}
        folder.append([r for r in records if str(r["trial_id"]) not in held])
        results = compute_results(folder.read_samples(), skipped=_skipped(config))
        results["config_hash"] = config["config_hash"]
        results["wall_seconds"] = None
        folder.write_results(results)
    if report:
        write_run_report(run_dir)
    return Imported(run_dir, results, len(records), str(log.eval.task), str(log.eval.model))
