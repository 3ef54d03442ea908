"""`evaluate(...)`: run (or resume) an evaluation into its run folder (config.json,
samples.jsonl, results.json); `sycolab.workflows.evaluate` adds report.html."""

from __future__ import annotations

import logging
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sycolab.core.conversation import ANSWER_TAIL, CANONICAL_TURN, CHOICES_HEADER
from sycolab.core.errors import UserInputError
from sycolab.core.extraction import RULES_DOC, RULES_VERSION
from sycolab.core.metrics import compute_results
from sycolab.core.protocols import REBUTTAL_PROTOCOLS
from sycolab.core.rebuttal_templates import templates_record
from sycolab.core.suites import Suite, load_suite
from sycolab.engine.base import Backend
from sycolab.engine.spec import check_spec, load_backend, refuse_unsupported
from sycolab.evaluation.execute import Executed, error_causes, run_pending
from sycolab.evaluation.field_judges import FieldJudge, load_field_judges
from sycolab.evaluation.interventions import refuse_trained_items, resolve_interventions
from sycolab.evaluation.judge import Judge, load_judge
from sycolab.evaluation.plan import Plan, build_plan
from sycolab.evaluation.runner import FIELD_JUDGE, Runner
from sycolab.evaluation.side_effect_report import (
    previous_side_effects,
    refuse_benign_overlap,
    side_effects,
)
from sycolab.runs.config_hash import config_hash
from sycolab.runs.folder import RunFolder, check_out_dir

logger = logging.getLogger(__name__)

DEFAULT_SUITES = ("arithmetic",)
DEFAULT_LIMIT = 120
DEFAULT_MAX_NEW_TOKENS = 32


