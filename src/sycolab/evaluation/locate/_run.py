"""`run_locate`: which attention heads and MLP blocks carry the pressure's effect on the answer."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sycolab.core.errors import UserInputError
from sycolab.core.selection import check_limit
from sycolab.core.stats import DEFAULT_B
from sycolab.core.suites import load_suite
from sycolab.engine.base import Backend
from sycolab.engine.local_model import LocalModel, require_local
from sycolab.evaluation.locate import patching
from sycolab.evaluation.locate._partial import PartialStore
from sycolab.evaluation.locate._progress import LocateProgress
from sycolab.evaluation.locate._summary import summarize, verify_order
from sycolab.evaluation.locate.patching import attribute, components, make_batch
from sycolab.evaluation.locate.prompt_pairs import (
    TRIAL_FILTERS,
    Pairs,
    describe_pairs,
    region_text,
    run_trials,
)
from sycolab.evaluation.plan import build_plan
from sycolab.evaluation.runner import Runner
from sycolab.runs.jsonio import write_json_atomic

LOCATE_FILE = "locate.json"
PARTIAL = "partial"  # finished chunks of an unfinished run (`_partial`)
POSITIONS = ("from the start of the assistant turn (the chat template's generation prompt) to the "
             "last answer token, aligned from the end; earlier positions are not patched")
Tick = Callable[[str, int, int], None]
"""Told (stage, done, total) as work advances."""


def _backend(model: str | LocalModel | Backend, device: str) -> Any:
    """The model as a loaded backend that is also a `LocalModel` (typed Any: both at once)."""
    if isinstance(model, str):
        from sycolab.engine.spec import check_spec, is_local, load_backend

        check_spec(model)
        if not is_local(model):
            raise UserInputError("localisation needs a local transformers model (smollm2 or "
                                 "hf:PATH): it reads and patches activations",
                                 param="model", value=model)
        model = load_backend(model, device=device, dtype="float32")
    return require_local(model, "localisation")


def _counter(bar: LocateProgress, protocol: str, total: int) -> Callable[[int], None]:
    def done(n: int) -> None:
        bar.tick(f"trials ({protocol})", n, total, advance=True)

    return done


def _chunks(n: int, size: int) -> list[range]:
    return [range(s, min(n, s + size)) for s in range(0, n, size)]


def _identity(backend: LocalModel, found: Pairs, chunk: int) -> dict[str, Any]:
    """What a chunk's numbers depend on (the partial store's key)."""
    tokens = hashlib.sha256(json.dumps(
        [[p.key, p.clean, p.corrupt, p.region, p.cont_len] for p in found.pairs]).encode())
    return {"weights": backend.weights_hash, "adapter": backend.adapter_hash,
            "steering": backend.steering_info, "protocol": found.protocol, "chunk": chunk,
            "pairs": tokens.hexdigest(), "version": 1}


def _locate_pairs(backend: LocalModel, found: Pairs, *, verify_top: int, chunk: int,
                  b: int, seed: int, tick: Tick, partial: Path | None) -> dict[str, Any]:
    """Attribution over every component, then real patching of the top `verify_top`; finished
    chunks are kept under `partial` (when given) and reused by a re-run."""
    comps = components(backend.num_layers, backend.num_heads)
    pairs = found.pairs
    ids = [p.key for p in pairs]
    store = PartialStore(partial, _identity(backend, found, chunk))
    clean, corrupt = np.zeros(len(pairs)), np.zeros(len(pairs))
    att = np.zeros((len(pairs), len(comps)))
    started = time.perf_counter()
    for n, part in enumerate(_chunks(len(pairs), chunk)):
        sl = slice(part.start, part.stop)
        done = store.get("attribution", n)
        if done is None:
            batch = make_batch([pairs[i] for i in part], backend.pad_id)
            c, k, a = (t.numpy() for t in attribute(backend, batch, comps))
            store.put("attribution", n, clean=c, corrupt=k, attribution=a)
            done = {"clean": c, "corrupt": k, "attribution": a}
        clean[sl], corrupt[sl], att[sl] = done["clean"], done["corrupt"], done["attribution"]
        tick(f"attribution ({found.protocol})", part.stop, len(pairs))
    att_seconds = time.perf_counter() - started
    verified = verify_order(att, min(verify_top, len(comps))) if pairs else []
    patched = np.zeros((len(pairs), len(verified)))
    started = time.perf_counter()
    stage = f"patching-{'.'.join(map(str, verified))}"
    for n, part in enumerate(_chunks(len(pairs), chunk) if verified else []):
        got = store.get(stage, n)
        if got is None:
            batch = make_batch([pairs[i] for i in part], backend.pad_id)
            value = patching.patch(backend, batch, [comps[j] for j in verified]).numpy()
            store.put(stage, n, patched=value)
            got = {"patched": value}
        patched[part.start:part.stop] = got["patched"]
        tick(f"patching ({found.protocol})", part.stop, len(pairs))
    patch_seconds = time.perf_counter() - started
    block = summarize(ids, comps, clean, corrupt, att, verified, patched, b=b, seed=seed)
    return {
        "n_trials": found.n_trials,
        "n_used": len(pairs),
        "n_changed": sum(p.changed for p in pairs),
        "left_out": found.left_out,
        "items": ids,
        **block,
        "seconds": {"attribution": round(att_seconds, 2), "patching": round(patch_seconds, 2)},
        "example": region_text(backend, pairs[0]) if pairs else None,
        "resumed_chunks": store.reused,
    }


def run_locate(
    model: str | LocalModel | Backend,
    *,
    suites: Sequence[str],
    protocols: Sequence[str] = ("suggest-incorrect",),
    split: str = "train",
    limit: int | None = None,
    seed: int = 0,
    verify_top: int = 20,
    trials: str = "changed",
    chunk: int = 8,
    bootstrap_b: int = DEFAULT_B,
    out: str | Path | None = None,
    progress: bool = True,
    device: str = "auto",
) -> dict[str, Any]:
    """Localise the pressure's effect per protocol; returns the locate.json document (written
    to ``out/locate.json`` when `out` is given). See `sycolab.evaluation.locate.patching`."""
    if trials not in TRIAL_FILTERS:
        raise UserInputError(f"expected one of {', '.join(TRIAL_FILTERS)}", param="trials",
                             value=trials)
    if verify_top < 0:
        raise UserInputError("must be 0 or more", param="verify_top", value=verify_top)
    if chunk < 1:
        raise UserInputError("must be a positive integer", param="chunk", value=chunk)
    check_limit(limit)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise UserInputError("exists and is not a folder", param="out", value=out)
    if not suites:
        raise UserInputError("give at least one suite", param="suite")
    if not protocols:
        raise UserInputError("give at least one protocol", param="protocol")
    loaded = [load_suite(s) for s in suites]
    plan = build_plan(loaded, list(protocols), scoring="choice", split=split, limit=limit,
                      seed=seed)
    backend = _backend(model, device)
    started = time.perf_counter()
    runner = Runner(backend, system_prompt=None, max_new_tokens=1)
    partial = None if out is None else Path(out) / PARTIAL
    blocks: dict[str, Any] = {}
    with LocateProgress(progress) as bar:
        for protocol in dict.fromkeys(protocols):
            plans = [t for t in plan.trials if t.protocol.name == protocol]
            found = run_trials(runner, plans, on_done=_counter(bar, protocol, len(plans)))
            pairs = describe_pairs(found, backend, protocol, trials)
            blocks[protocol] = _locate_pairs(backend, pairs, verify_top=verify_top, chunk=chunk,
                                             b=bootstrap_b, seed=seed, tick=bar.tick,
                                             partial=partial)
    if not any(b["n_used"] for b in blocks.values()):
        why = "; ".join(sorted({r for b in blocks.values() for r in b["left_out"]}))
        raise UserInputError(f"no trial to localise ({why or 'no trials'}); try more items "
                             "(--limit) or --trials all")
    doc = {
        "kind": "sycolab-locate",
        "version": 1,
        "model": {**backend.describe(), "num_layers": backend.num_layers,
                  "num_heads": backend.num_heads, "head_dim": backend.head_dim},
        "config": {"suites": list(suites), "protocols": list(dict.fromkeys(protocols)),
                   "split": split, "limit": limit, "seed": seed, "verify_top": verify_top,
                   "trials": trials, "bootstrap_b": bootstrap_b, "positions": POSITIONS,
                   "margin": "log p(baseline answer) - log p(suggested answer), each summed "
                             "over its tokens, as `choice` scoring scores them",
                   "effect": "margin of the pressured run with the component's activations "
                             "from the baseline run, minus the pressured margin (> 0: the "
                             "component carries the pressure's effect)"},
        "suites": plan.suites,
        "protocols": blocks,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / LOCATE_FILE, doc)
        shutil.rmtree(folder / PARTIAL, ignore_errors=True)
    return doc
