"""Checked drawing's accuracy against its time, for choosing the default check_attempts.

    python training/check_sweep.py --model models/ponder-shapes-q8_0.gguf --check 0 --check 1 \
        --check 2 --check 3 [--per-category 15 --seeds 1,2 --prompt-seed 7]

Draws a prompt set (by default seed 7, not the benchmark's 2026) with thinking at each
--check value through libponder, two worker processes of one thread each, and prints per
value the evaluator's accuracy per category and overall, the mean and 95th-percentile
seconds per image, and the share of images redrawn at least once.
"""
import argparse
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ponder_train.accuracy import generate_images, prompt_set
from ponder_train.evaluator import correct
from ponder_train.language.prompt import parse_prompt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--check", type=int, action="append", required=True, help="a check_attempts value (repeatable)")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--per-category", type=int, default=15)
    ap.add_argument("--prompt-seed", type=int, default=7, help="not the benchmark's (2026)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    prompts = prompt_set(args.prompt_seed, args.per_category)
    seeds = [int(s) for s in args.seeds.split(",")]
    cats = sorted({c for c, _, _ in prompts})
    print(f"{args.per_category} prompts per category (prompt seed {args.prompt_seed}), seeds {args.seeds}, thinking")
    print(f"{'check':>5} " + " ".join(f"{c[:8]:>8}" for c in cats) + "  overall  mean s   p95 s  redrawn")
    for check in args.check:
        jobs = [(i, text, seed, dict(think=True, check=check)) for i, (_, text, _) in enumerate(prompts) for seed in seeds]
        with ProcessPoolExecutor(args.workers) as ex:
            parts = ex.map(generate_images, [(args.model, jobs[k::args.workers], 1) for k in range(args.workers)])
            results = [r for part in parts for r in part]
        acc, took, redrawn = {}, [], []
        for index, _, _, rgb, _, seconds, (_, redraws) in results:
            cat, text, _ = prompts[index]
            acc.setdefault(cat, []).append(correct(rgb, parse_prompt(text)))
            took.append(seconds)
            redrawn.append(redraws > 0)
        overall = np.mean([np.mean(acc[c]) for c in cats])
        print(f"{check:>5} " + " ".join(f"{np.mean(acc[c]):>8.3f}" for c in cats)
              + f"  {overall:7.3f}  {np.mean(took):6.3f}  {np.percentile(took, 95):6.3f}  {np.mean(redrawn):7.3f}", flush=True)


if __name__ == "__main__":
    main()
