"""Reading pictures through the library, on the validation prompt set: describe (ponder_describe
on each ground-truth render: the right objects, and the whole plan right) and the tokenizer
ceiling (each render encoded and decoded by the engine, judged by the evaluator), per category.

    python training/describe_eval.py --model models/ponder-shapes-q8_0.gguf [--per-category 20 --prompt-seed 7]

The prompt seed defaults to 7, not the benchmark's 2026: this is for choosing between
candidate models; training/prompt_accuracy.py reports the same measures on the benchmark's set.
"""
import argparse

import numpy as np

from ponder_train.accuracy import library_ceiling, library_describe, prompt_set


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--per-category", type=int, default=20)
    ap.add_argument("--prompt-seed", type=int, default=7, help="not the benchmark's (2026)")
    args = ap.parse_args()
    prompts = prompt_set(args.prompt_seed, args.per_category)
    described = library_describe(args.model, [s for _, _, s in prompts])
    ceiling = library_ceiling(args.model, prompts)
    print(f"{args.per_category} prompts per category (prompt seed {args.prompt_seed}), {args.model}")
    print(f"{'category':12s} {'objects':>8s} {'plan':>8s} {'ceiling':>8s}")
    cats = sorted({c for c, _, _ in prompts})
    for cat in cats + ["overall"]:
        rows = [(d, c) for (k, _, _), d, c in zip(prompts, described, ceiling) if k == cat or cat == "overall"]
        print(f"{cat:12s} {np.mean([d[0] for d, _ in rows]):8.3f} {np.mean([d[1] for d, _ in rows]):8.3f} "
              f"{np.mean([c for _, c in rows]):8.3f}")
    took = np.array([d[2] for d in described])
    print(f"describe (encoder and plan, 2 threads): {1000 * took.mean():.1f} ms mean, "
          f"{1000 * np.percentile(took, 95):.1f} ms 95th percentile")


if __name__ == "__main__":
    main()
