"""Training data: rendered scenes with their prompts and plans, made from a seed in many
processes.

Examples come in chunks of CHUNK, chunk k drawn from its own seed, so the same seed gives
the same data whatever the worker count and whether the chunks are made here or by a
separate rendering process (`python -m ponder_train.data`, which writes them to a folder
while the GPU trains the tokenizer)."""
import argparse
import dataclasses
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .image.render import render
from .language.plan import plan_text
from .scenes import CATEGORIES, sample_example

# The mix of prompt kinds in training: the benchmark's categories plus the whole language.
TRAIN_MIX = CATEGORIES + ["any"] * 3
CHUNK = 256


def _jobs(n: int, seed: int, mix=None):
    mix = tuple(mix or TRAIN_MIX)
    return [(seed * 1_000_003 + k, min(CHUNK, n - k * CHUNK), mix)
            for k in range((n + CHUNK - 1) // CHUNK)]


def _chunk(args):
    seed, n, mix = args
    rng = np.random.default_rng(seed)
    images = np.empty((n, 128, 128, 3), np.uint8)
    prompts, plans = [], []
    for i in range(n):
        text, _, scene = sample_example(rng, mix[int(rng.integers(len(mix)))])
        images[i] = render(dataclasses.replace(scene, background=0))
        prompts.append(text)
        plans.append(plan_text(scene))
    return images, prompts, plans


def example_chunks(n: int, seed: int, workers: int = 0, mix=None):
    """Yields (images (k, 128, 128, 3) uint8, prompts, plans) chunk by chunk, in order, so a
    large set never has to sit in memory as pixels. `mix` lists the prompt kinds each example
    is drawn from uniformly (a kind listed twice comes twice as often); TRAIN_MIX by default.

    Images are rendered on white whatever background the prompt and plan name: the model's
    image tokens always describe a scene on white, and the engine lays in the plan's
    background when it decodes (docs/format.md, "Backgrounds"). The tokenizer, its decoders
    and the transformer's image tokens all learn from these.
    """
    jobs = _jobs(n, seed, mix)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) == 1:
        yield from map(_chunk, jobs)
        return
    with ProcessPoolExecutor(workers) as ex:
        yield from ex.map(_chunk, jobs)


def make_examples(n: int, seed: int, workers: int = 0):
    """n examples as (uint8 images (n, 128, 128, 3), prompts, plans)."""
    parts = list(example_chunks(n, seed, workers))
    return (np.concatenate([p[0] for p in parts]), sum((p[1] for p in parts), []), sum((p[2] for p in parts), []))


def _chunk_path(folder: str, seed: int, k: int) -> str:
    return os.path.join(folder, f"seed{seed}-chunk{k:06d}.npz")


def _write_chunk(args):
    folder, seed, k, job = args
    path = _chunk_path(folder, seed, k)
    if not os.path.exists(path):
        images, prompts, plans = _chunk(job)
        tmp = path + ".tmp.npz"
        np.savez(tmp, images=images, prompts=np.array(prompts), plans=np.array(plans))
        os.replace(tmp, path)
    return k


def render_to_folder(n: int, seed: int, folder: str, workers: int = 0):
    """Writes the chunks of example_chunks(n, seed) into `folder` (skipping those there)."""
    os.makedirs(folder, exist_ok=True)
    jobs = [(folder, seed, k, j) for k, j in enumerate(_jobs(n, seed))]
    with ProcessPoolExecutor(workers or os.cpu_count() or 1) as ex:
        for _ in ex.map(_write_chunk, jobs):
            pass


def folder_chunks(n: int, seed: int, folder: str, timeout_s: float = 3600):
    """Like example_chunks, but reads the chunks a rendering process writes into `folder`,
    waiting for each as it comes."""
    for k in range(len(_jobs(n, seed))):
        path, waited = _chunk_path(folder, seed, k), 0.0
        while not os.path.exists(path):
            failed = os.path.join(folder, "FAILED")
            if os.path.exists(failed):
                raise RuntimeError(f"the rendering process failed: {open(failed).read()}")
            if waited > timeout_s:
                raise TimeoutError(f"{path} did not appear in {timeout_s:.0f} s")
            time.sleep(0.2)
            waited += 0.2
        d = np.load(path)
        yield d["images"], [str(s) for s in d["prompts"]], [str(s) for s in d["plans"]]


def main():
    ap = argparse.ArgumentParser(description="Render training examples into a folder of chunks.")
    ap.add_argument("--examples", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    t0 = time.time()
    try:
        render_to_folder(args.examples, args.seed, args.out, args.workers)
    except BaseException as e:  # tell the reader waiting on the folder, then fail
        with open(os.path.join(args.out, "FAILED"), "w") as f:
            f.write(repr(e))
        raise
    print(f"rendered {args.examples} examples into {args.out} in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
