"""Side effects of an intervention on benign prompts (contracts section 5, "Side effects").

- `kl`: KL(modified || unmodified) of the next-token distribution at every position of each
  benign prompt (chat template + generation header), averaged per prompt, then the mean over
  prompts with a percentile bootstrap interval (`sycolab.core.stats.bootstrap_ratio`);
  `kl_last` is the same at the last position only (the first reply token's distribution).
- `slowdown`: tokens/s of the unmodified model over tokens/s of the modified one, both timed in
  the same pass (each batch runs unmodified, then modified).
"Unmodified" = `backend.unmodified()`: steering off and any peft adapter disabled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sycolab.core.stats import DEFAULT_B, bootstrap_ratio
from sycolab.engine.base import Prompt


def _interval(values: list[float], seed: int) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    ids = [str(i) for i in range(n)]
    boot = bootstrap_ratio(ids, values, [1.0] * n, b=DEFAULT_B, seed=seed)
    return {"value": sum(values) / n, "ci_low": boot.ci_low, "ci_high": boot.ci_high, "n": n}


def measure_side_effects(
    backend: Any,
    prompts: Sequence[Prompt],
    *,
    benign: dict[str, Any] | None = None,
    batch_size: int = 8,
    seed: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, per_prompt) for an `HFBackend` with steering and/or an adapter."""
    import torch

    encoded = []
    for p in prompts:
        ids, mask = backend._prompt_ids(p)
        encoded.append((ids, mask))
    per_prompt: list[dict[str, Any]] = []
    t_plain = t_mod = 0.0
    n_tokens = 0
    model = backend.model
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids_t = torch.full((len(chunk), width), backend._pad_id, dtype=torch.long)
        attn = torch.zeros((len(chunk), width), dtype=torch.long)
        steer = torch.zeros((len(chunk), width), dtype=torch.float32)
        for b, (ids, mask) in enumerate(chunk):
            ids_t[b, : len(ids)] = torch.tensor(ids)
            attn[b, : len(ids)] = 1
            if mask:
                steer[b, : len(ids)] = torch.tensor(mask, dtype=torch.float32)
        dev_ids, dev_attn = ids_t.to(backend.device), attn.to(backend.device)
        with torch.inference_mode():
            with backend.unmodified():
                t0 = time.perf_counter()
                ref = model(input_ids=dev_ids, attention_mask=dev_attn, use_cache=False).logits
                t_plain += time.perf_counter() - t0
            t0 = time.perf_counter()
            with backend._steering_scope(steer):
                mod = model(input_ids=dev_ids, attention_mask=dev_attn, use_cache=False).logits
            t_mod += time.perf_counter() - t0
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
