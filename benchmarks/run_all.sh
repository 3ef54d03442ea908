#!/usr/bin/env bash
# Every CPU benchmark, one after the other, then benchmarks/results.md from their outputs.
# Usage: bash benchmarks/run_all.sh        (threads: SYCOLAB_BENCH_THREADS, default all cores;
#                                          rounds of each peer comparison: REPEATS, default 3)
# Run it on an otherwise idle machine. Creates the peers' virtualenvs under benchmarks/.venvs/
# on first use (pip, PyPI). The GPU benchmark runs only where torch sees a GPU (or GPU=1).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
REPEATS="${REPEATS:-3}"
"$PY" benchmarks/bench_ceiling.py
"$PY" benchmarks/bench_lm_eval.py --repeats "$REPEATS"
"$PY" benchmarks/bench_inspect.py --repeats "$REPEATS"
"$PY" benchmarks/bench_default_eval.py
"$PY" benchmarks/bench_interventions.py --repeats "$REPEATS"
"$PY" benchmarks/bench_batch8.py --repeats "$REPEATS"
"$PY" benchmarks/bench_locate.py
if [ "${GPU:-}" = 1 ] || "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  "$PY" benchmarks/bench_gpu.py --repeats "$REPEATS" --lm-eval require
fi
"$PY" benchmarks/_common.py summarize > /dev/null
echo "wrote benchmarks/results.md"
