"""Cost of the evaluation-time mitigations: steering and LQCD against the same unmodified run.

    python benchmarks/bench_interventions.py [--limit 60] [--repeats 3]
                                             [--scoring generate --scoring choice] [--vector FILE]

Issue #4: "Steering adds under 5% to evaluation time; LQCD under 1.8x". On the embedded model
(`--model smollm2`), the same items in every run: the first --limit `arithmetic` items of the test
split under the default protocols (`suggest-incorrect`, `are-you-sure`, `reask`), for each
scoring mode (`generate`, greedy, 32 new tokens; and `choice`), three arms, each the real CLI in
its own child process and a fresh run folder:

- base:    sycolab eval --model smollm2 --suite arithmetic --split test --limit N --scoring S
- steered: the same + --steer VEC --multiplier -1 --layers 12
- lqcd:    the same + --decoding lqcd --alpha 1 --beta 0.1

VEC is trained once beforehand with the README's command (`sycolab steer train --model smollm2
--suite arithmetic --suite addition-claims --split train`); its training is not part of any ratio
(it is reported apart), and `--vector FILE` reuses a vector instead. The test split is disjoint
from the train split, so evaluation does not refuse the vector's training items.

Evaluation time = results.json `wall_seconds`: the trial loop (`run_pending`), after model loading
and before the side-effects pass of steered and LQCD runs (82 benign prompts) and the report. The
rest of each process's wall time is reported as other s. Each (scoring, arm) runs --repeats times;
the arms alternate in a Latin-square order (base, steered, lqcd; steered, lqcd, base; ...) so slow
drift of the machine's load hits every arm alike. Reported: the median evaluation seconds of each
arm with its min-max, the ratios of medians steered/base and lqcd/base against the targets, the
per-repeat ratios (run k of an arm over run k of base), trial counts and trial keys (they must match
across every run), replies identical to base, generated tokens (replies re-tokenized; a different
reply length changes generation time), whole-process CPU seconds (steadier than wall time on a
shared machine), peak RSS, and the steered run's own in-process slowdown on the benign prompts
(`side_effects.slowdown`). """

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

NAME = "interventions"
SUITE = "arithmetic"
STEER_TRAIN_SUITES = ("arithmetic", "addition-claims")
ARMS = ("base", "steered", "lqcd")
TARGETS = {"steered": 1.05, "lqcd": 1.8}


def sycolab_cmd() -> list[str]:
    exe = shutil.which("sycolab")
    return [exe] if exe else [sys.executable, "-m", "sycolab"]


def arm_flags(arm: str, vector: Path, multiplier: float, layer: int, alpha: float,
              beta: float) -> list[str]:
    if arm == "steered":
        return ["--steer", str(vector), "--multiplier", f"{multiplier:g}", "--layers", str(layer)]
    if arm == "lqcd":
        return ["--decoding", "lqcd", "--alpha", f"{alpha:g}", "--beta", f"{beta:g}"]
    return []


def latin_order(repeat: int) -> list[str]:
    """Arm order of repeat k: rotated by k, so each arm runs first, second and last in turn."""
    k = repeat % len(ARMS)
    return list(ARMS[k:] + ARMS[:k])


def train_vector(dest: Path) -> dict[str, Any]:
    """The README's steering-vector command on the train split; timed only for information."""
    out = dest.relative_to(C.REPO) if dest.is_relative_to(C.REPO) else dest
    cmd = [*sycolab_cmd(), "steer", "train", "--model", "smollm2",
           *[a for s in STEER_TRAIN_SUITES for a in ("--suite", s)], "--split", "train",
           "--out", str(out)]
    log = C.OUT / "interventions_steer_train.log"
    print("[bench] sycolab", " ".join(cmd[len(sycolab_cmd()):]), "(not timed in any ratio)",
          flush=True)
    run = C.run_measured(cmd, log=log, cwd=C.REPO)
    C.check(run, log)
    return {"command": "sycolab " + " ".join(cmd[len(sycolab_cmd()):]), "wall_s": run["wall_s"],
            "peak_rss_mb": run["peak_rss_mb"]}


