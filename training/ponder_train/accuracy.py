"""Accuracy measures that the scripts share (prompt_accuracy.py, validate.py, guidance_sweep.py,
check_sweep.py, describe_eval.py): prompt sets drawn from a seed, images drawn through
libponder in worker processes, plan validity, the tokenizer ceiling and describe. Every image
is judged by the evaluator (evaluator.py), which knows nothing of how it was made.
"""
import dataclasses
import time

import numpy as np

from .evaluator import correct
from .image.render import render
from .language.plan import parse_plan, scene_satisfies
from .language.prompt import parse_prompt
from .language.world import COLOURS, SHAPES
from .scenes import CATEGORIES, sample_example


def prompt_set(seed: int, per_category: int):
    """`per_category` (category, prompt text, scene solving it) of each benchmark category, in
    category order, drawn from `seed`: the benchmark's set is seed 2026, the validation set 7."""
    rng = np.random.default_rng(seed)
    out = []
    for cat in CATEGORIES:
        for _ in range(per_category):
            text, _, scene = sample_example(rng, cat)
            out.append((cat, text, scene))
    return out


# The ways of drawing measured: (name, generate()'s keywords).
WAYS = {"checked": dict(think=True), "thinking": dict(think=True, check=0), "direct": dict(think=False, check=0)}


def generate_images(job):
    """Runs in a worker process: job is (model path, items, threads[, generate()'s keywords
    for every item]); draws each item, (index, prompt, seed, way), through libponder, where
    way is a key of WAYS or a dict of generate()'s keywords. Returns per item (index, seed,
    way, the image as (H, W, 3) uint8, its plan, the seconds it took, its checked drawing's
    (checks, redraws))."""
    from .binding import ponder
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
    from .binding import ponder
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
    from .vq_autoencoder import from_white, to_white
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
    from .binding import ponder
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
    from .binding import ponder
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
    import torch

    from .binding import ponder
    from .vocab import Vocabulary
    from .vq_autoencoder import to_white
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
