"""`Part`: one side of the synthetic data (training or held-out), as built and as written."""

from __future__ import annotations

from dataclasses import dataclass, field

from sycolab.mitigations.data._synth import BaseItem, Example


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
    def n_checked(self) -> int:
        return sum(c["checked"] for s in self.counts.values() for c in s.values())

    @property
    def n_known(self) -> int:
        return sum(c["known"] for s in self.counts.values() for c in s.values())

    @property
    def known_yield(self) -> float | None:
        """Known share of all candidates: each label's known share among its checked bases
        (at least its first `FIRST_CHECK`), weighted by its candidates; exact when all were
        checked."""
        rows = [c for s in self.counts.values() for c in s.values() if c["checked"]]
        total = sum(c["before"] for c in rows)
        return sum(c["before"] * c["known"] / c["checked"] for c in rows) / total if total else None

    def pairing_keys(self) -> list[list[str]]:
        return [list(k) for k in sorted({(b.suite, b.item_id) for b in self.bases})]
