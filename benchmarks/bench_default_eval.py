"""Default `sycolab eval` (no flags) with a warm model cache: wall time, trials per group, RSS.

    python benchmarks/bench_default_eval.py

"Warm cache" = the embedded SmolLM2 is already dequantized into ~/.cache/sycolab (this script
makes sure of that first, and reads the weights once so the page cache is warm too). The command
then runs exactly as a user types it, `sycolab eval`, in a fresh working folder under
benchmarks/out/default_eval_cwd/ (so it starts a new run folder instead of resuming one).
Reported: total wall time (the number the target is about: under 3 minutes), evaluation time
(results.json `wall_seconds`) and startup (imports, model load, planning), peak RSS, and the
groups with their trial counts (target: at least 100 per group).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def main() -> None:
    C.OUT.mkdir(parents=True, exist_ok=True)
    C.warm_file_cache(C.model_folder())
    cwd = C.fresh_dir(C.OUT / "default_eval_cwd")
    exe = shutil.which("sycolab")
    cmd = [exe, "eval"] if exe else [sys.executable, "-m", "sycolab", "eval"]
    log = C.OUT / "default_eval.log"
    print("[bench] sycolab eval (defaults) ...", flush=True)
    run = C.run_measured(cmd, log=log, cwd=cwd)
    C.check(run, log)
    run_dirs = sorted((cwd / "runs").iterdir())
    assert len(run_dirs) == 1, run_dirs
    res = C.read_json(run_dirs[0] / "results.json")
    cfg = C.read_json(run_dirs[0] / "config.json")
    groups = [{"suite": g["suite"], "protocol": g["protocol"], "n": g["n"],
               "n_errors": g.get("n_errors", 0)} for g in res["groups"]]
    trials = sum(g["n"] for g in groups)
    eval_s = float(res["wall_seconds"])
    ok_time = run["wall_s"] < 180
    ok_n = bool(groups) and min(g["n"] for g in groups) >= 100
    data: dict[str, Any] = {
        "command": "sycolab eval", "wall_s": run["wall_s"], "cpu_s": run["cpu_s"],
        "eval_s": eval_s, "startup_s": round(run["wall_s"] - eval_s, 3),
        "peak_rss_mb": run["peak_rss_mb"], "trials": trials,
        "trials_per_s": round(trials / eval_s, 3), "groups": groups,
        "threads": cfg.get("run", {}).get("threads"),
        "targets": {"wall_max_s": 180, "min_trials_per_group": 100,
                    "met": ok_time and ok_n, "time_met": ok_time, "trials_met": ok_n},
    }
    md = "### Default `sycolab eval`, warm model cache\n\n"
    md += C.md_table([["sycolab eval", run["wall_s"], eval_s, data["startup_s"], trials,
                       data["trials_per_s"], run["peak_rss_mb"]]],
                     ["command", "wall s", "eval s", "startup s", "trials", "trials/s",
                      "peak RSS MB"])
    md += "\n\nGroups: " + ", ".join(f"{g['suite']}/{g['protocol']} n={g['n']}" for g in groups)
    md += (f"\n\nTarget under 180 s wall: **{'met' if ok_time else 'not met'}**; at least 100 "
           f"trials per group: **{'met' if ok_n else 'not met'}**.\n")
    C.write_outputs("default_eval", data, md)


if __name__ == "__main__":
    main()
