"""Local causal LMs through transformers: the embedded SmolLM2 (`smollm2`) and `hf:PATH_OR_ID`.

Rendering
    Chat mode (``Prompt.raw is None``): ``tokenizer.apply_chat_template(messages,
    add_generation_prompt=True, tokenize=False)`` followed by ``Prompt.prefill`` verbatim. The
    rendered text already contains the model's special tokens, so it is tokenized with
    ``add_special_tokens=False``. (SmolLM2's template inserts its default system prompt when the
    messages have none; system prompts are the runner's business, put into ``Prompt.messages``.)
    Raw mode (``Prompt.raw`` set, ``--scoring lm-eval``): the text as is, tokenized the way
    lm-evaluation-harness's ``hf`` backend tokenizes contexts for causal models, i.e.
    ``tokenizer.encode(text, add_special_tokens=False)`` (lm-eval's ``add_bos_token=False``
    default); pass ``raw_add_special_tokens=True`` to mimic ``add_bos_token=True``.

Continuation tokens (choice scoring)
    As lm-eval's ``_encode_pair``: ``ctx = enc(context)``, ``whole = enc(context + continuation)``,
    continuation tokens = ``whole[len(ctx):]``, and the model sees ``ctx + continuation tokens``.
    So a continuation is tokenized as it would be in running text after the context, and the
    context tokens are identical for every option (which lets the options share one pass).
    Raw mode additionally moves trailing whitespace of the context into the continuation and uses
    the BOS (else EOS) token as context when the context is empty, exactly like lm-eval. Chat mode
    never moves text: a continuation starts exactly where the assistant header or prefill ends;
    if a BPE merge across that boundary would change the context tokens (``whole`` does not start
    with ``ctx``), the continuation is encoded on its own instead. An empty continuation scores 0.

Scoring engine
    Each request is packed into ONE sequence ``ctx + cont_1 + ... + cont_K`` with a 4D attention
    mask (every continuation sees the whole context and itself causally, never the other options)
    and position ids that restart at ``len(ctx)`` for each continuation, so the shared prompt is
    computed once. Only the hidden states at the positions that are read go through the output
    head. Requests are sorted by packed length and batched (right padding, padded positions attend
    only to themselves and are never read), so results do not depend on batch size or padding.

Steering (``steering=SteeringConfig``)
    ``multiplier * v_l`` is added to the output of decoder layer ``l`` (`engine.steering_hooks`)
    at every token of every assistant turn: earlier assistant turns (header, content, end marker),
    the final generation header and prefill, every scored continuation token and every generated
    token; never at system or user tokens. Assistant turns are located by rendering message
    prefixes with the chat template and mapping character spans to tokens through the
    tokenizer's offsets. Raw prompts (``--scoring lm-eval``) have no turns: every position is
    steered, as lm-eval's ``steered`` model does. ``unmodified()`` turns steering and any adapter
    off for reference passes.

Generation
    Greedy, batched, KV-cached (`engine.greedy`), not ``model.generate``: a row leaves the batch
    when it stops, and a prompt whose tokens start like an earlier request's prompt + reply
    reuses those key/value states (`engine.prefix_cache`; budget ``SYCOLAB_KV_CACHE_MB``, default
    1024, 0 = off), so a challenge turn encodes only its new tokens.

Parallel batches
    On CPU, batches run on ``workers`` threads of one torch thread each (default: one per torch
    thread; ``SYCOLAB_CPU_WORKERS`` overrides), each batch computed exactly as it would be alone.

LQCD (``request.contrast``)
    The neutral and leading prompts run in the same batch; scores use `engine.contrastive`. For
    choice scoring the continuation tokens are those of the leading prompt, appended to both
    contexts. Generation is LQCD-greedy with both sequences advanced through their KV caches.
    When the neutral input is token for token the leading one (a protocol's baseline step), it
    is not computed twice: choice scores use the same logits as both (so the plausibility mask
    still applies), and generation is plain greedy, which is what LQCD-greedy is on identical
    inputs (the top token always passes the mask; the contrast cancels).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sycolab.core.errors import UserInputError
from sycolab.engine.base import (
    Backend,
    BackendError,
    ChoiceRequest,
    Contrast,
    GenerateRequest,
    Progress,
    Prompt,
    SteeringConfig,
)
from sycolab.engine.local_paths import check_adapter_folder, check_model_folder, path_like
from sycolab.engine.prefix_cache import PrefixCache

BatchSize = int | Literal["auto"]

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack")
_DTYPES = ("float32", "bfloat16", "float16")
_STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")


@dataclass
class _Packed:
    """One choice request packed into a single sequence."""

    index: int
    ids: list[int]
    positions: list[int]
    segments: list[int]  # 0 = context, k = continuation k (1-based)
    reads: list[int]  # packed index whose logits predict targets[i]
    targets: list[int]
    owner: list[int]  # continuation number (0-based) of each target
    n_options: int
    steer: list[float] = field(default_factory=list)  # per packed token: 1 = assistant (steered)


def resolve_device(device: str) -> str:
    """`auto` = cuda when available, else cpu; validates explicit choices."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"--device {device}: CUDA is not available on this machine")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserInputError(f"--device {device}: expected cpu, cuda or auto")
    return device


