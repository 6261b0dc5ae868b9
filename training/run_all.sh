#!/usr/bin/env bash
# The whole training run in one command: tokenizer, transformer, export.
#   training/run_all.sh OUT_DIR [cpu|cuda]
# Sizes come from the environment (defaults: the CPU run that made the shipped model):
#   TOK_STEPS TOK_DATA  EXAMPLES STEPS BATCH DIM LAYERS HEADS FFN MAX_MINUTES SEED
# Every stage checkpoints into OUT_DIR and resumes, so the same command continues a run.
set -euo pipefail
out="${1:?usage: training/run_all.sh OUT_DIR [cpu|cuda]}"
device="${2:-cpu}"
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
$py training/train_tokenizer.py --out "$out/tokenizer.pt" --device "$device" \
    --steps "${TOK_STEPS:-1700}" --data "${TOK_DATA:-20000}" --seed "${SEED:-1}" | tee -a "$out/tokenizer.log"
$py training/train.py --tokenizer "$out/tokenizer.pt" --out "$out/transformer.pt" --device "$device" \
    --examples "${EXAMPLES:-24000}" --steps "${STEPS:-3000}" --batch "${BATCH:-32}" \
    --dim "${DIM:-128}" --layers "${LAYERS:-6}" --heads "${HEADS:-4}" --ffn "${FFN:-352}" \
    --max-minutes "${MAX_MINUTES:-38}" --seed "${SEED:-1}" --data-dir "$out/data" \
    --export "$out/ponder-shapes-q8_0.gguf" | tee -a "$out/transformer.log"
