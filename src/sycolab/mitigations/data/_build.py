"""`synthesize`: sources -> base items -> known filter -> rebalance -> examples -> files."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, flag_error
from sycolab.core.selection import select_items
from sycolab.core.splits import SPLIT_CHOICES
from sycolab.core.suites import Suite, load_suite
from sycolab.engine.base import Backend
from sycolab.mitigations.data._known import known_mask
from sycolab.mitigations.data._part import Part
from sycolab.mitigations.data._synth import BaseItem, Example, base_items, examples_for
from sycolab.mitigations.data._writers import write_outputs

logger = logging.getLogger(__name__)

DEFAULT_SOURCES = ("facts", "addition-claims")
DEFAULT_HELDOUT = ("arithmetic",)
DEFAULT_MAX_EXAMPLES = 300
DEFAULT_MAX_HELDOUT = 200
DEFAULT_MIN_YIELD = 0.25


class YieldTooLowError(UserInputError):
    """Fewer items passed the known filter than `min_yield` allows (exit 2, counts printed)."""

    def __init__(self, message: str, counts: dict[str, Any]) -> None:
        super().__init__(message)
        self.counts = counts


YieldTooLow = YieldTooLowError  # the former name, kept for compatibility


@dataclass
class SynthResult:
    out: Path
    train: Part
    heldout: Part
    manifest: dict[str, Any]


def _load_sources(
    specs: Sequence[str], split: str, flag: str
) -> list[tuple[str, Suite, list[Any]]]:
    if not specs:
        raise flag_error(flag, "at least one source is needed")
    out = []
    for spec in specs:
        suite = load_suite(spec)
        if not suite.items:
            raise flag_error(flag, "the source is empty", spec)
        items = select_items([suite], split)
        if not base_items(items, 0):
            raise flag_error(flag,
                f"no usable items in split {split!r} (items need a gold answer "
                "and a wrong answer or another option)", spec)
        out.append((spec, suite, items))
    return out


FIRST_CHECK = 16  # bases known-checked at once per stream at first; doubles after each check


class _Stream:
    """One source's bases of one label, known-checked lazily in their seeded order."""

    def __init__(self, bases: list[BaseItem], check: Callable[[list[BaseItem]], list[bool]] | None
                 ) -> None:
        self.bases = bases
        self._check = check
        self._chunk = FIRST_CHECK
        self.checked = 0 if check is not None else len(bases)  # no filter: all known
        self.known: list[BaseItem] = [] if check is not None else list(bases)

    def _check_next(self) -> None:
        assert self._check is not None
        batch = self.bases[self.checked : self.checked + self._chunk]
        self.known += [b for b, ok in zip(batch, self._check(batch), strict=True) if ok]
        self.checked += len(batch)
        self._chunk *= 2

    def has(self, k: int) -> bool:
        """At least `k` known bases (checking further bases only while fewer are known)."""
        while len(self.known) < k and self.checked < len(self.bases):
            self._check_next()
        return len(self.known) >= k

    def sample(self) -> None:
        """Check at least the first `FIRST_CHECK` bases (so every label has a known yield)."""
        if self.checked == 0 and self.bases:
            self._check_next()


class _Units:
    """A source's selection units: claims in (Agree, Disagree) pairs and questions one by one,
    interleaved (pair 0, question 0, pair 1, ...); unpaired claims are dropped, so claim labels
    are exactly balanced per source. Each unit is known-checked only when asked for."""

    def __init__(self, streams: dict[str, _Stream]) -> None:
        self.agree, self.disagree, self.qa = (
            streams["Agree"], streams["Disagree"], streams["answer"]
        )
        self._i = 0
        self._pair_next = True
        self._pair_ok = False
        self._next: list[BaseItem] | None = None
        self._done = False

    def peek(self) -> list[BaseItem] | None:
        while self._next is None and not self._done:
            i = self._i
            if self._pair_next:
                self._pair_next = False
                self._pair_ok = self.agree.has(i + 1) and self.disagree.has(i + 1)
                if self._pair_ok:
                    self._next = [self.agree.known[i], self.disagree.known[i]]
            else:
                self._pair_next, self._i = True, i + 1
                if self.qa.has(i + 1):
                    self._next = [self.qa.known[i]]
                elif not self._pair_ok:
                    self._done = True  # neither a pair nor a question at i: none later either
        return self._next

    def pop(self) -> list[BaseItem]:
        unit = self.peek()
        assert unit is not None
        self._next = None
        return unit


def _rebalance_select(sources: list[_Units], budget: int) -> list[BaseItem]:
    """Round-robin over sources, one unit each while it fits the budget (of base items)."""
    selected: list[BaseItem] = []
    progress = True
    while progress:
        progress = False
        for units in sources:
            if len(selected) >= budget:
                break  # no unit fits any more
            unit = units.peek()
            if unit is not None and len(selected) + len(unit) <= budget:
                selected += units.pop()
                progress = True
    return selected


