"""Local causal LMs through transformers: the embedded SmolLM2 (`smollm2`) and `hf:PATH_OR_ID`.

Rendering (`engine.tokens`)
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
    Each request is packed into one sequence with a 4D attention mask (`engine.scoring`), so the
    shared prompt is computed once. Requests are sorted by packed length and batched
    (`engine.scheduler`; on CPU, on ``workers`` threads of one torch thread each), so results do
    not depend on batch size or padding.

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

Token level (`LocalModel`)
    Prompt log-probabilities, sampled decoding (`engine.sampling`), forward logits (with or
    without gradients) and named hook points (`engine.hook_points`), all steered as above.

LQCD (``request.contrast``)
    The neutral and leading prompts run in the same batch; scores use `engine.contrastive`. For
    choice scoring the continuation tokens are those of the leading prompt, appended to both
    contexts. Generation is LQCD-greedy with both sequences advanced through their KV caches.
    When the neutral input is token for token the leading one (a protocol's baseline step), it is
    not computed twice: choice scores use the same logits as both (so the plausibility mask still
    applies), and generation is plain greedy, which LQCD-greedy is on identical inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import (
    Backend,
    ChoiceRequest,
    Contrast,
    GenerateRequest,
    Progress,
    Prompt,
    SteeringConfig,
)
from sycolab.engine.hook_points import HookPoints, model_dimensions
from sycolab.engine.prefix_cache import PrefixCache
from sycolab.engine.sampling import Decoded, DecodeJob, decode_batch
from sycolab.engine.scheduler import BatchSize, Job, WorkerPool, default_workers, plan_batches
from sycolab.engine.scoring import Packed, PackedReader, pack
from sycolab.engine.token_logprobs import PROMPT_LOGPROB_TOKENS, TokenLogprob, prompt_logprob_batch
from sycolab.engine.tokens import ChatTokens

Encoded = tuple[list[int], list[float]]


class HFBackend(Backend):
    """A transformers causal LM as a sycolab backend and a `LocalModel`."""

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
            raise UserInputError("expected a positive integer or auto",
                                 param="batch_size", value=batch_size)
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
        self.tokens = ChatTokens(
            tokenizer, raw_add_special_tokens=raw_add_special_tokens,
            no_template=f"model {spec} has no chat template; use --scoring lm-eval (raw prompts) "
                        "or a chat model")
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
        self._pool = WorkerPool(self.workers)
        self._kv_keyword: str | None = None
        self.model.eval()
        self.pad_id = self.tokens.pad_id
        self.stop_ids = self.tokens.stop_ids(getattr(model, "generation_config", None))
        self.hidden_size, self.num_layers, self.num_heads, self.head_dim = model_dimensions(model)
        self._hooks: HookPoints | None = None
        self.steering: SteeringConfig | None = None
        self.steering_info: dict[str, Any] | None = None
        self._steerer: Any = None
        self._unmodified = False
        if steering is not None:
            self.set_steering(steering)

    # ------------------------------------------------------------------ steering
    def set_steering(self, steering: SteeringConfig | None) -> None:
        """Load a vector file and steer from now on (None: stop steering). The prefix cache
        starts empty, as after a fresh load with this steering."""
        if self.prefix_cache is not None:
            self.prefix_cache.clear()
        if steering is None:
            self.steering, self.steering_info, self._steerer = None, None, None
            return
        from sycolab.engine.steering_hooks import build_steerer

        self._steerer, self.steering_info = build_steerer(
            self.model, steering, weights_hash=self.weights_hash, hidden_size=self.hidden_size)
        self.steering = steering

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

    @contextmanager
    def steering_scope(self, mask: Any) -> Iterator[None]:
        """This batch's steering mask (this thread) with the hooks on inside the block, or a
        no-op when not steering. The hooks are re-entrant: inside a score/generate call they are
        already on; the mask is set on entering the block."""
        if not self.steering_active:
            yield
            return
        self._steerer.begin(mask)
        with self._steerer.installed():
            yield

    def prompt_steer_mask(self, prompt: Prompt, ids: Sequence[int]) -> list[float]:
        """1.0 for each prompt token inside an assistant turn (all tokens for raw prompts)."""
        return self.tokens.steer_mask(prompt, ids)

    # ------------------------------------------------------------------ tokens
    def render(self, prompt: Prompt) -> str:
        """The text the model sees before the scored or generated assistant text."""
        return self.tokens.render(prompt)

    def encode_choice(self, request: ChoiceRequest) -> tuple[list[int], list[list[int]]]:
        """Context tokens and each continuation's tokens (see the module docstring)."""
        return self.tokens.encode_choice(request)

    def prompt_tokens(self, prompt: Prompt) -> Encoded:
        """The prompt's token ids and steering flags (empty when not steering)."""
        ids = self.tokens.encode(self.render(prompt), prompt.raw is not None)
        if not ids:
            return [self.tokens.prefix_id], [1.0]
        return ids, self._ctx_mask(prompt, ids)

    def _ctx_mask(self, prompt: Prompt, ctx: list[int]) -> list[float]:
        if not self.steering_active:
            return []
        mask = self.prompt_steer_mask(prompt, ctx)
        return mask if len(mask) == len(ctx) else [1.0] * len(ctx)

    def _row_mask(self, prompt: Prompt, ctx: list[int], row: Packed) -> list[float]:
        """Steering flags of a packed row: the prompt's, then 1 for every continuation token."""
        if not self.steering_active:
            return []
        return self._ctx_mask(prompt, ctx) + [1.0] * (len(row.ids) - len(ctx))

    # ------------------------------------------------------------------ batches
    def _batches(self, lengths: list[int], extra_per_row: int = 0, budget: int | None = None
                 ) -> list[list[int]]:
        return plan_batches(lengths, batch_size=self.batch_size,
                            token_budget=budget or self.token_budget, workers=self.workers,
                            extra_per_row=extra_per_row)

    def _run_batches(self, jobs: list[Job], progress: Progress | None) -> Iterator[Any]:
        """Each job's result on the worker threads, steering hooks on for the whole call (each
        batch sets its own mask)."""
        hooks = self._steerer.installed() if self.steering_active else nullcontext()
        return self._pool.run(jobs, progress, hooks)

    # ------------------------------------------------------------------ scoring
    def score(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float | None]]:
        results: list[list[float | None]] = [[0.0] * len(r.continuations) for r in requests]
        plain: list[Packed] = []
        pairs: list[tuple[Packed, Packed | None, Contrast]] = []
        for i, req in enumerate(requests):
            ctx, conts = self.encode_choice(req)
            row = pack(i, ctx, conts)
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
            nrow = pack(i, nctx, conts)
            nrow.steer = self._row_mask(c.neutral, nctx, nrow)
            same = nrow.ids == row.ids and nrow.steer == row.steer  # a baseline step
            pairs.append((row, None if same else nrow, c))  # None: one pass serves both
        reader = PackedReader(self.model, self.pad_id, self.device, self.dtype,
                              self.steering_scope)

        def plain_batch(batch: list[int]) -> tuple[list[int], list[list[float | None]]]:
            rows = [plain[i] for i in batch]
            sums: list[list[float | None]] = [list(v) for v in reader.score(rows)]
            return [r.index for r in rows], sums

        def contrast_batch(batch: list[int]) -> tuple[list[int], list[list[float | None]]]:
            chosen = [pairs[i] for i in batch]
            return [lead.index for lead, _, _ in chosen], reader.score_contrast(chosen)

        lengths = [len(lead.ids) if neut is None else 2 * max(len(lead.ids), len(neut.ids))
                   for lead, neut, _ in pairs]
        budget = self.score_token_budget
        jobs: list[Job] = [(plain_batch, b)
                           for b in self._batches([len(p.ids) for p in plain], budget=budget)]
        jobs += [(contrast_batch, b) for b in self._batches(lengths, budget=budget)]
        for indices, values in self._run_batches(jobs, progress):
            for i, v in zip(indices, values, strict=True):
                results[i] = v
        return results

    # ------------------------------------------------------------------ generation
    def generate(
        self, requests: Sequence[GenerateRequest], progress: Progress | None = None
    ) -> list[str]:
        encoded = [self.prompt_tokens(r.prompt) for r in requests]
        neutral: dict[int, Encoded] = {}
        for i, r in enumerate(requests):
            if r.contrast is not None and r.max_new_tokens > 0:
                from sycolab.engine.contrastive import check_contrast

                check_contrast(r.contrast.alpha, r.contrast.beta)
                ids = self.prompt_tokens(r.contrast.neutral)
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

        jobs: list[Job] = []
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

    def _finish(self, rows: list[list[int]], limits: list[int]) -> list[str]:
        stops = set(self.stop_ids)
        texts: list[str] = []
        for b, row in enumerate(rows):
            row = row[: limits[b]]
            for j, tok in enumerate(row):
                if tok in stops:
                    row = row[:j]
                    break
            texts.append(self.tokens.decode(row, skip_special=True))
        return texts

    def _prefix_store(self) -> PrefixCache | None:
        """The prefix store, keyed by the current model state (shared by greedy and sampled)."""
        store = self.prefix_cache
        if store is not None:
            store.use_mode(self._model_state())
        return store

    def _generate_batch(self, prompts: list[Encoded], limits: list[int],
                        contrastive: Any = None) -> list[str]:
        from sycolab.engine.greedy import greedy_generate

        rows = greedy_generate(
            self.model, prompts, limits, pad_id=self.pad_id, stop_ids=self.stop_ids,
            device=self.device, cache_kwarg=self.cache_kwarg(), steering=self.steering_scope,
            prefix_cache=self._prefix_store(), contrastive=contrastive,
        )
        return self._finish(rows, limits)

    def _generate_contrast_batch(self, leading: list[Encoded], neutral: list[Encoded],
                                 limits: list[int], contrasts: list[Contrast]) -> list[str]:
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

    def cache_kwarg(self) -> str:
        """The forward keyword that takes a KV cache (`cache` from transformers 5.2x)."""
        if self._kv_keyword is None:
            import inspect

            inner = getattr(self.model, "get_base_model", None)  # peft's forward takes **kwargs
            params = inspect.signature((inner() if callable(inner) else self.model).forward
                                       ).parameters
            self._kv_keyword = "cache" if "cache" in params else "past_key_values"
        return self._kv_keyword

    # ------------------------------------------------------------------ token level
    def forward_logits(self, ids: Any, attention_mask: Any = None, steer_mask: Any = None, *,
                       grad: bool = False, keep: int = 0) -> Any:
        """The model's logits for `ids` (batch, seq), steered at `steer_mask` (None: every
        position), with gradients only when `grad`; `keep` > 0 keeps the last positions only."""
        import torch

        kwargs: dict[str, Any] = {"use_cache": False}
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask.to(self.device)
        if keep > 0:
            kwargs["logits_to_keep"] = keep
        mode = torch.enable_grad() if grad else torch.inference_mode()
        with mode, self.steering_scope(steer_mask):
            return self.model(input_ids=ids.to(self.device), **kwargs).logits

    def hook_points(self) -> list[str]:
        """`blocks.L.attn.head.H`, `blocks.L.mlp` and `blocks.L.residual` for every layer."""
        return self._hook_points().names()

    def hooked(self, point: str, fn: Callable[[Any], Any]) -> AbstractContextManager[None]:
        """`fn(activation)` at `point` in every forward of the block (a returned tensor
        replaces the activation); see `sycolab.engine.hook_points`."""
        return self._hook_points().hooked(point, fn)

    def _hook_points(self) -> HookPoints:
        if self._hooks is None:
            self._hooks = HookPoints(self.model, self.num_heads, self.head_dim)
        return self._hooks

    def next_token_logprobs(self, prompt: Prompt) -> list[float]:
        """Log-probabilities over the vocabulary at the first reply position, steered at the
        prompt's steered tokens."""
        import torch

        ids, mask = self.prompt_tokens(prompt)
        steer = torch.tensor([mask], dtype=torch.float32) if mask else None
        logits = self.forward_logits(torch.tensor([ids]), steer_mask=steer)[0, -1]
        with torch.inference_mode():
            lp = torch.log_softmax(logits.float(), dim=-1)
        return [float(v) for v in lp.double().cpu().tolist()]

    def prompt_logprobs(self, prompts: Sequence[Encoded], top_k: int
                        ) -> list[list[TokenLogprob | None]]:
        """Per (ids, steering flags) prompt, each token's log-probability given the tokens
        before it (None first), with the `top_k` likeliest alternatives."""
        results: list[list[TokenLogprob | None]] = [[] for _ in prompts]

        def run(idx: list[int]) -> tuple[list[int], list[list[TokenLogprob | None]]]:
            return idx, prompt_logprob_batch(
                self.model, [prompts[i] for i in idx], top_k, pad_id=self.pad_id,
                device=self.device, steering=self.steering_scope)

        # full-vocabulary logits at every position: batches bounded by tokens, whatever batch_size
        batches = plan_batches([len(ids) for ids, _ in prompts], batch_size="auto",
                               token_budget=PROMPT_LOGPROB_TOKENS, workers=self.workers)
        for idx, rows in self._run_batches([(run, b) for b in batches], None):
            for i, row in zip(idx, rows, strict=True):
                results[i] = row
        return results

    def decode(self, jobs: Sequence[DecodeJob]) -> list[Decoded]:
        """Greedy or sampled continuations of `jobs` (engine batches, threads and prefix
        store), steered at each job's flags and every generated token."""
        if not jobs:
            return []
        store = self._prefix_store()
        kwarg = self.cache_kwarg()

        def run(idx: list[int]) -> tuple[list[int], list[Decoded]]:
            return idx, decode_batch(self.model, [jobs[i] for i in idx], pad_id=self.pad_id,
                                     stop_ids=self.stop_ids, device=self.device,
                                     steering=self.steering_scope, cache_kwarg=kwarg,
                                     prefix_cache=store)

        batches = self._batches([len(j.ids) for j in jobs],
                                extra_per_row=max(j.max_new for j in jobs))
        results: list[Decoded] = [Decoded() for _ in jobs]
        for idx, decoded in self._run_batches([(run, b) for b in batches], None):
            for i, d in zip(idx, decoded, strict=True):
                results[i] = d
        return results

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
        self._pool.close()
        self.model = None
        self.tokenizer = None

