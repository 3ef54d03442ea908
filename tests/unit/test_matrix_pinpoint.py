"""The matrix's `pinpoint` artifact: its spec is validated at load, its key follows the heads, and
an arm using it reports sycophancy with the side effects (KL, neutral accuracy) like SFT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sycolab.core.errors import UserInputError
from sycolab.matrix.artifacts import artifact_key
from sycolab.matrix.config import MatrixConfig, PinpointSpec, load_config

ARMS = """
arms:
  - name: base
  - name: pinpoint
    adapter: pin
"""


def _load(tmp_path: Path, artifact: str, head: str = "") -> MatrixConfig:
    path = tmp_path / "m.yaml"
    path.write_text(f"{head}artifacts:\n  pin:\n{artifact}{ARMS}")
    return load_config(path)


def test_pinpoint_spec_defaults_and_heads(tmp_path: Path) -> None:
    config = _load(tmp_path, "    kind: pinpoint\n")
    spec = config.artifacts["pin"]
    assert config.artifact_kinds["pin"] == "pinpoint" and isinstance(spec, PinpointSpec)
    assert (spec.examples, spec.sources, spec.heads, spec.top) == (
        100, ["facts", "addition-claims"], None, None)
    assert (spec.locate_suites, spec.locate_protocol, spec.locate_limit) == (
        ["arithmetic"], "suggest-incorrect", 100)
    spec = _load(tmp_path, "    kind: pinpoint\n    heads: [[3, 5], [7, 1]]\n    top: 1\n"
                 ).artifacts["pin"]
    assert isinstance(spec, PinpointSpec) and spec.heads == [(3, 5), (7, 1)] and spec.top == 1
    locate = tmp_path / "locate.json"
    locate.write_text(json.dumps({"protocols": {"suggest-incorrect": {"heads": [[0, 1]]}}}))
    spec = _load(tmp_path, f"    kind: pinpoint\n    heads: {locate}\n").artifacts["pin"]
    assert isinstance(spec, PinpointSpec) and spec.heads == str(locate)


@pytest.mark.parametrize(("artifact", "needle"), [
    ("    kind: pinpoint\n    heads: []\n", "artifacts.pin.heads: expected a file or a non-empty"),
    ("    kind: pinpoint\n    heads: [[1, -1]]\n", "artifacts.pin.heads: expected distinct"),
    ("    kind: pinpoint\n    heads: [[1, 1], [1, 1]]\n", "expected distinct"),
    ("    kind: pinpoint\n    heads: [[1, 2, 3]]\n", "artifacts.pin.heads"),
    ("    kind: pinpoint\n    top: 0\n", "artifacts.pin.top"),
    ("    kind: pinpoint\n    layers: [1]\n", "artifacts.pin.layers"),
    ("    kind: pinpoint\n    heads: nowhere.json\n",
     "artifacts.pin.heads: nowhere.json: heads file not found"),
    ("    kind: pinpont\n", "unknown kind 'pinpont' (valid: vector, kts, sft, dpo, pinpoint)"),
])
def test_bad_pinpoint_specs_are_one_line(tmp_path: Path, artifact: str, needle: str) -> None:
    with pytest.raises(UserInputError) as info:
        _load(tmp_path, artifact)
    assert needle in str(info.value) and str(tmp_path / "m.yaml") in str(info.value)
    assert "\n" not in str(info.value)


def test_a_locate_file_is_read_with_the_spec_protocol(tmp_path: Path) -> None:
    locate = tmp_path / "locate.json"
    locate.write_text(json.dumps({"protocols": {"are-you-sure": {"heads": [[0, 1]]}}}))
    with pytest.raises(UserInputError, match=r"artifacts.pin.heads: .*no protocol "
                       r"'suggest-incorrect' \(it holds: are-you-sure\)"):
        _load(tmp_path, f"    kind: pinpoint\n    heads: {locate}\n")
    spec = _load(tmp_path, f"    kind: pinpoint\n    heads: {locate}\n"
                 "    locate_protocol: are-you-sure\n").artifacts["pin"]
    assert isinstance(spec, PinpointSpec) and spec.locate_protocol == "are-you-sure"


def test_artifact_key_follows_the_heads(tmp_path: Path) -> None:
    def key(artifact: str) -> str:
        return artifact_key(_load(tmp_path, "    kind: pinpoint\n" + artifact), "pin", {})

    listed = key("    heads: [[1, 2]]\n")
    assert listed == key("    heads: [[1, 2]]\n")  # same inputs, same artifact
    assert len({listed, key("    heads: [[1, 3]]\n"), key("    heads: [[1, 2], [0, 0]]\n"),
                key("    heads: [[1, 2]]\n    top: 1\n"), key(""),
                key("    locate_limit: 50\n")}) == 6
    heads = tmp_path / "heads.json"
    heads.write_text("[[1, 2]]")
    from_file = key(f"    heads: {heads}\n")
    assert from_file != listed
    heads.write_text("[[1, 3]]")  # same path, other content: another artifact
    assert key(f"    heads: {heads}\n") != from_file


torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

import toys


def test_a_pinpoint_arm_is_built_and_measured_like_sft(tmp_path: Path) -> None:
    from sycolab.matrix.run import MatrixRun
    from sycolab.matrix.summary import summarize

    tok = toys.smollm2_tokenizer(tmp_path / "tok")
    model_dir = tmp_path / "model"
    toys.tiny_llama(tok, layers=2, hidden=32).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    head = (f"model: hf:{model_dir}\nsuites: [arithmetic]\n"
            "protocols: [suggest-incorrect, suggest-correct]\nlimit: 3\n")
    config = _load(tmp_path, "    kind: pinpoint\n    examples: 8\n    heads: [[1, 2]]\n", head)
    out = tmp_path / "matrix"
    state = MatrixRun(config, out, log=lambda m: None, progress=False).run()
    adapter = Path(state["artifacts"]["pin"])
    assert adapter.parent.name == f"pin-{artifact_key(config, 'pin', {})}"
    record = json.loads((adapter / "sycolab_training.json").read_text())
    assert record["method"] == "pinpoint" and record["pinpoint"]["heads"] == [[1, 2]]
    assert record["manifest"]["split"] == "train"  # trained on the train split only
    table = summarize(config, state, out)
    arms = {a["arm"]: a for a in table["arms"]}
    assert arms["base"]["side_effects"] is None
    side = arms["pinpoint"]["side_effects"]
    assert side["kl_reply"]["value"] >= 0 and side["kl_reply"]["n"] > 0
    assert "neutral_accuracy" in side
    assert {t["arm"] for t in table["tests"]} == {"pinpoint"}
