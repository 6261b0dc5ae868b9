"""A plan's text form (docs/plan.md): a scene written as a plan, a plan read back into a
scene, and whether a scene's layout satisfies a prompt. The engine's counterpart is
Sources/PonderCore/Language/Plan.swift; tests hold the two to each other.
"""
from __future__ import annotations

from .prompt import Prompt
from .world import (BACKGROUNDS, CANVAS, COLOURS, MAX_OBJECTS, REGIONS, SHAPES, SIZE_PX, SIZES, Obj, Scene,
                    relation_holds, size_class, third, valid_scene)

# Tokens in the longest plan: the background line and six words per object (the engine's
# Plan.maxTokens).
MAX_TOKENS = 2 + 6 * MAX_OBJECTS


def plan_text(scene: Scene) -> str:
    """The plan of a scene with whole-pixel centres (docs/plan.md)."""
    lines = [f"background {BACKGROUNDS[scene.background]}"]
    for o in scene.objects:
        lines.append(f"{SIZES[SIZE_PX.index(int(o.size))]} {COLOURS[o.colour]} {SHAPES[o.shape]} "
                     f"at {int(o.cx)} {int(o.cy)}")
    return "\n".join(lines)


def parse_plan(text: str) -> Scene:
    """Parses a plan (docs/plan.md) into a scene; raises ValueError if it is not valid."""
    w = text.split()
    if len(w) < 2 or w[0] != "background" or w[1] not in BACKGROUNDS:
        raise ValueError("a plan starts with 'background COLOUR'")
    scene = Scene(BACKGROUNDS.index(w[1]))
    rest = w[2:]
    if len(rest) % 6 or not 1 <= len(rest) // 6 <= MAX_OBJECTS:
        raise ValueError("a plan has 1 to 4 objects of six words each")
    for k in range(0, len(rest), 6):
        size, colour, shape, at, x, y = rest[k:k + 6]
        if size not in SIZES or colour not in COLOURS or shape not in SHAPES or at != "at":
            raise ValueError(f"bad object '{' '.join(rest[k:k + 6])}'")
        for n in (x, y):
            if not n.isdigit() or (len(n) > 1 and n[0] == "0") or int(n) >= CANVAS:
                raise ValueError(f"bad coordinate '{n}'")
        scene.objects.append(Obj(SHAPES.index(shape), COLOURS.index(colour), SIZE_PX[SIZES.index(size)], int(x), int(y)))
    if not valid_scene(scene):
        raise ValueError("objects outside the canvas or too close together")
    return scene


def scene_satisfies(scene: Scene, prompt: Prompt) -> bool:
    """Whether a scene (exact attributes and centres) is correct for the prompt."""
    from itertools import permutations
    if prompt.background is not None and scene.background != prompt.background:
        return False
    if len(scene.objects) != len(prompt.objects):
        return False
    for perm in permutations(range(len(scene.objects))):
        ok = True
        for k, po in enumerate(prompt.objects):
            o = scene.objects[perm[k]]
            if o.shape != po.shape or (po.colour is not None and o.colour != po.colour):
                ok = False
                break
            if po.size is not None and size_class(o.size) != po.size:
                ok = False
                break
            if po.region is not None:
                _, col, row = REGIONS[po.region]
                if third(o.cx) != col or third(o.cy) != row:
                    ok = False
                    break
        if ok:
            for a, rel, b in prompt.relations:
                oa, ob = scene.objects[perm[a]], scene.objects[perm[b]]
                if not relation_holds(rel, oa.cx, oa.cy, ob.cx, ob.cy):
                    ok = False
                    break
        if ok:
            return True
    return False

