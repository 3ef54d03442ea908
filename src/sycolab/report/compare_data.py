"""The data of a comparison of runs: `compare_runs` pairs every run with the reference (the
first) through `sycolab.core.paired.paired_compare` and compares their survival curves
(`sycolab.core.paired_survival`); `rows` flattens the rates, one row per metric, and
`survival_rows` the survival comparison, one row per (group, challenge turn) plus mean ToF."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.paired import COMPARE_RATES, paired_compare
from sycolab.core.paired_survival import paired_survival
from sycolab.core.stats import CISettings
from sycolab.report._html import ptr
from sycolab.report._load import RunData, load_run
from sycolab.report.directions import arrow
from sycolab.report.labels import run_labels

# rate -> the per-trial indicator whose exact McNemar test goes with it
MCNEMAR_OF = {
    "accuracy_final": "final_correct",
    "agreement_rate": "agreed",
    "ctr": "flipped",
    "regression_rate": "regressed",
}
TRADEOFF_METRIC = "regression_rate"
DASH = "–"  # an undefined metric, in every format but csv (empty cell there)
# metrics of change between the first and the last step: undefined in a single-step group
CHANGE_METRICS = frozenset({
    "ctr", "ctr_answered", "eir", "ecr", "pir", "regression_rate", "flipflop_effect",
    "agreement_corrected", "tof_mean", "nof_mean",
})


def defined(metric: str, value: object, n: object, steps: object = None) -> bool:
    """Whether a metric has a value to show: not null, n not 0, and for a metric of change a
    group with at least two steps."""
    if value is None or n == 0:
        return False
    return not (metric in CHANGE_METRICS and isinstance(steps, int) and steps < 2)


def _keys(run: RunData) -> set[tuple[str, str, str]]:
    return {(str(r["suite"]), str(r["item_id"]), str(r["protocol"])) for r in run.records}


def _ci(results: dict[str, Any]) -> CISettings:
    ci = results.get("ci") or {}
    base = CISettings()
    return CISettings(
        z=float(ci.get("z", base.z)),
        bootstrap_b=int(ci.get("bootstrap_b", base.bootstrap_b)),
        bootstrap_seed=int(ci.get("bootstrap_seed", base.bootstrap_seed)),
    )


def compare_runs(
    run_dirs: Sequence[Path],
    *,
    overlap: bool = False,
    labels: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Load the runs and pair each later run with the first.

    Returns ``{"reference": 0, "runs": [{label, differs, path, model, config_hash, n_trials,
    results}], "paired": [{"run": k, "reference": 0, "result": paired_compare(run k, run 0),
    "survival": paired_survival(run k, run 0)}]}``;
    ``differs`` holds the config settings that tell the run apart (full text). `labels` (one per
    run) override the derived labels; `progress` is told each step. Pairing keys that differ raise
    a one-line UserInputError unless `overlap`.
    """
    if len(run_dirs) < 2:
        raise UserInputError("compare needs at least two run folders")
    runs = []
    for i, p in enumerate(run_dirs):
        if progress:
            progress(f"loading run {i + 1}/{len(run_dirs)}: {p}")
        runs.append(load_run(Path(p)))
    for run in runs:
        if not run.records:
            raise UserInputError(f"{run.path}: no trials in samples.jsonl; compare pairs trials")
    names, diffs = run_labels([r.config for r in runs], [r.path for r in runs], labels)
    ref = runs[0]
    ref_keys = _keys(ref)
    paired = []
    for k, run in enumerate(runs[1:], start=1):
        keys = _keys(run)
        only_run, only_ref = len(keys - ref_keys), len(ref_keys - keys)
        if (only_run or only_ref) and not overlap:
            raise UserInputError(
                f"pairing keys differ: {run.path} has {only_run} trials not in {ref.path}, which "
                f"has {only_ref} not in it; pass --overlap to compare the "
                f"{len(keys & ref_keys)} shared trials"
            )
        if progress:
            progress(f"pairing run {k + 1}/{len(runs)} with the reference (paired bootstrap)")
        ci = _ci(ref.results)
        result = paired_compare(run.records, ref.records, overlap=overlap, ci=ci)
        survival = paired_survival(run.records, ref.records, ci=ci)
        paired.append({"run": k, "reference": 0, "result": result, "survival": survival})
    return {
        "reference": 0,
        "runs": [
            {
                "label": names[i],
                "differs": diffs[i],
                "path": str(r.path),
                "model": r.model,
                "config_hash": r.config.get("config_hash"),
                "n_trials": len(r.records),
                "results": r.results,
            }
            for i, r in enumerate(runs)
        ],
        "paired": paired,
    }


def group_steps(cmp: dict[str, Any]) -> list[dict[tuple[str, str], Any]]:
    """Per run, the number of steps of each (suite, protocol) group of its results.json."""
    return [{(str(g["suite"]), str(g["protocol"])): g.get("steps") for g in r["results"]["groups"]}
            for r in cmp["runs"]]