def token_counter(folder: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))

    def count(texts: list[str]) -> int:
        return sum(len(tok.encode(t, add_special_tokens=False)) for t in texts if t)

    return count


def read_run(run_dir: Path, proc: dict[str, Any], count_tokens: Any) -> dict[str, Any]:
    res = C.read_json(run_dir / "results.json")
    cfg = C.read_json(run_dir / "config.json")
    samples = {r["trial_id"]: r for r in C.read_jsonl(run_dir / "samples.jsonl")}  # latest wins
    recs = sorted(samples.values(), key=lambda r: (r["suite"], r["item_id"], r["protocol"]))
    eval_s = float(res["wall_seconds"])
    se = res.get("side_effects") or {}
    se_s = None
    if se.get("n_tokens") and se.get("tokens_per_s_unmodified") and se.get("tokens_per_s_modified"):
        se_s = round(se["n_tokens"] / se["tokens_per_s_unmodified"]
                     + se["n_tokens"] / se["tokens_per_s_modified"], 3)
    replies = [t for r in recs for t in (r.get("responses") or []) if isinstance(t, str)]
    return {
        "run_dir": str(run_dir), "eval_s": eval_s, "wall_s": proc["wall_s"],
        "other_s": round(proc["wall_s"] - eval_s, 3), "cpu_s": proc["cpu_s"],
        "peak_rss_mb": proc["peak_rss_mb"],
        "trials": sum(g["n"] for g in res["groups"]),
        "errors": sum(g.get("n_errors", 0) for g in res["groups"]),
        "groups": {f"{g['suite']}/{g['protocol']}": g["n"] for g in res["groups"]},
        "keys": [f"{r['suite']}/{r['item_id']}/{r['protocol']}" for r in recs],
        "replies": {f"{r['suite']}/{r['item_id']}/{r['protocol']}": r.get("responses")
                    for r in recs},
        "answers": {f"{r['suite']}/{r['item_id']}/{r['protocol']}": r.get("answers")
                    for r in recs},
        "generated_tokens": count_tokens(replies) if replies else 0,
        "n_replies": len(replies),
        "batch_size": cfg.get("run", {}).get("batch_size"),
        "threads": cfg.get("run", {}).get("threads"),
        "side_effects": {"slowdown": se.get("slowdown"),
                         "kl": (se.get("kl") or {}).get("value"),
                         "forward_s": se_s} if se else None,
    }


def first_or_none(values: list[float] | None) -> float | None:
    return values[0] if values else None


def cpu_median(runs: list[dict[str, Any]]) -> float | None:
    values = [r["cpu_s"] for r in runs if r["cpu_s"] is not None]
    return round(statistics.median(values), 2) if values else None


def spread(values: list[float]) -> dict[str, Any]:
    med = statistics.median(values)
    return {"median": round(med, 3), "min": round(min(values), 3), "max": round(max(values), 3),
            "spread": round((max(values) - min(values)) / med, 4) if med else None,
            "values": [round(v, 3) for v in values]}


