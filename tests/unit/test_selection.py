"""`select_items`: the one rule for a suite's items by split, order and limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sycolab.core.errors import UserInputError
from sycolab.core.items import Item
from sycolab.core.selection import seeded_rng, select_items, take
from sycolab.core.splits import SPLIT_CHOICES, SPLITS, assign_split, check_split, in_split
from sycolab.core.suites import Suite, load_suite


def _suite(name: str, ids: list[str]) -> Suite:
    items = [Item(suite=name, item_id=i, question=f"q{i}", presentation="free",
                  default_scoring="generate", gold="1") for i in ids]
    return Suite.build(name, items, name)


ids = st.lists(st.text(min_size=1, max_size=6), unique=True, max_size=40)


@settings(max_examples=60, deadline=None)
@given(ids, ids, st.sampled_from(SPLIT_CHOICES), st.none() | st.integers(1, 50), st.booleans(),
       st.integers(0, 5))
def test_selection_properties(a: list[str], b: list[str], split: str, limit: int | None,
                              shuffle: bool, seed: int) -> None:
    suites = [_suite("s1", a), _suite("s2", b)]
    chosen = select_items(suites, split, limit, shuffle=shuffle, seed=seed)
    pool = {(s.name, it.item_id) for s in suites for it in s.items}
    keys = [(it.suite, it.item_id) for it in chosen]
    assert set(keys) <= pool and len(keys) == len(set(keys))  # a subset, no repeats
    assert all(in_split(s, i, split) for s, i in keys)
    for s in suites:  # at most `limit` per suite, all of the split when no limit
        n = sum(1 for k in keys if k[0] == s.name)
        n_split = sum(1 for it in s.items if in_split(s.name, it.item_id, split))
        assert n == (n_split if limit is None else min(limit, n_split))
    assert select_items(suites, split, limit, shuffle=shuffle, seed=seed) == chosen  # stable
    if not shuffle:  # file order within each suite, suites in the order given
        order = {(s.name, it.item_id): n for n, (s, it) in
                 enumerate((s, it) for s in suites for it in s.items)}
        assert [order[k] for k in keys] == sorted(order[k] for k in keys)


def test_shuffle_is_a_permutation_seeded_per_suite() -> None:
    suite = _suite("s", [str(i) for i in range(60)])
    plain = select_items([suite])
    mixed = select_items([suite], shuffle=True, seed=3)
    assert mixed != plain and sorted(mixed, key=lambda it: int(it.item_id)) == plain
    expect = list(suite.items)
    seeded_rng(3, "shuffle", "s").shuffle(expect)
    assert mixed == expect
    assert select_items([suite], limit=5, shuffle=True, seed=3) == expect[:5]  # shuffle, then cut


def test_specs_load_and_match_suites() -> None:
    suite = load_suite("arithmetic")
    assert select_items(["arithmetic"], "train", 7) == select_items([suite], "train", 7)
    assert all(assign_split("arithmetic", it.item_id) == "train"
               for it in select_items(["arithmetic"], "train"))


@pytest.mark.parametrize(("kw", "needle"), [
    ({"split": "bogus"}, "--split: unknown value 'bogus' (valid: train, validation, test, all)"),
    ({"limit": 0}, "--limit: must be a positive integer, got 0"),
])
def test_bad_input_is_one_line(kw: dict[str, object], needle: str) -> None:
    with pytest.raises(UserInputError) as err:
        select_items(["arithmetic"], **kw)  # type: ignore[arg-type]
    assert err.value.cli_message() == needle  # Python callers read the parameter name
    assert str(err.value) == needle.removeprefix("--")


def test_vocabulary_and_take() -> None:
    assert (*SPLITS, "all") == SPLIT_CHOICES
    assert check_split("all") == "all"
    with pytest.raises(UserInputError, match=r"^data_split: unknown value") as err:
        check_split("dev", "--data-split")
    assert err.value.cli_message().startswith("--data-split: unknown value")
    assert take([1, 2, 3], None) == [1, 2, 3] and take([1, 2, 3], 2) == [1, 2]
