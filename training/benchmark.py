"""The GenEval-style benchmark of the Shapes world, run through the shipped library.

    python training/benchmark.py --model models/ponder-shapes-q8_0.gguf \
        --tokenizer checkpoints/tokenizer.pt --per-category 100 --seeds 4 --out docs/results.md

A fixed prompt set is built from --prompt-seed (per category, --per-category prompts);
every prompt is drawn with --seeds seeds, with thinking and without, by the int8 GGUF model
through the Python binding (libponder), and every image is scored by the evaluator. Also
measured: the evaluator on ground-truth renders, the tokenizer ceiling (the evaluator on
ground-truth scenes passed through the tokenizer; needs --tokenizer), plan validity (the
share of the model's plans whose layout alone satisfies the prompt) and describe (the plan
the model writes for a ground-truth image names the right objects). Writes a markdown
report with a table, a sample grid and a bar chart.
"""
import argparse
import dataclasses
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
from ponder_train.evaluator import correct  # noqa: E402
from ponder_train.sampler import CATEGORIES, sample_example  # noqa: E402
from ponder_train.world import (COLOURS, SHAPES, parse_plan, parse_prompt, render,  # noqa: E402
                                scene_satisfies)


READING = "## Reading these figures"


def prompt_set(seed: int, per_category: int):
    rng = np.random.default_rng(seed)
    out = []
    for cat in CATEGORIES:
        for _ in range(per_category):
            text, _, scene = sample_example(rng, cat)
            out.append((cat, text, scene))
    return out


def _generate(job):
    """Runs in a worker process: draws a list of (index, prompt, seed, think) through libponder."""
    import ponder
    model_path, items, threads, *options = job  # options: generate()'s keywords, if any
    model = ponder.Model(model_path)
    out = []
    for index, text, seed, think in items:
        img = model.generate(text, seed=seed, think=think, threads=threads, **(options[0] if options else {}))
        rgb = np.frombuffer(img.rgb, np.uint8).reshape(img.height, img.width, 3)
        out.append((index, seed, think, rgb, img.plan))
    return out


def first_plan_validity(model_path, prompts, seeds):
    """The model's own plan validity: the first plan it samples for each prompt and seed
    (plan_attempts=1, no checking), scored by whether its layout satisfies the prompt. The
    images are drawn with the engine's default, checked thinking (docs/plan.md)."""
    import ponder
    model = ponder.Model(model_path)
    ok = []
    for _, text, _ in prompts:
        for seed in range(seeds):
            plan = model.plan(text, seed=seed, plan_attempts=1, threads=1)
            ok.append(scene_satisfies(parse_plan(plan), parse_prompt(text)))
    return ok


def reconstructions(tok, scenes, via_white=True):
    """The scenes rendered, then encoded and decoded by the tokenizer (PyTorch), 64 at a
    time, with the background handled as the engine does: the encoder reads each render moved
    onto white, and the decoder's image is moved back onto the render's background (without
    via_white, the tokenizer reads and writes the background itself, as before session 9).
    Yields (what the encoder read as (n, 128, 128, 3) uint8, the decoder's palette logits,
    the reconstructions as uint8, on their backgrounds)."""
    import torch
    from ponder_train.tokenizer import from_white, to_white
    with torch.no_grad():
        for k in range(0, len(scenes), 64):
            images = np.stack([render(s) for s in scenes[k:k + 64]])
            if via_white:
                backgrounds, images = to_white(images)
            images = torch.from_numpy(images)
            d = tok.decoder
            out, logits = d.decode_with_logits(d.codebook[tok.encode(images)].permute(0, 3, 1, 2))
            rgb = d.to_rgb8(out).numpy()
            yield images, logits, from_white(rgb, backgrounds) if via_white else rgb


def ceiling_correct(tok, prompts, background=None, via_white=True):
    """The tokenizer ceiling: for each prompt, whether its ground-truth scene through the
    tokenizer (as reconstructions() passes it) is still correct for it. With a background
    (an index), every scene is redrawn on it and judged against its prompt without the
    prompt's background phrase."""
    scenes, parsed = [s for _, _, s in prompts], [parse_prompt(t) for _, t, _ in prompts]
    if background is not None:
        scenes = [dataclasses.replace(s, background=background) for s in scenes]
        parsed = [dataclasses.replace(p, background=None) for p in parsed]
    recs = [r for _, _, chunk in reconstructions(tok, scenes, via_white) for r in chunk]
    return [correct(r, p) for r, p in zip(recs, parsed)]


