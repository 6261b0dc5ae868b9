"""The GenEval-style benchmark of the Shapes world, run through the shipped library.

    python training/benchmark.py --model models/ponder-shapes-q8_0.gguf --per-category 100 --seeds 4 \
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


def cpu_name() -> str:
    """The processor's model name (Linux), for the page's statement of the machine."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown processor"


def prompt_set(seed: int, per_category: int):
    rng = np.random.default_rng(seed)
    out = []
    for cat in CATEGORIES:
        for _ in range(per_category):
            text, _, scene = sample_example(rng, cat)
            out.append((cat, text, scene))
    return out


# The ways of drawing measured: (name, generate()'s keywords).
WAYS = {"checked": dict(think=True), "thinking": dict(think=True, check=0), "direct": dict(think=False, check=0)}


def _generate(job):
    """Runs in a worker process: draws a list of (index, prompt, seed, way) through libponder,
    where way is a key of WAYS or a dict of generate()'s keywords; returns each image with
    its plan, the seconds it took and its checked drawing's (checks, redraws)."""
    import ponder
    model_path, items, threads, *options = job  # options: generate()'s keywords, if any
    model = ponder.Model(model_path)
    out = []
    for index, text, seed, way in items:
        kw = dict(WAYS[way]) if isinstance(way, str) else dict(way)
        kw.update(options[0] if options else {})
        t0 = time.perf_counter()
        img = model.generate(text, seed=seed, threads=threads, **kw)
        seconds = time.perf_counter() - t0
        rgb = np.frombuffer(img.rgb, np.uint8).reshape(img.height, img.width, 3)
        out.append((index, seed, way, rgb, img.plan, seconds, (img.checks, img.redraws)))
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


def library_reconstructions(model_path, scenes):
    """The scenes rendered, then encoded and decoded by the library (ponder_set_image, whose
    encoder reads each render moved onto white, then ponder_decode, which lays the background
    read from the pixels back in): the engine's own tokenizer round trip."""
    import ponder
    model = ponder.Model(model_path)
    with model.session(threads=1) as s:
        for scene in scenes:
            s.set_image(ponder.Image.from_rgb(render(scene).tobytes(), 128, 128))
            yield np.frombuffer(s.decode(), np.uint8).reshape(128, 128, 3)


def library_ceiling(model_path, prompts):
    """The tokenizer ceiling through the library: each ground-truth scene encoded and decoded
    by the engine, judged against its prompt."""
    recs = library_reconstructions(model_path, [s for _, _, s in prompts])
    return [correct(r, parse_prompt(t)) for r, (_, t, _) in zip(recs, prompts)]


def plan_matches(plan, scene, tolerance=4):
    """(the plan names the scene's objects: shape and colour, as a multiset; the plan is the
    scene: the same background and objects one to one with the same shape, colour and size,
    centres within `tolerance` pixels on each axis)."""
    from itertools import permutations
    named = sorted((o.shape, o.colour) for o in plan.objects)
    truth = sorted((o.shape, o.colour) for o in scene.objects)
    if named != truth:
        return False, False
    if plan.background != scene.background:
        return True, False
    for order in permutations(plan.objects):
        if all(p.shape == o.shape and p.colour == o.colour and p.size == o.size
               and abs(p.cx - o.cx) <= tolerance and abs(p.cy - o.cy) <= tolerance
               for p, o in zip(order, scene.objects)):
            return True, True
    return True, False


def library_describe(model_path, scenes):
    """Describe through the library: ponder_describe on each ground-truth render (on its own
    background). Returns per image (objects right, whole plan right, seconds)."""
    import ponder
    model = ponder.Model(model_path)
    out = []
    with model.session(threads=2) as s:
        for scene in scenes:
            image = ponder.Image.from_rgb(render(scene).tobytes(), 128, 128)
            t0 = time.perf_counter()
            s.set_image(image)
            text = s.describe()
            seconds = time.perf_counter() - t0
            out.append(plan_matches(parse_plan(text), scene) + (seconds,))
    return out


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

    import ponder
    reads = ponder.Model(args.model).can_read_images
    ceiling = described = torch_described = None
    describe_scenes = [s for _, _, s in prompts[::max(1, len(prompts) // 200)]]
    if args.tokenizer:
        import torch
        from train import load_tokenizer
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
        results = [r for part in ex.map(_generate, [(args.model, c, 1) for c in chunks]) for r in part]

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
        "```sh", f"python training/benchmark.py --model {args.model}" + (f" --tokenizer {args.tokenizer}" if args.tokenizer else "")
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
