"""Checks that choose between candidate models and decoders, on a validation prompt set
drawn from another seed than the benchmark's (as guidance_sweep.py does for the scale), so
that the choice is not tuned to the benchmark.

    python training/validate.py --model A.gguf --model B.gguf \\
        --tokenizer checkpoints/decoder-1.pt --tokenizer checkpoints/decoder-2.pt [--per-category 60]

Per model file: describe (the greedy plan for a ground-truth image names the right
objects) and the validity of the first plan per prompt and seed, both through libponder,
as benchmark.py measures them. Per tokenizer checkpoint: the ceiling per category (the
evaluator on ground-truth scenes passed through encoder and decoder), how many objects the
detector finds there beyond the scene's (specks a decoder leaves, read as extra small
objects) or short of them, and how many outline blend pixels carry a colour from nowhere
(halo_pixels). Describe encodes the images with the first --tokenizer, whose encoder must
be the one the models learned.
"""
import argparse
import os
import sys
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchmark import describe_accuracy, first_plan_validity, prompt_set, reconstructions  # noqa: E402
from ponder_train.evaluator import correct, detect  # noqa: E402
from ponder_train.world import parse_prompt  # noqa: E402


def halo_pixels(imgs, logits):
    """(outline blend pixels where the decoder puts over 0.3 of its palette weight on a colour
    no pure pixel nearby has, all blend pixels) in a batch of renders (uint8) and the decoder's
    palette logits for them: the halos that the detector can read as small extra objects
    (tokenizer.stray_colour)."""
    from ponder_train.model import palette_rgb
    from ponder_train.tokenizer import nearest_colour, pure_pixels, stray_colour
    x = imgs.permute(0, 3, 1, 2).float() / 127.5 - 1
    target = nearest_colour(x, palette_rgb())
    pure = pure_pixels(x, target)
    return int(((stray_colour(logits, target, pure) > 0.3) & ~pure).sum()), int((~pure).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], help="a model file (repeatable)")
    ap.add_argument("--tokenizer", action="append", required=True, help="a tokenizer checkpoint (repeatable)")
    ap.add_argument("--per-category", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=2, help="seeds per prompt for the first-plan validity")
    ap.add_argument("--prompt-seed", type=int, default=7, help="not the benchmark's (2026)")
    args = ap.parse_args()
    import torch
    from train import load_tokenizer
    prompts = prompt_set(args.prompt_seed, args.per_category)
    toks = [load_tokenizer(p, torch.device("cpu"))[0] for p in args.tokenizer]
    print(f"prompt seed {args.prompt_seed}, {args.per_category} prompts per category ({len(prompts)})")
    for path in args.model:
        described = describe_accuracy(path, toks[0], [s for _, _, s in prompts])
        first = first_plan_validity(path, prompts, args.seeds)
        print(f"{path}: describe {np.mean(described):.3f} of {len(described)}, "
              f"first-plan validity {np.mean(first):.3f} of {len(first)}", flush=True)
    for path, tok in zip(args.tokenizer, toks):
        by, extra, missing, halo, blends, recs = defaultdict(list), 0, 0, 0, 0, []
        for imgs, logits, chunk in reconstructions(tok, [s for _, _, s in prompts]):
            h, b = halo_pixels(imgs, logits)
            halo, blends = halo + h, blends + b
            recs.extend(chunk)
        for (cat, text, scene), rec in zip(prompts, recs):
            detection = detect(rec)
            by[cat].append(correct(rec, parse_prompt(text), detection))
            found = len(detection[1])
            extra += max(0, found - len(scene.objects))
            missing += max(0, len(scene.objects) - found)
        cells = " ".join(f"{c} {np.mean(v):.3f}" for c, v in by.items())
        objects = sum(len(s.objects) for _, _, s in prompts)
        print(f"{path}: ceiling {np.mean(sum(by.values(), [])):.3f} ({cells}); objects found beyond the "
              f"scenes' {extra}, short of them {missing}, of {objects}; blend pixels with a halo colour "
              f"{halo} of {blends}", flush=True)


if __name__ == "__main__":
    main()
