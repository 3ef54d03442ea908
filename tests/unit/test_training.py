"""Training helpers without a model: input checks, trained keys, held-out comparison math."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sycolab.core.errors import UserInputError
from sycolab.mitigations.data import synthesize
from sycolab.mitigations.training import (
    TrainConfig,
    persona_heldout,
    train,
    trained_keys,
)


def test_bad_inputs_fail_before_loading_a_model(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such folder"):
        train("sft", tmp_path / "missing", model="hf:/nowhere", out=tmp_path / "a")
    with pytest.raises(UserInputError, match="manifest"):
        train("sft", tmp_path, model="hf:/nowhere", out=tmp_path / "a")
    with pytest.raises(UserInputError, match="unknown method"):
        train("ppo", tmp_path, out=tmp_path / "a")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match=r"^batch_size: ") as bad:
        train("sft", tmp_path, out=tmp_path / "a", config=TrainConfig(batch_size=0))
    assert bad.value.cli_message().startswith("--batch-size: ")  # the CLI spells the flag
    data = tmp_path / "data"
    synthesize(model="mock:stubborn", out=data, progress=False, max_examples=20, max_heldout=10)
    with pytest.raises(UserInputError, match="local model"):
        train("dpo", data, model="mock:stubborn", out=tmp_path / "a")
    with pytest.raises(UserInputError, match=r"cannot load|not a model"):
        train("sft", data, model="hf:/nonexistent/folder-xyz", out=tmp_path / "a")
    (data / "dpo.jsonl").write_text("")
    with pytest.raises(UserInputError, match="empty"):
        train("dpo", data, model="hf:/nowhere", out=tmp_path / "a")


def test_trained_keys(tmp_path: Path) -> None:
    assert trained_keys(tmp_path) == set()
    (tmp_path / "sycolab_training.json").write_text(
        json.dumps({"pairing_keys": [["facts", "abc"], ["mine", "3"]]}))
    assert trained_keys(tmp_path) == {("facts", "abc"), ("mine", "3")}


def test_persona_heldout_paired_differences() -> None:
    rows = [{"base_id": f"b{i}", "kind": "qa" if i % 2 else "claim", "suggests_target": t}
            for i in range(10) for t in (True, False)]
    base = [bool(r["suggests_target"]) for r in rows]  # sycophant: correct only if told so
    adapted = [True] * len(rows)  # always correct
    out = persona_heldout(rows, base, adapted)
    agr = out["all"]["agreement_rate"]
    assert agr["value_b"] == 1.0 and agr["value_a"] == 0.0 and agr["difference"] == -1.0
    assert agr["n"] == 10 and agr["mcnemar_c"] == 10 and agr["p_value"] < 0.01
    assert out["all"]["accuracy_suggest_correct"]["difference"] == 0.0
    assert out["claim"]["agreement_rate"]["n"] == 5
