#!/usr/bin/env bash
# The whole training run in one command: tokenizer, transformer, export.
#   training/recipes/run_all.sh OUT_DIR [cpu|cuda]
# Sizes come from the environment (defaults: a small CPU run; run_gpu.sh beside it holds the
# next GPU run's; training/README.md the shipped model's):
#   TOK_STEPS TOK_DATA TOK_BATCH TOK_MINUTES TOK_LR TOK_CLIP WIDTHS ENC_WIDTHS OUTLINE STRAY PURE_CLASSES   the tokenizer
#   DEC_MINUTES DEC_DATA   if set, the tokenizer's decoder goes on training on its frozen
#                          codes while the transformer trains; the model gets the best one
#   EXAMPLES STEPS BATCH DIM LAYERS HEADS FFN MAX_MINUTES LR   the transformer
#   TOKENIZER   use this tokenizer checkpoint instead of training one
#   INIT        the transformer starts from this checkpoint's weights (continuing a run on
#               new data: give the tokenizer it was trained with, and a new SEED)
#   SEED, PRERENDER=1 (render the transformer's examples in the background while the
#   tokenizer trains; RENDER_WORKERS processes)
# Every stage checkpoints into OUT_DIR and resumes, so the same command continues a run.
set -euo pipefail
out="${1:?usage: training/recipes/run_all.sh OUT_DIR [cpu|cuda]}"
device="${2:-cpu}"
cd "$(dirname "$0")/../.."  # the repository root
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
seed="${SEED:-1}"
examples="${EXAMPLES:-24000}"
render_args=()
if [ "${PRERENDER:-0}" = 1 ]; then
    $py -m ponder_train.data --examples "$examples" --seed "$seed" --out "$out/render" \
        --workers "${RENDER_WORKERS:-0}" >"$out/render.log" 2>&1 &
    render_args=(--render-dir "$out/render")
fi
if [ -n "${TOKENIZER:-}" ]; then
    tokenizer=$TOKENIZER  # an existing tokenizer: its codes are the ones INIT was trained on
else
    $py training/train_tokenizer.py --out "$out/tokenizer.pt" --device "$device" \
        --steps "${TOK_STEPS:-1700}" --data "${TOK_DATA:-20000}" --batch "${TOK_BATCH:-32}" \
        --max-minutes "${TOK_MINUTES:-0}" --widths "${WIDTHS:-64,48,32,16}" ${ENC_WIDTHS:+--encoder-widths "$ENC_WIDTHS"} \
        --lr "${TOK_LR:-1e-3}" --clip "${TOK_CLIP:-1}" --outline-weight "${OUTLINE:-0}" --stray-weight "${STRAY:-0}" ${PURE_CLASSES:+--pure-classes} --seed "$seed" | tee -a "$out/tokenizer.log"
    # The stages after it use the tokenizer's best weights by validation PSNR (a run can
    # collapse late: the first GPU run of 2026-11-26 evening lost every code at step 820 of 4,944).
    tokenizer="$out/tokenizer-best.pt"
fi
model="$out/ponder-shapes-q8_0.gguf"
decoder_pid=
if [ -n "${DEC_MINUTES:-}" ]; then
    # The codes stay the tokenizer's (the transformer learns those), so the decoder can go on
    # learning at the same time; the transformer is exported first with the tokenizer's own.
    $py training/train_decoder.py --tokenizer "$tokenizer" --out "$out/decoder" --device "$device" \
        --data "${DEC_DATA:-$examples}" --batch "${TOK_BATCH:-32}" --max-minutes "$DEC_MINUTES" \
        --outline-weight "${OUTLINE:-0}" --stray-weight "${STRAY:-0}" ${PURE_CLASSES:+--pure-classes} --seed "$seed" "${render_args[@]}" >"$out/decoder.log" 2>&1 &
    decoder_pid=$!
    model="$out/transformer-q8_0.gguf"
fi
$py training/train.py --tokenizer "$tokenizer" --out "$out/transformer.pt" --device "$device" \
    --examples "$examples" --steps "${STEPS:-3000}" --batch "${BATCH:-32}" --lr "${LR:-2e-3}" \
    --dim "${DIM:-128}" --layers "${LAYERS:-6}" --heads "${HEADS:-4}" --ffn "${FFN:-352}" \
    --max-minutes "${MAX_MINUTES:-38}" --seed "$seed" --data-dir "$out/data" "${render_args[@]}" ${INIT:+--init "$INIT"} \
    --export "$model" | tee -a "$out/transformer.log"
if [ -n "$decoder_pid" ]; then
    wait "$decoder_pid"
    tail -n 3 "$out/decoder.log"
    widths=$($py -c "import torch, sys; print('-'.join(map(str, torch.load(sys.argv[1], map_location='cpu')['config']['decoder_widths'])))" "$tokenizer")
    $py -m ponder_train.export --relink "$model" --tokenizer "$out/decoder/tokenizer-w$widths.pt" \
        --out "$out/ponder-shapes-q8_0.gguf"
fi
wait
