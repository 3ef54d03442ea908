"""`train_vector_from_suites`: `sycolab steer train` as a Python function."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.core.errors import UserInputError
from sycolab.core.splits import assign_split
from sycolab.core.suites import load_suite
from sycolab.engine import loading
from sycolab.mitigations.steering import (
    SteeringVector,
    contrast_pairs,
    train_vector_from_suites,
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def load(model: str, **kw: Any) -> str:
        seen["load"] = (model, kw)
        return "backend"

    def train(backend: Any, pairs: Sequence[Any], layers: Sequence[int] | None = None,
              **kw: Any) -> SteeringVector:
        seen["train"] = (backend, list(pairs), layers, kw)
        return SteeringVector({1: torch.ones(4) * 2}, n_pairs=len(pairs))

    monkeypatch.setattr(loading, "load_hf_backend", load)
    monkeypatch.setattr("sycolab.mitigations.steering._train.train_vector", train)
    return seen


def _old_selection(suites: list[str], split: str, limit: int | None) -> list[Any]:
    """The selection `steer train` made before `select_items` (the reference)."""
    items = []
    for spec in suites:
        s = load_suite(spec)
        chosen = [it for it in s.items
                  if split == "all" or assign_split(s.name, it.item_id) == split]
        items += chosen[:limit] if limit is not None else chosen
    return items


@pytest.mark.parametrize(("suites", "split", "limit"), [
    (None, "train", None), (["addition-claims", "arithmetic"], "validation", 5),
    (["facts"], "all", 3),
])
def test_same_pairs_as_before(fake: dict[str, Any], tmp_path: Path, suites: list[str] | None,
                              split: str, limit: int | None) -> None:
    res = train_vector_from_suites(out=tmp_path / "v.safetensors", model="hf:x", suite=suites,
                                   split=split, limit=limit, seed=2, layers=[1], device="cpu",
                                   progress=False)
    names = suites or ["arithmetic", "facts"]
    assert fake["train"][1] == contrast_pairs(_old_selection(names, split, limit), seed=2)
    assert fake["load"] == ("hf:x", {"adapter": None, "device": "cpu", "dtype": "auto"})
    assert res.path.is_file() and res.vector.metadata == {"split": split, "suites": names}
    assert res.as_dict() == {"out": str(res.path), "layers": [1], "n_pairs": res.vector.n_pairs,
                             "norms": {"1": 4.0}}


def test_bad_input_before_loading(fake: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"^split: unknown value 'dev'") as err:
        train_vector_from_suites(out=tmp_path / "v.safetensors", split="dev")
    assert err.value.cli_message().startswith("--split: unknown value 'dev'")
    with pytest.raises(UserInputError, match=r"^limit: must be a positive integer") as err:
        train_vector_from_suites(out=tmp_path / "v.safetensors", limit=0)
    assert err.value.cli_message().startswith("--limit: must be a positive integer")
    assert "load" not in fake


def test_cli_is_a_thin_layer(fake: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "v.safetensors"
    res = CliRunner().invoke(app, ["steer", "train", "--model", "hf:x", "--suite", "arithmetic",
                                   "--limit", "4", "--layers", "1", "--out", str(out),
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n_pairs"] == len(fake["train"][1]) > 0
