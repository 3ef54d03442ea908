#!/usr/bin/env bash
# The documented full fine-tuning run on the embedded model (SmolLM2-135M-Instruct), CPU only:
#   1. sycolab data synth   (train: facts + addition-claims, train split; held out: arithmetic, test split)
#   2. sycolab train sft    (LoRA, ~300 examples <= 128 tokens, 1 epoch)
#   3. sycolab train dpo    (optional: METHODS="sft dpo")
#   4. sycolab train before-after for each adapter (arithmetic test split + the held-out file)
# Every step resumes or is skipped when its output already exists, so re-running continues.
# Usage: bash scripts/finetune_full.sh [OUT_DIR]     (default runs/finetune-smollm2)
#        METHODS="sft dpo" LIMIT=100 bash scripts/finetune_full.sh
set -euo pipefail
OUT="${1:-runs/finetune-smollm2}"
METHODS="${METHODS:-sft}"
LIMIT="${LIMIT:-100}"
SEED="${SEED:-0}"
mkdir -p "$OUT"
log() { echo "[$(date +%H:%M:%S)] $*"; }

if [[ ! -f "$OUT/data/manifest.json" ]]; then
  log "synth"
  /usr/bin/time -f "synth: %e s" sycolab data synth --model smollm2 --out "$OUT/data" --seed "$SEED" \
    --no-progress
fi
for m in $METHODS; do
  if [[ ! -f "$OUT/adapter-$m/sycolab_training.json" ]]; then
    log "train $m"
    /usr/bin/time -f "train $m: %e s" sycolab train "$m" --model smollm2 --data "$OUT/data" \
      --out "$OUT/adapter-$m" --resume --seed "$SEED"
  fi
  if [[ ! -f "$OUT/before-after-$m/before_after.json" ]]; then
    log "before-after $m"
    /usr/bin/time -f "before-after $m: %e s" sycolab train before-after --model smollm2 \
      --adapter "$OUT/adapter-$m" --data "$OUT/data" --suite arithmetic --split test \
      --limit "$LIMIT" --out "$OUT/before-after-$m" --no-progress
  fi
done
log "done: $OUT"
