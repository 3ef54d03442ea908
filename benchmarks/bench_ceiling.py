"""Hardware ceiling vs our forward pass, and the per-token overhead of our generation.

    python benchmarks/bench_ceiling.py [--rows 200] [--gen-prompts 8]

All in one process (so one load level): THREADS torch threads, float32, CPU.
1. Ceiling: a 2048x2048x2048 float32 matmul, 2 warm-ups then 10 timed; GFLOP/s = 2*2048^3 / t,
   measured before and after the scoring pass; the higher of the two medians is the ceiling
   (on a shared machine this keeps a momentarily slow matmul from inflating the share).
2. Our scoring forward pass on the lm-eval workload (the first --rows Perez NLP-survey rows,
   `--scoring lm-eval`, run through `sycolab.evaluate` with a preloaded backend). Forward hooks
   on the decoder and the output head count the tokens that go through the model (real tokens
   and padded positions) and the head rows, and time every call from the decoder's entry to the
   head's exit; forward time is the wall-clock union of those intervals (the engine runs batches
   on several threads at once, so summing per-call times would count overlapping calls twice).
   FLOPs = 2 x non-embedding parameters per decoder token + 2 x head parameters per head row
   (the head only where computed). Share of ceiling = achieved GFLOP/s / matmul GFLOP/s;
   equivalently tokens/s / (ceiling / FLOPs per token).
3. Generation at batch 1: --gen-prompts `facts` first turns, 32 new tokens, through
   `HFBackend.generate` one prompt at a time. Per generated token: wall time of the decode phase
   divided by decode steps; pure forward per step: the hooked decoder+head time of the decode
   steps; overhead = the difference. A minimal hand-written greedy loop (KV cache, logits of the
   last position only, argmax) is timed on the same prompts as a reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def matmul_gflops(n: int = 2048, warmup: int = 2, reps: int = 10) -> dict[str, Any]:
    import torch

    a = torch.randn(n, n, dtype=torch.float32)
    b = torch.randn(n, n, dtype=torch.float32)
    c = torch.empty(n, n, dtype=torch.float32)
    for _ in range(warmup):
        torch.mm(a, b, out=c)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    flops = 2 * n**3
    return {"n": n, "reps": reps, "best_gflops": round(flops / min(times) / 1e9, 2),
            "median_gflops": round(flops / statistics.median(times) / 1e9, 2),
            "times_s": [round(t, 4) for t in times]}


class Meter:
    """Forward hooks on the decoder and the output head: tokens, head rows, time."""

    def __init__(self, decoder: Any, head: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        self._local = threading.local()  # calls may run on several engine threads at once
        self._lock = threading.Lock()
        self.handles = [
            decoder.register_forward_pre_hook(self._pre, with_kwargs=True),
            head.register_forward_hook(self._head_post),
        ]

    def _pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            ids = kwargs.get("inputs_embeds")
        b, width = int(ids.shape[0]), int(ids.shape[1])
        mask = kwargs.get("attention_mask")
        pos = kwargs.get("position_ids")
        real = b * width
        if mask is not None and getattr(mask, "dim", lambda: 0)() == 2:
            real = int(mask[:, -width:].sum())
        elif pos is not None and width > 1:
            # packed scoring rows: padding sits at position 0 after the row's first token
            real = int((pos[:, 1:] > 0).sum()) + b
        self._local.cur = {"batch": b, "width": width, "computed": b * width, "real": real,
                           "head_rows": 0, "start": time.perf_counter()}

    def _head_post(self, module: Any, args: tuple[Any, ...], out: Any) -> None:
        x = args[0]
        cur = self._local.cur
        cur["head_rows"] = int(x.numel() // x.shape[-1])
        cur["end"] = time.perf_counter()
        cur["seconds"] = cur["end"] - cur["start"]
        with self._lock:
            self.calls.append(cur)

    def reset(self) -> None:
        self.calls = []

    def close(self) -> None:
        for h in self.handles:
            h.remove()

    def totals(self) -> dict[str, Any]:
        keys = ("computed", "real", "head_rows")
        out = {k: sum(c.get(k, 0) for c in self.calls) for k in keys} | {"calls": len(self.calls)}
        busy, reach = 0.0, float("-inf")  # union of [start, end] intervals
        for c in sorted(self.calls, key=lambda c: c["start"]):
            start = max(c["start"], reach)
            if c["end"] > start:
                busy += c["end"] - start
            reach = max(reach, c["end"])
        out["seconds"] = busy
        out["summed_call_seconds"] = sum(c["seconds"] for c in self.calls)
        return out


def param_counts(model: Any) -> dict[str, int]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    total = sum(p.numel() for p in base.parameters())
    emb = base.get_input_embeddings().weight
    head = base.get_output_embeddings().weight
    tied = head.data_ptr() == emb.data_ptr()
    non_emb = total - emb.numel() - (0 if tied else head.numel())
    return {"total": int(total), "embedding": int(emb.numel()), "head": int(head.numel()),
            "tied": bool(tied), "non_embedding": int(non_emb)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--gen-prompts", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.child:
        # run the measurement in a pinned child so its environment (threads) is the shared one
        folder = C.model_folder()
        C.warm_file_cache(folder)
        log = C.OUT / "ceiling.log"
        C.OUT.mkdir(parents=True, exist_ok=True)
        run = C.run_measured([sys.executable, __file__, "--child", "--rows", str(args.rows),
                              "--gen-prompts", str(args.gen_prompts),
                              "--max-new-tokens", str(args.max_new_tokens)], log=log)
        C.check(run, log)
        print(log.read_text()[-4000:])
        return

    threads = C.pin_threads()
    import torch

    import sycolab
    from sycolab.core.conversation import step_messages
    from sycolab.core.suites import load_suite
    from sycolab.engine.base import GenerateRequest, Prompt
    from sycolab.engine.spec import load_backend
    from sycolab.evaluation.plan import build_plan

    folder = C.model_folder()
    ceiling = matmul_gflops()
    t0 = time.perf_counter()
    backend: Any = load_backend(f"hf:{folder}", device="cpu", dtype="float32")
    load_s = time.perf_counter() - t0
    model = backend.model
    counts = param_counts(model)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    meter = Meter(base.get_decoder(), base.get_output_embeddings())

    # --- scoring forward on the lm-eval workload
    run_dir = C.fresh_dir(C.OUT / "ceiling_scoring_run")
    t0 = time.perf_counter()
    sycolab.evaluate(f"hf:{folder}", suite=[f"perez:{C.PEREZ_FILE}"], protocol=["persona"],
                     scoring="lm-eval", limit=args.rows, out=run_dir, progress=False,
                     backend=backend)
    score_wall = time.perf_counter() - t0
    sc = meter.totals()
    after = matmul_gflops()
    ceiling = {"before": ceiling, "after": after,
               "median_gflops": max(ceiling["median_gflops"], after["median_gflops"]),
               "best_gflops": max(ceiling["best_gflops"], after["best_gflops"]),
               "rule": "higher of the medians measured before and after the scoring pass"}
    fl_tok = 2 * counts["non_embedding"]
    fl_head = 2 * counts["head"]
    flops_computed = fl_tok * sc["computed"] + fl_head * sc["head_rows"]
    flops_real = fl_tok * sc["real"] + fl_head * sc["head_rows"]
    per_tok_real = flops_real / max(sc["real"], 1)
    ceil_gf = ceiling["median_gflops"]
    ceiling_tps = ceil_gf * 1e9 / per_tok_real
    scoring = {
        "rows": args.rows, "eval_wall_s": round(score_wall, 3),
        "forward_s": round(sc["seconds"], 3),
        "forward_calls": sc["calls"], "tokens_real": sc["real"], "tokens_computed": sc["computed"],
        "padding_share": round(1 - sc["real"] / max(sc["computed"], 1), 4),
        "head_rows": sc["head_rows"],
        "flops_per_real_token": round(per_tok_real),
        "ceiling_tokens_per_s": round(ceiling_tps, 1),
        "forward_tokens_per_s": round(sc["real"] / sc["seconds"], 1),
        "end_to_end_tokens_per_s": round(sc["real"] / score_wall, 1),
        "forward_gflops_real": round(flops_real / sc["seconds"] / 1e9, 2),
        "forward_gflops_computed": round(flops_computed / sc["seconds"] / 1e9, 2),
    }
    scoring["share_of_ceiling_forward"] = round(scoring["forward_tokens_per_s"] / ceiling_tps, 4)
    scoring["share_of_ceiling_end_to_end"] = round(
        scoring["end_to_end_tokens_per_s"] / ceiling_tps, 4)
    scoring["share_computed_flops"] = round(scoring["forward_gflops_computed"] / ceil_gf, 4)

    # --- generation at batch 1
    plan = build_plan([load_suite("facts")], ["are-you-sure"], scoring="generate",
                      limit=args.gen_prompts)
    prompts = []
    for t in plan.trials:
        msgs, prefill = step_messages(t.item, t.protocol, t.conditions[0], t.presentation,
                                      wrong=t.wrong, persona=t.persona, history=(),
                                      system_prompt=None)
        prompts.append(Prompt(messages=msgs, prefill=prefill))
    backend.generate([GenerateRequest(prompts[0], 4)])  # warm-up
    gen_rows = []
    for p in prompts:
        meter.reset()
        t0 = time.perf_counter()
        backend.generate([GenerateRequest(p, args.max_new_tokens)])
        wall = time.perf_counter() - t0
        calls = list(meter.calls)
        decode = calls[1:]
        if not decode:
            continue
        prefill_s = calls[0]["seconds"]
        gen_rows.append({"wall_s": wall, "prefill_s": prefill_s, "steps": len(decode),
                         "decode_forward_s": sum(c["seconds"] for c in decode)})
    steps = sum(r["steps"] for r in gen_rows)
    # decode-phase wall: everything except the prefill forward (tokenizing, setup and decode)
    decode_wall = sum(r["wall_s"] - r["prefill_s"] for r in gen_rows)
    decode_fwd = sum(r["decode_forward_s"] for r in gen_rows)

    # minimal greedy loop on the same prompts (reference for pure per-step cost)
    from transformers import DynamicCache

    meter.reset()
    loop_steps, loop_decode_s = 0, 0.0
    stop = set(backend._stop_ids) if hasattr(backend, "_stop_ids") else set()
    for p in prompts:
        ids = torch.tensor([backend.tokenizer.encode(backend.render(p), add_special_tokens=False)])
        with torch.inference_mode():
            cache = DynamicCache()
            out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            n = 0
            for _ in range(args.max_new_tokens - 1):
                if int(nxt) in stop:
                    break
                out = model(input_ids=nxt, past_key_values=out.past_key_values, use_cache=True,
                            logits_to_keep=1)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                n += 1
            loop_decode_s += time.perf_counter() - t0
            loop_steps += n
    meter.close()
    generation = {
        "prompts": len(gen_rows), "max_new_tokens": args.max_new_tokens, "decode_steps": steps,
        "ms_per_token_generate": round(1000 * decode_wall / max(steps, 1), 2),
        "ms_forward_per_step": round(1000 * decode_fwd / max(steps, 1), 2),
        "ms_overhead_per_token": round(1000 * (decode_wall - decode_fwd) / max(steps, 1), 2),
        "overhead_share": (round((decode_wall - decode_fwd) / decode_wall, 4)
                           if decode_wall else None),
        "tokens_per_s_batch1": round(steps / decode_wall, 1) if decode_wall else None,
        "minimal_loop_ms_per_token": round(1000 * loop_decode_s / max(loop_steps, 1), 2),
        "minimal_loop_steps": loop_steps,
        "decode_step_flops": fl_tok + fl_head,
    }
    generation["ms_ideal_per_token_at_ceiling"] = round(
        1000 * (fl_tok + fl_head) / (ceil_gf * 1e9), 3)

    data = {"threads": threads, "load_s": round(load_s, 3), "ceiling": ceiling,
            "parameters": counts, "scoring": scoring, "generation": generation,
            "targets": {"share_of_ceiling_min": 0.8,
                        "met": scoring["share_of_ceiling_forward"] >= 0.8}}
    s, g = scoring, generation
    md = (f"### Hardware ceiling and forward efficiency ({threads} threads, float32)\n\n"
          f"2048^3 float32 matmul: **{ceil_gf} GFLOP/s** (higher median of before/after: "
          f"{ceiling['before']['median_gflops']}/{ceiling['after']['median_gflops']}; best "
          f"{ceiling['best_gflops']}). "
          f"SmolLM2: {counts['non_embedding']:,} non-embedding parameters, head "
          f"{counts['head']:,} (tied: {counts['tied']}); {s['flops_per_real_token'] / 1e9:.3f} "
          f"GFLOP per real token on this workload -> ceiling **{s['ceiling_tokens_per_s']} "
          f"tokens/s**.\n\n")
    md += C.md_table([
        ["scoring forward (decoder+head calls)", s["forward_tokens_per_s"],
         s["share_of_ceiling_forward"], s["forward_gflops_computed"]],
        ["scoring end to end (evaluate wall)", s["end_to_end_tokens_per_s"],
         s["share_of_ceiling_end_to_end"], ""],
    ], ["lm-eval workload, " + str(args.rows) + " rows", "real tokens/s", "share of ceiling",
        "GFLOP/s incl. padding"])
    md += (f"\n\nPadding share of computed positions: {s['padding_share']:.1%}; head rows "
           f"{s['head_rows']} for {s['tokens_real']} real tokens. Target: forward >= 80% of "
           f"ceiling: **{'met' if data['targets']['met'] else 'not met'}**.\n\n")
    md += C.md_table([
        ["HFBackend.generate, batch 1", g["ms_per_token_generate"], g["ms_forward_per_step"],
         g["ms_overhead_per_token"], g["tokens_per_s_batch1"]],
        ["minimal greedy loop (reference)", g["minimal_loop_ms_per_token"], "", "", ""],
        ["ideal at matmul ceiling", g["ms_ideal_per_token_at_ceiling"], "", "", ""],
    ], ["generation, " + str(g["prompts"]) + " prompts x " + str(args.max_new_tokens) + " tokens",
        "ms/token", "forward ms/step", "Python overhead ms/token", "tokens/s"])
    C.write_outputs("ceiling", data, md)


if __name__ == "__main__":
    main()
