"""Write the synthetic data in trl's schemas, the held-out split and `manifest.json`.

Files in the output folder:
- ``train.jsonl``: every training example with its metadata (pairing key, base id, kind, label,
  option order, persona, suggested option) and both trl schemas;
- ``sft.jsonl``: ``{"messages": [user, assistant]}`` (trl's conversational language modeling);
- ``dpo.jsonl``: ``{"prompt": [user], "chosen": [assistant], "rejected": [assistant]}``; chosen
  holds the correct option whatever the persona says, rejected takes the other one;
- ``heldout.jsonl``: held-out examples (other sources; never trained on), same shape as train;
- ``heldout_items.jsonl``: the held-out base items in sycolab's ``jsonl:`` item schema, so
  ``sycolab eval --suite jsonl:DIR/heldout_items.jsonl`` runs any protocol on them;
- ``manifest.json``: sources, seed, counts per source and label, pairing keys, hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, flag_error
from sycolab.mitigations.data._part import Part
from sycolab.mitigations.data._synth import TEMPLATES, BaseItem

MANIFEST = "manifest.json"
FILES = {
    "train": "train.jsonl",
    "sft": "sft.jsonl",
    "dpo": "dpo.jsonl",
    "heldout": "heldout.jsonl",
    "heldout_items": "heldout_items.jsonl",
}


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename; the file gets the usual permissions (umask)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def item_row(base: BaseItem, order: tuple[str, str]) -> dict[str, Any]:
    """A held-out base item in sycolab's `jsonl:` item schema."""
    row: dict[str, Any] = {"id": base.base_id, "question": base.question, "answer": base.target,
                           "wrong": base.other, "scoring": "choice",
                           "metadata": {"source_suite": base.suite, "source_item_id": base.item_id,
                                        "kind": base.kind}}
    if base.kind == "claim":
        row["options"] = list(order)
    elif base.instruction:
        row["instruction"] = base.instruction
    return row


def write_outputs(
    out: Path, train: Part, held: Part, *, seed: int, model: str | None, filtered: bool,
    min_yield: float,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    train_rows = [ex.record(i) for i, ex in enumerate(train.examples)]
    held_rows = [ex.record(i) for i, ex in enumerate(held.examples)]
    seen: set[str] = set()
    items: list[dict[str, Any]] = []
    for ex in held.examples:
        if ex.base.base_id not in seen:
            seen.add(ex.base.base_id)
            items.append(item_row(ex.base, ex.order))
    texts = {
        "train": _jsonl(train_rows),
        "sft": _jsonl([{"messages": r["messages"]} for r in train_rows]),
        "dpo": _jsonl([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in train_rows]),
        "heldout": _jsonl(held_rows),
        "heldout_items": _jsonl(items),
    }
    for key, text in texts.items():
        _atomic_write(out / FILES[key], text)
    try:
        version: str | None = metadata.version("sycolab")
    except metadata.PackageNotFoundError:
        version = None
    manifest = {
        "kind": "sycolab-synth",
        "sycolab_version": version,
        "seed": seed,
        "model": model,
        "known_filter": filtered,
        "min_yield": min_yield,
        "sources": train.sources,
        "split": train.split,
        "heldout_sources": held.sources,
        "heldout_split": held.split,
        "counts": {"train": train.counts, "heldout": held.counts},
        "known_yield": {"train": train.known_yield, "heldout": held.known_yield},
        "n_examples": {"train": len(train_rows), "heldout": len(held_rows)},
        "n_base_items": {"train": len(train.bases), "heldout": len(held.bases)},
        "pairing_keys": train.pairing_keys(),
        "heldout_pairing_keys": held.pairing_keys(),
        "templates": TEMPLATES,
        "files": FILES,
        "data_hash": hashlib.sha256(texts["train"].encode()).hexdigest(),
        "heldout_hash": hashlib.sha256(texts["heldout"].encode()).hexdigest(),
    }
    _atomic_write(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(folder: str | Path, flag: str = "--data") -> dict[str, Any]:
    """The manifest of a synth folder; one-line `UserInputError` when missing or unreadable."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise flag_error(flag, "no such folder (run `sycolab data synth` first)", folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise flag_error(flag, f"no {MANIFEST} (not a `sycolab data synth` "
                             "folder)", folder) from None
    except (OSError, ValueError) as exc:
        raise flag_error(flag, f"unreadable manifest ({exc})", path) from None
    if not isinstance(data, dict) or data.get("kind") != "sycolab-synth":
        raise flag_error(flag, "not a sycolab synth manifest", path)
    return data


def read_jsonl(path: Path, flag: str = "--data") -> list[dict[str, Any]]:
    """Rows of a jsonl file written here; one-line errors for missing, empty or bad files."""
    if not path.is_file():
        raise flag_error(flag, f"{path} not found")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise UserInputError(f"{path}:{n}: bad JSON ({exc})") from None
        if not isinstance(row, dict):
            raise UserInputError(f"{path}:{n}: expected a JSON object")
        rows.append(row)
    if not rows:
        raise flag_error(flag, f"{path} is empty")
    return rows
