"""Benchmark: a 5,000-trial run's report.html stays under 5 MB, builds in well under 2 s and loads
in headless Chromium in under 2 s.

    python benchmarks/report_size.py [--run DIR] [--trials 5000]

Without --run it makes a mock-model run of at least --trials trials in a temporary folder.
Writes benchmarks/out/report_size.json and benchmarks/out/report_size.md; exits 1 when a limit is
exceeded. The Chromium load is skipped (and reported as such) when chromium is not installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MAX_BYTES = 5_000_000
MAX_LOAD_MS = 2000.0
SUITES = ["arithmetic", "facts", "addition-claims"]
PROTOCOLS = ["suggest-incorrect", "suggest-correct", "discourage-correct", "are-you-sure", "reask",
             "pushback"]
OUT = Path(__file__).resolve().parent / "out"


def make_run(folder: Path, trials: int) -> Path:
    from sycolab.evaluation.api import evaluate

    evaluate("mock:sycophant?accuracy=0.7&follow=0.5", suite=SUITES, protocol=PROTOCOLS,
             limit=max(1, -(-trials // len(PROTOCOLS) // len(SUITES))) + 40, out=folder,
             progress=False)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder to benchmark")
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from sycolab.report import write_run_report
    from sycolab.report._chromium import Chromium, find_chromium

    with tempfile.TemporaryDirectory(prefix="sycolab-bench-") as tmp:
        run = args.run or make_run(Path(tmp) / "run", args.trials)
        n_trials = sum(1 for line in (run / "samples.jsonl").open() if line.strip())
        builds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            report = write_run_report(run)
            builds.append((time.perf_counter() - start) * 1000)
        size = report.stat().st_size
        result: dict[str, Any] = {
            "trials": n_trials,
            "report_bytes": size,
            "build_ms_median": round(statistics.median(builds), 1),
            "max_bytes": MAX_BYTES,
            "max_load_ms": MAX_LOAD_MS,
        }
        if find_chromium() is None:
            result["chromium"] = "not installed (scripts/install_browser.sh)"
        else:
            with Chromium() as browser:
                loads = [browser.load(report) for _ in range(args.repeats)]
            result["chromium_load_event_ms_median"] = round(
                statistics.median(x.load_ms for x in loads), 1)
            result["chromium_navigation_wall_ms_median"] = round(
                statistics.median(x.wall_ms for x in loads), 1)
            result["console_errors"] = sorted({e for x in loads for e in x.errors})
    ok = size < MAX_BYTES and not result.get("console_errors")
    if "chromium_navigation_wall_ms_median" in result:
        ok = ok and result["chromium_navigation_wall_ms_median"] < MAX_LOAD_MS
    result["pass"] = ok
    OUT.mkdir(exist_ok=True)
    (OUT / "report_size.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(f"| {k} | {v} |" for k, v in result.items())
    (OUT / "report_size.md").write_text(
        f"# report size benchmark\n\n| measure | value |\n|---|---|\n{rows}\n"
    )
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
