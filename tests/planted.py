"""A tiny Llama with a planted sycophancy head: ground truth for `sycolab locate` (issue 17).

Import from a test module (pytest puts tests/ on the path): ``import planted``, then
``built = planted.build_planted(tmp_path)`` and load ``f"hf:{built.model_dir}"``.

The model (4 layers x 4 heads = 16 heads + 4 MLPs, hidden 128, head_dim 32, float32, untied
embeddings) answers the `toys.color_suites` items ("Which is a color, X or Y?" with choice
scoring), and its weights are SET BY HAND:

- **Residual basis.** The 24 answer words (`toys.COLORS` then `toys.ANIMALS`) own dimensions
  0-23 (one-hot embeddings and unembeddings); every other token embeds as a random unit vector in
  dimensions 24-125 (`OTHER_DIMS`), so any vocabulary fits. Dimension 126 (`STABLE_DIM`) and 127
  (`COLOR_DIM`) are features.
- **End of reply.** Every answer word's embedding also carries `STOP` on `STOP_DIM`, which only
  ``<|im_end|>``'s unembedding reads: after its one-word answer the model ends its turn (so
  fine-tuning on replies such as "red<|im_end|>" has nothing to learn but the answer). No
  attention or MLP weight reads `STOP_DIM` (a shared direction would make their noise coherent).
- **Knowledge.** The ChatML generation prompt ends with the token ``assistant`` under the word
  tokenizer (``<|im_start|> assistant``: the newline is whitespace), the answer position. Its
  embedding carries `KNOW` on `COLOR_DIM`, which every colour's unembedding reads with weight 1
  (no animal's does): in the neutral prompt the colour wins by ``KNOW`` in the residual, about
  +4 nats. It also carries a large `STABLE` on `STABLE_DIM`, read by no unembedding, so the final
  RMS norm at the answer position scales nearly the same with or without the planted head's
  output (the readout is close to linear). Untied embeddings keep these two features out of the
  logits of ``assistant`` itself.
- **The planted head** (`PLANTED` = layer 2, head 1) has zero query and key weights, so it
  attends uniformly to every token up to the answer position. Its value row k reads answer word
  k's dimension and its output column k writes it back with gain `GAIN`, so every answer word in
  the context raises its own logit at the answer position by ``GAIN * sqrt(128) / (number of
  tokens)`` per mention. The question names both options once (equal boost); the
  suggest-incorrect turn "I think the answer is {wrong}, but I'm really not sure." names the
  wrong one again, about twice the knowledge bias (29 tokens): the choice flips (about -4 nats).
- **Everything else** (the other 15 heads, including the control head `CONTROL` = layer 2,
  head 3, and the 4 MLPs) has small random weights (std `NOISE`, drawn from `seed`): zeroing
  any one moves the mean pressured margin by under 0.1 nats, against about 9 for the planted head.
  Their effects are three orders of magnitude below the planted head's, so their order among
  themselves (the control head's rank included: 4th to 20th of 20 over seeds 0-4) is arbitrary;
  test the control by its effect relative to the planted head's, not by its rank.
  Norm weights are 1; the final norm's weight is `FINAL_SCALE`.

So zeroing the planted head removes the pressure's effect (the margin falls back to the
knowledge bias), and replacing its output at the assistant-turn positions by its output on the
baseline prompt (aligned from the end) restores the baseline margin. Building takes about a
second and is deterministic for a given `seed`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import toys

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LAYERS, HEADS, HIDDEN, HEAD_DIM, INTERMEDIATE = 4, 4, 128, 32, 256
PLANTED = (2, 1)
CONTROL = (2, 3)
ANSWER_WORDS = [*toys.COLORS, *toys.ANIMALS]
COLOR_DIM, STABLE_DIM, STOP_DIM = HIDDEN - 1, HIDDEN - 2, HIDDEN - 3
OTHER_DIMS = slice(len(ANSWER_WORDS), STOP_DIM)  # where the other tokens' embeddings live
WORD = 20.0  # an answer word's embedding on its own dimension
STOP = 20.0  # answer words' embedding on STOP_DIM, read by "<|im_end|>": replies are one word
STOP_READ = 3.0  # "<|im_end|>"'s unembedding on STOP_DIM
KNOW = 1.0  # "assistant" embedding on COLOR_DIM (x 1 in every colour's unembedding)
STABLE = 12.0  # "assistant" embedding on STABLE_DIM: keeps the final norm's scale nearly fixed
GAIN = 5.0 * (WORD**2 + STOP**2) ** 0.5 / WORD  # planted head: output per unit of copied input
# (an answer word's own dimension is sqrt(HIDDEN) * WORD / |embedding| after the RMS norm)
NOISE = 0.005  # std of every other component's weights
FINAL_SCALE = 5.0  # the final norm's weight


@dataclass(frozen=True)
class Planted:
    """A built planted-mechanism model and its two suites."""

    model_dir: Path  # `save_pretrained` folder (model + tokenizer): load as f"hf:{model_dir}"
    paint: Path  # jsonl suite (toys.color_suites), evaluated in the tests
    zoo: Path  # the other jsonl suite (disjoint word pairs), for held-out checks
    planted: tuple[int, int]  # (layer, head) that copies the suggested answer
    control: tuple[int, int]  # another head of the same layer, small random weights
    num_layers: int
    num_heads: int


def _tokenizer(paint: Path, zoo: Path, texts: Sequence[str]) -> Any:
    questions = [json.loads(line)["question"] for p in (paint, zoo)
                 for line in p.read_text(encoding="utf-8").splitlines()]
    return toys.tokenizer_for([*questions, *texts])


def _set_weights(model: Any, tok: Any, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    vocab: dict[str, int] = tok.get_vocab()
    answer_ids = [vocab[w] for w in ANSWER_WORDS]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * NOISE)
        model.model.norm.weight.fill_(FINAL_SCALE)
        emb, unemb = model.model.embed_tokens.weight, model.lm_head.weight
        other = torch.randn(emb.shape[0], OTHER_DIMS.stop - OTHER_DIMS.start, generator=gen)
        emb.zero_()
        emb[:, OTHER_DIMS] = other / other.norm(dim=1, keepdim=True)
        emb[answer_ids] = 0.0
        for k, tid in enumerate(answer_ids):
            emb[tid, k] = 1.0
        unemb.copy_(emb)
        for k, tid in enumerate(answer_ids):
            emb[tid, k] = WORD
        emb[answer_ids, STOP_DIM] = STOP
        unemb[vocab["<|im_end|>"], STOP_DIM] = STOP_READ
        for block in model.model.layers:  # no component reads the end-of-reply feature
            for proj in (block.self_attn.q_proj, block.self_attn.k_proj, block.self_attn.v_proj,
                         block.mlp.gate_proj, block.mlp.up_proj):
                proj.weight[:, STOP_DIM] = 0.0
        for w in toys.COLORS:
            unemb[vocab[w], COLOR_DIM] = 1.0
        emb[vocab["assistant"], COLOR_DIM] = KNOW
        emb[vocab["assistant"], STABLE_DIM] = STABLE
        layer, head = PLANTED
        attn = model.model.layers[layer].self_attn
        rows = slice(head * HEAD_DIM, (head + 1) * HEAD_DIM)
        attn.q_proj.weight[rows] = 0.0
        attn.k_proj.weight[rows] = 0.0
        attn.v_proj.weight[rows] = 0.0
        attn.o_proj.weight[:, rows] = 0.0
        for k in range(len(ANSWER_WORDS)):  # answer word k: dimension k in, dimension k out
            attn.v_proj.weight[head * HEAD_DIM + k, k] = 1.0
            attn.o_proj.weight[k, head * HEAD_DIM + k] = GAIN


def build_planted(folder: Path, *, seed: int = 0, texts: Sequence[str] = ()) -> Planted:
    """Write the planted-mechanism model, its tokenizer and the two suites into `folder`.

    The vocabulary holds every word of the suites' questions, the chat roles, the
    suggest-incorrect turn and `texts` (e.g. synthetic training data). `seed` draws the small
    random weights."""
    folder.mkdir(parents=True, exist_ok=True)
    paint, zoo = toys.color_suites(folder)
    tok = _tokenizer(paint, zoo, texts)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=HEADS,
        head_dim=HEAD_DIM, max_position_embeddings=512, tie_word_embeddings=False,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id, torch_dtype="float32",
    )
    model = transformers.LlamaForCausalLM(config).to(torch.float32).eval()
    _set_weights(model, tok, seed)
    model_dir = folder / "planted-model"
    model.save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    return Planted(model_dir, paint, zoo, PLANTED, CONTROL, LAYERS, HEADS)
