"""Run a matrix: build artifacts on train, choose settings on validation, report on test.

Layout of the output folder:
    artifacts/<name>-<key>/          vectors and adapters, keyed by their inputs (reused)
    arms/<arm>/validation/<i>/       one eval run per candidate setting (grids only)
    arms/<arm>/test/                 the arm's reported run
    state.json                       finished arms and chosen settings (resume at arm level)
    matrix.md, matrix.csv, matrix.json, matrix.html
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.metric_registry import lower_is_better
from sycolab.evaluation.api import EvalResult, evaluate
from sycolab.matrix.artifacts import build_artifact
from sycolab.matrix.config import ArmSpec, MatrixConfig
from sycolab.report import write_run_report
from sycolab.runs.jsonio import write_json_atomic

logger = logging.getLogger(__name__)

Log = Callable[[str], None]


def config_key(config: MatrixConfig) -> str:
    blob = json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def selection_score(results: dict[str, Any], metric: str) -> float:
    """Mean of `metric` over groups that define it, oriented so that lower is better."""
    values = [g["metrics"][metric]["value"] for g in results.get("groups", [])
              if g.get("metrics", {}).get(metric, {}).get("value") is not None]
    if not values:
        return float("inf")
    mean = float(sum(values)) / len(values)
    return mean if lower_is_better(metric) else -mean


@dataclass
class MatrixRun:
    config: MatrixConfig
    out: Path
    log: Log = logger.info
    progress: bool = True

    @property
    def state_path(self) -> Path:
        return self.out / "state.json"

    def _state(self) -> dict[str, Any]:
        if self.state_path.exists():
            return dict(json.loads(self.state_path.read_text()))
        return {"config_key": config_key(self.config), "arms": {}, "artifacts": {}}

    def _save(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_path, state)

    def _eval(self, arm: ArmSpec, setting: dict[str, Any], split: str, out: Path,
              artifacts: dict[str, str]) -> EvalResult:
        def resolve(ref: str | None) -> str | None:
            return artifacts.get(ref, ref) if ref is not None else None

        layers = setting.get("layers")
        result = evaluate(
            self.config.model, suite=self.config.suites, protocol=self.config.protocols,
            split=split, limit=self.config.limit, seed=self.config.seed, out=out,
            mitigation=arm.mitigation, adapter=resolve(arm.adapter), steer=resolve(arm.steer),
            multiplier=setting.get("multiplier"), layers=layers,
            decoding=arm.decoding, alpha=setting.get("alpha"), beta=setting.get("beta"),
            progress=self.progress,
        )
        write_run_report(result.run_dir)  # each arm's folder opens like any run's
        return result

    def run(self) -> dict[str, Any]:
        """Build, select and evaluate every arm; returns the state (resumable)."""
        self.out.mkdir(parents=True, exist_ok=True)
        state = self._state()
        if state.get("config_key") != config_key(self.config):
            from sycolab.core.errors import UserInputError

            raise UserInputError("holds a matrix of another configuration; "
                                 "use another --out", param="out", value=self.out)
        artifacts: dict[str, str] = dict(state.get("artifacts", {}))
        needed = {ref for arm in self.config.arms for ref in (arm.adapter, arm.steer)
                  if ref in self.config.artifacts}
        for name in sorted(needed, key=lambda n: self.config.artifact_kinds[n] == "kts"):
            if name not in artifacts:
                self.log(f"[artifact] building {name} ({self.config.artifact_kinds[name]})")
                artifacts[name] = str(build_artifact(self.config, name, self.out / "artifacts",
                                                     artifacts))
                state["artifacts"] = artifacts
                self._save(state)
        for arm in self.config.arms:
            done = state["arms"].get(arm.name, {})
            if done.get("test_dir"):
                self.log(f"[arm] {arm.name}: done (resumed)")
                continue
            grid = arm.grid()
            chosen = grid[0]
            scores: list[float] = []
            if len(grid) > 1 or arm.prompt_baseline:
                for i, setting in enumerate(grid):
                    self.log(f"[arm] {arm.name}: validation {i + 1}/{len(grid)} {setting}")
                    res = self._eval(arm, setting, "validation",
                                     self.out / "arms" / arm.name / "validation" / str(i),
                                     artifacts)
                    scores.append(selection_score(res.results, self.config.selection_metric))
                chosen = grid[min(range(len(grid)), key=lambda i: scores[i])]
            self.log(f"[arm] {arm.name}: test with {chosen or 'defaults'}")
            test_dir = self.out / "arms" / arm.name / "test"
            self._eval(arm, chosen, "test", test_dir, artifacts)
            state["arms"][arm.name] = {"setting": chosen, "validation_scores": scores,
                                       "validation_best": min(scores) if scores else None,
                                       "test_dir": str(test_dir)}
            self._save(state)
        return state
