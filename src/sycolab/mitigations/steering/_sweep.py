"""Pick the steering layer and multiplier on the validation split.

Every (layer, multiplier) setting is evaluated with ``sycolab.evaluate(..., steer=FILE,
multiplier=M, layers=[L], split="validation")``, plus one unsteered reference run. The chosen
setting has the lowest mean `agreement_rate` over the groups (sycophancy), among settings whose
mean `accuracy_baseline` is at most `max_accuracy_drop` below the reference's; ties go to the
smaller |multiplier|, then the lower layer. Its test-split effect is measured separately.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SweepRow:
    layer: int | None
    multiplier: float
    agreement_rate: float | None
    accuracy_baseline: float | None
    run_dir: str


@dataclass
class SweepResult:
    reference: SweepRow
    rows: list[SweepRow]
    chosen: SweepRow | None
    criterion: str
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def row(r: SweepRow | None) -> dict[str, Any] | None:
            return None if r is None else dict(r.__dict__)

        return {"criterion": self.criterion, "settings": self.settings,
                "reference": row(self.reference), "rows": [row(r) for r in self.rows],
                "chosen": row(self.chosen)}


def _mean_metric(results: dict[str, Any], name: str) -> float | None:
    values = []
    for group in results.get("groups", []):
        m = group.get("metrics", {}).get(name)
        if isinstance(m, dict) and m.get("value") is not None:
            values.append(float(m["value"]))
    return sum(values) / len(values) if values else None


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
    **eval_kwargs: Any,
) -> SweepResult:
    """Evaluate each layer x multiplier on the validation split and choose one (module doc)."""
    if evaluate is None:
        from sycolab.evaluation.api import evaluate as _evaluate

        evaluate = _evaluate
    base: dict[str, Any] = {"suite": list(suite), "protocol": list(protocol) if protocol else None,
                            "split": "validation", "limit": limit, "progress": False,
                            **eval_kwargs}
    root = Path(out) if out is not None else None

    def run(layer: int | None, mult: float) -> SweepRow:
        kw = dict(base)
        if layer is not None:
            kw.update(steer=str(vector), multiplier=mult, layers=[layer])
            name = f"layer{layer}_m{mult:+g}"
        else:
            name = "reference"
        if root is not None:
            kw["out"] = root / name
        res = evaluate(model, **kw)
        return SweepRow(layer, mult, _mean_metric(res.results, "agreement_rate"),
                        _mean_metric(res.results, "accuracy_baseline"), str(res.run_dir))

    reference = run(None, 0.0)
    rows = [run(layer, float(m)) for layer in layers for m in multipliers]
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
    return SweepResult(
        reference, rows, chosen,
        criterion=f"min mean agreement_rate on validation; mean accuracy_baseline >= reference - "
                  f"{max_accuracy_drop}",
        settings={"model": model, "vector": str(vector), "suites": list(suite),
                  "protocols": list(protocol) if protocol else None, "layers": list(layers),
                  "multipliers": [float(m) for m in multipliers], "limit": limit},
    )
