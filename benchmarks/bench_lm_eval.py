"""Choice scoring: lm-evaluation-harness 0.4.13 vs `sycolab eval --scoring lm-eval`.

    python benchmarks/bench_lm_eval.py [--rows 200] [--repeats 3]

lm-eval side: its shipped `sycophancy_on_nlp_survey` task, copied at run time into
benchmarks/out/lm_eval_task/ with only the dataset location changed (local JSON holding the first
N rows of the shared Perez file), `hf` backend, batch size 8, float32, CPU, run by a driver in its
own virtualenv that makes the calls its CLI makes (HFLM, TaskManager, simple_evaluate).
sycolab side: the real CLI, `sycolab eval --model hf:FOLDER --suite perez:FILE --protocol persona
--scoring lm-eval --limit N`, in a fresh run folder, started through benchmarks/_marks.py.
Both load the same local folder (the dequantized SmolLM2). The two alternate (lm-eval, sycolab,
lm-eval, ...; --repeats rounds). Reported for each: whole process s (measured by the harness
around the child) and evaluation-only s (the same boundaries for both: see _marks.py), medians,
CPU seconds, load averages, items/s and workload tokens/s (the same token count for both sides:
the prompt plus both continuations of each item, tokenized as lm-eval does), peak RSS, and
per-item agreement of the chosen answers (and the largest log-probability difference).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TASK = "sycophancy_on_nlp_survey"
LOCAL_TASK = TASK + "_local"


# ----------------------------------------------------------------------------- driver (venv)
def driver(args: argparse.Namespace) -> None:
    """Runs inside benchmarks/.venvs/lm-eval: HFLM, then simple_evaluate; boundaries marked."""
    import _marks

    marks = _marks.Marks(args.marks)
    threads = C.pin_threads()
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    _marks.patch_lm_eval(marks)
    batch: int | str = int(args.batch) if str(args.batch).isdigit() else str(args.batch)
    marks.mark("load_start")
    lm = HFLM(pretrained=args.model, dtype=args.dtype, batch_size=batch, device=args.device)
    marks.mark("load_end")
    tm = TaskManager(include_path=args.include)
    out = simple_evaluate(model=lm, tasks=[args.task], batch_size=batch, log_samples=True,
                         task_manager=tm)
    assert out is not None
    samples = []
    for s in out["samples"][args.task]:
        scores = [float(r[0]) for r in s["filtered_resps"]]
        samples.append({"doc_id": s["doc_id"], "choices": [a[1] for a in s["arguments"]],
                        "logprobs": scores})
    Path(args.result).write_text(json.dumps({
        "threads": threads,
        "metrics": {k: v for k, v in out["results"][args.task].items()
                    if isinstance(v, (int, float, str))},
        "samples": samples}, indent=1))


# ----------------------------------------------------------------------------- orchestrator
def write_task(rows: int, folder: Path | None = None) -> tuple[Path, Path]:
    """The shipped task YAML with only the dataset location changed, plus its data file."""
    py = C.venv_python("lm-eval")
    import subprocess

    shipped = Path(subprocess.run(
        [str(py), "-c", "import lm_eval,os;print(os.path.dirname(lm_eval.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip())
    src = shipped / "tasks" / "model_written_evals" / "sycophancy" / f"{TASK}.yaml"
    folder = C.fresh_dir(folder or C.OUT / "lm_eval_task")
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


def compare_answers(lm_samples: list[dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """Per-item agreement of lm-eval's chosen answers with a sycolab run's `letters`, the
    largest |log-prob difference| of the same option, and both tools' margins (best - second)
    where they disagree."""
    from sycolab.core.normalize import normalize_answer

    recs = {str(r["item_id"]): r for r in C.read_jsonl(run_dir / "samples.jsonl")}
    letters = "ABCDEFGH"
    agree = compared = 0
    max_lp_diff = 0.0
    disagreements = []
    for s in lm_samples:
        rec = recs.get(str(s["doc_id"] + 1))
        if rec is None or rec.get("error"):
            continue
        lps = s["logprobs"]
        best = max(range(len(lps)), key=lambda i: lps[i])
        lm_letter = s["choices"][best].strip().strip("()")
        ours_letter = rec["letters"][-1]
        compared += 1
        agree += lm_letter == ours_letter
        if lm_letter != ours_letter:
            rest = sorted(lps, reverse=True)
            disagreements.append({"item_id": rec["item_id"], "lm_eval": lm_letter,
                                  "sycolab": ours_letter,
                                  "lm_eval_margin": round(rest[0] - rest[1], 6)
                                  if len(rest) > 1 else None})
        ours_lp = rec["choice_logprobs"][-1] or {}
        for choice, lp in zip(s["choices"], s["logprobs"], strict=True):
            idx = letters.index(choice.strip().strip("()"))
            key = normalize_answer(rec["options"][idx])
            if key in ours_lp:
                max_lp_diff = max(max_lp_diff, abs(ours_lp[key] - lp))
    return {"compared": compared, "agree": agree,
            "rate": round(agree / compared, 4) if compared else None,
            "max_abs_logprob_diff": round(max_lp_diff, 6), "disagreements": disagreements[:20]}


def lm_eval_driver_cmd(py: Path, folder: Path, task_dir: Path, batch: str, raw: Path,
                       marks: Path, device: str = "cpu", dtype: str = "float32") -> list[str]:
    return [str(py), __file__, "--lm-eval-driver", "--model", str(folder), "--include",
            str(task_dir), "--task", LOCAL_TASK, "--batch", str(batch), "--device", device,
            "--dtype", dtype, "--result", str(raw), "--marks", str(marks)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="rounds of lm-eval, sycolab")
    ap.add_argument("--batch", default="8", help="lm-eval batch size (issue: 8)")
    ap.add_argument("--lm-eval-driver", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--include", help=argparse.SUPPRESS)
    ap.add_argument("--task", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--marks", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lm_eval_driver:
        driver(args)
        return
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    C.OUT.mkdir(parents=True, exist_ok=True)
    py = C.ensure_venv("lm-eval")
    folder = C.model_folder()
    C.warm_file_cache(folder)
    task_dir, _ = write_task(args.rows)
    tokens = workload_tokens(folder, args.rows)
    n = args.rows
    work = C.fresh_dir(C.OUT / "lm_eval_runs")

    def lm_eval_run(rep: int) -> dict[str, Any]:
        raw = work / f"lm_eval_raw.r{rep + 1}.json"
        cmd = lm_eval_driver_cmd(py, folder, task_dir, args.batch, raw,
                                 work / f"lm_eval.r{rep + 1}.marks.json")
        run = C.run_timed(cmd, work / f"lm_eval.r{rep + 1}.marks.json",
                          log=work / f"lm_eval.r{rep + 1}.log")
        run["raw"] = C.read_json(raw)
        return run

    def sycolab_run(rep: int) -> dict[str, Any]:
        run_dir = work / f"sycolab.r{rep + 1}"
        cli = ["eval", "--model", f"hf:{folder}", "--suite", f"perez:{C.PEREZ_FILE}",
               "--protocol", "persona", "--scoring", "lm-eval", "--limit", str(n),
               "--no-progress", "--out", str(run_dir)]
        marks = work / f"sycolab.r{rep + 1}.marks.json"
        run = C.run_timed(C.sycolab_timed(cli, marks), marks,
                          log=work / f"sycolab.r{rep + 1}.log")
        run["run_dir"] = run_dir
        return run

    runs = C.alternate({"lm-eval": lm_eval_run, "sycolab": sycolab_run}, args.repeats)
    agreement = compare_answers(runs["lm-eval"][0]["raw"]["samples"], runs["sycolab"][0]["run_dir"])
    lm_answers_stable = all(r["raw"]["samples"] == runs["lm-eval"][0]["raw"]["samples"]
                            for r in runs["lm-eval"])
    cfg = C.read_json(runs["sycolab"][0]["run_dir"] / "config.json")
    L, S = C.timing(runs["lm-eval"]), C.timing(runs["sycolab"])
    for t in (L, S):
        e = t["evaluation_only_s"]
        t["items_per_s"] = round(n / e, 3) if e else None
        t["tokens_per_s"] = round(tokens / e, 1) if e else None
    L.update(version="0.4.13", batch_size=args.batch, threads=runs["lm-eval"][0]["raw"]["threads"],
             metrics=runs["lm-eval"][0]["raw"]["metrics"])
    S.update(threads=cfg.get("run", {}).get("threads"),
             batch_size=cfg.get("run", {}).get("batch_size"))
    sp = C.speedups(L, S)
    rate = agreement["rate"]
    data: dict[str, Any] = {
        "rows": n, "workload_tokens": tokens, "threads": C.THREADS, "repeats": args.repeats,
        "order": ["lm-eval", "sycolab"] * args.repeats,
        "lm_eval": L, "sycolab": S, "agreement": agreement,
        "lm_eval_answers_identical_across_repeats": lm_answers_stable,
        "speedup": sp,
        "targets": {"speedup_min": 2.5, "speedup_goal": 3.0, "agreement_min": 0.99,
                    "met_evaluation_only": bool(sp["evaluation_only"]
                                                and sp["evaluation_only"] >= 2.5
                                                and rate is not None and rate >= 0.99),
                    "met_whole_process": bool(sp["whole_process"] and sp["whole_process"] >= 2.5
                                              and rate is not None and rate >= 0.99)},
    }
    md = (f"### Choice scoring: lm-eval 0.4.13 vs sycolab (`--scoring lm-eval`), {n} Perez "
          f"NLP-survey rows, {C.THREADS} threads, float32, {args.repeats} alternating rounds\n\n")
    md += C.timing_table({f"lm-eval (hf, batch {args.batch})": L, "sycolab eval": S},
                         work=tokens, work_unit="tokens")
    md += (f"\n\nlm-eval / sycolab: whole process **{sp['whole_process']}x**, evaluation-only "
           f"**{sp['evaluation_only']}x**, CPU seconds (whole process) {sp['cpu_whole_process']}x "
           f"(target >= 2.5x, goal 3x). Chosen answers identical on **{agreement['agree']}/"
           f"{agreement['compared']}** items ({(rate or 0):.2%}; target >= 99%); largest "
           f"|log-prob difference| {agreement['max_abs_logprob_diff']:.2e}. Tokens/s counts each "
           f"item's prompt plus both continuations ({tokens} tokens in all), the same for both "
           f"tools.\n\n{C.PROTOCOL_NOTE}\n\nCommands (first round):\n\n"
           f"- lm-eval: `{L['command']}`\n- sycolab: `{S['command']}`\n")
    C.write_outputs("lm_eval", data, md)


if __name__ == "__main__":
    main()
