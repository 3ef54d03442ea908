#!/usr/bin/env bash
# All five benchmarks, one after the other, then benchmarks/results.md from their outputs.
# Usage: bash benchmarks/run_all.sh        (threads: SYCOLAB_BENCH_THREADS, default all cores)
# Creates the peers' virtualenvs under benchmarks/.venvs/ on first use (pip, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
"$PY" benchmarks/bench_ceiling.py
"$PY" benchmarks/bench_lm_eval.py
"$PY" benchmarks/bench_inspect.py
"$PY" benchmarks/bench_default_eval.py
"$PY" benchmarks/bench_interventions.py
"$PY" benchmarks/_common.py summarize > /dev/null
echo "wrote benchmarks/results.md"
