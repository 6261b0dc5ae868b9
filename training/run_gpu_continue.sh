#!/usr/bin/env bash
# The shipped model continued on new data, prepared for one CUDA GPU (an H200): about 9 min.
#   training/run_gpu_continue.sh OUT_DIR
# No new tokenizer: the transformer starts from the shipped one's weights (INIT, session 2's
# run) and learns 400,000 fresh examples (SEED 2; it was trained on SEED 1's) coded by the
# same encoder (TOKENIZER: the shipped decoder's checkpoint, whose encoder is session 2's),
# with a new LR schedule; the shipped decoder goes on learning (outline loss) on the same
# frozen codes meanwhile. Both inputs are made by the commands in training/README.md.
set -euo pipefail
export TOKENIZER=${TOKENIZER:-checkpoints/gpu3b/dec/tokenizer-w128-96-64-48.pt}
export INIT=${INIT:-checkpoints/gpu1/transformer-bf16.pt}
export PRERENDER=${PRERENDER:-1} RENDER_WORKERS=${RENDER_WORKERS:-14} SEED=${SEED:-2}
export OUTLINE=${OUTLINE:-30} DEC_MINUTES=${DEC_MINUTES-7.5} DEC_DATA=${DEC_DATA:-120000} TOK_BATCH=${TOK_BATCH:-256}
export EXAMPLES=${EXAMPLES:-400000} BATCH=${BATCH:-256} STEPS=${STEPS:-1000000} MAX_MINUTES=${MAX_MINUTES:-6.9}
export LR=${LR:-1e-3} DIM=${DIM:-256} LAYERS=${LAYERS:-8} HEADS=${HEADS:-8} FFN=${FFN:-768}
exec "$(dirname "$0")/run_all.sh" "${1:?usage: training/run_gpu_continue.sh OUT_DIR}" "${DEVICE:-cuda}"
