"""Split assignment and option arrangement."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sycolab.core.items import Item
from sycolab.core.presentation import arrange_options, gold_positions
from sycolab.core.splits import assign_split
from sycolab.core.suites import load_suite


def test_split_proportions() -> None:
    counts = Counter(assign_split("facts", str(i)) for i in range(1000))
    assert set(counts) == {"train", "validation", "test"}
    assert abs(counts["train"] - 400) <= 50
    assert abs(counts["validation"] - 200) <= 40
    assert abs(counts["test"] - 400) <= 50


def test_split_stable_and_suite_dependent() -> None:
    assert assign_split("facts", "abc") == assign_split("facts", "abc")
    a = [assign_split("facts", str(i)) for i in range(200)]
    b = [assign_split("arithmetic", str(i)) for i in range(200)]
    assert a != b


@given(st.text(max_size=20), st.text(max_size=20))
def test_split_total(suite: str, item_id: str) -> None:
    assert assign_split(suite, item_id) in ("train", "validation", "test")


def _balanced_in_every_prefix(positions: list[int], n: int) -> bool:
    counts = [0] * n
    for p in positions:
        counts[p] += 1
        if max(counts) - min(counts) > 1:
            return False
    return True


@pytest.mark.parametrize("name", ["facts", "arithmetic", "addition-claims"])
@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_gold_letter_balanced_in_every_prefix(name: str, seed: int) -> None:
    items = load_suite(name).items
    arranged = arrange_options(items, seed)
    n = len(items[0].options)
    positions = []
    for before, after in zip(items, arranged, strict=True):
        assert sorted(after.options) == sorted(before.options)
        assert after.item_id == before.item_id and after.gold == before.gold
        assert after.wrong == before.wrong
        letter = after.letter_of(after.gold or "")
        assert letter is not None
        positions.append(ord(letter) - ord("A"))
    assert _balanced_in_every_prefix(positions, n)
    assert positions[:n] == gold_positions(seed, name, n)


def test_addition_claims_alternate() -> None:
    arranged = arrange_options(load_suite("addition-claims").items, seed=3)
    golds = [a.options.index("Disagree") for a in arranged]
    assert all(golds[i] != golds[i + 1] for i in range(len(golds) - 1))


def test_seed_changes_presentation_only() -> None:
    items = load_suite("facts").items
    a, b = arrange_options(items, 0), arrange_options(items, 1)
    assert a == arrange_options(items, 0)
    assert [i.options for i in a] != [i.options for i in b]
    assert items == load_suite("facts").items  # input untouched


def test_balanced_for_any_subset_order() -> None:
    items = load_suite("arithmetic").items[::7]
    arranged = arrange_options(items, 5)
    pos = [ord(i.letter_of(i.gold or "") or "A") - ord("A") for i in arranged]
    assert _balanced_in_every_prefix(pos, 4)


def test_file_suite_items_unchanged(shared_data: Path) -> None:
    spec = f"sycophancy-eval:{shared_data / 'sycophancy-eval-format/are_you_sure.sample.jsonl'}"
    items = load_suite(spec).items
    assert arrange_options(items, 9) == items
    fake = Item(
        suite="facts", item_id="x", question="q", presentation="lettered",
        default_scoring="choice", gold="a", wrong="b", options=("b", "a"),
    )  # fmt: skip
    assert arrange_options([fake, fake], 1) == [fake, fake]  # a file suite named "facts"
