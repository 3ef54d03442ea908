"""One GPU: sycolab vs lm-eval's `hf` backend on a random-init 1B-shape Llama, bf16, cuda.

    python benchmarks/bench_gpu.py                     # --shape 1b --device cuda --dtype bfloat16
    python benchmarks/bench_gpu.py --shape tiny --device cpu --dtype float32 --limit 4 \\
        --repeats 1 --gen-limit 1                      # the CPU smoke test (tests/integration)

The model: a `LlamaConfig` of the given shape (`1b`: hidden 2048, 16 layers, 32 heads, 8 KV heads,
MLP 8192, about 1.07B parameters with the tied 49,152-token embedding; `tiny`: hidden 64, 2
layers) with random weights (seed 0), the SmolLM2 tokenizer and chat template (from the
dequantized embedded model, `sycolab.engine.smollm2.ensure_dequantized()`), saved once with
`save_pretrained` into benchmarks/out/gpu_model-<shape>-<dtype>/ (reused when present). Nothing
is downloaded; only the random weights differ from a real model, which changes no cost.

Measured, each tool its own process, the tools alternating (lm-eval, sycolab, ...; --repeats
rounds), both time boundaries as in every peer comparison (whole process, and evaluation-only as
defined in benchmarks/_marks.py):
1. choice scoring of the first --limit Perez NLP-survey rows: lm-eval 0.4.13's shipped
   `sycophancy_on_nlp_survey` task (dataset location changed only, as bench_lm_eval.py), `hf`
   backend (`--lm-eval-batch`, default `auto` on cuda, 8 on cpu) vs `sycolab eval --model
   hf:FOLDER --suite perez:FILE --protocol persona --scoring lm-eval --device D --dtype T`;
   per-item agreement of the chosen answers;
2. tokens/s of both (the prompt plus both continuations of each item, tokenized as lm-eval does)
   against a ceiling: an N x N x N matmul in the same dtype on the same device (median of 20
   after 3 warm-ups, synchronized) divided by 2 x non-embedding parameters per token (the output
   head and attention scores are left out, so the ceiling is high and the share conservative);
3. generation throughput: `sycolab eval --scoring generate --suite facts --protocol
   are-you-sure --limit G --max-new-tokens M`, generated tokens (replies re-tokenized) per
   evaluation-only second.

`--lm-eval auto` (default) uses benchmarks/.venvs/lm-eval when it is there and says so when it is
not; `require` creates it (pip, PyPI: the machine needs network access once); `skip` runs
sycolab alone. Writes benchmarks/out/<name>.json and .md (name `gpu` for the default shape,
device and dtype, else `gpu-<shape>-<device>-<dtype>`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C
import bench_lm_eval

SHAPES: dict[str, dict[str, int]] = {
    "1b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
           "num_attention_heads": 32, "num_key_value_heads": 8},
    "2b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
           "num_attention_heads": 32, "num_key_value_heads": 8},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2},
}
MARKER = "bench-gpu-model.json"


def build_model(shape: str, dtype: str, device: str, seed: int) -> tuple[Path, dict[str, Any]]:
    """The random-init model folder (created once per shape and dtype); its parameter counts."""
    dest = C.OUT / f"gpu_model-{shape}-{dtype}"
    marker = dest / MARKER
    if marker.is_file():
        info: dict[str, Any] = C.read_json(marker)
        if info.get("shape") == SHAPES[shape] and info.get("seed") == seed:
            return dest, info
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    t0 = time.perf_counter()
    tok: Any = AutoTokenizer.from_pretrained(str(C.model_folder()))
    config = LlamaConfig(
        vocab_size=len(tok), max_position_embeddings=8192, rope_theta=100000.0,
        tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, **SHAPES[shape])
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    model = model.to(getattr(torch, dtype)).eval()
    emb = model.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())  # tied head counted once
    C.fresh_dir(dest)
    model.save_pretrained(str(dest))
    tok.save_pretrained(str(dest))
    info = {"shape": SHAPES[shape], "name": shape, "seed": seed, "dtype": dtype,
            "vocab_size": len(tok), "parameters": int(total), "embedding": int(emb),
            "head": int(emb), "tied": True, "non_embedding": int(total - emb),
            "build_s": round(time.perf_counter() - t0, 2)}
    marker.write_text(json.dumps(info, indent=1))
    del model
    return dest, info


def matmul_ceiling(device: str, dtype: str, n: int, warmup: int = 3,
                   reps: int = 20) -> dict[str, Any]:
    """FLOP/s of an n x n x n matmul in `dtype` on `device` (median and best of `reps`)."""
    import torch

    dt = getattr(torch, dtype)
    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(warmup):
        torch.mm(a, b)
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        times.append(time.perf_counter() - t0)
    flops = 2 * n**3
    return {"n": n, "dtype": dtype, "device": device, "reps": reps,
            "median_gflops": round(flops / statistics.median(times) / 1e9, 1),
            "best_gflops": round(flops / min(times) / 1e9, 1)}


def lm_eval_python(mode: str) -> tuple[Path | None, str | None]:
    """The lm-eval venv's python per --lm-eval, or None and why it is not used."""
    if mode == "skip":
        return None, "--lm-eval skip"
    if mode == "require":
        return C.ensure_venv("lm-eval"), None
    py = C.venv_python("lm-eval")
    dist, version = C.PEER_DIST["lm-eval"]
    if not py.exists():
        return None, (f"lm-eval virtualenv absent ({C.VENVS / 'lm-eval'}); run with --lm-eval "
                      "require to create it")
    probe = subprocess.run([str(py), "-c", f"from importlib.metadata import version; "
                            f"print(version({dist!r}))"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0 or probe.stdout.strip() != version:
        return None, f"{py} does not have {dist} {version}; run with --lm-eval require"
    return py, None


def sycolab_run(cli: list[str], work: Path, name: str) -> dict[str, Any]:
    marks = work / f"{name}.marks.json"
    run = C.run_timed(C.sycolab_timed(cli, marks), marks, log=work / f"{name}.log")
    run["run_dir"] = Path(cli[cli.index("--out") + 1])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    ap.add_argument("--limit", type=int, default=200, help="Perez rows for choice scoring")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gen-limit", type=int, default=50, help="facts items for generation")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--lm-eval", choices=["auto", "require", "skip"], default="auto")
    ap.add_argument("--lm-eval-batch", help="lm-eval batch size (default: auto on cuda, 8 on cpu)")
    ap.add_argument("--matmul-n", type=int, help="ceiling matmul size (default 8192 cuda, 512 cpu)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    cuda = args.device.startswith("cuda")
    batch = args.lm_eval_batch or ("auto" if cuda else "8")
    default = (args.shape, args.device, args.dtype) == ("1b", "cuda", "bfloat16")
    name = "gpu" if default else f"gpu-{args.shape}-{args.device}-{args.dtype}"

    C.OUT.mkdir(parents=True, exist_ok=True)
    import torch

    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU (use --device cpu --shape tiny to test)")
    C.pin_threads()
    folder, params = build_model(args.shape, args.dtype, args.device, args.seed)
    C.warm_file_cache(folder)
    ceiling = matmul_ceiling(args.device, args.dtype, args.matmul_n or (8192 if cuda else 512))
    device_name = torch.cuda.get_device_name(args.device) if cuda else C.machine().get("cpu")
    py, lm_skip = lm_eval_python(args.lm_eval)
    if lm_skip:
        print(f"[bench] lm-eval comparison skipped: {lm_skip}", flush=True)
    work = C.fresh_dir(C.OUT / f"{name}_runs")
    # the task YAML comes from lm-eval's own install: only where the comparison runs
    task_dir = (bench_lm_eval.write_task(args.limit, C.OUT / f"{name}_lm_eval_task")[0]
                if py else None)
    tokens = bench_lm_eval.workload_tokens(folder, args.limit)
    dev = ["--device", args.device, "--dtype", args.dtype]

    def ours_choice(rep: int) -> dict[str, Any]:
        cli = ["eval", "--model", f"hf:{folder}", "--suite", f"perez:{C.PEREZ_FILE}",
               "--protocol", "persona", "--scoring", "lm-eval", "--limit", str(args.limit), *dev,
               "--no-progress", "--out", str(work / f"sycolab-choice.r{rep + 1}")]
        return sycolab_run(cli, work, f"sycolab-choice.r{rep + 1}")

    def peer_choice(rep: int) -> dict[str, Any]:
        assert py is not None and task_dir is not None
        raw = work / f"lm_eval_raw.r{rep + 1}.json"
        marks = work / f"lm_eval.r{rep + 1}.marks.json"
        cmd = bench_lm_eval.lm_eval_driver_cmd(py, folder, task_dir, batch, raw, marks,
                                               device=args.device, dtype=args.dtype)
        run = C.run_timed(cmd, marks, log=work / f"lm_eval.r{rep + 1}.log")
        run["raw"] = C.read_json(raw)
        return run

    tools = {"lm-eval": peer_choice, "sycolab": ours_choice} if py else {"sycolab": ours_choice}
    runs = C.alternate(tools, args.repeats)
    S = C.timing(runs["sycolab"])
    ceil_tps = ceiling["median_gflops"] * 1e9 / (2 * params["non_embedding"])
    scoring: dict[str, Any] = {"rows": args.limit, "workload_tokens": tokens, "sycolab": S,
                               "ceiling_tokens_per_s": round(ceil_tps, 1)}
    for t in (S,):
        t["tokens_per_s"] = round(tokens / t["evaluation_only_s"], 1)
        t["share_of_ceiling"] = round(t["tokens_per_s"] / ceil_tps, 4)
    if py:
        L = C.timing(runs["lm-eval"])
        L["tokens_per_s"] = round(tokens / L["evaluation_only_s"], 1)
        L["share_of_ceiling"] = round(L["tokens_per_s"] / ceil_tps, 4)
        L["batch_size"] = batch
        scoring["lm_eval"] = L
        scoring["speedup"] = C.speedups(L, S)
        scoring["agreement"] = bench_lm_eval.compare_answers(
            runs["lm-eval"][0]["raw"]["samples"], runs["sycolab"][0]["run_dir"])
    else:
        scoring["lm_eval"] = {"skipped": lm_skip}
        scoring["speedup"] = None
        scoring["agreement"] = None

    # generation throughput (sycolab alone)
    gen: dict[str, Any] = {"items": args.gen_limit, "max_new_tokens": args.max_new_tokens}
    if args.gen_limit > 0:
        count = bench_lm_eval_token_counter(folder)

        def ours_gen(rep: int) -> dict[str, Any]:
            cli = ["eval", "--model", f"hf:{folder}", "--suite", "facts", "--protocol",
                   "are-you-sure", "--scoring", "generate", "--limit", str(args.gen_limit),
                   "--max-new-tokens", str(args.max_new_tokens), *dev, "--no-progress",
                   "--out", str(work / f"sycolab-generate.r{rep + 1}")]
            run = sycolab_run(cli, work, f"sycolab-generate.r{rep + 1}")
            replies = [t for r in C.read_jsonl(run["run_dir"] / "samples.jsonl")
                       for t in (r.get("responses") or []) if isinstance(t, str)]
            run["replies"], run["generated_tokens"] = len(replies), count(replies)
            return run

        g_runs = C.alternate({"sycolab generate": ours_gen}, args.repeats)["sycolab generate"]
        G = C.timing(g_runs)
        G["replies"] = g_runs[0]["replies"]
        G["generated_tokens"] = g_runs[0]["generated_tokens"]
        G["tokens_per_s"] = round(G["generated_tokens"] / G["evaluation_only_s"], 1)
        gen["sycolab"] = G

    data: dict[str, Any] = {
        "shape": args.shape, "device": args.device, "device_name": device_name,
        "dtype": args.dtype, "repeats": args.repeats, "model_folder": str(folder),
        "parameters": params, "ceiling": ceiling, "scoring": scoring, "generation": gen,
        "lm_eval_skipped": lm_skip,
    }
    C.write_outputs(name, data, markdown(data))


def bench_lm_eval_token_counter(folder: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))

    def count(texts: list[str]) -> int:
        return sum(len(tok.encode(t, add_special_tokens=False)) for t in texts if t)

    return count


def markdown(d: dict[str, Any]) -> str:
    p, c, s, g = d["parameters"], d["ceiling"], d["scoring"], d["generation"]
    md = (f"### One GPU: random-init {d['shape']} Llama shape ({p['parameters']:,} parameters), "
          f"{d['dtype']} on {d['device']} ({d['device_name']}), {d['repeats']} alternating "
          "rounds\n\n")
    md += (f"Ceiling: {c['n']}^3 {c['dtype']} matmul **{c['median_gflops']:,} GFLOP/s** (median; "
           f"best {c['best_gflops']:,}) / (2 x {p['non_embedding']:,} non-embedding parameters) = "
           f"**{s['ceiling_tokens_per_s']:,} tokens/s**.\n\n")
    tools = {"sycolab eval (`--scoring lm-eval`)": s["sycolab"]}
    if "skipped" not in s["lm_eval"]:
        tools = {f"lm-eval 0.4.13 (hf, batch {s['lm_eval']['batch_size']})": s["lm_eval"],
                 **tools}
    md += (f"Choice scoring, {s['rows']} Perez NLP-survey rows ({s['workload_tokens']} workload "
           "tokens):\n\n")
    md += C.timing_table(tools, work=s["workload_tokens"], work_unit="tokens")
    md += "\n\n" + "\n".join(
        f"- {name}: {t['share_of_ceiling']:.1%} of the ceiling (evaluation-only tokens/s)"
        for name, t in tools.items())
    if s["agreement"]:
        a, sp = s["agreement"], s["speedup"]
        md += (f"\n\nlm-eval / sycolab: whole process **{sp['whole_process']}x**, "
               f"evaluation-only **{sp['evaluation_only']}x**. Chosen answers identical on "
               f"**{a['agree']}/{a['compared']}** items; largest |log-prob difference| "
               f"{a['max_abs_logprob_diff']:.2e} (random weights: near-tied options can flip "
               "with rounding; disagreements are listed with lm-eval's margin in the JSON).")
    else:
        md += f"\n\nlm-eval comparison skipped: {s['lm_eval']['skipped']}."
    if "sycolab" in g:
        G = g["sycolab"]
        md += (f"\n\nGeneration (`--scoring generate`, are-you-sure, {g['items']} facts items x 2 "
               f"turns, at most {g['max_new_tokens']} new tokens): {G['generated_tokens']} tokens "
               f"in {G['replies']} replies, evaluation-only {G['evaluation_only_s']} s, "
               f"whole process {G['whole_process_s']} s: **{G['tokens_per_s']} generated "
               "tokens/s**.")
    md += f"\n\n{C.PROTOCOL_NOTE}\n"
    return md


if __name__ == "__main__":
    main()
