"""Matrix statistics: each arm against base and against the best prompt baseline, paired by item,
with Holm-Bonferroni correction; written as markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sycolab.core.paired import paired_compare
from sycolab.core.records import TrialRecord
from sycolab.matrix.config import MatrixConfig
from sycolab.runs.jsonio import write_json_atomic
from sycolab.runs.samples import read_samples

PRIMARY = {"agreed": "agreement_rate", "regressed": "regression_rate"}
ALPHA = 0.05


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in input order."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted = [1.0] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _load(run_dir: Path) -> tuple[list[TrialRecord], dict[str, Any]]:
    records = read_samples(run_dir / "samples.jsonl")
    results = json.loads((run_dir / "results.json").read_text())
    return records, results


def _tests(reference: str, arm: str, paired: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for group in paired["groups"]:
        for indicator, metric in PRIMARY.items():
            cmp = group["indicators"].get(indicator) or {}
            if not cmp.get("n"):
                continue
            # paired_compare reports A - B with A = reference, B = arm: flip to arm - reference
            diff = cmp.get("difference")
            lo, hi = cmp.get("ci_low"), cmp.get("ci_high")
            rows.append({
                "reference": reference, "arm": arm, "suite": group["suite"],
                "protocol": group["protocol"], "metric": metric, "n": cmp["n"],
                "reference_value": cmp.get("rate_a"), "arm_value": cmp.get("rate_b"),
                "difference": None if diff is None else -diff,
                "ci_low": None if hi is None else -hi, "ci_high": None if lo is None else -lo,
                "p_value": cmp.get("p_value"),
            })
    return rows


def summarize(config: MatrixConfig, state: dict[str, Any], out: Path) -> dict[str, Any]:
    """Compute the matrix table and write matrix.{json,md,csv}."""
    runs = {name: _load(Path(info["test_dir"])) for name, info in state["arms"].items()}
    base_records, _ = runs["base"]
    prompt_arms = [a.name for a in config.arms if a.prompt_baseline and a.name in state["arms"]]
    best_prompt = min(prompt_arms, key=lambda n: state["arms"][n]["validation_best"]
                      if state["arms"][n]["validation_best"] is not None else float("inf"),
                      default=None)
    tests: list[dict[str, Any]] = []
    for arm in config.arms:
        if arm.name == "base" or arm.name not in runs:
            continue
        records, _ = runs[arm.name]
        tests += _tests("base", arm.name, paired_compare(base_records, records))
        if best_prompt and arm.name != best_prompt and not arm.prompt_baseline:
            tests += _tests(best_prompt, arm.name, paired_compare(runs[best_prompt][0], records))
    for family in ("base", "prompt"):
        members = [t for t in tests if (t["reference"] == "base") == (family == "base")
                   and t["p_value"] is not None]
        for t, adj in zip(members, holm([t["p_value"] for t in members]), strict=True):
            t["p_holm"] = adj
            t["significant_better"] = bool(adj < ALPHA and (t["difference"] or 0) < 0)
            t["significant_worse"] = bool(adj < ALPHA and (t["difference"] or 0) > 0)
    arms = []
    for arm in config.arms:
        if arm.name not in runs:
            continue
        _, results = runs[arm.name]
        arms.append({
            "arm": arm.name, "setting": state["arms"][arm.name]["setting"],
            "groups": [{"suite": g["suite"], "protocol": g["protocol"], "n": g["n"],
                        **{m: g["metrics"].get(m) for m in
                           ("agreement_rate", "regression_rate", "eir", "accuracy_baseline")}}
                       for g in results["groups"]],
            "cross_protocol": results.get("cross_protocol", []),
            "side_effects": results.get("side_effects"),
        })
    n_base = sum(1 for t in tests if t["reference"] == "base" and "p_holm" in t)
    better_base = sorted({t["arm"] for t in tests if t["reference"] == "base"
                          and t.get("significant_better")})
    better_prompt = sorted({t["arm"] for t in tests if t["reference"] != "base"
                            and t.get("significant_better")})
    worse_base = sorted({f"{t['arm']} ({t['protocol']} {t['metric']})" for t in tests
                         if t["reference"] == "base" and t.get("significant_worse")})
    summary = (
        f"Arms significantly better than base on at least one primary metric: "
        f"{', '.join(better_base) or 'none'}. "
        f"Significantly worse than base: {', '.join(worse_base) or 'none'}. "
        f"Better than the best prompt baseline ({best_prompt or 'none'}, chosen on validation): "
        f"{', '.join(better_prompt) or 'none'}. Correction: Holm-Bonferroni at alpha = {ALPHA} "
        f"within each family (vs base: {n_base} tests; arms x groups x "
        f"{{agreement_rate, regression_rate}}); tests are exact McNemar on paired trials."
    )
    table = {"arms": arms, "tests": tests, "best_prompt_baseline": best_prompt,
             "summary": summary}
    write_json_atomic(out / "matrix.json", table)
    (out / "matrix.md").write_text(to_markdown(table))
    (out / "matrix.csv").write_text(to_csv(table))
    return table


def _fmt(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "–"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
    return f"{m['value']:.2f}{ci}"


def _side(arm: dict[str, Any], key: str) -> str:
    """KL with 3 significant digits (small values matter), slowdown with 2 decimals."""
    se = arm.get("side_effects") or {}
    value = se.get(key)
    if isinstance(value, dict):
        v, lo, hi = value.get("value"), value.get("ci_low"), value.get("ci_high")
        if v is None:
            return "–"
        return f"{v:.3g} [{lo:.3g}, {hi:.3g}]" if lo is not None and hi is not None else f"{v:.3g}"
    return f"{value:.2f}" if isinstance(value, (int, float)) else "–"


def to_markdown(table: dict[str, Any]) -> str:
    lines = [("| arm | setting | suite / protocol | n | agreement ↓ | Δ vs base [95% CI] | "
              "p (Holm) | regression ↓ | neutral acc ↑ | KL ↓ | slowdown |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    tests = {(t["arm"], t["suite"], t["protocol"], t["metric"]): t for t in table["tests"]
             if t["reference"] == "base"}
    for arm in table["arms"]:
        for g in arm["groups"]:
            t = tests.get((arm["arm"], g["suite"], g["protocol"], "agreement_rate"))
            delta = "–"
            p = "–"
            if t and t["difference"] is not None:
                d, lo, hi = (t[k] + 0.0 for k in ("difference", "ci_low", "ci_high"))
                delta = f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                p = f"{t.get('p_holm', t['p_value']):.3g}"
            lines.append(
                f"| {arm['arm']} | {json.dumps(arm['setting']) if arm['setting'] else ''} | "
                f"{g['suite']} / {g['protocol']} | {g['n']} | {_fmt(g['agreement_rate'])} | "
                f"{delta} | {p} | {_fmt(g['regression_rate'])} | "
                f"{_fmt(g['accuracy_baseline'])} | {_side(arm, 'kl')} | {_side(arm, 'slowdown')} |"
            )
    return "\n".join(lines) + "\n\n" + str(table["summary"]) + "\n"


def to_csv(table: dict[str, Any]) -> str:
    buf = io.StringIO()
    fields = ["reference", "arm", "suite", "protocol", "metric", "n", "reference_value",
              "arm_value", "difference", "ci_low", "ci_high", "p_value", "p_holm",
              "significant_better", "significant_worse"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for t in table["tests"]:
        writer.writerow(t)
    return str(buf.getvalue())
