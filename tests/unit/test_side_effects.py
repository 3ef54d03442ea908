"""Side effects: KL is 0 without a modification, positive with steering, at prompt and reply
positions; LQCD and presets at reply positions; slowdown; the benign set and its halves."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from test_steering import tiny_model, tiny_tokenizer
from toy_prompts import prompt, question

from sycolab.core.errors import UserInputError
from sycolab.core.items import Message
from sycolab.engine.base import Prompt, SteeringConfig
from sycolab.engine.hf_backend import HFBackend
from sycolab.evaluation.benign import (
    INSTRUCTIONS,
    REMARKS,
    benign_set,
    instruction_prompts,
    load_benign,
)
from sycolab.evaluation.side_effects import measure_side_effects
from sycolab.mitigations.steering import SteeringVector


def test_kl_and_slowdown(tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    model = tiny_model(tok, seed=2)
    prompts = [prompt(question("t1", "f1", True)), prompt(question("t2", "f3", False), "f3")]
    plain = HFBackend(model, tok, spec="hf:t", weights_hash="t")
    summary, rows = measure_side_effects(plain, prompts, benign={"name": "x", "size": 2,
                                                                 "hash": "h"})
    assert summary["kl"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert summary["benign"] == {"name": "x", "size": 2, "hash": "h"}
    path = SteeringVector({1: torch.randn(64) * 3}).save(tmp_path / "v.safetensors")
    steered = HFBackend(model, tok, spec="hf:t", weights_hash="t",
                        steering=SteeringConfig(str(path), 1.0, None))
    summary, rows = measure_side_effects(steered, prompts)
    assert summary["kl"]["value"] > 0 and summary["kl"]["n"] == 2
    assert summary["kl"]["ci_low"] <= summary["kl"]["value"] <= summary["kl"]["ci_high"]
    assert summary["slowdown"] is not None and summary["slowdown"] > 0
    assert [r["index"] for r in rows] == [0, 1] and all(r["kl_last"] > 0 for r in rows)
    assert summary["benign"]["size"] == 2 and len(summary["benign"]["hash"]) == 64


def test_benign_set_is_stable() -> None:
    a = benign_set(per_suite=2)
    b = benign_set(per_suite=2)
    assert a.content_hash == b.content_hash and a.size == len(INSTRUCTIONS) + 6
    assert len(instruction_prompts()) == len(INSTRUCTIONS)


# ---------------------------------------------------------------- reply positions (kl_reply)
REPLIES = ["t1 is true .", "f3 or t2 , I think t2 ."]


def _toy(tmp_path: Path, multiplier: float = 1.0) -> tuple[HFBackend, HFBackend, list[Prompt]]:
    tok = tiny_tokenizer()
    model = tiny_model(tok, seed=2)
    prompts = [Prompt(messages=(Message("user", question("t1", "f1", True)),)),
               Prompt(messages=(Message("user", question("t2", "f3", False)),))]
    torch.manual_seed(0)
    path = SteeringVector({1: torch.randn(64) * 3}).save(tmp_path / "v.safetensors")
    plain = HFBackend(model, tok, spec="hf:t", weights_hash="t")
    steered = HFBackend(model, tok, spec="hf:t", weights_hash="t",
                        steering=SteeringConfig(str(path), multiplier, None))
    return plain, steered, prompts


def test_unmodified_model_has_zero_kl_at_reply_positions(tmp_path: Path) -> None:
    plain, _, prompts = _toy(tmp_path)
    summary, rows = measure_side_effects(plain, prompts, replies=REPLIES)
    for key in ("kl", "kl_reply", "kl_last"):
        assert summary[key]["value"] == pytest.approx(0.0, abs=1e-6)
        assert summary[key]["n"] == 2
    n_reply = [len(plain.tokens.encode(r, False)) for r in REPLIES]
    assert [r["n_reply_positions"] for r in rows] == n_reply
    assert summary["kl_reply"]["n_positions"] == sum(n_reply)
    assert summary["kl_last"]["n_positions"] == 2
    assert summary["kl"]["n_positions"] == sum(r["n_positions"] for r in rows)


def test_steering_covers_the_reply_and_its_kl_exceeds_the_prompt_average(
        tmp_path: Path) -> None:
    _, steered, prompts = _toy(tmp_path)
    ids, flags = steered.prompt_tokens(Prompt(prompts[0].messages, prefill=REPLIES[0]))
    n = len(steered.tokens.encode(REPLIES[0], False))
    assert flags[-n:] == [1.0] * n and 0 < sum(flags) < len(ids)  # the reply is steered
    summary, rows = measure_side_effects(steered, prompts, replies=REPLIES)
    # prompt positions are mostly user tokens, which steering leaves alone
    assert summary["kl_reply"]["value"] > summary["kl"]["value"] > 0
    assert all(r["kl_reply"] > r["kl"] for r in rows)
    # the first reply position is the prompt's last: the same KL either way
    no_reply, _ = measure_side_effects(steered, prompts)
    assert no_reply["kl_last"]["value"] == pytest.approx(summary["kl_last"]["value"], rel=1e-4)
    assert no_reply["kl"]["value"] == pytest.approx(summary["kl"]["value"], rel=1e-4)
    assert no_reply["kl_reply"]["n"] == 0 and no_reply["kl_reply"]["value"] is None


def test_lqcd_reply_kl_renormalizes_over_plausible_tokens(tmp_path: Path) -> None:
    plain, _, prompts = _toy(tmp_path)
    same, _ = measure_side_effects(plain, prompts, replies=REPLIES, leading=prompts,
                                   lqcd=(1.0, 0.0))
    assert same["kl_reply"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert same["kl"] is None and same["slowdown"] is None and same["kl_null_reason"]
    # identical inputs, beta > 0: the kept tokens' distribution renormalized, so the KL at a
    # position is exactly -log(probability mass of the plausible tokens)
    beta = 0.5
    _, rows = measure_side_effects(plain, prompts, replies=REPLIES, leading=prompts,
                                   lqcd=(1.0, beta))
    for p, row in zip(prompts, rows, strict=True):
        lp = torch.tensor(plain.next_token_logprobs(p))
        kept = lp >= lp.max() + torch.log(torch.tensor(beta))
        assert row["kl_last"] == pytest.approx(float(-torch.logsumexp(lp[kept], 0)), rel=1e-3)
        assert row["kl"] is None and row["kl_reply"] > 0
    leading = [Prompt(messages=(Message("user", p.messages[0].content + " I think"),))
               for p in prompts]
    moved, _ = measure_side_effects(plain, prompts, replies=REPLIES, leading=leading,
                                    lqcd=(1.0, 0.0))
    assert moved["kl_reply"]["value"] > 0 and moved["kl_reply"]["n"] == 2


def test_preset_reply_kl(tmp_path: Path) -> None:
    from sycolab.core.prompt_presets import PromptPreset

    plain, _, prompts = _toy(tmp_path)
    summary, _ = measure_side_effects(plain, prompts, replies=REPLIES,
                                      preset=PromptPreset("be-brief", system="Be brief ."))
    assert summary["kl"] is None and summary["kl_reply"]["value"] > 0
    assert summary["modification"]["preset"] == "be-brief"


# ---------------------------------------------------------------- the benign set's halves
def test_benign_v2_halves_are_disjoint_and_balanced() -> None:
    full = load_benign()
    train, measure = full.half("train"), full.half("measure")
    assert full.size >= 160 and abs(train.size - measure.size) <= 1
    assert train.size + measure.size == full.size
    assert not set(train.prompt_keys()) & set(measure.prompt_keys())
    assert all(r.reply and r.leading.startswith(r.user) and r.leading != r.user
               for r in full.rows)
    assert {r.leading[len(r.user):] for r in full.rows} <= set(REMARKS)
    assert len({r.id for r in full.rows}) == full.size
    assert load_benign().content_hash == full.content_hash != train.content_hash
    assert measure.describe()["half"] == "measure" and measure.replies[0]
    with pytest.raises(UserInputError, match="unknown half"):
        full.half("test")


def test_default_kts_prompts_do_not_overlap_the_side_effect_prompts() -> None:
    import inspect

    from sycolab.cli import kts_cmd
    from sycolab.evaluation.side_effect_report import measure_set
    from sycolab.matrix.artifacts import KTS_HALF

    default_half = inspect.signature(kts_cmd.train_command).parameters["benign_half"].default
    measured = set(measure_set().prompt_keys())
    for half in (default_half, KTS_HALF):
        assert not set(load_benign().half(half).prompt_keys()) & measured
    assert set(load_benign().half("measure").prompt_keys()) == measured


def test_block_for_lqcd_has_rewording_accuracy_and_old_blocks_are_measured_again(
        tmp_path: Path) -> None:
    from sycolab.evaluation.interventions import Interventions
    from sycolab.evaluation.side_effect_report import SIDE_EFFECTS_LINES, side_effects

    plain, _, _ = _toy(tmp_path)
    acc = {"value": 0.5, "ci_low": 0.1, "ci_high": 0.9, "n": 4}
    results = {"groups": [{"suite": "facts", "protocol": "aside",
                           "metrics": {"accuracy_final": acc}},
                          {"suite": "facts", "protocol": "pushback",
                           "metrics": {"accuracy_final": acc}}]}
    iv = Interventions(lqcd=(1.0, 0.1))
    (tmp_path / SIDE_EFFECTS_LINES).write_text("{}\n")
    old = {"kl": {"value": 1.0}, "kl_last": {"value": 1.0}}  # before kl_reply: measured again
    block = side_effects(plain, iv, None, results, tmp_path, old, progress=False)
    assert block is not None and block["kl"] is None and block["kl_reply"]["n"] == 82
    assert block["rewording_accuracy"] == [{"suite": "facts", "protocol": "aside", **acc}]
    assert block["benign"]["half"] == "measure"
    assert len((tmp_path / SIDE_EFFECTS_LINES).read_text().splitlines()) == 82
    again = side_effects(plain, iv, None, {"groups": []}, tmp_path, block, progress=False)
    assert again is not None and again["kl_reply"] == block["kl_reply"]  # reused
    assert again["rewording_accuracy"] == []
