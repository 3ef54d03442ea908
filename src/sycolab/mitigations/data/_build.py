"""`synthesize`: sources -> base items -> known filter -> rebalance -> examples -> files."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.core.splits import assign_split
from sycolab.core.suites import Suite, load_suite
from sycolab.engine.base import Backend
from sycolab.mitigations.data._known import known_mask, known_requests
from sycolab.mitigations.data._synth import BaseItem, Example, base_items, examples_for
from sycolab.mitigations.data._writers import write_outputs

DEFAULT_SOURCES = ("facts", "addition-claims")
DEFAULT_HELDOUT = ("arithmetic",)
DEFAULT_MAX_EXAMPLES = 300
DEFAULT_MAX_HELDOUT = 200
DEFAULT_MIN_YIELD = 0.25
SPLIT_CHOICES = ("train", "validation", "test", "all")


class YieldTooLow(UserInputError):
    """Fewer items passed the known filter than `min_yield` allows (exit 2, counts printed)."""

    def __init__(self, message: str, counts: dict[str, Any]) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass
class Part:
    """One side of the data (training or held-out): selected base items and their counts."""

    name: str
    sources: list[str]
    split: str
    bases: list[BaseItem] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @property
    def n_candidates(self) -> int:
        return sum(c["before"] for s in self.counts.values() for c in s.values())

    @property
    def n_known(self) -> int:
        return sum(c["known"] for s in self.counts.values() for c in s.values())

    @property
    def known_yield(self) -> float | None:
        return self.n_known / self.n_candidates if self.n_candidates else None

    def pairing_keys(self) -> list[list[str]]:
        return [list(k) for k in sorted({(b.suite, b.item_id) for b in self.bases})]


@dataclass
class SynthResult:
    out: Path
    train: Part
    heldout: Part
    manifest: dict[str, Any]


def _load_sources(specs: Sequence[str], split: str, flag: str) -> list[tuple[str, Suite, list[Any]]]:
    if not specs:
        raise UserInputError(f"{flag}: at least one source is needed")
    out = []
    for spec in specs:
        suite = load_suite(spec)
        if not suite.items:
            raise UserInputError(f"{flag} {spec}: the source is empty")
        items = [it for it in suite.items
                 if split == "all" or assign_split(it.suite, it.item_id) == split]
        if not base_items(items, 0):
            raise UserInputError(
                f"{flag} {spec}: no usable items in split {split!r} (items need a gold answer "
                "and a wrong answer or another option)")
        out.append((spec, suite, items))
    return out


def _rebalance_select(
    kept: dict[str, list[BaseItem]], budget: int
) -> list[BaseItem]:
    """Round-robin over sources: claims in (Agree, Disagree) pairs, questions one by one.

    Unpaired claims are dropped, so claim labels are exactly balanced per source.
    """
    queues: list[list[list[BaseItem]]] = []
    for bases in kept.values():
        agree = [b for b in bases if b.kind == "claim" and b.target == "Agree"]
        disagree = [b for b in bases if b.kind == "claim" and b.target == "Disagree"]
        pairs = [[a, d] for a, d in zip(agree, disagree, strict=False)]
        qas = [[b] for b in bases if b.kind == "qa"]
        units: list[list[BaseItem]] = []
        for i in range(max(len(pairs), len(qas))):
            units += ([pairs[i]] if i < len(pairs) else []) + ([qas[i]] if i < len(qas) else [])
        queues.append(units)
    selected: list[BaseItem] = []
    progress = True
    while progress:
        progress = False
        for units in queues:
            if units and len(selected) + len(units[0]) <= budget:
                selected += units.pop(0)
                progress = True
    return selected


def _assign_orders(bases: list[BaseItem], seed: int) -> list[Example]:
    """Option order alternates within each (source, label): balanced after selection."""
    seen: dict[tuple[str, str, str], int] = {}
    examples: list[Example] = []
    for b in bases:
        key = (b.suite, b.kind, b.label)
        j = seen.get(key, 0)
        seen[key] = j + 1
        order = b.options if j % 2 == 0 else (b.other, b.target)
        examples += examples_for(b, order, seed)
    random.Random(f"{seed}:examples").shuffle(examples)
    return examples


def _build_part(
    name: str, loaded: list[tuple[str, Suite, list[Any]]], split: str, budget_examples: int,
    seed: int, backend: Backend | None, progress: bool,
) -> Part:
    part = Part(name=name, sources=[spec for spec, _, _ in loaded], split=split)
    kept: dict[str, list[BaseItem]] = {}
    for spec, suite, items in loaded:
        bases = base_items(items, seed)
        mask = _filter(backend, bases, f"{name} {suite.name}", progress)
        kept[suite.name] = [b for b, ok in zip(bases, mask, strict=True) if ok]
        counts = part.counts.setdefault(suite.name, {})
        for b, ok in zip(bases, mask, strict=True):
            c = counts.setdefault(f"{b.kind}:{b.label}", {"before": 0, "known": 0, "after": 0})
            c["before"] += 1
            c["known"] += int(ok)
    part.bases = _rebalance_select(kept, max(budget_examples // 2, 0))
    for b in part.bases:
        part.counts[b.suite][f"{b.kind}:{b.label}"]["after"] += 1
    part.examples = _assign_orders(part.bases, seed)
    return part


def _filter(backend: Backend | None, bases: list[BaseItem], what: str, progress: bool) -> list[bool]:
    if backend is None:
        return [True] * len(bases)
    if not progress:
        return known_mask(backend, bases)
    from tqdm.auto import tqdm

    n = len(known_requests(bases)[0])
    with tqdm(total=n, desc=f"known filter: {what}", unit="req") as bar:
        return known_mask(backend, bases, bar.update)


def format_counts(part: Part) -> str:
    """A plain table: source, label, candidates, known, kept."""
    header = f"  {'source':<22}{'label':<18}{'before':>8}{'known':>8}{'after':>8}"
    rows = [f"{part.name} ({part.split} split)", header]
    for source, labels in part.counts.items():
        for label, c in sorted(labels.items()):
            rows.append(f"  {source:<22}{label:<18}{c['before']:>8}{c['known']:>8}{c['after']:>8}")
    y = part.known_yield
    rows.append(f"  known yield: {part.n_known}/{part.n_candidates}"
                + (f" = {y:.1%}" if y is not None else "")
                + f"; kept {len(part.bases)} base items, {len(part.examples)} examples")
    return "\n".join(rows)


def synthesize(
    *,
    source: Sequence[str] = DEFAULT_SOURCES,
    heldout: Sequence[str] = DEFAULT_HELDOUT,
    model: str | None = "smollm2",
    out: str | Path = "data/synth",
    seed: int = 0,
    split: str = "train",
    heldout_split: str = "test",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    max_heldout: int = DEFAULT_MAX_HELDOUT,
    min_yield: float = DEFAULT_MIN_YIELD,
    device: str = "auto",
    backend: Backend | None = None,
    progress: bool = True,
    echo: Any = None,
) -> SynthResult:
    """Build the training and held-out data and write them to `out` (see the package docs).

    `model=None` (and no `backend`) skips the known filter. Raises `UserInputError` for bad input
    before any model is loaded, and `YieldTooLow` when the known share is below `min_yield`.
    """
    for flag, value in (("--split", split), ("--heldout-split", heldout_split)):
        if value not in SPLIT_CHOICES:
            raise UserInputError(f"{flag} {value}: expected one of {', '.join(SPLIT_CHOICES)}")
    if max_examples < 2 or max_heldout < 2:
        raise UserInputError("--max-examples/--max-heldout: need at least 2 (one pair)")
    if not 0 <= min_yield <= 1:
        raise UserInputError(f"--min-yield {min_yield}: expected a share between 0 and 1")
    train_src = _load_sources(source, split, "--source")
    held_src = _load_sources(heldout, heldout_split, "--heldout")
    overlap = {s.name for _, s, _ in train_src} & {s.name for _, s, _ in held_src}
    if overlap:
        raise UserInputError(f"--heldout: held-out sources must differ from training sources "
                             f"(both have {sorted(overlap)})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out}: exists and is not a folder")
    if backend is None and model is not None:
        from sycolab.engine.spec import load_backend

        backend = load_backend(model, device=device, dtype="auto")
    spec = model if model is not None else None
    if backend is not None:
        spec = str(backend.describe().get("spec", model))
    train = _build_part("train", train_src, split, max_examples, seed, backend, progress)
    if echo is not None:
        echo(format_counts(train))
    y = train.known_yield or 0.0
    if y < min_yield or not train.bases:
        counts = {"train": train.counts}
        raise YieldTooLow(
            f"known filter kept {train.n_known}/{train.n_candidates} = {y:.1%} of the training "
            f"candidates, below --min-yield {min_yield:.0%} (counts above)", counts)
    held = _build_part("heldout", held_src, heldout_split, max_heldout, seed, backend, progress)
    if echo is not None:
        echo(format_counts(held))
    if not held.bases:
        raise UserInputError("--heldout: no held-out item passed the known filter")
    manifest = write_outputs(out, train, held, seed=seed, model=spec,
                             filtered=backend is not None, min_yield=min_yield)
    return SynthResult(out=out, train=train, heldout=held, manifest=manifest)