def default_workers(device: str) -> int:
    """Batches run in parallel on CPU: one single-threaded worker per torch thread
    (`SYCOLAB_CPU_WORKERS` overrides; 1 = plain intra-op threading). GPUs use one."""
    if device != "cpu":
        return 1
    env = os.environ.get("SYCOLAB_CPU_WORKERS")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise UserInputError(f"SYCOLAB_CPU_WORKERS={env}: expected a positive integer") from None
        if value < 1:
            raise UserInputError(f"SYCOLAB_CPU_WORKERS={env}: expected a positive integer")
        return value
    import torch

    return max(1, torch.get_num_threads())


def resolve_dtype(dtype: str, device: str) -> str:
    """`auto` = float32 on CPU (bf16 is extremely slow there), bfloat16 on CUDA."""
    if dtype == "auto":
        return "float32" if device == "cpu" else "bfloat16"
    if dtype not in _DTYPES:
        raise UserInputError(f"--dtype {dtype}: expected one of float32, bfloat16, float16, auto")
    return dtype


class HFBackend(Backend):
    """A transformers causal LM as a sycolab backend (choice scoring and greedy generation)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        spec: str,
        weights_hash: str,
        device: str = "cpu",
        dtype: str = "float32",
        batch_size: BatchSize = "auto",
        adapter: str | None = None,
        adapter_hash: str | None = None,
        raw_add_special_tokens: bool = False,
        token_budget: int | None = None,
        steering: SteeringConfig | None = None,
        kv_cache_mb: int | None = None,
        workers: int | None = None,
    ) -> None:
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise UserInputError(f"--batch-size {batch_size}: expected a positive integer or auto")
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.weights_hash = weights_hash
        self.device = device
        self.dtype = dtype
        self.batch_size: BatchSize = batch_size
        self.adapter = adapter
        self.adapter_hash = adapter_hash
        self.raw_add_special_tokens = raw_add_special_tokens
        if token_budget is None:
            token_budget = 4096 if device == "cpu" else 32768
        self.token_budget = token_budget
        # Scoring batches on CPU stay small enough for their activations to live in cache:
        # on the lm-eval workload (2 cores, ad-hoc timing) 1024 tokens per batch beat 4096 by ~12%.
        # Generation keeps the larger budget: its decode steps read all weights once per batch.
        self.score_token_budget = min(token_budget, 1024) if device == "cpu" else token_budget
        self.load_seconds: float | None = None
        if kv_cache_mb is None:
            kv_cache_mb = int(os.environ.get("SYCOLAB_KV_CACHE_MB", "1024"))
        self.prefix_cache = PrefixCache(kv_cache_mb << 20) if kv_cache_mb > 0 else None
        self.workers = workers if workers is not None else default_workers(device)
        self._pool: Any = None
        self._kv_keyword: str | None = None
        self.model.eval()
        self._pad_id = self._pick_pad_id()
        self._stop_ids = self._pick_stop_ids()
        self.steering: SteeringConfig | None = None
        self.steering_info: dict[str, Any] | None = None
        self._steerer: Any = None
        self._unmodified = False
        if steering is not None:
            self.set_steering(steering)

    # ------------------------------------------------------------------ steering
    def set_steering(self, steering: SteeringConfig | None) -> None:
        """Load a vector file and steer from now on (None: stop steering)."""
        if steering is None:
            self.steering, self.steering_info, self._steerer = None, None, None
            return
        from sycolab.engine.steering_hooks import (
            ResidualSteerer,
            file_sha256,
            read_steering_file,
        )

        vectors, meta = read_steering_file(steering.path)
        layers = sorted(vectors) if steering.layers is None else list(steering.layers)
        missing = [layer for layer in layers if layer not in vectors]
        if missing:
            raise UserInputError(
                f"--layers {' '.join(map(str, missing))}: not in {steering.path} "
                f"(it holds layers {', '.join(map(str, sorted(vectors)))})"
            )
        if not layers:
            raise UserInputError(f"--steer {steering.path}: the file holds no vectors")
        hidden = self._hidden_size()
        for layer in layers:
            if hidden is not None and vectors[layer].numel() != hidden:
                raise UserInputError(
                    f"--steer {steering.path}: layer {layer} vector has size "
                    f"{vectors[layer].numel()}, the model's hidden size is {hidden}"
                )
        trained_on = meta.get("weights_hash")
        if trained_on and trained_on != self.weights_hash and not steering.allow_foreign:
            raise UserInputError(
                f"--steer {steering.path}: the vector was trained on {meta.get('model') or 'another model'}"
                f" (weights {str(trained_on)[:12]}), not on this model (weights "
                f"{self.weights_hash[:12]}); pass --allow-foreign-vector to apply it anyway")
        steerer = ResidualSteerer(self.model, {k: vectors[k] for k in layers}, steering.multiplier)
        self.steering = steering
        self._steerer = steerer
        self.steering_info = {
            "path": str(steering.path),
            "file_sha256": file_sha256(steering.path),
            "multiplier": float(steering.multiplier),
            "layers": layers,
            "positions": "assistant turns (headers, content, continuations, generated tokens)",
            "vector_model": meta.get("model"),
            "vector_weights_hash": trained_on,
            "vector_data_hash": meta.get("data_hash"),
            "vector_n_pairs": meta.get("n_pairs"),
            "vector_matches_weights": None if trained_on is None else trained_on == self.weights_hash,
            "allow_foreign_vector": steering.allow_foreign,
        }

    def _hidden_size(self) -> int | None:
        model = self.model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        value = getattr(getattr(base, "config", None), "hidden_size", None)
        return int(value) if isinstance(value, int) else None

    @property
    def steering_active(self) -> bool:
        return self._steerer is not None and not self._unmodified

    @contextmanager
    def unmodified(self) -> Iterator[HFBackend]:
        """Steering off and any peft adapter disabled inside the block (reference passes)."""
        disable = getattr(self.model, "disable_adapter", None)
        adapter_off = disable() if self.adapter is not None and disable is not None else None
        previous = self._unmodified
        self._unmodified = True
        try:
            with adapter_off if adapter_off is not None else nullcontext():
                yield self
        finally:
            self._unmodified = previous

    def _steering_scope(self, mask: Any) -> Any:
        """This batch's steering mask (this thread) with the hooks on, or a no-op when not
        steering. The hooks are re-entrant: inside `_steering_hooks` they are already on."""
        if not self.steering_active:
            return nullcontext()
        self._steerer.begin(mask)
        return self._steerer.installed()

    def prompt_steer_mask(self, prompt: Prompt, ids: Sequence[int]) -> list[float]:
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

    # ------------------------------------------------------------------ tokens
    def _pick_pad_id(self) -> int:
        tok = self.tokenizer
        for cand in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, 0):
            if cand is not None:
                return int(cand)
        return 0

    def _pick_stop_ids(self) -> list[int]:
        ids: set[int] = set()
        eos = self.tokenizer.eos_token_id
        if eos is not None:
            ids.add(int(eos))
        gen = getattr(self.model, "generation_config", None)
        gen_eos = getattr(gen, "eos_token_id", None)
        if isinstance(gen_eos, int):
            ids.add(gen_eos)
        elif isinstance(gen_eos, list):
            ids.update(int(i) for i in gen_eos)
        vocab = self.tokenizer.get_vocab()
        for name in _STOP_TOKENS:
            if name in vocab:
                ids.add(int(vocab[name]))
        return sorted(ids)

    def render(self, prompt: Prompt) -> str:
        """The text the model sees before the scored or generated assistant text."""
        if prompt.raw is not None:
            return prompt.raw
        if not getattr(self.tokenizer, "chat_template", None):
            raise UserInputError(
                f"model {self.spec} has no chat template; use --scoring lm-eval (raw prompts) "
                "or a chat model"
            )
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return str(text) + prompt.prefill

    def _encode(self, text: str, raw: bool) -> list[int]:
        special = self.raw_add_special_tokens if raw else False
        return [int(i) for i in self.tokenizer.encode(text, add_special_tokens=special)]

    def _prefix_token_id(self) -> int:
        tok = self.tokenizer
        if tok.bos_token_id is not None:
            return int(tok.bos_token_id)
        return int(tok.eos_token_id if tok.eos_token_id is not None else self._pad_id)

    def encode_choice(self, request: ChoiceRequest) -> tuple[list[int], list[list[int]]]:
        """Context tokens and each continuation's tokens (see the module docstring)."""
        prompt = request.prompt
        raw = prompt.raw is not None
        context = self.render(prompt)
        conts = list(request.continuations)
        if raw:
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces > 0:
                tail = context[-n_spaces:]
                conts = [tail + c for c in conts]
                context = context[:-n_spaces]
            if context == "":
                return [self._prefix_token_id()], [self._encode(c, True) for c in conts]
        ctx = self._encode(context, raw)
        if not ctx:
            return [self._prefix_token_id()], [self._encode(c, raw) for c in conts]
        out: list[list[int]] = []
        for cont in conts:
            if cont == "":
                out.append([])
                continue
            whole = self._encode(context + cont, raw)
            if raw or whole[: len(ctx)] == ctx:
                out.append(whole[len(ctx) :])
            else:
                out.append(self._encode(cont, raw))
        return ctx, out

    # ------------------------------------------------------------------ scoring
    def _pack(self, index: int, ctx: list[int], conts: list[list[int]]) -> _Packed:
        ids = list(ctx)
        positions = list(range(len(ctx)))
        segments = [0] * len(ctx)
        reads: list[int] = []
        targets: list[int] = []
        owner: list[int] = []
        for k, cont in enumerate(conts):
            start = len(ids)
            for j, tok in enumerate(cont):
                reads.append(len(ctx) - 1 if j == 0 else start + j - 1)
                targets.append(tok)
                owner.append(k)
            ids.extend(cont)
            positions.extend(range(len(ctx), len(ctx) + len(cont)))
            segments.extend([k + 1] * len(cont))
        return _Packed(index, ids, positions, segments, reads, targets, owner, len(conts))

    def _batches(
        self, lengths: list[int], extra_per_row: int = 0, budget: int | None = None
    ) -> list[list[int]]:
        """Indices grouped into batches, longest first (lengths sorted descending); with
        automatic batch sizes, at least one batch per worker thread."""
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        batches: list[list[int]] = []
        current: list[int] = []
        width = 0
        most_rows = min(64, -(-len(lengths) // max(1, self.workers)))
        for i in order:
            if self.batch_size == "auto":
                new_width = max(width, lengths[i] + extra_per_row)
                too_big = bool(current) and (
                    (len(current) + 1) * new_width > (budget or self.token_budget)
                    or len(current) >= most_rows
                )
            else:
                too_big = len(current) >= self.batch_size
            if too_big:
                batches.append(current)
                current, width = [], 0
            current.append(i)
            width = max(width, lengths[i] + extra_per_row)
        if current:
            batches.append(current)
        return batches

    def _head_parts(self) -> tuple[Any, Any] | None:
        """(decoder, output head) when logits = head(decoder(...).last_hidden_state), else None."""
        model = self.model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        cfg = getattr(base, "config", None)
        for attr in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_mult"):
            value = getattr(cfg, attr, None)
            if value not in (None, 1, 1.0):
                return None
        try:
            decoder = base.get_decoder()
            head = base.get_output_embeddings()
        except (AttributeError, NotImplementedError, ValueError):
            return None
        if decoder is None or head is None or decoder is base:
            return None
        return decoder, head

    def _ctx_mask(self, prompt: Prompt, ctx: list[int]) -> list[float]:
        if not self.steering_active:
            return []
        mask = self.prompt_steer_mask(prompt, ctx)
        return mask if len(mask) == len(ctx) else [1.0] * len(ctx)

    def _row_mask(self, prompt: Prompt, ctx: list[int], row: _Packed) -> list[float]:
        """Steering flags of a packed row: the prompt's, then 1 for every continuation token."""
        if not self.steering_active:
            return []
        return self._ctx_mask(prompt, ctx) + [1.0] * (len(row.ids) - len(ctx))

    def score(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float | None]]:
        results: list[list[float | None]] = [[0.0] * len(r.continuations) for r in requests]
        plain: list[_Packed] = []
        pairs: list[tuple[_Packed, _Packed | None, Contrast]] = []
        for i, req in enumerate(requests):
            ctx, conts = self.encode_choice(req)
            row = self._pack(i, ctx, conts)
            if not row.targets:
                if progress is not None:
                    progress(1)
                continue
            row.steer = self._row_mask(req.prompt, ctx, row)
            if req.contrast is None:
                plain.append(row)
                continue
            from sycolab.engine.contrastive import check_contrast

            c = req.contrast
            check_contrast(c.alpha, c.beta)
            nctx, _ = self.encode_choice(ChoiceRequest(c.neutral, req.continuations))
            nrow = self._pack(i, nctx, conts)
            nrow.steer = self._row_mask(c.neutral, nctx, nrow)
            same = nrow.ids == row.ids and nrow.steer == row.steer  # a baseline step
            pairs.append((row, None if same else nrow, c))  # None: one pass serves both
        def plain_batch(batch: list[int]) -> tuple[list[int], list[list[float | None]]]:
            rows = [plain[i] for i in batch]
            sums: list[list[float | None]] = [list(v) for v in self._score_batch(rows)]
            return [r.index for r in rows], sums

        def contrast_batch(batch: list[int]) -> tuple[list[int], list[list[float | None]]]:
            chosen = [pairs[i] for i in batch]
            return [lead.index for lead, _, _ in chosen], self._score_contrast_batch(chosen)

        lengths = [len(lead.ids) if neut is None else 2 * max(len(lead.ids), len(neut.ids))
                   for lead, neut, _ in pairs]
        budget = self.score_token_budget
        jobs = [(plain_batch, b) for b in self._batches([len(p.ids) for p in plain], budget=budget)]
        jobs += [(contrast_batch, b) for b in self._batches(lengths, budget=budget)]
        for indices, values in self._run_batches(jobs, progress):
            for i, v in zip(indices, values, strict=True):
                results[i] = v
        return results

    def _score_batch(self, rows: list[_Packed]) -> list[list[float]]:
        import torch

        logits, targets = self._read_logits(rows)
        with torch.inference_mode():
            logprobs = torch.log_softmax(logits, dim=-1)
            token_lp = torch.gather(logprobs, 2, targets[:, :, None])[:, :, 0].cpu().double()
        sums: list[list[float]] = []
        for b, r in enumerate(rows):
            values = [0.0] * r.n_options
            for j, k in enumerate(r.owner):
                values[k] += float(token_lp[b, j])
            sums.append(values)
        return sums

    def _score_contrast_batch(
        self, pairs: list[tuple[_Packed, _Packed | None, Contrast]]
    ) -> list[list[float | None]]:
        import torch

        from sycolab.engine.contrastive import contrastive_logprobs

        n = len(pairs)
        # a neutral row identical to its leading row is not computed twice: it is the same logits
        separate = [neut for _, neut, _ in pairs if neut is not None]
        logits, targets = self._read_logits([lead for lead, _, _ in pairs] + separate)
        where, k = [], n
        for b, (_, neut, _) in enumerate(pairs):
            where.append(b if neut is None else k)
            k += neut is not None
        alpha = torch.tensor([c.alpha for _, _, c in pairs], dtype=torch.float32)[:, None, None]
        beta = torch.tensor([c.beta for _, _, c in pairs], dtype=torch.float32)[:, None, None]
        with torch.inference_mode():
            neutral_logits = logits[torch.tensor(where, device=logits.device)]
            scores, plausible = contrastive_logprobs(
                neutral_logits, logits[:n], alpha.to(logits.device), beta.to(logits.device)
            )
            tgt = targets[:n, :, None]
            token_lp = torch.gather(scores, 2, tgt)[:, :, 0].cpu().double()
            token_ok = torch.gather(plausible, 2, tgt)[:, :, 0].cpu()
        out: list[list[float | None]] = []
        for b, (lead, _, _) in enumerate(pairs):
            values: list[float | None] = [0.0] * lead.n_options
            for j, k in enumerate(lead.owner):
                current = values[k]
                if current is None:
                    continue
                values[k] = None if not bool(token_ok[b, j]) else current + float(token_lp[b, j])
            out.append(values)
        return out

    def _read_logits(self, rows: list[_Packed]) -> tuple[Any, Any]:
        """Float32 logits (rows, reads, vocab) at each row's read positions, and the targets."""
        import torch

        device = self.device
        n, width = len(rows), max(len(r.ids) for r in rows)
        n_reads = max(len(r.reads) for r in rows)
        ids = torch.full((n, width), self._pad_id, dtype=torch.long)
        pos = torch.zeros((n, width), dtype=torch.long)
        seg = torch.full((n, width), -1, dtype=torch.long)
        reads = torch.zeros((n, n_reads), dtype=torch.long)
        targets = torch.zeros((n, n_reads), dtype=torch.long)
        steer = torch.zeros((n, width), dtype=torch.float32)
        for b, r in enumerate(rows):
            length = len(r.ids)
            ids[b, :length] = torch.tensor(r.ids)
            pos[b, :length] = torch.tensor(r.positions)
            seg[b, :length] = torch.tensor(r.segments)
            m = len(r.reads)
            reads[b, :m] = torch.tensor(r.reads)
            targets[b, :m] = torch.tensor(r.targets)
            if r.steer:
                steer[b, :length] = torch.tensor(r.steer, dtype=torch.float32)
        # allowed[b, q, k]: key k precedes query q, both real, and k is context or q's own option.
        ar = torch.arange(width)
        causal = ar[None, :] <= ar[:, None]
        sq, sk = seg[:, :, None], seg[:, None, :]
        allowed = causal[None] & (sk >= 0) & (sq >= 0) & ((sk == 0) | (sk == sq))
        allowed |= torch.eye(width, dtype=torch.bool)[None]  # padding attends to itself only
        mdtype = _torch_dtype(self.dtype)
        mask = torch.zeros((n, 1, width, width), dtype=mdtype)
        mask.masked_fill_(~allowed[:, None], torch.finfo(mdtype).min)

        ids, pos, mask = ids.to(device), pos.to(device), mask.to(device)
        reads, targets = reads.to(device), targets.to(device)
        parts = self._head_parts()
        with torch.inference_mode(), self._steering_scope(steer):
            if parts is not None:
                decoder, head = parts
                out = decoder(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
                hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
                picked = torch.gather(hidden, 1, reads[:, :, None].expand(-1, -1, hidden.shape[-1]))
                logits = head(picked).float()
            else:
                out = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False
                )
                full = out.logits
                logits = torch.gather(
                    full, 1, reads[:, :, None].expand(-1, -1, full.shape[-1])
                ).float()
        return logits, targets

    # ------------------------------------------------------------------ generation
    def _prompt_ids(self, prompt: Prompt) -> tuple[list[int], list[float]]:
        ids = self._encode(self.render(prompt), prompt.raw is not None)
        if not ids:
            return [self._prefix_token_id()], [1.0]
        mask = self._ctx_mask(prompt, ids)
        return ids, mask

    def generate(
        self, requests: Sequence[GenerateRequest], progress: Progress | None = None
    ) -> list[str]:
        encoded = [self._prompt_ids(r.prompt) for r in requests]
        neutral: dict[int, tuple[list[int], list[float]]] = {}
        for i, r in enumerate(requests):
            if r.contrast is not None and r.max_new_tokens > 0:
                from sycolab.engine.contrastive import check_contrast

                check_contrast(r.contrast.alpha, r.contrast.beta)
                ids = self._prompt_ids(r.contrast.neutral)
                if ids != encoded[i]:  # identical inputs: LQCD-greedy is plain greedy
                    neutral[i] = ids
        results = [""] * len(requests)
        todo = [i for i, r in enumerate(requests) if r.max_new_tokens > 0]
        if progress is not None and len(todo) < len(requests):
            progress(len(requests) - len(todo))
        def run(idx: list[int]) -> tuple[list[int], list[str]]:
            limits = [requests[i].max_new_tokens for i in idx]
            if idx[0] not in neutral:
                return idx, self._generate_batch([encoded[i] for i in idx], limits)
            contrasts = [c for c in (requests[i].contrast for i in idx) if c is not None]
            return idx, self._generate_contrast_batch(
                [encoded[i] for i in idx], [neutral[i] for i in idx], limits, contrasts)

        jobs: list[tuple[Any, list[int]]] = []
        for group in ([i for i in todo if i not in neutral], [i for i in todo if i in neutral]):
            if not group:
                continue
            most_new = max(requests[i].max_new_tokens for i in group)
            lengths = [max(len(encoded[i][0]), len(neutral[i][0]) if i in neutral else 0)
                       * (2 if i in neutral else 1) for i in group]
            jobs += [(run, [group[b] for b in batch])
                     for batch in self._batches(lengths, extra_per_row=most_new)]
        for idx, texts in self._run_batches(jobs, progress):
            for i, text in zip(idx, texts, strict=True):
                results[i] = text
        return results

    # ------------------------------------------------------------------ parallel batches
    def _run_batches(self, jobs: list[tuple[Any, list[int]]], progress: Progress | None
                     ) -> Iterator[Any]:
        """Results of `fn(batch)` for each job, on `workers` threads of one torch thread each.

        Threads rather than intra-op parallelism: on small CPUs two single-threaded forward
        passes over half the rows each use both cores far better than one two-threaded pass
        (thin matmuls, element-wise ops and synchronisation dominate at this model size).
        Results come back in completion order; progress is reported from the calling thread.
        """
        from concurrent.futures import FIRST_COMPLETED, wait

        with self._steering_hooks():
            if self.workers <= 1 or len(jobs) <= 1:
                for fn, batch in jobs:
                    yield self._guarded(fn, batch)
                    if progress is not None:
                        progress(len(batch))
                return
            pool = self._worker_pool()
            pending = {pool.submit(self._guarded, fn, batch): len(batch) for fn, batch in jobs}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        size = pending.pop(future)
                        yield future.result()
                        if progress is not None:
                            progress(size)
            finally:
                for future in pending:
                    future.cancel()
                wait(pending)

    def _guarded(self, fn: Any, batch: list[int]) -> Any:
        try:
            return fn(batch)
        except Exception as exc:
            raise _backend_error(exc) from exc

    def _worker_pool(self) -> Any:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            def one_thread() -> None:
                import torch

                torch.set_num_threads(1)

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sycolab-engine",
                                            initializer=one_thread)
        return self._pool

    @contextmanager
    def _steering_hooks(self) -> Iterator[None]:
        """Steering hooks on for a whole score/generate call (each batch sets its own mask)."""
        if not self.steering_active:
            yield
            return
        with self._steerer.installed():
            yield

    def _finish(self, rows: list[list[int]], limits: list[int]) -> list[str]:
        stops = set(self._stop_ids)
        texts: list[str] = []
        for b, row in enumerate(rows):
            row = row[: limits[b]]
            for j, tok in enumerate(row):
                if tok in stops:
                    row = row[:j]
                    break
            texts.append(str(self.tokenizer.decode(row, skip_special_tokens=True)))
        return texts

    def _generate_batch(
        self,
        prompts: list[tuple[list[int], list[float]]],
        limits: list[int],
        contrastive: Any = None,
    ) -> list[str]:
        from sycolab.engine.greedy import greedy_generate

        store = self.prefix_cache
        if store is not None:
            store.use_mode(self._model_state())
        rows = greedy_generate(
            self.model, prompts, limits, pad_id=self._pad_id, stop_ids=self._stop_ids,
            device=self.device, cache_kwarg=self._cache_kwarg(), steering=self._steering_scope,
            prefix_cache=store, contrastive=contrastive,
        )
        return self._finish(rows, limits)

    def _generate_contrast_batch(
        self,
        leading: list[tuple[list[int], list[float]]],
        neutral: list[tuple[list[int], list[float]]],
        limits: list[int],
        contrasts: list[Contrast],
    ) -> list[str]:
        """LQCD-greedy: leading and neutral rows in one batch, both fed each chosen token."""
        from sycolab.engine.greedy import Contrastive

        return self._generate_batch(leading, limits, Contrastive(
            neutral, [c.alpha for c in contrasts], [c.beta for c in contrasts]))

    def _model_state(self) -> tuple[Any, ...]:
        """What cached key/value states depend on: steering, adapter, parameter versions."""
        steer = None
        if self.steering_active and self.steering is not None:
            steer = (self.steering_info or {}).get("file_sha256"), self.steering.multiplier, tuple(
                (self.steering_info or {}).get("layers", ()))
        versions = tuple(p._version for p in self.model.parameters())
        return steer, self._unmodified, self.adapter_hash, id(self.model), hash(versions)

    def _cache_kwarg(self) -> str:
        """The forward keyword that takes a KV cache (`cache` from transformers 5.2x)."""
        if self._kv_keyword is None:
            import inspect

            params = inspect.signature(self.model.forward).parameters
            self._kv_keyword = "cache" if "cache" in params else "past_key_values"
        return self._kv_keyword

    # ------------------------------------------------------------------ facts
    def describe(self) -> dict[str, Any]:
        model = self.model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        return {
            "spec": self.spec,
            "weights_hash": self.weights_hash,
            "model_class": type(base).__name__,
            "dtype": self.dtype,
            "device": self.device,
            "chat_template": getattr(self.tokenizer, "chat_template", None),
            "num_parameters": int(sum(p.numel() for p in model.parameters())),
            "adapter": self.adapter,
            "adapter_hash": self.adapter_hash,
            "batch_size": self.batch_size,
            "cpu_workers": self.workers,
            "kv_prefix_cache_mb": None if self.prefix_cache is None
            else self.prefix_cache.budget_bytes >> 20,
            "raw_add_special_tokens": self.raw_add_special_tokens,
            "continuation_tokenization": "lm-eval: whole[len(enc(ctx)):]",
            "steering": self.steering_info,
        }

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.model = None
        self.tokenizer = None


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _backend_error(exc: Exception) -> Exception:
    import torch

    if isinstance(exc, UserInputError | BackendError):
        return exc
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return BackendError(f"the model ran out of memory: {str(exc).splitlines()[0]}")
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def folder_weights_hash(folder: str | os.PathLike[str]) -> str:
    """sha256 over a local model folder's weight files (names + per-file sha256, cached)."""
    from sycolab.engine.smollm2 import file_sha256

    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not files:
        files = sorted(p for p in root.glob("*.json") if p.is_file())
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.relative_to(root).as_posix()}:{file_sha256(p)}\n".encode())
    return digest.hexdigest()


