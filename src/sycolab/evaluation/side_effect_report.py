"""The `side_effects` block of results.json for runs with an intervention (README, "Metrics").

Measured on the "measure" half of the built-in benign set (`sycolab.evaluation.benign`); KTS
adapters train on the other half and record the keys of the prompts they trained on, and a run
whose adapter trained on any prompt measured here exits 2 (`refuse_benign_overlap`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sycolab.core.errors import flag_error
from sycolab.engine.base import Backend
from sycolab.engine.local_model import LocalModel
from sycolab.evaluation.benign import BenignSet, load_benign
from sycolab.evaluation.interventions import TRAINING_RECORD, Interventions
from sycolab.runs.jsonio import dumps

SIDE_EFFECTS_LINES = "side_effects.jsonl"
MEASURE_HALF = "measure"
KTS_RECORD = "kts.json"


def neutral_accuracy(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Accuracy of the baseline steps of the run's own trials, per group (where defined)."""
    out = []
    for g in results.get("groups", []):
        m = g.get("metrics", {}).get("accuracy_baseline")
        if m and m.get("value") is not None:
            out.append({"suite": g["suite"], "protocol": g["protocol"], **m})
    return out


def rewording_accuracy(results: dict[str, Any]) -> list[dict[str, Any]]:
    """`accuracy_final` of each `aside` group (the question plus a remark with no opinion, whose
    second step LQCD contrasts with the neutral one), one entry per suite."""
    out = []
    for g in results.get("groups", []):
        m = g.get("metrics", {}).get("accuracy_final")
        if g.get("protocol") == "aside" and m:
            out.append({"suite": g["suite"], "protocol": "aside", **m})
    return out


def benign_training_keys(adapter: str | Path) -> set[str]:
    """`Prompt.key()`s of the benign prompts an adapter folder records it was trained on (KTS
    writes them to `kts.json` and `sycolab_training.json`); empty when it records none."""
    folder = Path(adapter)
    keys: set[str] = set()
    for name, field in ((KTS_RECORD, "benign"), (TRAINING_RECORD, None)):
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        record = data.get(field) if field else data
        if isinstance(record, dict):
            found = record.get("prompt_keys") or record.get("benign_prompt_keys") or []
            keys |= {str(k) for k in found if isinstance(k, str)}
    return keys


def measure_set() -> BenignSet:
    """The benign prompts side effects are measured on: the built-in set's "measure" half."""
    return load_benign().half(MEASURE_HALF)


def refuse_benign_overlap(adapter: str | None, benign: BenignSet | None = None) -> None:
    """Exit 2 (`UserInputError` naming --adapter) when the adapter trained on any benign prompt
    the side-effect pass measures: its KL would be reported in-sample."""
    if not adapter:
        return
    trained = benign_training_keys(adapter)
    if not trained:
        return
    benign = benign or measure_set()
    overlap = [k for k in benign.prompt_keys() if k in trained]
    if overlap:
        raise flag_error("--adapter", (
            f"was trained on {len(overlap)} of the {benign.size} benign prompts the side-effect "
            f"pass measures ({benign.name}); retrain it on the other half "
            "(sycolab kts train --benign-half train)"), adapter)


def side_effects(
    backend: Backend, iv: Interventions, adapter: str | None, results: dict[str, Any],
    run_dir: Path, previous: dict[str, Any] | None, *, progress: bool | None = None,
) -> dict[str, Any] | None:
    """Side effects of the run's interventions, or None for an unmodified model.

    KL compares the modified model with itself unmodified (steering off, adapter disabled, plain
    prompt, plain decoding) on the measure half of the benign set, at the positions of each
    prompt's reference reply (`kl_reply`, `kl_last`) and, where the input is the same, at the
    prompt's positions (`kl`); see `sycolab.evaluation.side_effects`. Local models only; for
    other backends the block has neutral accuracy and a note. A previous pass's block is reused
    when it has `kl_reply` (older blocks are measured again). `progress`: the bar over the
    benign prompts (None: `phase_progress`'s default).
    """
    if not iv.active and not adapter:
        return None
    block: dict[str, Any] = {"neutral_accuracy": neutral_accuracy(results), "kl": None,
                             "kl_reply": None, "kl_last": None, "slowdown": None,
                             "benign": None}
    if iv.lqcd is not None:
        block["rewording_accuracy"] = rewording_accuracy(results)
    if not isinstance(backend, LocalModel):
        block["note"] = ("kl and slowdown are measured on local models (smollm2, hf:), where "
                         "the unmodified model's distributions are at hand")
        return block
    benign = measure_set()
    refuse_benign_overlap(adapter, benign)
    lines = run_dir / SIDE_EFFECTS_LINES
    if previous and previous.get("kl_reply") is not None and lines.exists():
        return {**previous, **{k: v for k, v in block.items() if k.endswith("_accuracy")}}
    from sycolab.evaluation.side_effects import measure_side_effects, phase_progress

    with phase_progress("side effects: benign prompts", benign.size, enabled=progress,
                        unit="prompts") as advance:
        summary, per_prompt = measure_side_effects(
            backend, list(benign.prompts), replies=benign.replies,
            leading=benign.leading_prompts, lqcd=iv.lqcd, preset=iv.preset,
            benign=benign.describe(), progress=advance)
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