def assign_orders(bases: list[BaseItem], seed: int) -> list[Example]:
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
    """Select base items source by source, known-checking only as far as the selection needs.

    The selection equals filtering every candidate first: each label's known bases are consumed
    in order, and a source's next unit is decided only by the bases before it.
    """
    from sycolab.evaluation.side_effects import phase_progress

    part = Part(name=name, sources=[spec for spec, _, _ in loaded], split=split)
    per_source = [(suite.name, base_items(items, seed)) for _, suite, items in loaded]
    upper = sum(2 if b.kind == "claim" else 1 for _, bases in per_source for b in bases)
    enabled = progress and backend is not None
    with phase_progress(f"known filter: {name}", upper, enabled=enabled, unit="req") as bar:

        def check(batch: list[BaseItem]) -> list[bool]:
            assert backend is not None
            return known_mask(backend, batch, bar)

        streams: dict[str, dict[str, _Stream]] = {}
        for suite_name, bases in per_source:
            streams[suite_name] = {
                label: _Stream([b for b in bases if b.label == label],
                               check if backend is not None else None)
                for label in ("Agree", "Disagree", "answer")}
        part.bases = _rebalance_select([_Units(s) for s in streams.values()],
                                       max(budget_examples // 2, 0))
        for by_label in streams.values():
            for stream in by_label.values():
                stream.sample()
        bar.finish()
    for suite_name, bases in per_source:
        counts = part.counts.setdefault(suite_name, {})
        for b in bases:
            counts.setdefault(f"{b.kind}:{b.label}", {"before": 0, "checked": 0, "known": 0,
                                                      "after": 0})["before"] += 1
        for label, stream in streams[suite_name].items():
            kind = "qa" if label == "answer" else "claim"
            if stream.bases:
                counts[f"{kind}:{label}"].update(checked=stream.checked, known=len(stream.known))
    for b in part.bases:
        part.counts[b.suite][f"{b.kind}:{b.label}"]["after"] += 1
    part.examples = assign_orders(part.bases, seed)
    return part


def format_counts(part: Part) -> str:
    """A plain table: source, label, candidates, known-checked, known, kept."""
    header = f"  {'source':<22}{'label':<18}{'before':>8}{'checked':>9}{'known':>8}{'after':>8}"
    rows = [f"{part.name} ({part.split} split)", header]
    for source, labels in part.counts.items():
        for label, c in sorted(labels.items()):
            rows.append(f"  {source:<22}{label:<18}{c['before']:>8}{c['checked']:>9}"
                        f"{c['known']:>8}{c['after']:>8}")
    y = part.known_yield
    rows.append(f"  known yield: {part.n_known}/{part.n_checked} checked"
                + (f" (~{y:.1%} of the {part.n_candidates} candidates)" if y is not None else "")
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
) -> SynthResult:
    """Build the training and held-out data and write them to `out` (see the package docs).

    `model=None` (and no `backend`) skips the known filter. Raises `UserInputError` for bad input
    before any model is loaded, and `YieldTooLowError` when the known share is below `min_yield`.
    """
    for flag, value in (("--split", split), ("--heldout-split", heldout_split)):
        if value not in SPLIT_CHOICES:
            raise flag_error(flag, f"expected one of {', '.join(SPLIT_CHOICES)}", value)
    if max_examples < 2 or max_heldout < 2:
        raise UserInputError("--max-examples/--max-heldout: need at least 2 (one pair)")
    if not 0 <= min_yield <= 1:
        raise UserInputError("expected a share between 0 and 1", param="min_yield", value=min_yield)
    train_src = _load_sources(source, split, "--source")
    held_src = _load_sources(heldout, heldout_split, "--heldout")
    overlap = {s.name for _, s, _ in train_src} & {s.name for _, s, _ in held_src}
    if overlap:
        raise UserInputError("held-out sources must differ from training sources "
                             f"(both have {sorted(overlap)})", param="heldout")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError("exists and is not a folder", param="out", value=out)
    if backend is None and model is not None:
        from sycolab.engine.spec import load_backend

        backend = load_backend(model, device=device, dtype="auto")
    spec = model if model is not None else None
    if backend is not None:
        spec = str(backend.describe().get("spec", model))
    train = _build_part("train", train_src, split, max_examples, seed, backend, progress)
    y = train.known_yield or 0.0
    if y < min_yield or not train.bases:
        counts = {"train": train.counts}
        logger.warning(format_counts(train))
        raise YieldTooLowError(
            f"known filter kept ~{y:.1%} of the training candidates ({train.n_known}/"
            f"{train.n_checked} checked), below --min-yield {min_yield:.0%} (counts above)", counts)
    held = _build_part("heldout", held_src, heldout_split, max_heldout, seed, backend, progress)
    if not held.bases:
        logger.warning(format_counts(held))
        raise UserInputError("no held-out item passed the known filter", param="heldout")
    manifest = write_outputs(out, train, held, seed=seed, model=spec,
                             filtered=backend is not None, min_yield=min_yield)
    return SynthResult(out=out, train=train, heldout=held, manifest=manifest)
