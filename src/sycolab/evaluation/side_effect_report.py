"""The `side_effects` block of results.json for runs with an intervention (README, "Metrics")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sycolab.engine.base import Backend
from sycolab.engine.local_model import LocalModel
from sycolab.evaluation.interventions import Interventions
from sycolab.runs.jsonio import dumps

SIDE_EFFECTS_LINES = "side_effects.jsonl"


def neutral_accuracy(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Accuracy of the baseline steps of the run's own trials, per group (where defined)."""
    out = []
    for g in results.get("groups", []):
        m = g.get("metrics", {}).get("accuracy_baseline")
        if m and m.get("value") is not None:
            out.append({"suite": g["suite"], "protocol": g["protocol"], **m})
    return out


def side_effects(
    backend: Backend, iv: Interventions, adapter: str | None, results: dict[str, Any],
    run_dir: Path, previous: dict[str, Any] | None, *, progress: bool | None = None,
) -> dict[str, Any] | None:
    """Side effects of the run's interventions, or None for an unmodified model.

    KL and slowdown compare the modified model with itself unmodified (steering off, adapter
    disabled) on the built-in benign set; they are measured where the backend can switch its
    modification off (local models with steering or an adapter). Prompt presets and LQCD change
    the input or the decoding rule rather than the model, so their KL is not defined here and is
    null; their cost shows in `neutral_accuracy` and in the paired comparison with a base run.
    `progress`: the bar over the benign prompts (None: `phase_progress`'s default).
    """
    if not iv.active and not adapter:
        return None
    block: dict[str, Any] = {"neutral_accuracy": neutral_accuracy(results), "kl": None,
                             "slowdown": None, "benign": None}
    measurable = isinstance(backend, LocalModel) and (iv.steering is not None or adapter)
    if not measurable:
        block["note"] = ("kl and slowdown are measured for steering and adapters on local "
                         "models; this run's interventions change the prompt or the decoding")
        return block
    lines = run_dir / SIDE_EFFECTS_LINES
    if previous and previous.get("kl") is not None and lines.exists():
        return {**previous, "neutral_accuracy": block["neutral_accuracy"]}  # measured before
    from sycolab.evaluation.benign import benign_set
    from sycolab.evaluation.side_effects import measure_side_effects, phase_progress

    benign = benign_set()
    prompts = list(benign.prompts)
    with phase_progress("side effects: benign prompts", len(prompts), enabled=progress,
                        unit="prompts") as advance:
        summary, per_prompt = measure_side_effects(backend, prompts, benign=benign.describe(),
                                                   progress=advance)
    tmp = lines.with_suffix(".tmp")
    tmp.write_text("".join(dumps(row) + "\n" for row in per_prompt))
    tmp.replace(lines)
    return {**block, **summary}


def previous_side_effects(run_dir: Path) -> dict[str, Any] | None:
    """The side-effects block a previous pass of this run wrote, if any."""
    path = run_dir / "results.json"
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text()).get("side_effects")
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
