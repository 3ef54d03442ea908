"""Side effects of an intervention on benign prompts (README, "Metrics", "Side effects").

Each benign prompt is teacher-forced with its fixed reference reply as the assistant turn (one
forward pass gives every position below). Each metric is `{value, ci_low, ci_high, n,
n_positions}`: per-prompt means, then the mean over prompts with a percentile bootstrap interval
(`sycolab.core.stats.bootstrap_ratio`).
- `kl_reply`: KL(modified || unmodified) of the next-token distribution at the positions that
  predict the reply's tokens. Steering applies there (the reply is assistant content), so
  steering, adapters, KTS, presets and LQCD are measured on the same positions. LQCD's modified
  distribution: log_softmax((1 + alpha) * logits(prompt + reply) - alpha * logits(leading variant
  + reply)), positions aligned from the end, tokens failing the plausibility mask dropped and the
  rest renormalized. A preset's: the model on the preset-applied prompt + reply.
- `kl_last`: the same at the first reply position (the generation header's last token).
- `kl`: the same at every prompt position (template + header), where the input is the same for
  both models; null for presets (the prompt itself differs) and LQCD alone (decoding changes,
  the model's distributions at prompt positions do not).
- `slowdown`: tokens/s of the unmodified model over tokens/s of the modified one, both timed in
  the same pass (each batch runs unmodified, then modified); null where `kl` is.
"Unmodified" = `backend.unmodified()`: steering off and any peft adapter disabled; steering and
adapters are part of the modified model, LQCD's two inputs included.

`phase_progress` is the progress bar of such long phases (side effects, steering, synthetic data).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sycolab.core.prompt_presets import PromptPreset
from sycolab.core.stats import DEFAULT_B, bootstrap_ratio
from sycolab.engine.base import Backend, Prompt
from sycolab.engine.local_model import LocalModel, require_local
from sycolab.engine.padding import padded_batch

Advance = Callable[[int], None]
_ACTIVE: ContextVar[Any] = ContextVar("sycolab_phase_progress", default=None)


class PhaseBar:
    """One phase's bar: ``bar(n)`` advances it by n, ``bar.note(text)`` names the current step,
    ``bar.finish()`` ends it early as complete."""

    def __init__(self, progress: Any = None, task: Any = None, description: str = "",
                 unit: str = "it") -> None:
        self._progress, self._task, self._description, self._unit = (
            progress, task, description, unit)

    def __call__(self, n: int) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._task, n)
        speed = next((t.speed for t in self._progress.tasks if t.id == self._task), None)
        self._progress.update(self._task, rate=f"{speed:.2f} {self._unit}/s" if speed else "")

    def finish(self) -> None:
        """Show the bar full at what was done (a phase that stopped before its upper bound)."""
        if self._progress is not None:
            done = next((t.completed for t in self._progress.tasks if t.id == self._task), 0)
            self._progress.update(self._task, total=done)

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self._description}: {text}")


@contextmanager
def phase_progress(
    description: str, total: int | None, *, enabled: bool | None = True, unit: str = "it"
) -> Iterator[PhaseBar]:
    """A bar on stderr for one long phase (columns as `RunProgress`), as a `PhaseBar`.

    Inside another phase it is a row of that phase's display, and inside a disabled phase it is
    off. `enabled=None`: on when nested in a shown phase or when stderr is a terminal.
    """
    from rich.console import Console
    from rich.progress import Progress

    from sycolab.evaluation.progress import bar_columns

    outer = _ACTIVE.get()
    if enabled is None:
        enabled = isinstance(outer, Progress) or sys.stderr.isatty()
    if not enabled or outer is False:
        token = _ACTIVE.set(False)
        try:
            yield PhaseBar()
        finally:
            _ACTIVE.reset(token)
        return
    if isinstance(outer, Progress):
        task = outer.add_task(description, total=total, rate="")
        try:
            yield PhaseBar(outer, task, description, unit)
        finally:
            outer.remove_task(task)
        return
    bar = Progress(*bar_columns(rate=True), console=Console(stderr=True))
    token = _ACTIVE.set(bar)
    try:
        with bar:
            yield PhaseBar(bar, bar.add_task(description, total=total, rate=""), description, unit)
    finally:
        _ACTIVE.reset(token)


def _interval(values: list[float], seed: int, positions: int) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "n_positions": 0}
    ids = [str(i) for i in range(n)]
    boot = bootstrap_ratio(ids, values, [1.0] * n, b=DEFAULT_B, seed=seed)
    return {"value": sum(values) / n, "ci_low": boot.ci_low, "ci_high": boot.ci_high, "n": n,
            "n_positions": positions}


Encoded = tuple[list[int], list[float]]


@dataclass(frozen=True)
class _Row:
    """One benign prompt, teacher-forced with its reply: the unmodified input (`ref`), the input
    the modified model sees (`mod`: preset applied), LQCD's leading input, and the split point
    (`n_ctx` prompt tokens of `ref`, then `n_reply` reply tokens)."""

    ref: Encoded
    mod: Encoded
    lead: Encoded | None
    n_ctx: int
    n_reply: int


def _with_reply(prompt: Prompt, reply: str, preset: PromptPreset | None) -> Prompt:
    if prompt.raw is not None:
        return Prompt(raw=prompt.raw + reply)
    messages = preset.apply(prompt.messages) if preset is not None else prompt.messages
    return Prompt(messages=messages, prefill=prompt.prefill + reply)


def _encode(backend: LocalModel, prompt: Prompt, reply: str, leading: Prompt | None,
            preset: PromptPreset | None) -> _Row:
    ctx = backend.prompt_tokens(prompt)[0]
    ref = backend.prompt_tokens(_with_reply(prompt, reply, None))
    n_ctx = next((i for i, (a, b) in enumerate(zip(ctx, ref[0], strict=False)) if a != b),
                 min(len(ctx), len(ref[0])))  # where the reply's tokens begin
    n_ctx = max(1, n_ctx)
    mod = ref if preset is None else backend.prompt_tokens(_with_reply(prompt, reply, preset))
    lead = (backend.prompt_tokens(_with_reply(leading, reply, preset))
            if leading is not None else None)
    return _Row(ref, mod, lead, n_ctx, len(ref[0]) - n_ctx)


def _window(length: int, n_reply: int) -> slice:
    """The positions predicting the reply's tokens, counted from the end of a row (so inputs of
    different lengths line up); the first reply position alone for an empty reply."""
    first = length - 1 - n_reply
    return slice(first, first + max(n_reply, 1))


def _kl_rows(lp_mod: Any, lp_ref: Any, keep: Any = None) -> Any:
    """KL(mod || ref) per position; `keep` (bool, same shape) drops the masked tokens."""
    import torch

    terms = lp_mod.exp() * (lp_mod - lp_ref)
    if keep is not None:
        terms = torch.where(keep, terms, torch.zeros_like(terms))
    return terms.sum(-1).clamp(min=0.0).double().cpu()


def _logits(backend: LocalModel, rows: list[Encoded], *, plain: bool) -> tuple[Any, float]:
    """Logits of padded `rows` (unmodified with `plain`, else steered at their flags), seconds."""
    ids, attn, steer = padded_batch(rows, backend.pad_id)
    t0 = time.perf_counter()
    if plain:
        with backend.unmodified():
            out = backend.forward_logits(ids, attn)
    else:
        out = backend.forward_logits(ids, attn, steer)
    return out, time.perf_counter() - t0


def measure_side_effects(
    backend: Backend | LocalModel,
    prompts: Sequence[Prompt],
    *,
    replies: Sequence[str] | None = None,
    leading: Sequence[Prompt] | None = None,
    lqcd: tuple[float, float] | None = None,
    preset: PromptPreset | None = None,
    benign: dict[str, Any] | None = None,
    batch_size: int = 8,
    seed: int = 0,
    progress: Advance | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, per_prompt) of a local model's interventions (module docstring): steering and/or
    an adapter (the backend's own), a prompt `preset`, LQCD `lqcd` = (alpha, beta) contrasting
    each prompt with its `leading` variant. `replies` (default: empty) are teacher-forced as the
    assistant turn; `progress(n)` after each batch of n prompts."""
    import torch

    from sycolab.engine.contrastive import contrastive_logprobs

    backend = require_local(backend, "side effects")
    if lqcd is not None and (leading is None or len(leading) != len(prompts)):
        raise ValueError("LQCD side effects need one leading prompt per benign prompt")
    texts = list(replies) if replies is not None else [""] * len(prompts)
    rows = [_encode(backend, p, texts[i], leading[i] if lqcd is not None and leading else None,
                    preset) for i, p in enumerate(prompts)]
    # `kl` and slowdown compare the same input: not defined when a preset rewrites the prompt
    # or when LQCD alone leaves every prompt position's distribution as it is
    modified = backend.steering is not None or backend.adapter is not None
    same_input = preset is None and (lqcd is None or modified)
    alpha, beta = lqcd if lqcd is not None else (0.0, 0.0)
    per_prompt: list[dict[str, Any]] = []
    t_plain = t_mod = 0.0
    n_tokens = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        ref, dt = _logits(backend, [r.ref for r in chunk], plain=True)
        t_plain += dt
        mod, dt = _logits(backend, [r.mod for r in chunk], plain=False)
        t_mod += dt
        lead = (_logits(backend, [r.lead for r in chunk if r.lead is not None], plain=False)[0]
                if lqcd is not None else None)
        n_tokens += sum(len(r.ref[0]) for r in chunk)
        with torch.inference_mode():
            for b, r in enumerate(chunk):
                lp_ref = torch.log_softmax(ref[b, : len(r.ref[0])].float(), dim=-1)
                mod_logits = mod[b, : len(r.mod[0])].float()
                ref_win = lp_ref[_window(len(r.ref[0]), r.n_reply)]
                mod_win = mod_logits[_window(len(r.mod[0]), r.n_reply)]
                if lead is not None and r.lead is not None:
                    lead_win = lead[b, : len(r.lead[0])].float()[
                        _window(len(r.lead[0]), r.n_reply)]
                    scores, keep = contrastive_logprobs(mod_win, lead_win, alpha, beta)
                    lp_win = torch.log_softmax(scores.masked_fill(~keep, -math.inf), dim=-1)
                    reply_kl = _kl_rows(lp_win, ref_win, keep)
                else:
                    reply_kl = _kl_rows(torch.log_softmax(mod_win, dim=-1), ref_win)
                row: dict[str, Any] = {
                    "index": start + b, "prompt_key": prompts[start + b].key(),
                    "n_positions": r.n_ctx, "n_reply_positions": r.n_reply,
                    "kl": None, "kl_max": None,
                    "kl_reply": float(reply_kl.mean()) if r.n_reply else None,
                    "kl_last": float(reply_kl[0]),
                }
                if same_input:
                    lp_mod = torch.log_softmax(mod_logits[: r.n_ctx], dim=-1)
                    prompt_kl = _kl_rows(lp_mod, lp_ref[: r.n_ctx])
                    row.update(kl=float(prompt_kl.mean()), kl_max=float(prompt_kl.max()))
                per_prompt.append(row)
        if progress is not None:
            progress(len(chunk))
    tps_plain = n_tokens / t_plain if t_plain > 0 and same_input else None
    tps_mod = n_tokens / t_mod if t_mod > 0 and same_input else None
    with_kl = [r for r in per_prompt if r["kl"] is not None]
    with_reply = [r for r in per_prompt if r["kl_reply"] is not None]
    summary: dict[str, Any] = {
        "kl": _interval([r["kl"] for r in with_kl], seed,
                        sum(r["n_positions"] for r in with_kl)) if same_input else None,
        "kl_reply": _interval([r["kl_reply"] for r in with_reply], seed,
                              sum(r["n_reply_positions"] for r in with_reply)),
        "kl_last": _interval([r["kl_last"] for r in per_prompt], seed, len(per_prompt)),
        "slowdown": (tps_plain / tps_mod) if tps_plain and tps_mod else None,
        "tokens_per_s_unmodified": tps_plain,
        "tokens_per_s_modified": tps_mod,
        "n_tokens": n_tokens,
        "benign": benign if benign is not None else {"name": "custom", "size": len(prompts),
                                                      "hash": _prompts_hash(prompts)},
        "modification": {"steering": backend.steering_info, "adapter": backend.adapter,
                         "adapter_hash": backend.adapter_hash,
                         "preset": preset.name if preset is not None else None,
                         "lqcd": ({"alpha": lqcd[0], "beta": lqcd[1]} if lqcd is not None
                                  else None)},
        "kl_definition": KL_DEFINITION,
    }
    if not same_input:
        summary["kl_null_reason"] = (
            "a prompt preset changes the prompt itself, so prompt positions have no counterpart"
            if preset is not None else
            "LQCD changes only the decoding rule: the model's distribution at prompt positions is "
            "unchanged; its effect shows at the reply positions (kl_reply, kl_last)")
    return summary, per_prompt


KL_DEFINITION = {
    "kl": "KL(modified || unmodified) of the next-token distribution at every position of the "
          "benign prompt (chat template + generation header), averaged per prompt, then over "
          "prompts; null when the input differs (presets) or only decoding changes (LQCD alone)",
    "kl_reply": "the same at the positions predicting the tokens of the prompt's fixed "
                "reference reply, teacher-forced as the assistant turn, averaged per prompt, then "
                "over prompts; LQCD: log_softmax((1+a) logits(neutral + reply) - a logits("
                "leading + reply)) renormalized over plausible tokens; presets: the model on the "
                "preset-applied prompt + reply; reference: the unmodified model on the plain "
                "prompt + reply",
    "kl_last": "the same at the first reply position (the generation header's last token)",
    "interval": "percentile bootstrap over prompts; n = prompts, n_positions = positions",
}


def _prompts_hash(prompts: Sequence[Prompt]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps([p.key() for p in prompts]).encode()).hexdigest()
