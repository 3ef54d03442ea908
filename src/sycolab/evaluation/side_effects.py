"""Side effects of an intervention on benign prompts (README, "Metrics", "Side effects").

- `kl`: KL(modified || unmodified) of the next-token distribution at every position of each
  benign prompt (chat template + generation header), averaged per prompt, then the mean over
  prompts with a percentile bootstrap interval (`sycolab.core.stats.bootstrap_ratio`);
  `kl_last` is the same at the last position only (the first reply token's distribution).
- `slowdown`: tokens/s of the unmodified model over tokens/s of the modified one, both timed in
  the same pass (each batch runs unmodified, then modified).
"Unmodified" = `backend.unmodified()`: steering off and any peft adapter disabled.

`phase_progress` is the progress bar of such long phases (side effects, steering, synthetic data).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=Console(stderr=True),
    )
    token = _ACTIVE.set(bar)
    try:
        with bar:
            yield PhaseBar(bar, bar.add_task(description, total=total, rate=""), description, unit)
    finally:
        _ACTIVE.reset(token)


def _interval(values: list[float], seed: int) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    ids = [str(i) for i in range(n)]
    boot = bootstrap_ratio(ids, values, [1.0] * n, b=DEFAULT_B, seed=seed)
    return {"value": sum(values) / n, "ci_low": boot.ci_low, "ci_high": boot.ci_high, "n": n}


def measure_side_effects(
    backend: Backend | LocalModel,
    prompts: Sequence[Prompt],
    *,
    benign: dict[str, Any] | None = None,
    batch_size: int = 8,
    seed: int = 0,
    progress: Advance | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, per_prompt) for a local model with steering and/or an adapter; `progress(n)`
    after each batch of n prompts."""
    import torch
    backend = require_local(backend, "side effects")

    encoded = [backend.prompt_tokens(p) for p in prompts]
    per_prompt: list[dict[str, Any]] = []
    t_plain = t_mod = 0.0
    n_tokens = 0
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        ids_t, attn, steer = padded_batch(chunk, backend.pad_id)
        with backend.unmodified():
            t0 = time.perf_counter()
            ref = backend.forward_logits(ids_t, attn)
            t_plain += time.perf_counter() - t0
        t0 = time.perf_counter()
        mod = backend.forward_logits(ids_t, attn, steer)
        t_mod += time.perf_counter() - t0
        with torch.inference_mode():
            lp_ref = torch.log_softmax(ref.float(), dim=-1)
            lp_mod = torch.log_softmax(mod.float(), dim=-1)
            kl = (lp_mod.exp() * (lp_mod - lp_ref)).sum(-1).clamp(min=0.0).cpu().double()
        n_tokens += int(attn.sum())
        for b, (ids, _) in enumerate(chunk):
            row = kl[b, : len(ids)]
            index = start + b
            per_prompt.append({
                "index": index,
                "prompt_key": prompts[index].key(),
                "n_positions": len(ids),
                "kl": float(row.mean()),
                "kl_last": float(row[-1]),
                "kl_max": float(row.max()),
            })
        if progress is not None:
            progress(len(chunk))
    tps_plain = n_tokens / t_plain if t_plain > 0 else None
    tps_mod = n_tokens / t_mod if t_mod > 0 else None
    summary = {
        "kl": _interval([r["kl"] for r in per_prompt], seed),
        "kl_last": _interval([r["kl_last"] for r in per_prompt], seed),
        "slowdown": (tps_plain / tps_mod) if tps_plain and tps_mod else None,
        "tokens_per_s_unmodified": tps_plain,
        "tokens_per_s_modified": tps_mod,
        "n_tokens": n_tokens,
        "benign": benign if benign is not None else {"name": "custom", "size": len(prompts),
                                                      "hash": _prompts_hash(prompts)},
        "modification": {"steering": backend.steering_info, "adapter": backend.adapter,
                         "adapter_hash": backend.adapter_hash},
        "kl_definition": "KL(modified || unmodified) of next-token distributions, every position "
                         "of each benign prompt, averaged per prompt; mean over prompts with a "
                         "bootstrap interval",
    }
    return summary, per_prompt


def _prompts_hash(prompts: Sequence[Prompt]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps([p.key() for p in prompts]).encode()).hexdigest()