@dataclass
class EvalResult:
    """What `evaluate` returns: the run folder and its results.json content."""

    run_dir: Path
    results: dict[str, Any]
    config: dict[str, Any]
    n_run: int
    n_resumed: int
    errors: dict[str, int] = field(default_factory=dict)  # failed trials by cause
    judge_prompts: dict[str, str] = field(default_factory=dict)  # field judge kind -> prompt


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _threads() -> int | None:
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _system_prompt(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserInputError(f"cannot read {path} ({exc.strerror})",
                             param="system_prompt") from None


def batch_size_for(value: int | str) -> int | str:
    """`auto` or a positive integer (given as int or text), else a `UserInputError`."""
    if value == "auto":
        return value
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UserInputError(f"expected a positive integer or 'auto', got {value!r}",
                             param="batch_size") from None
    if n < 1:
        raise UserInputError(f"expected a positive integer or 'auto', got {value!r}",
                             param="batch_size")
    return n


def _load_judge(spec: str | None, mode: str, backend: Backend | None, device: str, dtype: str,
                concurrency: int) -> Judge | None:
    if not spec:
        return None
    if backend is not None:
        return Judge(spec, backend, mode=mode)
    return load_judge(spec, mode=mode, concurrency=concurrency, device=device, dtype=dtype)


def judged_fields(plan: Plan) -> set[str]:
    """The field judges (stance, pairwise, social) the planned trials need."""
    return {FIELD_JUDGE[k] for t in plan.trials
            if t.scoring == "judge" and (k := t.item.field_kind) in FIELD_JUDGE}


def check_judge_needed(plan: Plan, judge: str | None, field_kinds: set[str]) -> None:
    """`--judge` is required by judge-based suites and refused where nothing uses it."""
    needs = [t for t in plan.trials if t.scoring == "judge"]
    if needs and not judge:
        suites = sorted({t.item.suite for t in needs})
        raise UserInputError(f"{', '.join(suites)} needs a judge: add --judge SPEC (e.g. "
                             "openai:MODEL@URL, smollm2, mock:judge)", param="judge")
    if judge and not needs:
        raise UserInputError("only used with --scoring judge or a judge-based suite (sycon:, "
                             "freeform:, elephant:, sycophancy-eval: feedback)", param="judge")


def load_judges(spec: str | None, mode: str, plan: Plan, field_kinds: set[str], *,
                backend: Backend | None = None, device: str = "auto", dtype: str = "auto",
                concurrency: int = 8) -> tuple[Judge | None, dict[str, FieldJudge]]:
    """The answer judge (for answer items scored by a judge) and the field judges, sharing one
    loaded judge model (`backend` when given)."""
    if not spec:
        return None, {}
    if backend is None:
        backend = load_backend(spec, device=device, dtype=dtype, concurrency=concurrency)
    answers = any(t.scoring == "judge" and not t.item.field_kind for t in plan.trials)
    judge = Judge(spec, backend, mode=mode) if answers else None
    fields = load_field_judges(spec, backend, mode=mode, kinds=tuple(sorted(field_kinds)))
    return judge, fields


def reply_length(suites: Sequence[Suite], given: int | None) -> int:
    """`given`, else the longest default of the suites (field benchmarks ask for long replies),
    else `DEFAULT_MAX_NEW_TOKENS`."""
    return given or max((s.default_max_new_tokens for s in suites if s.default_max_new_tokens),
                        default=DEFAULT_MAX_NEW_TOKENS)


def _load_suites(suites: Sequence[str]) -> list[Suite]:
    loaded = [load_suite(s) for s in suites]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise UserInputError(f"two suites share the name {sorted(names)!r}", param="suite")
    return loaded


def evaluate(
    model: str = "smollm2",
    *,
    adapter: str | None = None,
    suite: Sequence[str] | None = None,
    protocol: Sequence[str] | None = None,
    scoring: str = "auto",
    split: str = "all",
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    out: str | Path | None = None,
    system_prompt: str | None = None,
    max_new_tokens: int | None = None,
    batch_size: int | str = "auto",
    device: str = "auto",
    dtype: str = "auto",
    progress: bool = True,
    mitigation: str | None = None,
    steer: str | None = None,
    multiplier: float | None = None,
    layers: Sequence[int] | None = None,
    decoding: str | None = None,
    alpha: float | None = None,
    beta: float | None = None,
    tokenizer: str | None = None,
    concurrency: int = 8,
    judge: str | None = None,
    judge_mode: str = "auto",
    allow_foreign_vector: bool = False,
    backend: Backend | None = None,
    judge_backend: Backend | None = None,
) -> EvalResult:
    """Run (or resume) an evaluation and write its run folder (config, samples, results).

    With no suites, the default evaluation runs (`DEFAULT_SUITES`, `DEFAULT_LIMIT` items each).
    `max_new_tokens` defaults to the longest default of the suites (field benchmarks ask for
    long replies), else `DEFAULT_MAX_NEW_TOKENS`.
    `backend` overrides `model` with an already built backend (the spec still names it);
    `judge_backend` likewise overrides the `judge` spec (``scoring="judge"``).
    """
    if not suite:
        suite = DEFAULT_SUITES
        limit = DEFAULT_LIMIT if limit is None else limit
    if max_new_tokens is not None and max_new_tokens < 1:
        raise UserInputError(f"must be a positive integer, got {max_new_tokens}",
                             param="max_new_tokens")
    system = _system_prompt(system_prompt)
    batch = batch_size_for(batch_size)
    iv = resolve_interventions(mitigation=mitigation, steer=steer, multiplier=multiplier,
                               layers=layers, decoding=decoding, alpha=alpha, beta=beta,
                               allow_foreign_vector=allow_foreign_vector)
    plan_kw: dict[str, Any] = {"scoring": scoring, "split": split, "limit": limit,
                               "shuffle": shuffle, "seed": seed}
    if scoring == "judge" and not judge:
        raise UserInputError("--scoring judge needs --judge SPEC (e.g. openai:MODEL@URL, smollm2, "
                             "mock:judge)")
    if judge_mode not in ("auto", "generate", "logprob"):
        raise UserInputError(f"expected auto, generate or logprob, got {judge_mode!r}",
                             param="judge_mode")
    if judge and judge_backend is None:
        check_spec(judge, "--judge")
    if backend is None:
        check_spec(model)
        refuse_unsupported(model, lqcd=iv.lqcd is not None, steering=iv.steering is not None,
                           adapter=adapter, tokenizer=tokenizer)
    loaded = _load_suites(suite)
    checked = build_plan(loaded, protocol, **plan_kw)  # validate all input before loading a model
    field_kinds = judged_fields(checked)
    check_judge_needed(checked, judge, field_kinds)
    max_new_tokens = reply_length(loaded, max_new_tokens)
    check_out_dir(Path(out) if out is not None else Path("runs"))
    refuse_benign_overlap(adapter)  # side effects come after the trials: refuse before them
    if backend is None:
        backend = load_backend(model, adapter=adapter, device=device, dtype=dtype,
                               batch_size=batch, tokenizer=tokenizer, steering=iv.steering,
                               concurrency=concurrency)
    info = backend.describe()
    judge_obj, field_judges = load_judges(judge, judge_mode, checked, field_kinds,
                                          backend=judge_backend, device=device, dtype=dtype,
                                          concurrency=concurrency)
    hashed = {
        "model": info.get("spec", model), "weights_hash": info.get("weights_hash"),
        "adapter": info.get("adapter", adapter), "suites": list(suite),
        "tokenizer": info.get("tokenizer"), "choice_mechanism": info.get("choice_mechanism"),
        "protocols": sorted(protocol) if protocol else None, "scoring": scoring, "split": split,
        "seed": seed, "shuffle": shuffle, "system_prompt": system,
        "max_new_tokens": max_new_tokens, "decoding": iv.decoding_record(),
        "interventions": iv.interventions_record(),
        "extraction": RULES_VERSION,
    }
    if judge_obj is not None:
        hashed["judge"] = judge_obj.describe()
    if field_judges:
        hashed["field_judges"] = {k: j.describe() for k, j in sorted(field_judges.items())}
    if any(p.name in REBUTTAL_PROTOCOLS for p in checked.protocols):
        hashed["rebuttal_templates"] = templates_record()
    identity = {k: hashed[k] for k in ("model", "weights_hash", "adapter", "system_prompt",
                                       "max_new_tokens", "decoding", "interventions")}
    plan = build_plan(loaded, protocol, identity=identity, **plan_kw)
    refuse_trained_items(plan, adapter=info.get("adapter", adapter), steer=steer)
    for s, meta in zip(suite, plan.suites, strict=True):
        hashed.setdefault("suite_hashes", {})[s] = meta["content_hash"]
    hashed["templates"] = {p.name: p.describe() for p in plan.protocols}
    hashed["adapter_hash"] = info.get("adapter_hash")
    chash = config_hash(hashed)
    run_dir = Path(out) if out is not None else Path("runs") / chash
    config = {
        "config_hash": chash,
        "hashed": hashed,
        "sycolab_version": _version("sycolab"),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "model": info,
        "suites": plan.suites,
        "protocols": {p.name: p.describe() for p in plan.protocols},
        "presentation": {"choices_header": CHOICES_HEADER, "answer_tail": ANSWER_TAIL,
                         "canonical_turn": CANONICAL_TURN, "extraction_rules": RULES_DOC},
        "skipped": {f"{s}/{p}": n for (s, p), n in plan.skipped.items()},
        "skip_reasons": {f"{s}/{p}": r for (s, p), r in plan.skip_reasons.items()},
        "run": {"limit": limit, "batch_size": batch, "device": device, "dtype": dtype,
                "threads": _threads()},
    }
    folder, warnings = RunFolder.open(run_dir, config)
    with folder:
        for w in warnings:
            logger.warning(w)
        runner = Runner(backend, system_prompt=system, max_new_tokens=max_new_tokens,
                        preset=iv.preset, lqcd=iv.lqcd, judge=judge_obj,
                        field_judges=field_judges)
        ran = run_pending(runner, folder, plan.trials, progress=progress,
                          chunk=backend.chunk_trials, judge=judge_obj)
        results = finish_run(folder, ran, plan.skipped, chash, lambda res: side_effects(
            backend, iv, adapter, res, run_dir, previous_side_effects(run_dir),
            progress=progress), judge=judge if field_judges else None)
    return EvalResult(run_dir, results, config, ran.n_run, ran.n_resumed,
                      error_causes(ran.records),
                      {k: j.prompt_text() for k, j in field_judges.items()})


def finish_run(folder: RunFolder, ran: Executed, skipped: Mapping[tuple[str, str], int],
               chash: str, side: Callable[[dict[str, Any]], Any], *,
               judge: str | None = None) -> dict[str, Any]:
    """results.json of a run folder (metrics, config hash, wall time, `side(results)` as side
    effects, the judge field-benchmark metrics name); returns the results. report.html is written
    above evaluation (`sycolab.workflows`)."""
    results = compute_results(ran.records, skipped=skipped, judge=judge)
    results["config_hash"] = chash
    results["wall_seconds"] = round(ran.seconds, 3)
    results["side_effects"] = side(results)
    folder.write_results(results)
    return results
