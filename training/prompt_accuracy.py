"""The accuracy benchmark of the Shapes world (GenEval-style): how often the shipped library
draws a prompt right, and how fast (docs/results.md).

    python training/prompt_accuracy.py --model models/ponder-shapes-q8_0.gguf --per-category 100 --seeds 4 \
        --out docs/results.md

A fixed prompt set is built from --prompt-seed (per category, --per-category prompts);
every prompt is drawn with --seeds seeds three ways by the int8 GGUF model through the
Python binding (libponder): thinking with checked drawing (the engine's default), thinking
without checking, and direct (no plan); every image is scored by the evaluator, and each
way's time per image is kept (mean and 95th percentile; two worker processes of one thread
each, so both cores are busy as in the accuracy runs). Also measured: the evaluator on
ground-truth renders; the tokenizer ceiling (the evaluator on ground-truth scenes encoded
and decoded by the library's encoder and decoder; with --tokenizer, by that PyTorch
checkpoint instead); plan validity (the share of the model's plans whose layout alone
satisfies the prompt); and describe through the library (ponder_describe on ground-truth
renders): the right objects (shape and colour), and the whole plan right (objects, size
classes, centres within 4 px, and the background), with describe's time per image.
Writes a markdown report with a table, a sample grid and a bar chart.
"""
import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import numpy as np

from ponder_train.accuracy import (WAYS, ceiling_correct, describe_accuracy, first_plan_validity, generate_images,
                                   library_ceiling, library_describe, prompt_set)
from ponder_train.binding import ponder
from ponder_train.evaluator import correct
from ponder_train.image.render import render
from ponder_train.language.plan import parse_plan, scene_satisfies
from ponder_train.language.prompt import parse_prompt
from ponder_train.scenes import CATEGORIES


READING = "## Reading these figures"