def describe_accuracy(model_path, tok, scenes):
    """The describe direction, through the library's raw evaluation (ponder_eval): for each
    ground-truth image, the greedy plan after <bos> <describe> CODES <think>, CODES being the
    image's moved onto white (tokenizer.to_white). An image counts when that plan names the
    same objects (shape and colour, as a multiset)."""
    import ponder
    import torch
    from ponder_train.tokenizer import to_white
    from ponder_train.vocab import Vocabulary
    model = ponder.Model(model_path)
    vocab = Vocabulary(model.info["codebook_size"])
    allowed = [i for i, w in enumerate(vocab.words) if not w.startswith("<")] + [vocab["</think>"]]
    ok = []
    with model.session(threads=1) as s:
        for scene in scenes:
            codes = tok.encode(torch.from_numpy(to_white(render(scene)[None])[1])).view(-1).tolist()
            seq = [vocab["<bos>"], vocab["<describe>"]] + [vocab.image_token(c) for c in codes] + [vocab["<think>"]]
            logits = np.array(s.eval(seq))
            words = []
            while len(words) < 26:
                t = allowed[int(np.argmax(logits[allowed]))]
                if t == vocab["</think>"]:
                    break
                words.append(vocab.words[t])
                logits = np.array(s.eval([t], n_past=len(seq) + len(words) - 1))
            named = sorted((words[k + 2], words[k + 1]) for k in range(2, len(words) - 2, 6) if k + 2 < len(words))
            truth = sorted((SHAPES[o.shape], COLOURS[o.colour]) for o in scene.objects)
            ok.append(named == truth)
    return ok


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
    ap.add_argument("--tokenizer", help="tokenizer checkpoint, for the ceiling row")
    ap.add_argument("--per-category", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--prompt-seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="docs/results.md")
    args = ap.parse_args()
    t_start = time.time()

    prompts = prompt_set(args.prompt_seed, args.per_category)
    gt = [correct(render(scene), parse_prompt(text)) for _, text, scene in prompts]

    ceiling = described = None
    if args.tokenizer:
        import torch
        from train import load_tokenizer
        tok, _ = load_tokenizer(args.tokenizer, torch.device("cpu"))
        ceiling = ceiling_correct(tok, prompts)
        described = describe_accuracy(args.model, tok, [s for _, _, s in prompts[::max(1, len(prompts) // 200)]])

    first_plans = first_plan_validity(args.model, prompts, args.seeds)
    jobs = [(i, text, seed, think) for i, (_, text, _) in enumerate(prompts)
            for seed in range(args.seeds) for think in (True, False)]
    chunks = [jobs[k::args.workers] for k in range(args.workers)]
    with ProcessPoolExecutor(args.workers) as ex:
        results = [r for part in ex.map(_generate, [(args.model, c, 1) for c in chunks]) for r in part]

    score = {}
    plan_ok = []
    samples = {}
    for index, seed, think, rgb, plan in results:
        cat, text, _ = prompts[index]
        prompt = parse_prompt(text)
        score.setdefault((cat, think), []).append(correct(rgb, prompt))
        if think:
            try:
                plan_ok.append(scene_satisfies(parse_plan(plan), prompt))
            except ValueError:
                plan_ok.append(False)
        if seed == 0:
            samples.setdefault(index, {})[think] = (rgb, plan)

    rows = []
    for cat in CATEGORIES:
        rows.append((cat, float(np.mean(score[(cat, True)])), float(np.mean(score[(cat, False)])),
                     float(np.mean([g for (c, _, _), g in zip(prompts, gt) if c == cat])),
                     float(np.mean([g for (c, _, _), g in zip(prompts, ceiling) if c == cat])) if ceiling else None))
    overall = [float(np.mean([r[i] for r in rows])) if rows[0][i] is not None else None for i in range(1, 5)]

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    base = os.path.splitext(args.out)[0]
    chart, grid = base + "-chart.png", base + "-samples.png"
    bar_chart([(c, t, d) for c, t, d, _, _ in rows], chart)
    picks = [i for k, i in enumerate(sorted(samples)) if k % max(1, len(samples) // 8) == 0][:8]
    sample_grid([(prompts[i][1], samples[i][True][1], samples[i][True][0], samples[i][False][0]) for i in picks], grid)

    def f(v):
        return "–" if v is None else f"{v:.3f}"

    lines = [
        "# Results: the Shapes benchmark", "",
        f"Measured {date.today().isoformat()} on this project's CI machine (2 cores) with:", "",
        "```", f"python training/benchmark.py --model {args.model}" + (f" --tokenizer {args.tokenizer}" if args.tokenizer else "")
        + f" --per-category {args.per_category} --seeds {args.seeds} --prompt-seed {args.prompt_seed} --out {args.out}", "```", "",
        f"{args.per_category} prompts per category × {args.seeds} seeds, each drawn with thinking and without "
        f"by the int8 GGUF model through libponder (Python binding); {len(results)} images, "
        f"{(time.time() - t_start) / 60:.1f} min.", "",
        "| category | thinking | direct | ground truth | tokenizer ceiling |", "|---|---|---|---|---|",
    ]
    for c, t, d, g, ce in rows:
        lines.append(f"| {c} | {f(t)} | {f(d)} | {f(g)} | {f(ce)} |")
    lines.append(f"| **overall** | **{f(overall[0])}** | **{f(overall[1])}** | {f(overall[2])} | {f(overall[3])} |")
    lines += ["", f"Plan validity (the plan's layout alone satisfies the prompt): **{np.mean(plan_ok):.3f}** "
              f"over the {len(plan_ok)} plans the images above were drawn from (the engine's default, checked "
              f"thinking: up to 8 plans per prompt until one satisfies it, docs/plan.md); the model's first plan "
              f"alone (plan_attempts=1): **{np.mean(first_plans):.3f}**.", ""]
    if described is not None:
        lines += [f"Describe (the plan the model writes for a ground-truth image names the right objects, "
                  f"shape and colour): **{np.mean(described):.3f}** over {len(described)} images.", ""]
    lines += [
              f"![thinking versus direct]({os.path.basename(chart)})", "",
              "Samples (seed 0): image with thinking, image without, the prompt and the plan.", "",
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
