"""`sycolab locate` on the embedded model for at least 100 trials: whole-process wall time and the
attribution and patching passes (issue 17's target: attribution under 15 minutes on 2 cores).

    python benchmarks/bench_locate.py [--limit 136]

Runs, exactly as a user types it, `sycolab locate --model smollm2 --suite arithmetic --protocol
suggest-incorrect --trials all --limit N` into a fresh folder under benchmarks/out/ (N = 136 items
of the train split give 107 trials whose suggested answer differs from the baseline answer, the
trials `--trials all` localises). Whole process = command start to exit, measured from outside;
the passes are the seconds locate.json records for them (the model's forward and backward passes,
from the first batch to the last). No peer is run beside it: none of the tools this project is
compared with (lm-eval, Inspect) localises components, and TransformerLens cannot load the
embedded GGUF model offline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TARGET_S = 900


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=136)
    args = parser.parse_args()
    C.OUT.mkdir(parents=True, exist_ok=True)
    C.warm_file_cache(C.model_folder())
    out = C.fresh_dir(C.OUT / "locate_run")
    exe = shutil.which("sycolab")
    base = [exe] if exe else [sys.executable, "-m", "sycolab"]
    cmd = [*base, "locate", "--model", "smollm2", "--suite", "arithmetic", "--protocol",
           "suggest-incorrect", "--trials", "all", "--limit", str(args.limit), "--out", str(out),
           "--no-progress"]
    log = C.OUT / "locate.log"
    print("[bench] sycolab locate ...", flush=True)
    run = C.run_measured(cmd, log=log)
    C.check(run, log)
    block = C.read_json(out / "locate.json")["protocols"]["suggest-incorrect"]
    secs = block["seconds"]
    met = secs["attribution"] < TARGET_S and block["n_used"] >= 100
    data: dict[str, Any] = {
        "command": run["command"], "wall_s": run["wall_s"], "cpu_s": run["cpu_s"],
        "peak_rss_mb": run["peak_rss_mb"], "trials": block["n_used"],
        "attribution_s": secs["attribution"], "patching_s": secs["patching"],
        "verified": block["rank_agreement"]["n"],
        "targets": {"attribution_max_s": TARGET_S, "min_trials": 100, "met": met},
    }
    md = "### `sycolab locate` on SmolLM2, 2 cores\n\n" + C.md_table(
        [[block["n_used"], run["wall_s"], secs["attribution"], secs["patching"],
          block["rank_agreement"]["n"], run["peak_rss_mb"]]],
        ["trials", "whole process s", "attribution s", "patching s", "components patched",
         "peak RSS MB"])
    md += (f"\n\nTarget: attribution under {TARGET_S} s for at least 100 trials: "
           f"**{'met' if met else 'not met'}**.\n")
    C.write_outputs("locate", data, md)


if __name__ == "__main__":
    main()
