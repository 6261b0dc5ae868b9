#!/usr/bin/env bash
# The run that made the shipped model: one CUDA GPU (an H200 here), about 9 minutes.
#   training/run_gpu.sh OUT_DIR
# The transformer's 400,000 examples render in the background (14 processes) while the
# tokenizer trains; both stages stop on their time limits, over which their LR decays.
# Any size can be overridden from the environment (see run_all.sh), DEVICE too.
set -euo pipefail
export PRERENDER=${PRERENDER:-1} RENDER_WORKERS=${RENDER_WORKERS:-14} SEED=${SEED:-1}
export TOK_DATA=${TOK_DATA:-50000} TOK_BATCH=${TOK_BATCH:-128} TOK_STEPS=${TOK_STEPS:-100000}
export TOK_MINUTES=${TOK_MINUTES:-2.6} WIDTHS=${WIDTHS:-96,64,48,32}
export EXAMPLES=${EXAMPLES:-400000} BATCH=${BATCH:-256} STEPS=${STEPS:-1000000} MAX_MINUTES=${MAX_MINUTES:-4.2}
export LR=${LR:-2e-3} DIM=${DIM:-256} LAYERS=${LAYERS:-8} HEADS=${HEADS:-8} FFN=${FFN:-768}
exec "$(dirname "$0")/run_all.sh" "${1:?usage: training/run_gpu.sh OUT_DIR}" "${DEVICE:-cuda}"
