"""Training data: rendered scenes with their prompts and plans, made from a seed in many
processes."""
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .sampler import CATEGORIES, sample_example
from .world import plan_text, render

# The mix of prompt kinds in training: the benchmark's categories plus the whole language.
TRAIN_MIX = CATEGORIES + ["any"] * 3


def _chunk(args):
    seed, n = args
    rng = np.random.default_rng(seed)
    images = np.empty((n, 128, 128, 3), np.uint8)
    prompts, plans = [], []
    for i in range(n):
        text, _, scene = sample_example(rng, TRAIN_MIX[int(rng.integers(len(TRAIN_MIX)))])
        images[i] = render(scene)
        prompts.append(text)
        plans.append(plan_text(scene))
    return images, prompts, plans


def make_examples(n: int, seed: int, workers: int = 0, chunk: int = 256):
    """n examples as (uint8 images (n, 128, 128, 3), prompts, plans); the same seed gives
    the same data whatever the worker count."""
    jobs = [(seed * 1_000_003 + k, min(chunk, n - k * chunk)) for k in range((n + chunk - 1) // chunk)]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) == 1:
        parts = [_chunk(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            parts = list(ex.map(_chunk, jobs))
    return (np.concatenate([p[0] for p in parts]), sum((p[1] for p in parts), []), sum((p[2] for p in parts), []))