def summarize_mode(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians, ratios against base, per-repeat ratios, trial checks for one scoring mode."""
    out: dict[str, Any] = {"arms": {}}
    base = runs["base"]
    ref_keys = base[0]["keys"]
    ref_groups = base[0]["groups"]
    same_keys = all(r["keys"] == ref_keys and r["groups"] == ref_groups
                    for arm in ARMS for r in runs[arm])
    no_errors = all(r["errors"] == 0 for arm in ARMS for r in runs[arm])
    base_eval = spread([r["eval_s"] for r in base])
    for arm in ARMS:
        rs = runs[arm]
        ev = spread([r["eval_s"] for r in rs])
        first = rs[0]
        same_replies = sum(first["replies"][k] == base[0]["replies"].get(k) for k in ref_keys)
        same_answers = sum(first["answers"][k] == base[0]["answers"].get(k) for k in ref_keys)
        entry: dict[str, Any] = {
            "eval_s": ev,
            "wall_s": spread([r["wall_s"] for r in rs]),
            "other_s": spread([r["other_s"] for r in rs]),
            "cpu_s": [r["cpu_s"] for r in rs],
            "cpu_s_median": cpu_median(rs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "trials": first["trials"], "errors": sum(r["errors"] for r in rs),
            "generated_tokens": first["generated_tokens"],
            "replies": first["n_replies"],
            "mean_reply_tokens": (round(first["generated_tokens"] / first["n_replies"], 2)
                                  if first["n_replies"] else None),
            "ms_per_generated_token": spread(
                [1000 * r["eval_s"] / r["generated_tokens"] for r in rs])
            if all(r["generated_tokens"] for r in rs) else None,
            "trials_same_replies_as_base": same_replies,
            "trials_same_answers_as_base": same_answers,
            "repeats_identical": all(r["replies"] == first["replies"]
                                     and r["answers"] == first["answers"] for r in rs),
            "side_effects": [r["side_effects"] for r in rs if r["side_effects"]],
            "runs": [{k: r[k] for k in ("run_dir", "eval_s", "wall_s", "other_s", "cpu_s",
                                        "peak_rss_mb", "trials", "errors", "generated_tokens",
                                        "n_replies", "batch_size", "threads")} for r in rs],
        }
        if arm != "base":
            per = [r["eval_s"] / b["eval_s"] for r, b in zip(rs, base, strict=True)]
            entry["ratio_of_medians"] = C.ratio(ev["median"], base_eval["median"])
            entry["per_repeat_ratios"] = [round(x, 3) for x in per]
            entry["target_max"] = TARGETS[arm]
            if first["generated_tokens"] and base[0]["generated_tokens"]:
                tok_ratio = first["generated_tokens"] / base[0]["generated_tokens"]
                entry["generated_tokens_over_base"] = round(tok_ratio, 3)
                entry["ratio_per_generated_token"] = C.ratio(
                    ev["median"] / first["generated_tokens"],
                    base_eval["median"] / base[0]["generated_tokens"])
                spt = entry["ms_per_generated_token"]
                bspt = out["arms"]["base"].get("ms_per_generated_token")
                if spt and bspt:
                    # median over repeats of (eval s / generated tokens), arm over base
                    entry["ratio_of_median_ms_per_generated_token"] = C.ratio(
                        spt["median"], bspt["median"])
                    entry["per_repeat_ratios_per_generated_token"] = [
                        round((r["eval_s"] / r["generated_tokens"])
                              / (b["eval_s"] / b["generated_tokens"]), 3)
                        for r, b in zip(rs, base, strict=True)]
            if arm == "lqcd":
                entry["cpu_ratio_whole_process"] = C.ratio(cpu_median(rs), cpu_median(base))
            entry["met"] = bool(entry["ratio_of_medians"] is not None
                                and entry["ratio_of_medians"] < TARGETS[arm])
        out["arms"][arm] = entry
    out["trials_match"] = same_keys
    out["no_errors"] = no_errors
    out["trials"] = base[0]["trials"]
    out["groups"] = ref_groups
    return out


def markdown(data: dict[str, Any]) -> str:
    n_rep = data["repeats"]
    md = (f"### Interventions: cost of steering and LQCD, `{SUITE}` test split, first "
          f"{data['limit']} items x {len(data['protocols'])} protocols, embedded SmolLM2, "
          f"{C.THREADS} threads, float32\n\n")
    rows = []
    for mode, m in data["modes"].items():
        for arm in ARMS:
            a = m["arms"][arm]
            e = a["eval_s"]
            rng = f"{e['min']:.1f}-{e['max']:.1f}"
            ratio = "" if arm == "base" else f"{a['ratio_of_medians']}x"
            per = "" if arm == "base" else ", ".join(f"{x:.3f}" for x in a["per_repeat_ratios"])
            rows.append([mode, arm, e["median"], rng, f"{e['spread']:.1%}", ratio, per,
                         a["trials"], f"{a['trials_same_answers_as_base']}/{a['trials']}",
                         (f"{a['trials_same_replies_as_base']}/{a['trials']}"
                          if mode == "generate" else ""),
                         a["generated_tokens"] if mode == "generate" else "",
                         a["mean_reply_tokens"] if mode == "generate" else "",
                         (f"{a['ms_per_generated_token']['median']:.2f}"
                          if mode == "generate" and a.get("ms_per_generated_token") else ""),
                         (f"{a['ratio_of_median_ms_per_generated_token']}x"
                          if a.get("ratio_of_median_ms_per_generated_token") else ""),
                         a["other_s"]["median"], a["cpu_s_median"], a["peak_rss_mb"]])
    md += C.md_table(rows, ["scoring", "arm", "eval s (median)", "min-max", "spread",
                            "ratio to base", "per-repeat ratios", "trials",
                            "same answers as base", "same replies as base", "generated tokens",
                            "mean reply tokens", "eval ms per generated token",
                            "per-token ratio to base", "other s", "CPU s", "peak RSS MB"])
    md += "\n\n"
    lines = []
    for mode, m in data["modes"].items():
        s, q = m["arms"]["steered"], m["arms"]["lqcd"]
        met = {True: "met", False: "not met"}
        lines.append(
            f"`{mode}`: steered/base **{s['ratio_of_medians']}x** (target < 1.05: "
            f"**{met[s['met']]}**), lqcd/base **{q['ratio_of_medians']}x** (target < 1.8: "
            f"**{met[q['met']]}**); same {m['trials']} trials (suite, item, protocol) in every "
            f"run: **{'yes' if m['trials_match'] else 'no'}**"
            + ("" if m["no_errors"] else " (some trials errored)") + "."
            + (f" Whole-process CPU seconds lqcd/base: {q['cpu_ratio_whole_process']}x."
               if q.get("cpu_ratio_whole_process") else "")
            + "".join(f" The {arm} runs' replies have "
                      f"{m['arms'][arm]['generated_tokens_over_base']}x "
                      f"base's generated tokens (mean {m['arms'][arm]['mean_reply_tokens']} vs "
                      f"{m['arms']['base']['mean_reply_tokens']} tokens per reply); cost per "
                      f"generated token {arm}/base "
                      f"**{m['arms'][arm].get('ratio_of_median_ms_per_generated_token')}x** "
                      f"(per repeat: "
                      + ", ".join(f"{x:.3f}" for x in
                                  m['arms'][arm].get('per_repeat_ratios_per_generated_token', []))
                      + ")."
                      for arm in ("steered", "lqcd")
                      if m["arms"][arm].get("generated_tokens_over_base") is not None)
            + ("" if all(m["arms"][a]["repeats_identical"] for a in ARMS)
               else " Repeats of one arm did not all give identical replies."))
    md += "\n".join("- " + line for line in lines)
    se = [x for m in data["modes"].values() for x in m["arms"]["steered"]["side_effects"]]
    slow = [x["slowdown"] for x in se if x.get("slowdown")]
    vec = data["vector"]
    md += (f"\n\n{n_rep} repeat{'s' if n_rep != 1 else ''} of every (scoring, arm), arms "
           "alternating in a Latin-square "
           "order; eval s is results.json `wall_seconds` (the trial loop, after model "
           "loading, before the steered run's side-effects pass and the report), the value is the "
           "median, spread = (max - min) / median, and the ratio is of the medians; per-repeat "
           "ratios divide run k of an arm by run k of base. Other s = process wall - eval s "
           "(imports, model load, planning, report; for steered and LQCD runs also the "
           "side-effect pass on the 82 measure prompts of the benign set). CPU s = user + "
           "system seconds of the whole process (median; loading included, and for steered "
           "and LQCD runs the side-effect pass too): less sensitive than wall time to other "
           "load on the machine. Same answers / replies = trials whose every "
           "scored answer / "
           "generated reply equals base's (first repeat of each); generated tokens = all "
           "replies re-tokenized; eval ms per generated token = median over the repeats of eval "
           "s / generated tokens, and its ratio to base's is the cost per generated token (a "
           "steered or contrastive model writes replies of another length, which changes the "
           "per-run ratio by itself; `choice` scoring generates nothing, so its per-run ratio is "
           "the cost).")
    if slow:
        md += (f" The steered runs' own in-process slowdown on the benign prompts "
               f"(`side_effects.slowdown`; each batch runs unmodified, then modified): "
               f"{', '.join(f'{x:.3f}' for x in slow)}.")
    md += (f" Steering vector: `{vec['command']}`"
           + (f", trained in {vec['wall_s']} s (not in any ratio)" if vec.get("wall_s") else "")
           + f". Load average {data['load'][0]} at start, {data['load'][1]} at end.\n")
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=60, help="first N test-split items")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scoring", action="append", choices=["generate", "choice"],
                    help="repeatable (default: generate and choice)")
    ap.add_argument("--vector", type=Path, help="reuse this steering vector instead of training")
    ap.add_argument("--multiplier", type=float, default=-1.0)
    ap.add_argument("--layer", type=int, default=12)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=0.1)
    args = ap.parse_args()
    scorings: list[str] = args.scoring or ["generate", "choice"]
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    runs_root = C.OUT / "interventions_runs"
    if args.vector is not None:
        vector = args.vector.resolve()
        if not vector.is_file():
            ap.error(f"--vector: file not found: {vector}")
        if vector.is_relative_to(runs_root.resolve()):
            ap.error(f"--vector: {runs_root} is emptied at the start; keep the vector elsewhere")
    started = time.perf_counter()

    C.OUT.mkdir(parents=True, exist_ok=True)
    folder = C.model_folder()
    C.warm_file_cache(folder)
    C.fresh_dir(runs_root)

    if args.vector is not None:
        vec_info: dict[str, Any] = {"command": f"(reused) {vector}", "wall_s": None}
    else:
        vector = C.OUT / "interventions_vector.safetensors"
        vector.unlink(missing_ok=True)
        vec_info = train_vector(vector)

    count_tokens = token_counter(folder)
    common = ["eval", "--model", "smollm2", "--suite", SUITE, "--split", "test", "--limit",
              str(args.limit), "--no-progress"]
    protocols: list[str] = []
    modes: dict[str, Any] = {}
    commands: dict[str, str] = {}
    for scoring in scorings:
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
        for rep in range(args.repeats):
            for arm in latin_order(rep):
                run_dir = runs_root / f"{scoring}-{arm}-r{rep + 1}"
                flags = arm_flags(arm, vector, args.multiplier, args.layer, args.alpha,
                                  args.beta)
                cmd = [*sycolab_cmd(), *common, "--scoring", scoring, *flags,
                       "--out", str(run_dir)]
                log = runs_root / f"{scoring}-{arm}-r{rep + 1}.log"
                print(f"[bench] {scoring} {arm} repeat {rep + 1}/{args.repeats} ...", flush=True)
                proc = C.run_measured(cmd, log=log)
                C.check(proc, log)
                commands.setdefault(f"{scoring}/{arm}", proc["command"])
                rec = read_run(run_dir, proc, count_tokens)
                print(f"[bench]   eval {rec['eval_s']:.2f} s, wall {rec['wall_s']:.1f} s, "
                      f"{rec['trials']} trials", flush=True)
                runs[arm].append(rec)
                if not protocols:
                    protocols = sorted({k.split("/", 1)[1] for k in rec["groups"]})
        modes[scoring] = summarize_mode(runs)

    data: dict[str, Any] = {
        "suite": SUITE, "split": "test", "limit": args.limit, "protocols": protocols,
        "repeats": args.repeats, "order": [latin_order(r) for r in range(args.repeats)],
        "threads": C.THREADS, "vector": vec_info,
        "settings": {"multiplier": args.multiplier, "layers": [args.layer],
                     "alpha": args.alpha, "beta": args.beta},
        "commands": commands, "targets": {"steered_over_base_max": TARGETS["steered"],
                                          "lqcd_over_base_max": TARGETS["lqcd"]},
        "modes": modes,
        "load": [first_or_none(C.LOADAVG_AT_START), first_or_none(C.machine()["loadavg_end"])],
        "total_wall_s": round(time.perf_counter() - started, 1),
    }
    data["met"] = all(m["arms"][a]["met"] and m["trials_match"]
                      for m in modes.values() for a in ("steered", "lqcd"))
    C.write_outputs(NAME, data, markdown(data))


if __name__ == "__main__":
    main()
