"""Names for runs in a comparison: what differs between their configs (config.json ``hashed``).

A run is labelled by the settings whose values differ across the compared runs (model spec,
adapter, mitigation, steering file / multiplier / layers, decoding, system prompt, scoring, judge,
split, seed, ...), e.g. ``multiplier=-1`` vs ``multiplier=-2``; runs whose configs do not tell
them apart (identical settings, or no config.json) are named by their folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError

SHORT = 40  # longest value shown in a label (full values appear in the md header and the html)


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _tail(path: Any) -> str | None:
    """A path as written, shortened from the left (its end names it best)."""
    if path is None:
        return None
    text = str(path)
    return text if len(text) <= SHORT else "…" + text[-(SHORT - 1):]


def _iv(hashed: dict[str, Any], *keys: str) -> Any:
    node: Any = hashed.get("interventions") or {}
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _decoding(d: Any) -> str | None:
    if not isinstance(d, dict):
        return None if d is None else str(d)
    rest = " ".join(f"{k}={_num(v)}" for k, v in d.items() if k != "name")
    return f"{d.get('name', '?')} {rest}".strip()


def _judge(j: Any) -> str | None:
    if not isinstance(j, dict):
        return None if j is None else str(j)
    return f"{j.get('spec')} ({j.get('mode')})"


def _listed(x: Any) -> str | None:
    if isinstance(x, list | tuple):
        return "+".join(_num(v) for v in x)
    return None if x is None else _num(x)


# (name shown, value from `hashed`, name of the setting it refines: dropped when that differs)
FACTS: tuple[tuple[str, Callable[[dict[str, Any]], Any], str | None], ...] = (
    ("model", lambda h: h.get("model"), None),
    ("weights", lambda h: h.get("weights_hash"), "model"),
    ("adapter", lambda h: h.get("adapter"), None),
    ("adapter hash", lambda h: h.get("adapter_hash"), "adapter"),
    ("mitigation", lambda h: _iv(h, "mitigation", "name"), None),
    ("steer", lambda h: _iv(h, "steer", "file"), None),
    ("steer hash", lambda h: _iv(h, "steer", "sha256"), "steer"),
    ("multiplier", lambda h: _iv(h, "steer", "multiplier"), None),
    ("layers", lambda h: _listed(_iv(h, "steer", "layers")), None),
    ("decoding", lambda h: _decoding(h.get("decoding")), None),
    ("system prompt", lambda h: h.get("system_prompt"), None),
    ("scoring", lambda h: h.get("scoring"), None),
    ("judge", lambda h: _judge(h.get("judge")), None),
    ("max new tokens", lambda h: h.get("max_new_tokens"), None),
    ("split", lambda h: h.get("split"), None),
    ("seed", lambda h: h.get("seed"), None),
    ("shuffle", lambda h: h.get("shuffle"), None),
    ("suites", lambda h: _listed(h.get("suites")), None),
    ("protocols", lambda h: _listed(h.get("protocols")), None),
    ("tokenizer", lambda h: h.get("tokenizer"), None),
    ("choice", lambda h: h.get("choice_mechanism"), None),
    ("extraction rules", lambda h: h.get("extraction"), None),
)
_PATHS = {"adapter", "steer"}


def config_facts(config: dict[str, Any]) -> dict[str, str] | None:
    """The labelled settings of a run, as full text; None without a ``hashed`` config."""
    hashed = config.get("hashed")
    if not isinstance(hashed, dict):
        return None
    out = {}
    for name, get, _ in FACTS:
        value = get(hashed)
        out[name] = "none" if value is None else _num(value)
    return out


def differences(facts: Sequence[dict[str, str] | None]) -> list[dict[str, str]]:
    """Per run, the settings (full text) whose values differ among the runs with a config."""
    known = [f for f in facts if f is not None]
    differ = {name for name, _, _ in FACTS if len({f[name] for f in known}) > 1}
    differ -= {name for name, _, parent in FACTS if parent in differ}
    order = [name for name, _, _ in FACTS if name in differ]
    return [{} if f is None else {k: f[k] for k in order} for f in facts]


def _short(name: str, value: str) -> str:
    if name in _PATHS:
        return _tail(value) or value
    if name != "model" and len(value) > SHORT:
        value = value[: SHORT - 1] + "…"
    return f'"{value}"' if name == "system prompt" and value != "none" else value


def _label(diff: dict[str, str]) -> str:
    return ", ".join(v if k == "model" else f"{k}={v}" for k, v in
                     ((k, _short(k, v)) for k, v in diff.items()))


def check_labels(given: Sequence[str], n_runs: int) -> list[str]:
    """``--label`` values, stripped; a count other than one per run, an empty or a repeated label
    is a one-line UserInputError."""
    labels = [g.strip() for g in given]
    if len(labels) != n_runs:
        raise UserInputError(
            f"got {len(labels)} for {n_runs} runs; give one per run, in order",
            param="label")
    if any(not g for g in labels):
        raise UserInputError("a label is empty", param="label")
    dup = next((g for g in labels if labels.count(g) > 1), None)
    if dup is not None:
        raise UserInputError(f"{dup!r} is given twice; labels must differ", param="label")
    return labels


def run_labels(
    configs: Sequence[dict[str, Any]], paths: Sequence[Path], given: Sequence[str] | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """Labels for the runs and, per run, the differing settings they were made from.

    `given` (``--label``, one per run, in order) overrides; otherwise a run is named by its
    differing settings, else by its folder; labels that would repeat get the folder name added,
    then the run's position.
    """
    diffs = differences([config_facts(c) for c in configs])
    if given:
        return check_labels(given, len(paths)), diffs
    folders = [Path(p).resolve().name or str(p) for p in paths]
    labels = [_label(d) or folders[i] for i, d in enumerate(diffs)]
    labels = [lab if labels.count(lab) == 1 or lab == folders[i] else f"{lab} ({folders[i]})"
              for i, lab in enumerate(labels)]
    return [lab if labels.count(lab) == 1 else f"{i + 1}:{lab}"
            for i, lab in enumerate(labels)], diffs