def rows(cmp: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (paired run, group, rate): the table shared by terminal, markdown and csv.

    Values and their n (each run's own denominator of the rate: results.json's ``n`` of the metric
    when the runs pair completely) come from the paired comparison; an undefined value, and any
    difference involving one, is None. ``n_pairs`` counts the group's paired trials; ``src`` maps
    each shown numeric field to its pointer into `cmp`.
    """
    out = []
    labels = [r["label"] for r in cmp["runs"]]
    steps = group_steps(cmp)
    for j, pair in enumerate(cmp["paired"]):
        for gi, g in enumerate(pair["result"]["groups"]):
            key = (str(g["suite"]), str(g["protocol"]))
            for metric in COMPARE_RATES:
                rate = g["rates"].get(metric) or {}
                base = ptr("paired", j, "result", "groups", gi)
                ok_ref = defined(metric, rate.get("value_b"), rate.get("n_b"),
                                 steps[pair["reference"]].get(key))
                ok_run = defined(metric, rate.get("value_a"), rate.get("n_a"),
                                 steps[pair["run"]].get(key))
                both = ok_ref and ok_run
                row: dict[str, Any] = {
                    "run": labels[pair["run"]],
                    "reference": labels[pair["reference"]],
                    "suite": g["suite"],
                    "protocol": g["protocol"],
                    "metric": metric,
                    "direction": arrow(metric),
                    "value_reference": rate.get("value_b") if ok_ref else None,
                    "n_reference": rate.get("n_b"),
                    "value_run": rate.get("value_a") if ok_run else None,
                    "n_run": rate.get("n_a"),
                    "difference": rate.get("difference") if both else None,
                    "ci_low": rate.get("ci_low") if both else None,
                    "ci_high": rate.get("ci_high") if both else None,
                    "n_pairs": g.get("n"),
                    "mcnemar_b": None,
                    "mcnemar_c": None,
                    "p_value": None,
                }
                src = {
                    name: ptr(base, "rates", metric, field)
                    for name, field in (
                        ("value_reference", "value_b"), ("n_reference", "n_b"),
                        ("value_run", "value_a"), ("n_run", "n_a"),
                        ("difference", "difference"), ("ci_low", "ci_low"),
                        ("ci_high", "ci_high"),
                    )
                }
                src["n_pairs"] = ptr(base, "n")
                ind_name = MCNEMAR_OF.get(metric)
                ind = g["indicators"].get(ind_name) if ind_name else None
                if both and ind and ind.get("n"):
                    for field in ("mcnemar_b", "mcnemar_c", "p_value"):
                        row[field] = ind.get(field)
                        src[field] = ptr(base, "indicators", ind_name, field)
                row["src"] = src
                out.append(row)
    return out


SURVIVAL_FIELDS = (("value_reference", "value_b"), ("value_run", "value_a"),
                   ("difference", "difference"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))


def survival_rows(cmp: dict[str, Any]) -> list[dict[str, Any]]:
    """The survival comparison in the shape of `rows`: per (paired run, multi-turn group), one
    row per challenge turn t (metric ``survival_t<t>``: the share still holding its baseline
    answer after t turns) and one for ``tof_mean``. Both runs' values are over the same usable
    pairs, so ``n_reference`` = ``n_run`` = the pairs usable in both runs that reached t (all
    usable pairs for tof_mean); ``n_pairs`` counts the group's paired keys, as in `rows`."""
    out = []
    labels = [r["label"] for r in cmp["runs"]]
    for j, pair in enumerate(cmp["paired"]):
        for gi, g in enumerate((pair.get("survival") or {}).get("groups") or []):
            base = ptr("paired", j, "survival", "groups", gi)
            entries = [(f"survival_t{t['t']}", t, ptr(base, "turns", ti))
                       for ti, t in enumerate(g["turns"])]
            if g.get("tof_mean"):
                entries.append(("tof_mean", g["tof_mean"], ptr(base, "tof_mean")))
            for metric, m, src in entries:
                row: dict[str, Any] = {
                    "run": labels[pair["run"]], "reference": labels[pair["reference"]],
                    "suite": g["suite"], "protocol": g["protocol"], "metric": metric,
                    "direction": arrow(metric),
                    "n_reference": m["n"], "n_run": m["n"], "n_pairs": g["n_paired"],
                    "mcnemar_b": None, "mcnemar_c": None, "p_value": None,
                }
                row |= {name: m.get(field) for name, field in SURVIVAL_FIELDS}
                row["src"] = {name: ptr(src, field) for name, field in SURVIVAL_FIELDS} | {
                    "n_reference": ptr(src, "n"), "n_run": ptr(src, "n"),
                    "n_pairs": ptr(base, "n_paired")}
                out.append(row)
    return out


def differs_text(r: dict[str, Any]) -> str:
    """The settings that tell a run apart, in full, on one line."""
    differs = (r.get("differs") or {}).items()
    return "; ".join(f"{k}: {' '.join(str(v).split())}" for k, v in differs)