def load_hf_backend(
    spec: str,
    *,
    adapter: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: BatchSize = "auto",
    trust_remote_code: bool = False,
    steering: SteeringConfig | None = None,
) -> HFBackend:
    """Load `smollm2` or `hf:PATH_OR_ID` (plus an optional peft adapter) as an `HFBackend`."""
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    if spec == "smollm2":
        from sycolab.engine import smollm2

        source = str(smollm2.ensure_dequantized())
        whash = smollm2.weights_hash()
        local = True
    elif spec.startswith("hf:") and spec[3:]:
        source = spec[3:]
        local = path_like(source)
        if local:  # checked file by file here; never sent to the Hub
            source = str(check_model_folder(source, "--model hf:"))
            whash = folder_weights_hash(source)
        else:
            whash = ""
    else:
        raise UserInputError(f"--model {spec}: expected smollm2 or hf:PATH_OR_ID here")

    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, local_files_only=local)
        model: Any = AutoModelForCausalLM.from_pretrained(
            source, dtype=_torch_dtype(dtype), trust_remote_code=trust_remote_code,
            local_files_only=local,
        )
    except Exception as exc:
        raise UserInputError(f"--model {spec}: cannot load the model: {_first_line(exc)}") from exc
    if not local:
        commit = getattr(model.config, "_commit_hash", None)
        whash = f"{source}@{commit or 'unknown'}"

    adapter_hash = None
    if adapter is not None:
        apath = check_adapter_folder(adapter)
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise UserInputError(
                "--adapter needs the peft package; install it with: pip install peft"
            ) from exc
        try:
            model = PeftModel.from_pretrained(model, str(apath), local_files_only=True)
        except Exception as exc:
            raise UserInputError(
                f"--adapter {adapter}: cannot load the adapter: {_first_line(exc)}"
            ) from exc
        adapter_hash = folder_weights_hash(apath)

    try:
        model = model.to(device)
    except Exception as exc:
        raise _backend_error(exc) from exc
    model.eval()
    backend = HFBackend(
        model,
        tokenizer,
        spec=spec,
        weights_hash=whash,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        adapter=str(adapter) if adapter is not None else None,
        adapter_hash=adapter_hash,
        steering=steering,
    )
    backend.load_seconds = time.perf_counter() - start
    return backend
