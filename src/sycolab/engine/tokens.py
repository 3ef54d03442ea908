"""Rendering and tokenization by one set of rules, for `HFBackend`, the ``openai:`` client's
``--tokenizer`` path and ``sycolab serve``.

Chat prompts are rendered with the tokenizer's chat template plus the generation prompt, then the
prefill verbatim, and tokenized without special tokens (the text holds them already). Raw prompts
are tokenized as lm-evaluation-harness's ``hf`` backend does (``add_special_tokens`` off unless
``raw_add_special_tokens``). Choice continuations follow lm-eval's ``_encode_pair`` (see
`sycolab.engine.hf_backend`). Stop tokens are defined here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import ChoiceRequest, Prompt

STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")
"""End-of-turn tokens that stop generation wherever the vocabulary has them."""


class ChatTokens:
    """A tokenizer with sycolab's rendering and tokenization rules."""

    def __init__(self, tokenizer: Any, *, raw_add_special_tokens: bool = False,
                 no_template: str = "--tokenizer: the tokenizer has no chat template") -> None:
        self.tokenizer = tokenizer
        self.raw_add_special_tokens = raw_add_special_tokens
        self.no_template = no_template  # the error when a chat prompt meets no chat template

    # ------------------------------------------------------------------ rendering
    def render(self, prompt: Prompt) -> str:
        """The text the model sees before the scored or generated assistant text."""
        if prompt.raw is not None:
            return prompt.raw
        if not getattr(self.tokenizer, "chat_template", None):
            raise UserInputError(self.no_template)
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                  tokenize=False)
        return str(text) + prompt.prefill

    def encode(self, text: str, raw: bool) -> list[int]:
        """Token ids of `text` (special tokens added only to raw text, where asked)."""
        special = self.raw_add_special_tokens if raw else False
        return [int(i) for i in self.tokenizer.encode(text, add_special_tokens=special)]

    def count(self, text: str) -> int:
        """Tokens in `text`, without special tokens."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=skip_special))

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode_with_offsets(self, text: str, special: bool) -> tuple[list[int], list[int]]:
        """Token ids of `text` and each token's starting character offset."""
        enc = self.tokenizer(text, add_special_tokens=special, return_offsets_mapping=True)
        return [int(t) for t in enc["input_ids"]], [int(a) for a, _ in enc["offset_mapping"]]

    def offsets(self, ids: Sequence[int]) -> list[int]:
        """Character offsets of a token-id sequence: the length of the decoded prefix."""
        return [len(self.decode(ids[:j])) for j in range(len(ids))]

    # ------------------------------------------------------------------ special ids
    @property
    def pad_id(self) -> int:
        """Padding id: pad, else EOS, else BOS, else 0 (padded positions are never read)."""
        tok = self.tokenizer
        for cand in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id):
            if cand is not None:
                return int(cand)
        return 0

    @property
    def prefix_id(self) -> int:
        """The context of an empty prompt: BOS, else EOS, else pad, else 0 (as lm-eval)."""
        tok = self.tokenizer
        for cand in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id):
            if cand is not None:
                return int(cand)
        return 0

    def stop_ids(self, generation_config: Any = None) -> list[int]:
        """EOS, the generation config's EOS ids and every `STOP_TOKENS` entry in the vocabulary."""
        ids: set[int] = set()
        eos = self.tokenizer.eos_token_id
        if eos is not None:
            ids.add(int(eos))
        gen_eos = getattr(generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            ids.add(gen_eos)
        elif isinstance(gen_eos, list):
            ids.update(int(i) for i in gen_eos)
        vocab = self.tokenizer.get_vocab()
        ids.update(int(vocab[name]) for name in STOP_TOKENS if name in vocab)
        return sorted(ids)

    # ------------------------------------------------------------------ choices
    def texts(self, request: ChoiceRequest) -> tuple[str, list[str]]:
        """Context text and continuation texts (raw mode moves trailing whitespace, as lm-eval)."""
        context = self.render(request.prompt)
        conts = list(request.continuations)
        if request.prompt.raw is not None:
            n = len(context) - len(context.rstrip())
            if n > 0:
                conts = [context[-n:] + c for c in conts]
                context = context[:-n]
        return context, conts

    def encode_choice(self, request: ChoiceRequest) -> tuple[list[int], list[list[int]]]:
        """Context tokens and each continuation's tokens (lm-eval's ``whole[len(ctx):]``)."""
        raw = request.prompt.raw is not None
        context, conts = self.texts(request)
        if raw and context == "":
            return [self.prefix_id], [self.encode(c, True) for c in conts]
        ctx = self.encode(context, raw)
        if not ctx:
            return [self.prefix_id], [self.encode(c, raw) for c in conts]
        out: list[list[int]] = []
        for cont in conts:
            if cont == "":
                out.append([])
                continue
            whole = self.encode(context + cont, raw)
            out.append(whole[len(ctx):] if raw or whole[: len(ctx)] == ctx
                       else self.encode(cont, raw))
        return ctx, out

    # ------------------------------------------------------------------ steering positions
    def steer_mask(self, prompt: Prompt, ids: Sequence[int]) -> list[float]:
        """1.0 for each prompt token inside an assistant turn (all tokens for raw prompts)."""
        if prompt.raw is not None:
            return [1.0] * len(ids)
        from sycolab.engine.steering_hooks import assistant_char_spans, token_mask_from_spans

        def render(msgs: list[dict[str, str]], gen: bool) -> str:
            return str(self.tokenizer.apply_chat_template(
                msgs, add_generation_prompt=gen, tokenize=False))

        text = self.render(prompt)
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        spans = assistant_char_spans(render, messages, text)
        return token_mask_from_spans(self.tokenizer, text, ids, spans)
