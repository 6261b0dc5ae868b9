#!/usr/bin/env bash
# A trained transformer continued on new data, for one CUDA GPU (an H200): about 9 min.
#   TOKENIZER=CHECKPOINT INIT=CHECKPOINT training/recipes/run_gpu_continue.sh OUT_DIR
# No new tokenizer: the transformer starts from INIT's weights with a new LR schedule and
# learns 400,000 fresh examples (SEED 2; session 2's run used SEED 1) coded by TOKENIZER's
# encoder (the one INIT learned); TOKENIZER's decoder goes on learning (outline loss) on the
# same frozen codes meanwhile, and OUT_DIR/ponder-shapes-q8_0.gguf gets it. Session 5 ran it
# with the checkpoints named in training/README.md, and shipped its transformer with the
# decoder it started from, which validate.py measured better.
set -euo pipefail
export TOKENIZER=${TOKENIZER:?the tokenizer checkpoint INIT was trained on} INIT=${INIT:?the transformer checkpoint to continue}
export PRERENDER=${PRERENDER:-1} RENDER_WORKERS=${RENDER_WORKERS:-14} SEED=${SEED:-2}
export OUTLINE=${OUTLINE:-30} DEC_MINUTES=${DEC_MINUTES-7.5} DEC_DATA=${DEC_DATA:-120000} TOK_BATCH=${TOK_BATCH:-256}
export EXAMPLES=${EXAMPLES:-400000} BATCH=${BATCH:-256} STEPS=${STEPS:-1000000} MAX_MINUTES=${MAX_MINUTES:-6.9}
export LR=${LR:-1e-3} DIM=${DIM:-256} LAYERS=${LAYERS:-8} HEADS=${HEADS:-8} FFN=${FFN:-768}
exec "$(dirname "$0")/run_all.sh" "${1:?usage: training/recipes/run_gpu_continue.sh OUT_DIR}" "${DEVICE:-cuda}"
