"""Checks that choose between candidate models and decoders, on a validation prompt set
drawn from another seed than the benchmark's (as guidance_sweep.py does for the scale), so
that the choice is not tuned to the benchmark.

    python training/validate.py --model A.gguf --model B.gguf \\
        --tokenizer checkpoints/decoder-1.pt --tokenizer checkpoints/decoder-2.pt [--per-category 60]

Per model file: describe (the greedy plan for a ground-truth image names the right
objects) and the validity of the first plan per prompt and seed, both through libponder,
as prompt_accuracy.py measures them. Per tokenizer checkpoint: the ceiling per category (the
evaluator on ground-truth scenes passed through encoder and decoder), how many objects the
detector finds there beyond the scene's (specks a decoder leaves, read as extra small
objects) or short of them, and how many outline blend pixels carry a colour from nowhere
(halo_pixels); with --failures, each failing scene and a tally of the shapes misread; with
--backgrounds, the ceiling with every scene redrawn on each of the world's backgrounds (the
benchmark names one only in complex prompts, so its ceiling barely sees them), both as the
engine handles backgrounds (the tokenizer reads and writes the scene on white,
docs/format.md) and with the tokenizer reading the background itself (as before session 9).
Describe encodes the images with the first --tokenizer, whose encoder must be the one the
models learned.
"""
import argparse
import dataclasses
import os
from collections import defaultdict

import numpy as np

from ponder_train.accuracy import ceiling_correct, describe_accuracy, first_plan_validity, prompt_set, reconstructions
from ponder_train.evaluator import correct, detect
from ponder_train.image.render import render
from ponder_train.language.prompt import parse_prompt
from ponder_train.language.world import BACKGROUNDS, COLOURS, SHAPES


def halo_pixels(imgs, logits):
    """(outline blend pixels where the decoder puts over 0.3 of its palette weight on a colour
    no pure pixel nearby has, all blend pixels) in a batch of renders (uint8) and the decoder's
    palette logits for them: the halos that the detector can read as small extra objects
    (vq_autoencoder.stray_colour)."""
    from ponder_train.model import palette_rgb
    from ponder_train.vq_autoencoder import nearest_colour, pure_pixels, stray_colour
    x = imgs.permute(0, 3, 1, 2).float() / 127.5 - 1
    target = nearest_colour(x, palette_rgb())
    pure = pure_pixels(x, target)
    return int(((stray_colour(logits, target, pure) > 0.3) & ~pure).sum()), int((~pure).sum())


def print_failures(failures):
    """Each failing scene's objects as placed and as found, then how often a placed object's
    nearest find (by centre, within its side) had another shape, or there was none."""
    confusions = defaultdict(int)
    for cat, text, scene, found in failures:
        placed = ", ".join(f"{COLOURS[o.colour]} {SHAPES[o.shape]} {o.size:.0f} at {o.cx:.0f} {o.cy:.0f}"
                           for o in scene.objects)
        seen = ", ".join(f"{COLOURS[d.colour]} {SHAPES[d.shape]} {d.side:.0f} at {d.cx:.0f} {d.cy:.0f}" for d in found)
        print(f"  {cat}: {text}\n    placed on {BACKGROUNDS[scene.background]}: {placed}\n    found:  {seen}")
        for o in scene.objects:
            near = [d for d in found if abs(d.cx - o.cx) <= o.size / 2 and abs(d.cy - o.cy) <= o.size / 2]
            d = min(near, key=lambda d: (d.cx - o.cx) ** 2 + (d.cy - o.cy) ** 2, default=None)
            if d is None:
                confusions[(SHAPES[o.shape], "nothing")] += 1
            elif d.shape != o.shape:
                confusions[(SHAPES[o.shape], SHAPES[d.shape])] += 1
    tally = ", ".join(f"{a} as {b} {n}" for (a, b), n in sorted(confusions.items(), key=lambda kv: -kv[1]))
    backgrounds = defaultdict(int)
    for _, _, scene, _ in failures:
        backgrounds[BACKGROUNDS[scene.background]] += 1
    print(f"  {len(failures)} failing scenes (" + ", ".join(f"on {b} {n}" for b, n in backgrounds.items())
          + f"); placed objects read as another shape (or not found): {tally or 'none'}")


def first_plans_by_kind(prompts, first, seeds):
    """The first-plan validity per category, and per relation within the position category
    (whose prompts name exactly one): `first` holds `seeds` results per prompt, in order."""
    kinds = defaultdict(list)
    for k, (cat, text, _) in enumerate(prompts):
        ok = first[k * seeds:(k + 1) * seeds]
        kinds[cat] += ok
        if cat == "position":
            relation = next(w for w in ("left", "right", "above", "below") if f" {w} " in f" {text} ")
            kinds[f"position {relation}"] += ok
    return ", ".join(f"{kind} {np.mean(v):.3f}" for kind, v in kinds.items())


