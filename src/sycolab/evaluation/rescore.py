"""`rescore(...)`: score a run's stored replies again, into a new run folder, without generating.

The run's suites are loaded and its plan rebuilt with the new scoring, so trial ids, the config
hash and every record equal those of a fresh run with that scoring; the runner takes each step's
reply from the old record instead of the model (the model is never loaded). With ``generate``
an old run gets the current extraction rules; with ``judge`` a judge reads the same replies.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import BackendError, UserInputError
from sycolab.core.extraction import RULES_VERSION
from sycolab.core.prompt_presets import get_preset
from sycolab.core.records import TrialRecord, latest_records
from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Progress
from sycolab.evaluation.api import (
    EvalResult,
    _load_suites,
    check_judge_needed,
    finish_run,
    judged_fields,
    load_judges,
)
from sycolab.evaluation.execute import error_causes, run_pending
from sycolab.evaluation.plan import build_plan
from sycolab.evaluation.runner import Runner
from sycolab.runs.config_hash import config_hash
from sycolab.runs.folder import RunFolder, check_out_dir
from sycolab.runs.layout import CONFIG, SAMPLES
from sycolab.runs.samples import read_samples

logger = logging.getLogger(__name__)

RESCORINGS = ("generate", "judge")
_IDENTITY = ("model", "weights_hash", "adapter", "system_prompt", "max_new_tokens", "decoding",
             "interventions")


class StoredRepliesOnly(Backend):
    """The backend of a re-scoring: every reply comes from the old run, so any call is a bug."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def score(self, requests: Sequence[ChoiceRequest],
              progress: Progress | None = None) -> list[list[float | None]]:
        raise BackendError("rescore: the model was asked to score; replies must come from the run")

    def generate(self, requests: Sequence[GenerateRequest],
                 progress: Progress | None = None) -> list[str]:
        raise BackendError("rescore: the model was asked to generate; replies must come from "
                           "the run")

    def describe(self) -> dict[str, Any]:
        return dict(self.info)


def _read_run(run: Path) -> tuple[dict[str, Any], list[TrialRecord]]:
    cfg_path = run / CONFIG
    if not cfg_path.exists():
        raise UserInputError(f"RUN {run}: not a run folder (no {CONFIG})")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"{cfg_path}: unreadable config ({exc})") from None
    records = latest_records(read_samples(run / SAMPLES))
    return config, records


def rescore(
    run: str | Path,
    *,
    scoring: str,
    out: str | Path,
    judge: str | None = None,
    judge_mode: str = "auto",
    progress: bool = True,
    device: str = "auto",
    dtype: str = "auto",
    concurrency: int = 8,
    judge_backend: Backend | None = None,
) -> EvalResult:
    """Re-score the stored replies of `run` with `scoring` into the run folder `out`."""
    run, out = Path(run), Path(out)
    if scoring not in RESCORINGS:
        raise UserInputError(f"rescore takes generate or judge, got {scoring!r}", param="scoring")
    if scoring == "judge" and not judge:
        raise UserInputError("--scoring judge needs --judge SPEC")
    if judge and scoring != "judge":
        raise UserInputError("only used with --scoring judge", param="judge")
    if out.resolve() == run.resolve():
        raise UserInputError("must differ from RUN (re-scoring writes a new run)",
                             param="out", value=out)
    check_out_dir(out)
    config, records = _read_run(run)
    hashed = dict(config.get("hashed") or {})
    used = {r.get("scoring") for r in records}
    if not records or not used <= set(RESCORINGS):
        raise UserInputError(f"RUN {run}: has no generated replies to re-score (scoring "
                             f"{', '.join(sorted(str(u) for u in used)) or 'none'})")
    failed = [r for r in records if r.get("error") is not None]
    if failed:
        raise UserInputError(f"RUN {run}: {len(failed)} trials failed; resume that run first")
    loaded = _load_suites(hashed.get("suites") or [])
    for spec, suite in zip(hashed.get("suites") or [], loaded, strict=True):
        want = (hashed.get("suite_hashes") or {}).get(spec)
        if want is not None and want != suite.content_hash:
            raise UserInputError(f"its content changed since {run} ran", param="suite", value=spec)
    # an `auto` run whose trials all generated is re-scored as the same `auto` command would be
    keep_auto = scoring == "generate" and hashed.get("scoring") == "auto" and used == {"generate"}
    plan_scoring = "auto" if keep_auto else scoring
    plan = build_plan(loaded, hashed.get("protocols"), scoring=plan_scoring,
                      split=hashed.get("split", "all"),
                      limit=(config.get("run") or {}).get("limit"),
                      shuffle=bool(hashed.get("shuffle")), seed=int(hashed.get("seed", 0)),
                      identity={k: hashed.get(k) for k in _IDENTITY})
    by_key = {(r["suite"], str(r["item_id"]), r["protocol"]): r for r in records}
    stored: dict[str, list[str]] = {}
    for t in plan.trials:
        rec = by_key.get((t.item.suite, t.item.item_id, t.protocol.name))
        if rec is None or len(rec.get("responses") or []) != len(t.conditions):
            raise UserInputError(f"RUN {run}: no stored replies for {t.item.suite}/"
                                 f"{t.item.item_id} under {t.protocol.name}; resume that run first")
        stored[t.trial_id] = list(rec["responses"])
    field_kinds = judged_fields(plan)
    check_judge_needed(plan, judge, field_kinds)
    judge_obj, field_judges = load_judges(judge, judge_mode, plan, field_kinds,
                                          backend=judge_backend, device=device, dtype=dtype,
                                          concurrency=concurrency)
    hashed["scoring"] = plan_scoring
    hashed["extraction"] = RULES_VERSION
    hashed.pop("judge", None)
    hashed.pop("field_judges", None)
    if judge_obj is not None:
        hashed["judge"] = judge_obj.describe()
    if field_judges:
        hashed["field_judges"] = {k: j.describe() for k, j in sorted(field_judges.items())}
    chash = config_hash(hashed)
    new_config = copy.deepcopy(config)
    new_config.update(config_hash=chash, hashed=hashed,
                      rescored_from={"run": str(run), "config_hash": config.get("config_hash")})
    mitigation = ((hashed.get("interventions") or {}).get("mitigation") or {}).get("name")
    preset = get_preset(mitigation) if mitigation else None
    model = StoredRepliesOnly(config.get("model") or {})
    old_results = run / "results.json"
    old_side = (json.loads(old_results.read_text()).get("side_effects")
                if old_results.exists() else None)
    folder, warnings = RunFolder.open(out, new_config)
    with folder:
        for w in warnings:
            logger.warning(w)
        runner = Runner(model, system_prompt=hashed.get("system_prompt"),
                        max_new_tokens=int(hashed.get("max_new_tokens", 32)),
                        preset=preset, judge=judge_obj, stored_replies=stored,
                        field_judges=field_judges)
        ran = run_pending(runner, folder, plan.trials, progress=progress,
                          chunk=model.chunk_trials, judge=judge_obj)
        results = finish_run(folder, ran, plan.skipped, chash, lambda _: old_side,
                             judge=judge if field_judges else None)
    return EvalResult(out, results, new_config, ran.n_run, ran.n_resumed,
                      error_causes(ran.records),
                      {k: j.prompt_text() for k, j in field_judges.items()})
