#!/usr/bin/env bash
# Where the engine's time goes while drawing: perf samples of 8 guided default-model images
# (thinking, speculative drawing, checked drawing, decode), shown as each function's share of
# the samples taken inside libponder.so. Needs perf (apt-get install linux-perf).
#   benchmarks/profile.sh [THREADS] [DRAFT_TOKENS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
drafts=${2:-3}
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
swift build -c release --product ponder >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf record -q -F 2000 -o "$out/perf.data" .venv/bin/python - "$threads" "$drafts" <<'EOF' 2>/dev/null
import sys
sys.path.insert(0, "bindings/python")
import ponder
m = ponder.Model("models/ponder-shapes-q8_0.gguf")
prompts = ["a purple ring", "two blue hearts and a yellow star in the top right corner"]
for i in range(8):
    m.generate(prompts[i % 2], seed=i, threads=int(sys.argv[1]), draft_tokens=int(sys.argv[2]))
EOF
echo "share of the samples in libponder.so ($threads thread(s), $drafts draft tokens):"
perf report -i "$out/perf.data" --no-children --dsos libponder.so --sort symbol -g none --percentage relative 2>/dev/null \
    | grep '%' | head -12 | sed -E 's/ +- +- *$//; s/\$s10PonderCore//'