def background_sheet(toks, names, prompts, path, scenes=3):
    """A PNG to look at: the first complex validation scenes (rows), each redrawn on every
    background, as rendered and then as each tokenizer reconstructs it (columns): through
    white as the engine does, and reading the background itself."""
    from PIL import Image, ImageDraw
    chosen = [s for cat, _, s in prompts if cat == "complex"][:scenes]
    per = 1 + 2 * len(toks)
    img = Image.new("RGB", (132 * per * len(BACKGROUNDS) + 8 * (len(BACKGROUNDS) - 1), 20 + 132 * len(chosen)), "white")
    d = ImageDraw.Draw(img)
    for b, background in enumerate(BACKGROUNDS):
        redrawn = [dataclasses.replace(s, background=b) for s in chosen]
        columns = [[render(s) for s in redrawn]]
        titles = ["render"]
        for tok, name in zip(toks, names):
            for via_white in (True, False):
                columns.append([r for _, _, chunk in reconstructions(tok, redrawn, via_white) for r in chunk])
                how = "via white" if via_white else "as is"
                titles.append(f"{name} {how}" if len(toks) > 1 else how)
        for j, (title, pictures) in enumerate(zip(titles, columns)):
            x = (132 * per + 8) * b + 132 * j
            d.text((x + 2, 4), f"{background}: {title}"[:21], fill=(0, 0, 0))
            for i, picture in enumerate(pictures):
                img.paste(Image.fromarray(picture), (x, 20 + 132 * i))
    img.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], help="a model file (repeatable)")
    ap.add_argument("--tokenizer", action="append", required=True, help="a tokenizer checkpoint (repeatable)")
    ap.add_argument("--per-category", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=2, help="seeds per prompt for the first-plan validity")
    ap.add_argument("--prompt-seed", type=int, default=7, help="not the benchmark's (2026)")
    ap.add_argument("--failures", action="store_true",
                    help="list each tokenizer's failing scenes (objects placed and found) and its shape confusions")
    ap.add_argument("--backgrounds", action="store_true",
                    help="each tokenizer's ceiling with every scene redrawn on each background")
    ap.add_argument("--sheet", help="write a PNG of complex scenes on every background through each tokenizer")
    args = ap.parse_args()
    import torch

    from ponder_train.vq_autoencoder import load_tokenizer
    prompts = prompt_set(args.prompt_seed, args.per_category)
    toks = [load_tokenizer(p, torch.device("cpu"))[0] for p in args.tokenizer]
    print(f"prompt seed {args.prompt_seed}, {args.per_category} prompts per category ({len(prompts)})")
    for path in args.model:
        described = describe_accuracy(path, toks[0], [s for _, _, s in prompts])
        first = first_plan_validity(path, prompts, args.seeds)
        print(f"{path}: describe {np.mean(described):.3f} of {len(described)}, "
              f"first-plan validity {np.mean(first):.3f} of {len(first)}", flush=True)
        print("  first plans by category: " + first_plans_by_kind(prompts, first, args.seeds), flush=True)
    for path, tok in zip(args.tokenizer, toks):
        by, extra, missing, halo, blends, recs, failures = defaultdict(list), 0, 0, 0, 0, [], []
        for imgs, logits, chunk in reconstructions(tok, [s for _, _, s in prompts]):
            h, b = halo_pixels(imgs, logits)
            halo, blends = halo + h, blends + b
            recs.extend(chunk)
        for (cat, text, scene), rec in zip(prompts, recs):
            detection = detect(rec)
            by[cat].append(correct(rec, parse_prompt(text), detection))
            if not by[cat][-1]:
                failures.append((cat, text, scene, detection[1]))
            found = len(detection[1])
            extra += max(0, found - len(scene.objects))
            missing += max(0, len(scene.objects) - found)
        cells = " ".join(f"{c} {np.mean(v):.3f}" for c, v in by.items())
        objects = sum(len(s.objects) for _, _, s in prompts)
        print(f"{path}: ceiling {np.mean(sum(by.values(), [])):.3f} ({cells}); objects found beyond the "
              f"scenes' {extra}, short of them {missing}, of {objects}; blend pixels with a halo colour "
              f"{halo} of {blends}", flush=True)
        if args.failures:
            print_failures(failures)
        if args.backgrounds:
            for via_white, how in ((True, "through white, as the engine"), (False, "read directly")):
                print(f"  ceiling with every scene on one background ({how}): " + ", ".join(
                    f"{name} {np.mean(ceiling_correct(tok, prompts, b, via_white)):.3f}"
                    for b, name in enumerate(BACKGROUNDS)), flush=True)
    if args.sheet:
        background_sheet(toks, [os.path.basename(os.path.dirname(p)) or p for p in args.tokenizer], prompts, args.sheet)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
