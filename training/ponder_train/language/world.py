"""The Shapes world's words, constants and validity rules (docs/world.md): what the prompt
parser (prompt.py), the plan text (plan.py), the renderer (image/render.py) and the scene
sampler (scenes.py) all read. The engine's counterpart is Sources/PonderCore/Language/World.swift;
tests hold the two to each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CANVAS = 128
MARGIN = 2
GAP = 4
RELATION_DISTANCE = 8
MAX_OBJECTS = 4
MAX_PHRASES = 4

SHAPES = ["circle", "square", "triangle", "diamond", "star", "heart", "cross", "ring"]
SHAPE_PLURALS = ["circles", "squares", "triangles", "diamonds", "stars", "hearts", "crosses", "rings"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"]
COLOUR_RGB = [(215, 48, 39), (244, 140, 30), (240, 210, 40), (50, 160, 70),
              (40, 90, 210), (130, 60, 170), (240, 130, 190), (140, 90, 50)]
SIZES = ["small", "medium", "large"]
SIZE_PX = [16, 24, 36]
BACKGROUNDS = ["white", "black", "gray", "beige"]
BACKGROUND_RGB = [(255, 255, 255), (24, 24, 24), (128, 128, 128), (240, 228, 200)]
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}

REGIONS = [  # (words, column, row)
    ("in the top left corner", 0, 0), ("at the top", 1, 0), ("in the top right corner", 2, 0),
    ("on the left", 0, 1), ("in the center", 1, 1), ("on the right", 2, 1),
    ("in the bottom left corner", 0, 2), ("at the bottom", 1, 2), ("in the bottom right corner", 2, 2),
]
RELATIONS = ["to the left of", "to the right of", "above", "below"]


# ---- Scenes: concrete objects on a background ----------------------------------------

@dataclass
class Obj:
    """An object: indices into SHAPES and COLOURS, its side and centre in pixels (reals)."""
    shape: int
    colour: int
    size: float  # side in pixels
    cx: float
    cy: float


@dataclass
class Scene:
    """A background (index into BACKGROUNDS) and its objects: what a plan says and a render draws."""
    background: int
    objects: list[Obj] = field(default_factory=list)


def inside(o: Obj) -> bool:
    """Whether the object's box keeps MARGIN from every edge of the canvas."""
    h = o.size / 2
    return (o.cx - h >= MARGIN and o.cx + h <= CANVAS - MARGIN and
            o.cy - h >= MARGIN and o.cy + h <= CANVAS - MARGIN)


def separated(a: Obj, b: Obj) -> bool:
    """Whether two boxes keep GAP apart along x or along y."""
    half = (a.size + b.size) / 2
    return abs(a.cx - b.cx) - half >= GAP or abs(a.cy - b.cy) - half >= GAP


def valid_scene(s: Scene) -> bool:
    """Whether the scene is one of the world's: 1 to MAX_OBJECTS objects, inside and separated."""
    if not 1 <= len(s.objects) <= MAX_OBJECTS:
        return False
    if not all(inside(o) for o in s.objects):
        return False
    return all(separated(a, b) for i, a in enumerate(s.objects) for b in s.objects[i + 1:])


def third(c: float) -> int:
    """The column or row (0, 1 or 2) of the 3 × 3 grid of regions holding coordinate `c`."""
    t = CANVAS / 3
    return 0 if c < t else (1 if c < 2 * t else 2)


def relation_holds(rel: int, ax, ay, bx, by) -> bool:
    """Whether RELATIONS[rel] holds from centre (ax, ay) to centre (bx, by)."""
    d = RELATION_DISTANCE
    return [ax <= bx - d, ax >= bx + d, ay <= by - d, ay >= by + d][rel]


def size_class(side: float) -> int:
    """Size class from a (fitted) side: small below 19.6 px, medium to 29.4, large above."""
    return 0 if side < 19.6 else (1 if side <= 29.4 else 2)


def separates(c: str) -> bool:
    """Whether character `c` separates words: Unicode's White_Space property, as the engine
    reads it (docs/world.md). str.isspace() also takes the ASCII separators U+001C to U+001F,
    which are not white space."""
    return c.isspace() and not "\x1c" <= c <= "\x1f"