def cpu_name() -> str:
    """The processor's model name (Linux), for the page's statement of the machine."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown processor"


def bar_chart(rows, path):
    """Thinking versus direct accuracy per category, as a PNG."""
    from PIL import Image, ImageDraw
    W, H, pad = 760, 300, 40
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    n = len(rows)
    slot = (W - 2 * pad) / n
    d.line([(pad, H - pad), (W - pad, H - pad)], fill="black")
    for k, (name, think, direct) in enumerate(rows):
        x = pad + k * slot
        for j, (v, colour) in enumerate([(think, (40, 90, 210)), (direct, (244, 140, 30))]):
            h = (H - 2 * pad) * v
            d.rectangle([x + 8 + j * (slot / 2 - 8), H - pad - h, x + j * (slot / 2 - 8) + slot / 2 - 2, H - pad],
                        fill=colour)
        d.text((x + 6, H - pad + 6), name[:11], fill="black")
    d.text((pad, 10), "accuracy per category: blue = thinking, orange = direct (0 to 1)", fill="black")
    img.save(path)


def sample_grid(examples, path):
    """Rows of (prompt, plan, image with thinking, image without) as one PNG."""
    from PIL import Image, ImageDraw
    rows = len(examples)
    img = Image.new("RGB", (128 * 2 + 460, 136 * rows), "white")
    d = ImageDraw.Draw(img)
    for r, (text, plan, with_think, direct) in enumerate(examples):
        y = r * 136
        img.paste(Image.fromarray(with_think), (0, y))
        img.paste(Image.fromarray(direct), (132, y))
        words, line, lines = text.split(), "", []
        for w in words:
            if len(line) + len(w) > 60:
                lines.append(line)
                line = ""
            line += w + " "
        lines.append(line)
        d.text((270, y + 4), "\n".join(lines), fill="black")
        d.text((270, y + 4 + 12 * len(lines) + 4), plan or "", fill=(90, 90, 90))
    img.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", help="a PyTorch tokenizer checkpoint for the ceiling row and a second describe "
                    "row (default: the ceiling through the library's own encoder)")
    ap.add_argument("--per-category", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--prompt-seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="docs/results.md")
    args = ap.parse_args()
    t_start = time.time()

    prompts = prompt_set(args.prompt_seed, args.per_category)
    gt = [correct(render(scene), parse_prompt(text)) for _, text, scene in prompts]

    reads = ponder.Model(args.model).can_read_images
    ceiling = described = torch_described = None
    describe_scenes = [s for _, _, s in prompts[::max(1, len(prompts) // 200)]]
    if args.tokenizer:
        import torch

        from ponder_train.vq_autoencoder import load_tokenizer
        tok, _ = load_tokenizer(args.tokenizer, torch.device("cpu"))
        ceiling = ceiling_correct(tok, prompts)
        torch_described = describe_accuracy(args.model, tok, describe_scenes)
    elif reads:
        ceiling = library_ceiling(args.model, prompts)
    if reads:
        described = library_describe(args.model, describe_scenes)

    first_plans = first_plan_validity(args.model, prompts, args.seeds)
    ways = list(WAYS) if reads else ["thinking", "direct"]
    jobs = [(i, text, seed, way) for i, (_, text, _) in enumerate(prompts)
            for seed in range(args.seeds) for way in ways]
    chunks = [jobs[k::args.workers] for k in range(args.workers)]
    with ProcessPoolExecutor(args.workers) as ex:
        results = [r for part in ex.map(generate_images, [(args.model, c, 1) for c in chunks]) for r in part]

    score, seconds, redrawn = {}, {}, []
    plan_ok = []
    samples = {}
    for index, seed, way, rgb, plan, took, (checks, redraws) in results:
        cat, text, _ = prompts[index]
        prompt = parse_prompt(text)
        score.setdefault((cat, way), []).append(correct(rgb, prompt))
        seconds.setdefault(way, []).append(took)
        if way == "checked":
            redrawn.append(redraws > 0)
        if way == "thinking":
            try:
                plan_ok.append(scene_satisfies(parse_plan(plan), prompt))
            except ValueError:
                plan_ok.append(False)
        if seed == 0:
            samples.setdefault(index, {})[way] = (rgb, plan)

    def mean_of(cat, way):
        return float(np.mean(score[(cat, way)])) if (cat, way) in score else None

    rows = []
    for cat in CATEGORIES:
        rows.append((cat, mean_of(cat, "thinking"), mean_of(cat, "direct"),
                     float(np.mean([g for (c, _, _), g in zip(prompts, gt) if c == cat])),
                     float(np.mean([g for (c, _, _), g in zip(prompts, ceiling) if c == cat])) if ceiling else None,
                     mean_of(cat, "checked")))
    overall = [float(np.mean([r[i] for r in rows])) if rows[0][i] is not None else None for i in range(1, 6)]

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    base = os.path.splitext(args.out)[0]
    chart, grid = base + "-chart.png", base + "-samples.png"
    best = "checked" if reads else "thinking"
    bar_chart([(r[0], r[5] if reads else r[1], r[2]) for r in rows], chart)
    picks = [i for k, i in enumerate(sorted(samples)) if k % max(1, len(samples) // 8) == 0][:8]
    sample_grid([(prompts[i][1], samples[i][best][1], samples[i][best][0], samples[i]["direct"][0]) for i in picks], grid)

    def f(v):
        return "–" if v is None else f"{v:.3f}"

    lines = [
        "# Results: the Shapes benchmark", "",
        f"Measured {date.today().isoformat()} on an x86-64 machine ({os.cpu_count()} cores, {cpu_name()}) with:", "",
        f"<!-- not run: draws {len(results)} images ({(time.time() - t_start) / 60:.0f} minutes here) and rewrites this page -->",
        "```sh", f"python training/prompt_accuracy.py --model {args.model}" + (f" --tokenizer {args.tokenizer}" if args.tokenizer else "")
        + f" --per-category {args.per_category} --seeds {args.seeds} --prompt-seed {args.prompt_seed} --out {args.out}", "```", "",
        f"{args.per_category} prompts per category × {args.seeds} seeds, each drawn "
        + ("with checked thinking (the default), with thinking unchecked, and direct"
           if reads else "with thinking and without")
        + f" by the int8 GGUF model through libponder (Python binding); {len(results)} images, "
        f"{(time.time() - t_start) / 60:.1f} min.", "",
        "| category | thinking, checked | thinking | direct | ground truth | tokenizer ceiling |",
        "|---|---|---|---|---|---|",
    ]
    for c, t, d, g, ce, ch in rows:
        lines.append(f"| {c} | {f(ch)} | {f(t)} | {f(d)} | {f(g)} | {f(ce)} |")
    lines.append(f"| **overall** | **{f(overall[4])}** | **{f(overall[0])}** | **{f(overall[1])}** | {f(overall[2])} | {f(overall[3])} |")
    lines += ["", "Time per image (seconds; two worker processes of one thread each):", "",
              "| way of drawing | mean | 95th percentile |", "|---|---|---|"]
    for way in ways:
        lines.append(f"| {way} | {np.mean(seconds[way]):.3f} | {np.percentile(seconds[way], 95):.3f} |")
    if redrawn:
        lines += ["", f"Checked drawing redrew at least once in {np.mean(redrawn):.3f} of its {len(redrawn)} images."]
    lines += ["", f"Plan validity (the plan's layout alone satisfies the prompt): **{np.mean(plan_ok):.3f}** "
              f"over the {len(plan_ok)} plans the images above were drawn from (the engine's default, checked "
              f"thinking: up to 8 plans per prompt until one satisfies it, docs/plan.md); the model's first plan "
              f"alone (plan_attempts=1): **{np.mean(first_plans):.3f}**.", ""]
    if described is not None:
        right, whole, took = (np.array(v) for v in zip(*described))
        lines += [f"Describe through the library (ponder_describe on {len(described)} ground-truth renders, on "
                  f"their own backgrounds, two threads): the right objects (shape and colour) in **{right.mean():.3f}**; "
                  f"the whole plan right (objects, size classes, centres within 4 px, background) in "
                  f"**{whole.mean():.3f}**; {1000 * took.mean():.1f} ms per image (encoder and describe; 95th "
                  f"percentile {1000 * np.percentile(took, 95):.1f} ms).", ""]
    if torch_described is not None:
        lines += [f"Describe with --tokenizer's PyTorch encoder (the right objects): **{np.mean(torch_described):.3f}** "
                  f"over {len(torch_described)} images.", ""]
    lines += [
              f"![thinking versus direct]({os.path.basename(chart)})", "",
              ("Samples (seed 0): image with checked thinking, image without a plan, the prompt and the plan." if reads else "Samples (seed 0): image with thinking, image without, the prompt and the plan."), "",
              f"![samples]({os.path.basename(grid)})", ""]
    # A written reading of the figures, under its own heading, survives a rerun.
    if os.path.exists(args.out):
        old = open(args.out).read()
        if READING in old:
            lines += [old[old.index(READING):].rstrip("\n")]
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
