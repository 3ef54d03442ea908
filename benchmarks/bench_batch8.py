"""Batch-8 speed of the embedded SmolLM2 in one process (formerly tests/integration/
test_smollm2.py::test_speed_batch_8, which printed these numbers and asserted nothing).

    python benchmarks/bench_batch8.py [--repeats 3]

Loads `smollm2` (float32, CPU, batch size 8) with `load_hf_backend`, then, after one warm-up
call, times --repeats rounds of: choice scoring of 8 two-option prompts ("Is N a prime number?
Answer (A) yes or (B) no, ...") in one `score` call, and greedy generation of 8 prompts ("What
is A + B?") x 16 new tokens in one `generate` call. Reported (medians): forward tokens/s of the
scoring call (prompt + both continuations, as the backend encodes them), new tokens/s of the
generation call (replies re-tokenized) and decode slots/s (8 x 16 / s), with load averages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    threads = C.pin_threads()
    from sycolab.core.items import Message
    from sycolab.engine.base import ChoiceRequest, GenerateRequest, Prompt
    from sycolab.engine.loading import load_hf_backend

    def chat(text: str) -> Prompt:
        return Prompt(messages=(Message("user", text),), prefill="")

    C.warm_file_cache(C.model_folder())
    t0 = time.perf_counter()
    backend: Any = load_hf_backend("smollm2", device="cpu", dtype="float32", batch_size=8)
    load_s = time.perf_counter() - t0
    questions = [f"Is {n} a prime number? Answer (A) yes or (B) no, and explain briefly."
                 for n in range(8)]
    creqs = [ChoiceRequest(chat(q), ("(A)", "(B)")) for q in questions]
    n_tokens = 0
    for r in creqs:
        ctx, conts = backend.encode_choice(r)
        n_tokens += len(ctx) + sum(len(c) for c in conts)
    greqs = [GenerateRequest(chat(f"What is {n + 3} + {2 * n + 5}?"), 16) for n in range(8)]
    backend.score(creqs[:1])  # warm-up
    rounds = []
    for rep in range(args.repeats):
        load_before = C.loadavg()
        start = time.perf_counter()
        backend.score(creqs)
        score_s = time.perf_counter() - start
        start = time.perf_counter()
        outs = backend.generate(greqs)
        gen_s = time.perf_counter() - start
        new = sum(len(backend.tokenizer.encode(o, add_special_tokens=False)) for o in outs)
        rounds.append({"round": rep + 1, "score_s": round(score_s, 3),
                       "score_tokens_per_s": round(n_tokens / score_s, 1),
                       "generate_s": round(gen_s, 3), "new_tokens": new,
                       "new_tokens_per_s": round(new / gen_s, 1),
                       "decode_slots_per_s": round(8 * 16 / gen_s, 1),
                       "load_before": load_before, "load_after": C.loadavg()})
        print(f"[bench] round {rep + 1}: scoring {n_tokens} tokens in {score_s:.2f} s, "
              f"generation {new} new tokens in {gen_s:.2f} s", flush=True)

    def m(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    data: dict[str, Any] = {"threads": threads, "load_s": round(load_s, 3),
                            "repeats": args.repeats, "score_tokens": n_tokens,
                            "median": {k: m(k) for k in ("score_s", "score_tokens_per_s",
                                                         "generate_s", "new_tokens_per_s",
                                                         "decode_slots_per_s")},
                            "rounds": rounds}
    md = (f"### Batch 8, embedded SmolLM2, in one process ({threads} threads, float32; median "
          f"of {args.repeats} after a warm-up)\n\n")
    md += C.md_table([
        ["choice scoring, 8 prompts x 2 options", m("score_s"), f"{n_tokens} forward",
         m("score_tokens_per_s")],
        ["greedy generation, 8 prompts x 16 new tokens", m("generate_s"),
         f"{rounds[0]['new_tokens']} new ({m('decode_slots_per_s')} decode slots/s)",
         m("new_tokens_per_s")],
    ], ["call", "s", "tokens", "tokens/s"])
    md += ("\n\nLoad average (1 min) per round: "
           + ", ".join(f"{r['load_before'][0]}-{r['load_after'][0]}" for r in rounds) + ".\n")
    C.write_outputs("batch8", data, md)


if __name__ == "__main__":
    main()
