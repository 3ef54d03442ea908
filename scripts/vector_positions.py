"""What changes when a steering vector is added at every position (llama.cpp's --control-vector,
repeng, steering-vectors' default) instead of at assistant tokens only (sycolab's engine).

On held-out contrast pairs (the pressured `suggest-incorrect` prompt of a test-split item, with
its sycophantic and honest answers), sycolab's own engine runs in three modes: unsteered,
assistant positions (the mask sycolab uses) and every position (a mask of ones, what llama.cpp
does). Printed per multiplier: KL between the modes' next-token distributions at the first reply
position, how often the chosen answer (higher summed log-probability) is the sycophantic one and
how often it differs between the two modes, the mean log-probability margin
sycophantic - honest, and how many greedy replies differ.

    python scripts/vector_positions.py --model smollm2 --layer 12 --multipliers -1 -4 --n 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def _kl(p_log: Any, q_log: Any) -> float:
    return float((p_log.exp() * (p_log - q_log)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--vector", help="vector file (default: train one on --suite's train split)")
    ap.add_argument("--suite", default="arithmetic")
    ap.add_argument("--train-limit", type=int, default=60)
    ap.add_argument("--layer", type=int, default=12)
    ap.add_argument("--multipliers", type=float, nargs="+", default=[-1.0, -4.0])
    ap.add_argument("--n", type=int, default=20, help="test-split pairs to measure on")
    ap.add_argument("--max-new", type=int, default=24)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    import torch

    from sycolab.core.selection import select_items
    from sycolab.engine import loading
    from sycolab.engine.base import ChoiceRequest, SteeringConfig
    from sycolab.engine.sampling import DecodeJob
    from sycolab.mitigations.steering import contrast_pairs, train_vector_from_suites

    torch.set_num_threads(2)
    tmp = Path(tempfile.mkdtemp(prefix="vector-positions-"))
    vector = args.vector
    if vector is None:
        vector = str(tmp / "v.safetensors")
        train_vector_from_suites(out=vector, model=args.model, suite=[args.suite],
                                 layers=[args.layer], split="train", limit=args.train_limit,
                                 device="cpu", dtype="float32", progress=False)
    backend = loading.load_hf_backend(args.model, device="cpu", dtype="float32")
    pairs = contrast_pairs(select_items([args.suite], "test", None))[: args.n]
    figures: dict[str, Any] = {"model": args.model, "layer": args.layer, "n_pairs": len(pairs),
                               "suite": args.suite, "vector": vector, "rows": []}
    for mult in args.multipliers:
        backend.set_steering(SteeringConfig(vector, mult, (args.layer,), allow_foreign=True))
        kl_all_asst, kl_asst_none, kl_all_none = [], [], []
        choice: dict[str, list[str]] = {"none": [], "assistant": [], "all": []}
        margin: dict[str, list[float]] = {"none": [], "assistant": [], "all": []}
        texts: dict[str, list[list[int]]] = {"none": [], "assistant": [], "all": []}
        engine_gap = 0.0
        for k, pair in enumerate(pairs):
            print(f"multiplier {mult:g}: pair {k + 1}/{len(pairs)}", file=sys.stderr, flush=True)
            ctx, conts = backend.encode_choice(ChoiceRequest(pair.prompt, (pair.sycophantic,
                                                                            pair.honest)))
            ids, flags = backend.prompt_tokens(pair.prompt)
            assert ids == ctx, "prompt tokens and choice context differ"
            masks = {"none": [0.0] * len(ctx), "assistant": list(flags),
                     "all": [1.0] * len(ctx)}
            first: dict[str, Any] = {}
            for mode, mask in masks.items():
                scores = []
                for cont in conts:
                    seq = torch.tensor([ctx + cont])
                    steer = torch.tensor([mask + [1.0 if mode != "none" else 0.0] * len(cont)])
                    logp = torch.log_softmax(backend.forward_logits(seq, None, steer)[0].float(),
                                             dim=-1)
                    first[mode] = logp[len(ctx) - 1]
                    scores.append(float(sum(logp[len(ctx) - 1 + i, t]
                                            for i, t in enumerate(cont))))
                margin[mode].append(scores[0] - scores[1])
                choice[mode].append("sycophantic" if scores[0] > scores[1] else "honest")
                if mode == "assistant" and k < 3:  # the engine's own scoring: same numbers
                    engine = backend.score([ChoiceRequest(pair.prompt, (pair.sycophantic,
                                                                        pair.honest))])[0]
                    engine_gap = max(engine_gap, *(abs(float(e or 0) - s)
                                                   for e, s in zip(engine, scores, strict=True)))
                job = DecodeJob(ctx, args.max_new, steer=mask)
                texts[mode].append(backend.decode([job])[0].tokens)
            kl_all_asst.append(_kl(first["all"], first["assistant"]))
            kl_asst_none.append(_kl(first["assistant"], first["none"]))
            kl_all_none.append(_kl(first["all"], first["none"]))
        n = len(pairs)

        def mean(xs: list[float]) -> float:
            return sum(xs) / len(xs)

        row = {
            "multiplier": mult,
            "kl_all_vs_assistant": mean(kl_all_asst),
            "kl_assistant_vs_none": mean(kl_asst_none),
            "kl_all_vs_none": mean(kl_all_none),
            "sycophantic_choices": {m: sum(c == "sycophantic" for c in v) for m, v in
                                    choice.items()},
            "choice_differs_all_vs_assistant": sum(a != b for a, b in zip(
                choice["all"], choice["assistant"], strict=True)),
            "mean_margin_syc_minus_honest": {m: mean(v) for m, v in margin.items()},
            "greedy_reply_differs_all_vs_assistant": sum(a != b for a, b in zip(
                texts["all"], texts["assistant"], strict=True)),
            "greedy_reply_differs_assistant_vs_none": sum(a != b for a, b in zip(
                texts["assistant"], texts["none"], strict=True)),
            "greedy_reply_differs_all_vs_none": sum(a != b for a, b in zip(
                texts["all"], texts["none"], strict=True)),
            "n": n,
            "max_abs_gap_vs_engine_score": engine_gap,
        }
        figures["rows"].append(row)
        print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
