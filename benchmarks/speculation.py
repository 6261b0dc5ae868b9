"""Speculative drawing: how long the 256 image tokens take for each number of draft tokens.

    .venv/bin/python benchmarks/speculation.py [--runs 3] [--threads 1] [--max-drafts 6]

For each round, each prompt and seed is planned once and then drawn with draft_tokens = 0 (one
token a pass), 1, 2, … in turn, each timed from the first image token to the last (checked
drawing off, so only the drawing is timed). Every setting draws the same image, byte for
byte; the script checks that too. Prints, per setting, the median milliseconds per image and
the ratio to one token a pass within each round as median (minimum–maximum). Process CPU
time is given beside wall time: on a shared virtual machine it moves less.
A benchmark, not a test: nothing here fails on timing.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import ponder  # noqa: E402

# Scenes of one to four objects, with and without placements.
PROMPTS = ["a purple ring", "a large orange square below a small green circle",
           "two blue hearts and a yellow star in the top right corner",
           "a red diamond to the left of a pink triangle and a brown circle above a green square"]


def draw_once(model, prompt, seed, drafts, threads):
    """(wall ms, cpu ms, codes) of drawing one planned image."""
    with model.session(seed=seed, threads=threads, check=0, draft_tokens=drafts) as s:
        s.plan(prompt)
        w0, c0 = time.perf_counter(), time.process_time()
        s.draw()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        return 1000 * wall, 1000 * cpu, s.tokens()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-drafts", type=int, default=6)
    ap.add_argument("--model", default=str(ROOT / "models" / "ponder-shapes-q8_0.gguf"))
    args = ap.parse_args()
    model = ponder.Model(args.model)
    settings = list(range(args.max_drafts + 1))
    wall = {k: [] for k in settings}
    cpu = {k: [] for k in settings}
    for rnd in range(args.runs):
        for i, prompt in enumerate(PROMPTS):
            seed = 100 * rnd + i
            first = None
            for k in settings:
                w, c, codes = draw_once(model, prompt, seed, k, args.threads)
                if first is None:
                    first = codes
                elif codes != first:
                    sys.exit(f"draft_tokens={k} drew other codes than one token a pass ({prompt!r}, seed {seed})")
                wall[k].append(w)
                cpu[k].append(c)
    span = lambda v: f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
    print(f"{args.runs} rounds × {len(PROMPTS)} prompts, {args.threads} thread(s); every setting drew the same codes")
    print("| draft tokens | wall ms per image | CPU ms per image | wall ÷ one token a pass | CPU ÷ one token a pass |")
    print("|---|---|---|---|---|")
    for k in settings:
        rw = [a / b for a, b in zip(wall[k], wall[0])]
        rc = [a / b for a, b in zip(cpu[k], cpu[0])]
        print(f"| {k} | {statistics.median(wall[k]):.0f} | {statistics.median(cpu[k]):.0f} | {span(rw)} | {span(rc)} |")


if __name__ == "__main__":
    main()
