"""Reading run folders for reports (config.json, results.json, samples.jsonl)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.records import TrialRecord, latest_records
from sycolab.runs.layout import CONFIG, RESULTS, SAMPLES
from sycolab.runs.samples import read_samples


@dataclass
class RunData:
    """One finished run: its configuration, results and the last record per trial."""

    path: Path
    config: dict[str, Any]
    results: dict[str, Any]
    records: list[TrialRecord]

    @property
    def model(self) -> str:
        model = self.config.get("model")
        if isinstance(model, dict):
            return str(model.get("spec", ""))
        return str(self.config.get("hashed", {}).get("model", model or ""))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except OSError as exc:
        raise UserInputError(f"{path}: unreadable ({exc.strerror})") from None
    if not isinstance(obj, dict):
        raise UserInputError(f"{path}: expected a JSON object")
    return obj


def load_run(run_dir: Path) -> RunData:
    """Load a run folder; a missing folder or results.json is a one-line UserInputError."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserInputError(f"{run_dir}: run folder not found")
    results_path = run_dir / RESULTS
    if not results_path.is_file():
        raise UserInputError(
            f"{run_dir}: no {RESULTS} (not a sycolab run folder, or the run has not finished)"
        )
    results = _read_json(results_path)
    if not isinstance(results.get("groups"), list):
        raise UserInputError(f"{results_path}: no 'groups' list")
    config = _read_json(run_dir / CONFIG) if (run_dir / CONFIG).is_file() else {}
    records = latest_records(read_samples(run_dir / SAMPLES))
    return RunData(run_dir, config, results, records)


def questions(run: RunData, limit: int = 400) -> dict[str, str]:
    """Question text per ``suite|item_id`` for the example table, best effort.

    Taken from the records' own ``question`` field when present, else from the suites named in
    config.json when they load and their content hash still matches (a moved file suite or a
    changed generator leaves the question out rather than showing the wrong one).
    """
    out: dict[str, str] = {}
    for r in run.records:
        q = r.get("question")
        if isinstance(q, str):
            out[f"{r['suite']}|{r['item_id']}"] = q[:limit]
    wanted = {str(r["suite"]) for r in run.records} - {k.split("|", 1)[0] for k in out}
    suites = run.config.get("suites")
    if not wanted or not isinstance(suites, list):
        return out
    from sycolab.core.suites import load_suite

    for entry in suites:
        if not isinstance(entry, dict) or entry.get("name") not in wanted:
            continue
        try:
            suite = load_suite(str(entry.get("spec", entry["name"])))
        except (UserInputError, OSError, ValueError, KeyError):
            continue
        if entry.get("content_hash") not in (None, suite.content_hash):
            continue
        for item in suite.items:
            text = item.question
            if item.presentation == "lettered" and item.options:
                text += "  " + "  ".join(
                    f"({chr(65 + i)}) {opt}" for i, opt in enumerate(item.options)
                )
            out[f"{item.suite}|{item.item_id}"] = text[:limit]
    return out
