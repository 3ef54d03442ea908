"""Choice scoring: lm-evaluation-harness 0.4.13 vs `sycolab eval --scoring lm-eval`.

    python benchmarks/bench_lm_eval.py [--rows 200]

lm-eval side: its shipped `sycophancy_on_nlp_survey` task, copied at run time into
benchmarks/out/lm_eval_task/ with only the dataset location changed (local JSON holding the first
N rows of the shared Perez file), `hf` backend, batch size 8, float32, CPU, run in-process in its
own virtualenv so model loading (HFLM construction) is timed apart from `simple_evaluate`.
sycolab side: `sycolab eval --model hf:FOLDER --suite perez:FILE --protocol persona --scoring
lm-eval --limit N` in a fresh run folder; evaluation time = results.json `wall_seconds`.
Both load the same local folder (the dequantized SmolLM2). Reported: wall, evaluation and
startup seconds, items/s and workload tokens/s (the same token count for both sides: the
prompt plus both continuations of each item, tokenized as lm-eval does), peak RSS, and per-item
agreement of the chosen answers (and the largest log-probability difference).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TASK = "sycophancy_on_nlp_survey"
LOCAL_TASK = TASK + "_local"


# ----------------------------------------------------------------------------- driver (venv)
def driver(args: argparse.Namespace) -> None:
    """Runs inside benchmarks/.venvs/lm-eval: load HFLM (timed), then simple_evaluate (timed)."""
    threads = C.pin_threads()
    t0 = time.perf_counter()
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lm = HFLM(pretrained=args.model, dtype="float32", batch_size=args.batch, device="cpu")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tm = TaskManager(include_path=args.include)
    out = simple_evaluate(model=lm, tasks=[args.task], batch_size=args.batch, log_samples=True,
                         task_manager=tm)
    eval_s = time.perf_counter() - t0
    assert out is not None
    samples = []
    for s in out["samples"][args.task]:
        scores = [float(r[0]) for r in s["filtered_resps"]]
        samples.append({"doc_id": s["doc_id"], "choices": [a[1] for a in s["arguments"]],
                        "logprobs": scores})
    Path(args.result).write_text(json.dumps({
        "threads": threads, "import_s": import_s, "load_s": load_s, "eval_s": eval_s,
        "metrics": {k: v for k, v in out["results"][args.task].items()
                    if isinstance(v, (int, float, str))},
        "samples": samples}, indent=1))


# ----------------------------------------------------------------------------- orchestrator
def write_task(rows: int) -> tuple[Path, Path]:
    """The shipped task YAML with only the dataset location changed, plus its data file."""
    py = C.venv_python("lm-eval")
    import subprocess

    shipped = Path(subprocess.run(
        [str(py), "-c", "import lm_eval,os;print(os.path.dirname(lm_eval.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip())
    src = shipped / "tasks" / "model_written_evals" / "sycophancy" / f"{TASK}.yaml"
    folder = C.fresh_dir(C.OUT / "lm_eval_task")
    data = folder / f"{TASK}.first{rows}.jsonl"
    lines = C.PEREZ_FILE.read_text().splitlines()[:rows]
    data.write_text("\n".join(lines) + "\n")
    text = src.read_text()
    out_lines = []
    for line in text.splitlines():
        if line.startswith("task:"):
            line = f"task: {LOCAL_TASK}"
        elif line.startswith("dataset_path:"):
            line = ("dataset_path: json\ndataset_kwargs:\n  data_files:\n"
                    f"    validation: {data}")
        elif line.startswith("dataset_name:"):
            line = "dataset_name: null"
        out_lines.append(line)
    (folder / f"{LOCAL_TASK}.yaml").write_text("\n".join(out_lines) + "\n")
    return folder, data


def workload_tokens(folder: Path, rows: int) -> int:
    """Prompt + both continuations per item, tokenized the way lm-eval does (same for both)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    total = 0
    for line in C.PEREZ_FILE.read_text().splitlines()[:rows]:
        row = json.loads(line)
        ctx = f"Human: {row['question']}\n\nAssistant: I believe the best answer is"
        n_ctx = len(tok.encode(ctx, add_special_tokens=False))
        total += n_ctx
        for cont in (row["answer_matching_behavior"], row["answer_not_matching_behavior"]):
            total += len(tok.encode(ctx + cont, add_special_tokens=False)) - n_ctx
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8, help="lm-eval batch size (issue: 8)")
    ap.add_argument("--lm-eval-driver", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--include", help=argparse.SUPPRESS)
    ap.add_argument("--task", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lm_eval_driver:
        driver(args)
        return

    C.OUT.mkdir(parents=True, exist_ok=True)
    py = C.ensure_venv("lm-eval")
    folder = C.model_folder()
    C.warm_file_cache(folder)
    task_dir, _ = write_task(args.rows)
    tokens = workload_tokens(folder, args.rows)

    # lm-eval
    raw = C.OUT / "lm_eval_raw.json"
    log = C.OUT / "lm_eval.log"
    print(f"[bench] lm-eval on {args.rows} rows, batch {args.batch} ...", flush=True)
    peer = C.run_measured([str(py), __file__, "--lm-eval-driver", "--model", str(folder),
                           "--include", str(task_dir), "--task", LOCAL_TASK,
                           "--batch", str(args.batch), "--result", str(raw)], log=log)
    C.check(peer, log)
    lm = C.read_json(raw)

    # sycolab
    run_dir = C.fresh_dir(C.OUT / "lm_eval_sycolab_run")
    log2 = C.OUT / "lm_eval_sycolab.log"
    cmd = [sys.executable, "-m", "sycolab", "eval", "--model", f"hf:{folder}",
           "--suite", f"perez:{C.PEREZ_FILE}", "--protocol", "persona", "--scoring", "lm-eval",
           "--limit", str(args.rows), "--out", str(run_dir)]
    print("[bench] sycolab:", " ".join(cmd[2:]), flush=True)
    ours = C.run_measured(cmd, log=log2)
    C.check(ours, log2)
    res = C.read_json(run_dir / "results.json")
    cfg = C.read_json(run_dir / "config.json")
    recs = {str(r["item_id"]): r for r in C.read_jsonl(run_dir / "samples.jsonl")}

    # agreement
    letters = "ABCDEFGH"
    agree = compared = 0
    max_lp_diff = 0.0
    disagreements = []
    for s in lm["samples"]:
        rec = recs.get(str(s["doc_id"] + 1))
        if rec is None or rec.get("error"):
            continue
        lm_letter = s["choices"][max(range(len(s["logprobs"])), key=lambda i: s["logprobs"][i])]
        lm_letter = lm_letter.strip().strip("()")
        ours_letter = rec["letters"][-1]
        compared += 1
        agree += lm_letter == ours_letter
        if lm_letter != ours_letter:
            disagreements.append({"item_id": rec["item_id"], "lm_eval": lm_letter,
                                  "sycolab": ours_letter})
        ours_lp = rec["choice_logprobs"][-1] or {}
        for choice, lp in zip(s["choices"], s["logprobs"], strict=True):
            idx = letters.index(choice.strip().strip("()"))
            from sycolab.core.normalize import normalize_answer

            key = normalize_answer(rec["options"][idx])
            if key in ours_lp:
                max_lp_diff = max(max_lp_diff, abs(ours_lp[key] - lp))

    ours_eval = float(res["wall_seconds"])
    n = args.rows
    data: dict[str, Any] = {
        "rows": n, "workload_tokens": tokens, "threads": C.THREADS,
        "lm_eval": {"version": "0.4.13", "batch_size": args.batch, "wall_s": peer["wall_s"],
                    "cpu_s": peer["cpu_s"],
                    "import_s": round(lm["import_s"], 3), "load_s": round(lm["load_s"], 3),
                    "eval_s": round(lm["eval_s"], 3), "peak_rss_mb": peer["peak_rss_mb"],
                    "items_per_s": round(n / lm["eval_s"], 3),
                    "tokens_per_s": round(tokens / lm["eval_s"], 1), "threads": lm["threads"],
                    "metrics": lm["metrics"]},
        "sycolab": {"command": " ".join(cmd[2:]), "wall_s": ours["wall_s"], "cpu_s": ours["cpu_s"],
                    "eval_s": ours_eval,
                    "startup_s": round(ours["wall_s"] - ours_eval, 3),
                    "peak_rss_mb": ours["peak_rss_mb"], "items_per_s": round(n / ours_eval, 3),
                    "tokens_per_s": round(tokens / ours_eval, 1),
                    "threads": cfg.get("run", {}).get("threads"),
                    "batch_size": cfg.get("run", {}).get("batch_size")},
        "agreement": {"compared": compared, "agree": agree,
                      "rate": round(agree / compared, 4) if compared else None,
                      "max_abs_logprob_diff": round(max_lp_diff, 6),
                      "disagreements": disagreements[:20]},
    }
    speedup = C.ratio(lm["eval_s"], ours_eval)
    data["speedup"] = speedup
    data["cpu_ratio_whole_process"] = C.ratio(peer["cpu_s"], ours["cpu_s"])
    data["targets"] = {"speedup_min": 2.5, "speedup_goal": 3.0, "agreement_min": 0.99,
                       "met": bool(speedup and speedup >= 2.5 and compared
                                   and agree / compared >= 0.99)}
    L, S = data["lm_eval"], data["sycolab"]
    md = (f"### Choice scoring: lm-eval 0.4.13 vs sycolab (`--scoring lm-eval`), {n} Perez "
          f"NLP-survey rows, {C.THREADS} threads, float32\n\n")
    md += C.md_table([
        ["lm-eval (hf, batch 8)", L["eval_s"], L["load_s"], L["wall_s"], L["items_per_s"],
         L["tokens_per_s"], L["peak_rss_mb"]],
        ["sycolab eval", S["eval_s"], S["startup_s"], S["wall_s"], S["items_per_s"],
         S["tokens_per_s"], S["peak_rss_mb"]],
    ], ["tool", "eval s", "load s", "wall s", "items/s", "tokens/s", "peak RSS MB"])
    md += (f"\n\nSpeed-up (lm-eval eval s / sycolab eval s): **{speedup}x** (target >= 2.5x, "
           f"goal 3x). Chosen answers identical on **{agree}/{compared}** items "
           f"({data['agreement']['rate']:.2%}; target >= 99%); largest |log-prob difference| "
           f"{max_lp_diff:.2e}. Whole-process CPU seconds (user+sys, loading included; less "
           f"sensitive to other load on the machine): lm-eval {peer['cpu_s']}, sycolab "
           f"{ours['cpu_s']} ({data['cpu_ratio_whole_process']}x). Tokens/s counts each item's "
           f"prompt plus both continuations ({tokens} tokens in all), the same for both tools. "
           "sycolab's load s is its whole startup (imports, model load, planning).\n")
    C.write_outputs("lm_eval", data, md)


if __name__ == "__main__":
    main()
