"""Accuracy per category for several guidance scales (and top-p), on a validation prompt set
drawn from another seed than the benchmark's, so that choosing a model's default scale
does not tune it to the benchmark.

    python training/guidance_sweep.py --model models/ponder-shapes-q8_0.gguf \
        --cfg 2.0 --cfg 1.5 --seeds 1,2 --per-category 15 [--direct] [--check 3] [--top-p 0.9] [--background black]

--background asks for that background in every prompt that names none (the benchmark names
one only in some complex prompts). --sheet PNG also draws the first complex prompts (with
thinking, the first scale and seed) on each of the world's backgrounds, into a picture.
"""
import argparse
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ponder_train.accuracy import generate_images, prompt_set
from ponder_train.evaluator import correct, detect
from ponder_train.language.prompt import parse_prompt
from ponder_train.language.world import BACKGROUNDS


def background_sheet(model, prompts, cfg, seed, path, rows=3):
    """The first `rows` complex prompts (rows), each asked on every background (columns),
    drawn with thinking through libponder."""
    from PIL import Image, ImageDraw
    chosen = [" ".join(parse_prompt(text).words_on_white) for cat, text, _ in prompts if cat == "complex"][:rows]
    jobs = [(r * len(BACKGROUNDS) + b, f"{text} on a {name} background", seed, "thinking")
            for r, text in enumerate(chosen) for b, name in enumerate(BACKGROUNDS)]
    img = Image.new("RGB", (132 * len(BACKGROUNDS), 16 + 146 * rows), "white")
    d = ImageDraw.Draw(img)
    for b, name in enumerate(BACKGROUNDS):
        d.text((132 * b + 2, 2), f"on {name}", fill=(0, 0, 0))
    for index, _, _, rgb, *_ in generate_images((model, jobs, 1, dict(cfg=cfg))):
        r, b = divmod(index, len(BACKGROUNDS))
        img.paste(Image.fromarray(rgb), (132 * b, 16 + 146 * r))
        if b == 0:
            d.text((2, 16 + 146 * r + 130), chosen[r][:88], fill=(0, 0, 0))
    img.save(path)
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cfg", type=float, action="append", required=True, help="a guidance scale (repeatable)")
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--per-category", type=int, default=15)
    ap.add_argument("--prompt-seed", type=int, default=7, help="not the benchmark's (2026)")
    ap.add_argument("--direct", action="store_true", help="draw without thinking")
    ap.add_argument("--check", type=int, default=0,
                    help="checked drawing: read each image back at most N times (0 = off; the engine's default is 3)")
    ap.add_argument("--background", choices=BACKGROUNDS, help="ask for this background where a prompt names none")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sheet", help="write a PNG of complex prompts drawn on every background")
    args = ap.parse_args()
    prompts = prompt_set(args.prompt_seed, args.per_category)
    if args.background:
        prompts = [(cat, text if parse_prompt(text).background is not None else f"{text} on a {args.background} background", s)
                   for cat, text, s in prompts]
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.sheet:
        for text in background_sheet(args.model, prompts, args.cfg[0], seeds[0], args.sheet):
            print(f"sheet row: {text}")
        print(f"wrote {args.sheet}")
    acc = defaultdict(list)
    extra = defaultdict(list)  # per scale: whether the evaluator found more objects than asked for
    for cfg in args.cfg:
        jobs = [(i, text, seed, "direct" if args.direct else "thinking") for i, (_, text, _) in enumerate(prompts) for seed in seeds]
        options = dict(cfg=cfg, top_p=args.top_p, check=args.check)
        with ProcessPoolExecutor(args.workers) as ex:
            parts = ex.map(generate_images, [(args.model, jobs[k::args.workers], 1, options) for k in range(args.workers)])
            for index, _, _, rgb, *_ in (r for part in parts for r in part):
                cat, text, _ = prompts[index]
                prompt = parse_prompt(text)
                detection = detect(rgb)
                ok = correct(rgb, prompt, detection)
                extra[cfg].append(len(detection[1]) > len(prompt.objects))
                acc[(cat, cfg)].append(ok)
                acc[("overall", cfg)].append(ok)
    print(f"{'direct' if args.direct else 'thinking'}{f', checked {args.check}' if args.check else ''}, top-p {args.top_p}, seeds {args.seeds}, "
          f"{args.per_category} prompts per category (prompt seed {args.prompt_seed})"
          + (f", on {args.background} where a prompt names no background" if args.background else ""))
    print("category     " + " ".join(f"cfg {c:<5}" for c in args.cfg))
    for cat in sorted({c for c, _ in acc}, key=lambda c: (c == "overall", c)):
        print(f"{cat:12s} " + " ".join(f"{np.mean(acc[(cat, c)]):<9.3f}" for c in args.cfg))
    print(f"{'stray':12s} " + " ".join(f"{np.mean(extra[c]):<9.3f}" for c in args.cfg)
          + "  (images with more objects found than the prompt asks for)")


if __name__ == "__main__":
    main()
