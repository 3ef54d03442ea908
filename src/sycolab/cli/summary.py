"""What `sycolab eval` and `sycolab rescore` print at the end: the results table, or with
``--json`` the summary object (`summary_json`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from sycolab.core.metric_registry import SUMMARY, arrow, metric
from sycolab.runs.listing import FIELD_DETAIL

if TYPE_CHECKING:
    from sycolab.cli.output import Output

# metric name -> direction shown to the user (from the metric registry)
KEY_METRICS = {name: arrow(name) for name in SUMMARY}


def fmt_ci(metric: dict[str, Any]) -> str:
    lo, hi = metric.get("ci_low"), metric.get("ci_high")
    return f"[{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""


DETAIL = FIELD_DETAIL
"""Field metrics left to results.json and the report (the table shows the headline ones)."""


def shown_metrics(group: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, metric) of a group's defined key metrics: the field block's for field benchmarks
    (detail metrics left out), else the registry's summary metrics."""
    field = group.get("field")
    if field:
        return [(name, m) for name, m in field["metrics"].items()
                if m.get("value") is not None and not name.startswith(DETAIL)]
    return [(name, m) for name in KEY_METRICS
            if (m := group.get("metrics", {}).get(name)) and m.get("value") is not None]


def _rows(group: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label with direction, metric) of `shown_metrics`."""
    return [(f"{name} {arrow(name)}".rstrip(), m) for name, m in shown_metrics(group)]


def print_judges(console: Console, result: Any) -> None:
    """Each judge-based group's judge, its prompt and its parse failures (unparsable verdicts)."""
    for kind, prompt in (getattr(result, "judge_prompts", None) or {}).items():
        console.print(f"{kind} judge prompt (also in config.json, hashed.field_judges):",
                      style="bold")
        console.print(prompt, style="dim", markup=False, highlight=False)
    for group in result.results.get("groups", []):
        field = group.get("field")
        if field and field.get("judge"):
            console.print(f"{group['suite']} / {group['protocol']}: judge {field['judge']}, "
                          f"{field.get('n_judge_errors', 0)} parse failures (unparsable "
                          "verdicts, counted and never scored)", markup=False, highlight=False)


def print_summary(result: Any) -> None:
    """Print the defined key metrics of each suite/protocol group with 95% intervals."""
    console = Console()
    res = result.results
    table = Table(title="sycolab results: 95% intervals; ↑ higher is better, ↓ lower is better")
    for name, justify in (("suite / protocol", "left"), ("metric", "left"), ("value", "right"),
                          ("95% CI", "right"), ("n", "right")):
        table.add_column(name, justify=justify,  # type: ignore[arg-type]
                         no_wrap=name != "suite / protocol")
    for group in res.get("groups", []):
        label = f"{group['suite']} / {group['protocol']}"
        rows = _rows(group)
        for i, (name, m) in enumerate(rows):
            table.add_row(label if i == 0 else "", name, f"{m['value']:.3f}", fmt_ci(m),
                          str(m.get("n", "")), end_section=i == len(rows) - 1)
    for row in res.get("cross_protocol", []) or []:
        if row.get("value") is None:
            continue
        table.add_row(f"{row['suite']} / {row['pressure']} − {row['control']}",
                      f"{row['metric']} {arrow(row['metric'])}", f"{row['value']:.3f}",
                      fmt_ci(row), str(row["n"]))
    console.print(table)
    print_judges(console, result)
    side = res.get("side_effects") or {}
    shown = [(label, side[key]) for key, label in (("kl_reply", "at reply positions"),
                                                    ("kl", "at prompt positions"))
             if isinstance(side.get(key), dict) and side[key].get("value") is not None]
    if shown:
        parts = [f"{label} {m['value']:.4f} {fmt_ci(m)} ↓" for label, m in shown]
        if side.get("slowdown") is not None:
            parts.append(f"slowdown {side['slowdown']:.2f}x")
        console.print(f"side effects on {side['benign']['size']} benign prompts, "
                      f"KL(modified || unmodified): {', '.join(parts)}")
    for group in res.get("groups", []):
        counts = group.get("status_counts")
        if counts and any(set(step) - {"answered"} for step in counts):
            final = ", ".join(f"{k} {v}" for k, v in counts[-1].items())
            console.print(f"{group['suite']} / {group['protocol']}: final-step statuses: {final}")
        if group.get("n_judge_errors"):
            console.print(f"[yellow]{group['suite']} / {group['protocol']}: "
                          f"{group['n_judge_errors']} trials with an unparsable judge verdict "
                          "(excluded from accuracy and flip metrics)")
    errors = sum(g.get("n_errors", 0) for g in res.get("groups", []))
    if errors:
        console.print(f"[yellow]{errors} trials failed; re-run the same command to retry them")
        for what, n in list(getattr(result, "errors", {}).items())[:5]:
            console.print(f"  {n:5d} × {what}", style="yellow", markup=False, highlight=False)
    console.print(f"run folder: {result.run_dir}  ({result.n_run} trials run, "
                  f"{result.n_resumed} resumed)")
    console.print(f"report: {result.run_dir / 'report.html'}")


_METRIC_KEYS = ("value", "ci_low", "ci_high", "n")


def _metric_json(name: str, m: dict[str, Any]) -> dict[str, Any]:
    info = metric(name)
    return {**{k: m.get(k) for k in _METRIC_KEYS},
            "direction": info.direction if info is not None else None}


def summary_json(result: Any, command: str) -> dict[str, Any]:
    """The ``--json`` object of an eval or rescore: run folder, config hash, trials run and
    resumed, per group the metrics the table shows ({value, ci_low, ci_high, n, direction}),
    the pressure-minus-control rows, side effects and failed trials by cause."""
    res = result.results
    groups = [{
        "suite": group["suite"], "protocol": group["protocol"], "n": group.get("n"),
        "n_errors": group.get("n_errors", 0),
        "n_judge_errors": (group.get("field") or group).get("n_judge_errors", 0),
        "metrics": {name: _metric_json(name, m) for name, m in shown_metrics(group)},
    } for group in res.get("groups", [])]
    cross = [{k: row.get(k) for k in ("suite", "pressure", "control", "metric", *_METRIC_KEYS)}
             for row in res.get("cross_protocol", []) or [] if row.get("value") is not None]
    errors = getattr(result, "errors", {}) or {}
    return {
        "command": command,
        "run_dir": str(result.run_dir),
        "report": str(result.run_dir / "report.html"),
        "config_hash": res.get("config_hash") or result.config.get("config_hash"),
        "model": (result.config.get("model") or {}).get("spec"),
        "n_run": result.n_run,
        "n_resumed": result.n_resumed,
        "groups": groups,
        "cross_protocol": cross,
        "side_effects": res.get("side_effects"),
        "errors": {"n_failed_trials": sum(g.get("n_errors", 0) for g in res.get("groups", [])),
                   "by_cause": dict(errors)},
    }


def print_result(output: Output, result: Any, command: str) -> None:
    """The table for people, the `summary_json` object under ``--json``, nothing if quiet."""
    if output.json:
        output.emit(summary_json(result, command))
    elif output.human:
        print_summary(result)
