"""Pick the steering layer and multiplier on the validation split.

Every (layer, multiplier) setting is evaluated with ``evaluate(..., steer=FILE, multiplier=M,
layers=[L], split="validation")``, plus one unsteered reference run; `evaluate` defaults to
`sycolab.evaluation.api.evaluate` (run folders without report.html; pass ``sycolab.evaluate``,
as the CLI does, to write each one's report). The model is
loaded once: each setting sets its steering on the shared backend exactly as a fresh load with
that `--steer` would (an empty prefix cache included). Run folders are named by setting
(``reference``, ``layer12_m-1.0``) under the sweep's folder, beside ``sweep.json``.

The chosen setting has the lowest mean `agreement_rate` over the groups (sycophancy), among
settings whose mean `accuracy_baseline` is at most `max_accuracy_drop` below the reference's; ties
go to the smaller |multiplier|, then the lower layer. Its test-split effect is measured separately.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.local_model import Steerable

METRICS = ("agreement_rate", "accuracy_baseline")
SWEEP_FILE = "sweep.json"


@dataclass
class SweepRow:
    """One setting: mean metrics over groups, per-group metrics ({value, ci_low, ci_high, n})."""

    layer: int | None
    multiplier: float
    agreement_rate: float | None
    accuracy_baseline: float | None
    run_dir: str
    name: str = ""
    groups: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SweepResult:
    reference: SweepRow
    rows: list[SweepRow]
    chosen: SweepRow | None
    criterion: str
    settings: dict[str, Any] = field(default_factory=dict)
    out: str = ""

    def as_dict(self) -> dict[str, Any]:
        def row(r: SweepRow | None) -> dict[str, Any] | None:
            return None if r is None else dict(r.__dict__)

        return {"criterion": self.criterion, "settings": self.settings, "out": self.out,
                "reference": row(self.reference), "rows": [row(r) for r in self.rows],
                "chosen": row(self.chosen)}


def setting_name(layer: int | None, multiplier: float) -> str:
    """The run folder name of a setting: ``reference`` or ``layer12_m-1.0``."""
    return "reference" if layer is None else f"layer{layer}_m{float(multiplier)}"


def _mean_metric(results: dict[str, Any], name: str) -> float | None:
    values = []
    for group in results.get("groups", []):
        m = group.get("metrics", {}).get(name)
        if isinstance(m, dict) and m.get("value") is not None:
            values.append(float(m["value"]))
    return sum(values) / len(values) if values else None


def _group_metrics(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for group in results.get("groups", []):
        metrics = group.get("metrics", {})
        row: dict[str, Any] = {"suite": group.get("suite"), "protocol": group.get("protocol")}
        for name in METRICS:
            m = metrics.get(name)
            row[name] = ({k: m.get(k) for k in ("value", "ci_low", "ci_high", "n")}
                         if isinstance(m, dict) else None)
        out.append(row)
    return out


def _default_root(settings: dict[str, Any], vector: Path) -> Path:
    vector_sha256 = hashlib.sha256(vector.read_bytes()).hexdigest()
    blob = json.dumps({**settings, "vector_sha256": vector_sha256}, sort_keys=True, default=str)
    return Path("runs") / f"sweep-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _precheck(model: str, vector: Path, suite: Sequence[str], layers: Sequence[int],
              protocol: Sequence[str] | None, limit: int | None, kw: dict[str, Any]) -> None:
    """The checks evaluate would make, before the model loads (one-line errors)."""
    from sycolab.core.suites import load_suite
    from sycolab.engine.spec import is_local
    from sycolab.engine.steering_hooks import read_steering_file
    from sycolab.evaluation.plan import build_plan

    if not is_local(model):
        raise UserInputError("steering needs a local model (smollm2 or hf:)",
                             param="model", value=model)
    if not vector.is_file():
        raise UserInputError(f"file not found: {vector}", param="vector")
    if not layers:
        raise UserInputError("give at least one layer to try", param="layers")
    vectors, _ = read_steering_file(vector)
    missing = [layer for layer in layers if layer not in vectors]
    if missing:
        raise UserInputError(f"not in {vector} (it holds "
                             f"layers {', '.join(map(str, sorted(vectors)))})",
                             param="layers", value=' '.join(map(str, missing)))
    build_plan([load_suite(s) for s in suite], protocol, scoring=kw.get("scoring", "auto"),
               split="validation", limit=limit, shuffle=kw.get("shuffle", False),
               seed=kw.get("seed", 0))


def _load(model: str, kw: dict[str, Any]) -> Any:
    """The backend evaluate would load for `model` with these keywords (unsteered)."""
    from sycolab.engine import spec
    from sycolab.evaluation.api import batch_size_for

    return spec.load_backend(model, adapter=kw.get("adapter"), device=kw.get("device", "auto"),
                             dtype=kw.get("dtype", "auto"),
                             batch_size=batch_size_for(kw.get("batch_size", "auto")),
                             tokenizer=kw.get("tokenizer"), concurrency=kw.get("concurrency", 8))


def _apply_steering(backend: Steerable, kw: dict[str, Any]) -> None:
    """Steer `backend` as a fresh load for these evaluate keywords would be steered."""
    from sycolab.evaluation.interventions import resolve_interventions

    extra = ({"allow_foreign_vector": kw["allow_foreign_vector"]}
             if "allow_foreign_vector" in kw else {})
    iv = resolve_interventions(
        mitigation=kw.get("mitigation"), steer=kw.get("steer"), multiplier=kw.get("multiplier"),
        layers=kw.get("layers"), decoding=kw.get("decoding"), alpha=kw.get("alpha"),
        beta=kw.get("beta"), **extra)
    backend.set_steering(iv.steering)  # an empty prefix cache too, as after a fresh load


def sweep(
    model: str,
    vector: str | Path,
    *,
    suite: Sequence[str],
    layers: Sequence[int],
    multipliers: Sequence[float],
    protocol: Sequence[str] | None = None,
    limit: int | None = None,
    out: str | Path | None = None,
    max_accuracy_drop: float = 0.05,
    evaluate: Callable[..., Any] | None = None,
    backend: Any = None,
    progress: bool = True,
    **eval_kwargs: Any,
) -> SweepResult:
    """Evaluate each layer x multiplier on the validation split and choose one (module doc).

    `backend`: a loaded local backend to reuse (default: load `model` once, close it at the end).
    `out`: the sweep's folder (default ``runs/sweep-HASH`` of the settings); it gets one run
    folder per setting and ``sweep.json``.
    """
    if evaluate is None:
        from sycolab.evaluation.api import evaluate as _evaluate

        evaluate = _evaluate
    from sycolab.evaluation.side_effects import phase_progress

    vector = Path(vector)
    settings = {"model": model, "vector": str(vector), "suites": list(suite),
                "protocols": list(protocol) if protocol else None, "layers": list(layers),
                "multipliers": [float(m) for m in multipliers], "limit": limit}
    _precheck(model, vector, suite, layers, protocol, limit, eval_kwargs)
    root = Path(out) if out is not None else _default_root(
        {**settings, "eval": {k: eval_kwargs[k] for k in sorted(eval_kwargs)}}, vector)
    if root.exists() and not root.is_dir():
        raise UserInputError("exists and is not a folder", param="out", value=root)
    base: dict[str, Any] = {"suite": list(suite), "protocol": list(protocol) if protocol else None,
                            "split": "validation", "limit": limit, "progress": False,
                            **eval_kwargs}
    plan = [(None, 0.0)] + [(layer, float(m)) for layer in layers for m in multipliers]
    owned = backend is None
    if backend is None:
        backend = _load(model, eval_kwargs)
    steerable = backend if isinstance(backend, Steerable) else None
    if steerable is None:
        raise UserInputError("steering needs a local model (smollm2 or hf:)",
                             param="model", value=model)
    previous = steerable.steering

    def run(layer: int | None, mult: float) -> SweepRow:
        kw = dict(base)
        name = setting_name(layer, mult)
        if layer is not None:
            kw.update(steer=str(vector), multiplier=mult, layers=[layer])
        else:
            kw.pop("allow_foreign_vector", None)  # only meaningful with a vector
        kw["out"] = root / name
        _apply_steering(steerable, kw)
        res = evaluate(model, backend=backend, **kw)
        return SweepRow(layer, mult, _mean_metric(res.results, "agreement_rate"),
                        _mean_metric(res.results, "accuracy_baseline"), str(res.run_dir),
                        name, _group_metrics(res.results))

    done: list[SweepRow] = []
    try:
        with phase_progress("steer sweep", len(plan), enabled=progress, unit="settings") as bar:
            for layer, mult in plan:
                bar.note(setting_name(layer, mult))
                done.append(run(layer, mult))
                bar(1)
            bar.note("done")
    finally:
        steerable.set_steering(previous)
        if owned:
            backend.close()
    reference, rows = done[0], done[1:]
    floor = (None if reference.accuracy_baseline is None
             else reference.accuracy_baseline - max_accuracy_drop)
    ok = [r for r in rows if r.agreement_rate is not None
          and (floor is None or r.accuracy_baseline is None or r.accuracy_baseline >= floor)]
    ok.sort(key=lambda r: (r.agreement_rate, abs(r.multiplier), r.layer))
    chosen = ok[0] if ok else None
    if (chosen is not None and reference.agreement_rate is not None
            and chosen.agreement_rate is not None
            and chosen.agreement_rate >= reference.agreement_rate):
        chosen = None  # nothing beats no steering
    result = SweepResult(
        reference, rows, chosen,
        criterion=f"min mean agreement_rate on validation; mean accuracy_baseline >= reference - "
                  f"{max_accuracy_drop}",
        settings=settings, out=str(root),
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / SWEEP_FILE).write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return result
