#!/usr/bin/env bash
# The next full run, prepared for one CUDA GPU (an H200 here): about 9 minutes.
#   training/recipes/run_gpu.sh OUT_DIR
# (The commands that made the shipped model, with their sizes, are in training/README.md.)
# The transformer's 400,000 examples render in the background (14 processes) while the
# tokenizer trains; then the transformer trains on the tokenizer's codes while the
# tokenizer's decoder goes on learning on the same frozen codes. Every stage stops on its
# time limit, over which its LR decays. Any size can be overridden from the environment (see
# run_all.sh), DEVICE too.
#
# Still to add to this run (docs/canvas.md, "Raster order"): sequences that give the model the
# whole canvas before a region it redraws, e.g. `<bos> PROMPT <think> PLAN </think> <canvas>
# CODES <image> CODES'`, with CODES' the same picture where one object changed. Edits redraw
# cells in raster order and cannot see the kept cells below and to the right of them; the
# canvas benchmark (training/edit_accuracy.py) measures redraws next to kept objects as
# right clearly less often than the others. The engine would then feed the whole canvas
# first. This needs a <canvas> token, sequences of that form (ponder_train/sequences.py), and the engine's edits.
set -euo pipefail
export PRERENDER=${PRERENDER:-1} RENDER_WORKERS=${RENDER_WORKERS:-14} SEED=${SEED:-1}
export TOK_DATA=${TOK_DATA:-80000} TOK_BATCH=${TOK_BATCH:-256} TOK_STEPS=${TOK_STEPS:-100000}
export TOK_MINUTES=${TOK_MINUTES:-3.3} TOK_LR=${TOK_LR:-7e-4} TOK_CLIP=${TOK_CLIP:-1} WIDTHS=${WIDTHS:-128,96,64,48} ENC_WIDTHS=${ENC_WIDTHS-64,128,192,256}
export PURE_CLASSES=${PURE_CLASSES-1}
export OUTLINE=${OUTLINE:-30} DEC_MINUTES=${DEC_MINUTES-3.5} DEC_DATA=${DEC_DATA:-120000}
export EXAMPLES=${EXAMPLES:-400000} BATCH=${BATCH:-256} STEPS=${STEPS:-1000000} MAX_MINUTES=${MAX_MINUTES:-3.7}
export LR=${LR:-2e-3} DIM=${DIM:-256} LAYERS=${LAYERS:-8} HEADS=${HEADS:-8} FFN=${FFN:-768}
exec "$(dirname "$0")/run_all.sh" "${1:?usage: training/recipes/run_gpu.sh OUT_DIR}" "${DEVICE:-cuda}"
