"""Prompts and scenes of the Shapes world, sampled from a seed (not the engine's Sampler,
which samples tokens).

`sample_prompt(rng, category)` writes a prompt of a benchmark category (or, with "any",
anywhere in the prompt language); `solve_scene(prompt, rng)` places concrete objects so the
prompt holds (unnamed colours and sizes drawn at random, background white unless named);
`sample_example` does both, retrying until the prompt can be solved.
"""
from __future__ import annotations

import numpy as np

from .language.prompt import Prompt, PromptError, parse_prompt
from .language.world import (BACKGROUNDS, CANVAS, COLOURS, MARGIN, REGIONS, RELATIONS, SHAPE_PLURALS, SHAPES,
                             SIZE_PX, SIZES, Obj, Scene, relation_holds, separated, valid_scene)

CATEGORIES = ["single", "two", "counting", "colours", "position", "colour_attr", "complex"]
COUNT_WORDS = {2: "two", 3: "three", 4: "four"}


def _pick(rng, xs):
    return xs[int(rng.integers(len(xs)))]


def _a(desc):
    return ("an " if desc[0] in "aeiou" else "a ") + desc


def _one(rng, desc):
    """A phrase of count one: "a …"/"an …" as English has it, sometimes "one …"."""
    return "one " + desc if rng.random() < 0.15 else _a(desc)


def _desc(rng, *, colour=None, size=None, plural=False, p_colour=0.5, p_size=0.4):
    shape = int(rng.integers(len(SHAPES)))
    words = []
    if size is None and rng.random() < p_size:
        size = int(rng.integers(len(SIZES)))
    if colour is None and rng.random() < p_colour:
        colour = int(rng.integers(len(COLOURS)))
    if size is not None:
        words.append(SIZES[size])
    if colour is not None and colour >= 0:
        words.append(COLOURS[colour])
    words.append(SHAPE_PLURALS[shape] if plural else SHAPES[shape])
    return " ".join(words)


def _region(rng):
    return REGIONS[int(rng.integers(len(REGIONS)))][0]


def sample_prompt(rng, category: str = "any") -> str:
    if category == "single":
        return _one(rng, _desc(rng))
    if category == "two":
        return f"{_one(rng, _desc(rng))} and {_one(rng, _desc(rng))}"
    if category == "counting":
        n = int(rng.integers(2, 5))
        return f"{COUNT_WORDS[n]} {_desc(rng, plural=True)}"
    if category == "colours":
        return _one(rng, _desc(rng, colour=int(rng.integers(len(COLOURS)))))
    if category == "position":
        return f"{_one(rng, _desc(rng))} {_pick(rng, RELATIONS)} {_a(_desc(rng))}"
    if category == "colour_attr":
        a, b = rng.choice(len(COLOURS), 2, replace=False)
        return f"{_one(rng, _desc(rng, colour=int(a)))} and {_one(rng, _desc(rng, colour=int(b)))}"
    if category == "complex":
        return _complex(rng)
    if category == "any":
        while True:  # a "the" reference can come out ambiguous; draw again until it parses
            text = _any(rng)
            try:
                parse_prompt(text)
                return text
            except PromptError:
                continue
    raise ValueError(f"unknown category {category!r}")


def _complex(rng):
    """3 or 4 objects with at least two placements."""
    while True:
        text = _any(rng, min_objects=3)
        try:
            p = parse_prompt(text)
        except PromptError:
            continue
        placements = len(p.relations) + sum(o.region is not None for o in p.objects)
        if len(p.objects) >= 3 and placements >= 2:
            return text


def _any(rng, min_objects=1):
    """A prompt from anywhere in the language: 1 to 4 phrases, counts, optional attributes,
    regions, relations to new ("a") or earlier ("the") objects, a background."""
    target = int(rng.integers(min_objects, 5))
    phrases, singles, total = [], [], 0
    while total < target and len(phrases) < 4:
        room = target - total
        count = 1 if room == 1 or rng.random() < 0.6 else int(rng.integers(2, room + 1))
        plural = count > 1
        desc = _desc(rng, plural=plural)
        text = _one(rng, desc) if count == 1 else f"{COUNT_WORDS[count]} {desc}"
        total += count
        r = rng.random()
        if r < 0.3:
            text += " " + _region(rng)
        elif r < 0.7 and count == 1:
            rel = _pick(rng, RELATIONS)
            if singles and rng.random() < 0.5:
                text += f" {rel} the {_pick(rng, singles)}"
            elif total < target or (total < 4 and rng.random() < 0.3):
                tdesc = _desc(rng)
                text += f" {rel} {_a(tdesc)}"
                singles.append(tdesc)
                total += 1
        if count == 1:
            singles.append(desc)
        phrases.append(text)
    prompt = " and ".join(phrases)
    if rng.random() < 0.3:
        prompt += f" on a {_pick(rng, BACKGROUNDS)} background"
    return prompt


def _range_for(size, region_cell):
    lo, hi = MARGIN + size // 2, CANVAS - MARGIN - size // 2
    if region_cell is None:
        return lo, hi
    t = CANVAS / 3
    clo, chi = int(np.ceil(region_cell * t)), int(np.ceil((region_cell + 1) * t)) - 1
    return max(lo, clo), min(hi, chi)


# Relations in sampled scenes hold with this much to spare, so that a ground-truth render is
# unambiguously correct (a detector's sub-pixel error cannot flip it).
RELATION_SLACK = 1


def solve_scene(prompt: Prompt, rng, tries: int = 300) -> Scene | None:
    """Concrete objects with whole-pixel centres making the prompt true, or None."""
    bg = prompt.background if prompt.background is not None else BACKGROUNDS.index("white")
    colours = [o.colour if o.colour is not None else int(rng.integers(len(COLOURS))) for o in prompt.objects]
    sizes = [SIZE_PX[o.size if o.size is not None else int(rng.integers(len(SIZES)))] for o in prompt.objects]
    for _ in range(tries):
        objs = []
        for k, po in enumerate(prompt.objects):
            col = row = None
            if po.region is not None:
                _, col, row = REGIONS[po.region]
            xlo, xhi = _range_for(sizes[k], col)
            ylo, yhi = _range_for(sizes[k], row)
            if xlo > xhi or ylo > yhi:
                return None
            for _ in range(30):
                o = Obj(po.shape, colours[k], sizes[k], int(rng.integers(xlo, xhi + 1)), int(rng.integers(ylo, yhi + 1)))
                if all(separated(o, p) for p in objs):
                    break
            else:
                break
            objs.append(o)
        if len(objs) < len(prompt.objects):
            continue
        if all(_holds_with_slack(rel, objs[a], objs[b]) for a, rel, b in prompt.relations):
            scene = Scene(bg, objs)
            if valid_scene(scene):
                return scene
    return None


def _holds_with_slack(rel, a: Obj, b: Obj) -> bool:
    d = RELATION_SLACK
    shifted = [(a.cx + d, a.cy), (a.cx - d, a.cy), (a.cx, a.cy + d), (a.cx, a.cy - d)][rel]
    return relation_holds(rel, *shifted, b.cx, b.cy)


def sample_example(rng, category: str = "any"):
    """(prompt text, parsed prompt, scene) with the scene correct for the prompt."""
    while True:
        text = sample_prompt(rng, category)
        prompt = parse_prompt(text)
        scene = solve_scene(prompt, rng)
        if scene is not None:
            return text, prompt, scene
