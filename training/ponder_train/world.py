"""The Shapes world of docs/world.md in Python: its words, the renderer, scene validity,
the prompt language and the plan's text form. The Swift engine has its own implementation
(Sources/PonderCore/Language); tests check that the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

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


# ---- Scenes ---------------------------------------------------------------------------

@dataclass
class Obj:
    shape: int
    colour: int
    size: float  # side in pixels
    cx: float
    cy: float


@dataclass
class Scene:
    background: int
    objects: list[Obj] = field(default_factory=list)


def inside(o: Obj) -> bool:
    h = o.size / 2
    return (o.cx - h >= MARGIN and o.cx + h <= CANVAS - MARGIN and
            o.cy - h >= MARGIN and o.cy + h <= CANVAS - MARGIN)


def separated(a: Obj, b: Obj) -> bool:
    half = (a.size + b.size) / 2
    return abs(a.cx - b.cx) - half >= GAP or abs(a.cy - b.cy) - half >= GAP


def valid_scene(s: Scene) -> bool:
    if not 1 <= len(s.objects) <= MAX_OBJECTS:
        return False
    if not all(inside(o) for o in s.objects):
        return False
    return all(separated(a, b) for i, a in enumerate(s.objects) for b in s.objects[i + 1:])


def third(c: float) -> int:
    t = CANVAS / 3
    return 0 if c < t else (1 if c < 2 * t else 2)


def relation_holds(rel: int, ax, ay, bx, by) -> bool:
    d = RELATION_DISTANCE
    return [ax <= bx - d, ax >= bx + d, ay <= by - d, ay >= by + d][rel]


# ---- Rendering ------------------------------------------------------------------------

def _star_polygon():
    k = np.arange(10)
    ang = np.deg2rad(-90 + 36 * k)
    r = np.where(k % 2 == 0, 0.5, 0.2)
    return np.stack([r * np.cos(ang), r * np.sin(ang)], 1)


STAR = _star_polygon()
HEART_TRIANGLE = np.array([(-0.47, -0.08), (0.47, -0.08), (0.0, 0.48)])


def _in_polygon(u, v, poly):
    """Even-odd rule; points exactly on an edge are measure zero for rendering."""
    inside_ = np.zeros(u.shape, bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        cond = (y1 > v) != (y2 > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (v - y1) * (x2 - x1) / (y2 - y1)
        inside_ ^= cond & (u < xint)
    return inside_


def shape_mask(shape: int, u, v):
    """Whether normalised points (u, v) are inside `shape` (world.md's table)."""
    name = SHAPES[shape]
    if name == "circle":
        return u * u + v * v <= 0.25
    if name == "square":
        return (np.abs(u) <= 0.5) & (np.abs(v) <= 0.5)
    if name == "triangle":
        return (v >= -0.5) & (v <= 0.5) & (np.abs(u) <= (v + 0.5) / 2)
    if name == "diamond":
        return np.abs(u) + np.abs(v) <= 0.5
    if name == "star":
        return _in_polygon(u, v, STAR)
    if name == "heart":
        d1 = (u + 0.22) ** 2 + (v + 0.18) ** 2 <= 0.27 ** 2
        d2 = (u - 0.22) ** 2 + (v + 0.18) ** 2 <= 0.27 ** 2
        return d1 | d2 | _in_polygon(u, v, HEART_TRIANGLE)
    if name == "cross":
        a = (np.abs(u) <= 1 / 6) & (np.abs(v) <= 0.5)
        b = (np.abs(v) <= 1 / 6) & (np.abs(u) <= 0.5)
        return a | b
    if name == "ring":
        r = u * u + v * v
        return (r >= 0.09) & (r <= 0.25)
    raise ValueError(name)


SUB = (np.arange(4) + 0.5) / 4  # 4 × 4 sub-sample offsets inside a pixel


def coverage(shape: int, size: float, cx: float, cy: float, x0: int, y0: int, w: int, h: int):
    """Fraction (0..1, multiples of 1/16) of each pixel in the window inside the shape."""
    xs = (x0 + np.arange(w))[:, None] + SUB[None, :]  # (w, 4)
    ys = (y0 + np.arange(h))[:, None] + SUB[None, :]  # (h, 4)
    u = (xs.reshape(1, 1, w, 4) - cx) / size
    v = (ys.reshape(h, 4, 1, 1) - cy) / size
    u, v = np.broadcast_arrays(u, v)
    m = shape_mask(shape, u, v)
    return m.reshape(h, 4, w, 4).mean(axis=(1, 3))


def object_window(o: Obj):
    x0 = max(0, int(np.floor(o.cx - o.size / 2)) - 1)
    y0 = max(0, int(np.floor(o.cy - o.size / 2)) - 1)
    x1 = min(CANVAS, int(np.ceil(o.cx + o.size / 2)) + 1)
    y1 = min(CANVAS, int(np.ceil(o.cy + o.size / 2)) + 1)
    return x0, y0, x1 - x0, y1 - y0


def render(scene: Scene) -> np.ndarray:
    """The scene as a (128, 128, 3) uint8 image. Channels are blended in floating point and
    rounded half up (world.md leaves the rounding open)."""
    img = np.empty((CANVAS, CANVAS, 3), np.float64)
    img[:] = BACKGROUND_RGB[scene.background]
    for o in scene.objects:
        x0, y0, w, h = object_window(o)
        a = coverage(o.shape, o.size, o.cx, o.cy, x0, y0, w, h)[..., None]
        win = img[y0:y0 + h, x0:x0 + w]
        win[:] = win * (1 - a) + np.array(COLOUR_RGB[o.colour], np.float64) * a
    return np.floor(img + 0.5).astype(np.uint8)


def detect_background(img: np.ndarray) -> int:
    """The world background nearest the median colour of the image's border."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.float64)
    med = np.median(border, axis=0)
    return int(np.argmin(((np.array(BACKGROUND_RGB, np.float64) - med) ** 2).sum(1)))


def alpha_maps(img: np.ndarray, background: int):
    """Per pixel and object colour: the coverage alpha explaining the pixel as a blend of the
    background and that colour (as render() blends them), and the RGB distance left over."""
    bg = np.array(BACKGROUND_RGB[background], np.float64)
    p = img.reshape(-1, 3).astype(np.float64) - bg
    d = np.array(COLOUR_RGB, np.float64) - bg  # (8, 3)
    alpha = np.clip(p @ d.T / (d * d).sum(1), 0, 1)  # (N, 8)
    resid = np.linalg.norm(p[:, None, :] - alpha[..., None] * d[None], axis=2)
    return alpha, resid


def rebackground(img: np.ndarray, source: int, target: int) -> np.ndarray:
    """The (H, W, 3) uint8 image on background `source` moved onto background `target`: each
    pixel is read as `source` blended with the object colour that explains it best, and
    blended again with `target` at the same coverage. Exact on renders up to rounding (no
    pixel mixes two objects: they keep 4 px apart). The model draws every image on white
    and this puts it on the planned background (docs/format.md, "Backgrounds"); the engine's
    Background.swift is the same arithmetic."""
    if source == target:
        return img.copy()
    alpha, resid = alpha_maps(img, source)
    rows = np.arange(len(alpha))
    best = resid.argmin(1)
    a = alpha[rows, best][:, None]
    out = np.array(COLOUR_RGB, np.float64)[best] * a + np.array(BACKGROUND_RGB[target], np.float64) * (1 - a)
    return np.floor(out + 0.5).astype(np.uint8).reshape(img.shape)


# ---- The prompt language --------------------------------------------------------------

class PromptError(ValueError):
    pass


@dataclass
class PromptObject:
    shape: int
    colour: Optional[int] = None
    size: Optional[int] = None
    region: Optional[int] = None


@dataclass
class Prompt:
    words: list[str]
    objects: list[PromptObject]
    relations: list[tuple[int, int, int]]  # (subject, relation, target)
    background: Optional[int]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def words_on_white(self) -> list[str]:
        """The words without the background phrase ("on a … background", always last): what
        the model draws the image from (docs/format.md, "Backgrounds"; Prompt.wordsOnWhite)."""
        return self.words if self.background is None else self.words[:-4]


def separates(c: str) -> bool:
    """Whether character `c` separates words: Unicode's White_Space property, as the engine
    reads it (docs/world.md). str.isspace() also takes the ASCII separators U+001C to U+001F,
    which are not white space."""
    return c.isspace() and not "\x1c" <= c <= "\x1f"


def normalise(text: str) -> list[str]:
    folded = "".join(" " if separates(c) else chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    words = [w for w in folded.split(" ") if w]
    if words and words[-1].endswith("."):
        words[-1] = words[-1][:-1]
        if not words[-1]:
            words.pop()
    return words


def parse_prompt(text: str) -> Prompt:
    """Parses and checks a prompt; raises PromptError naming the offending word."""
    words = normalise(text)
    if not words:
        raise PromptError("prompt is empty")
    p = _Parser(words)
    return p.parse()


class _Parser:
    def __init__(self, words):
        self.w, self.i = words, 0
        self.objects: list[PromptObject] = []
        self.relations: list[tuple[int, int, int]] = []
        self.refs = []
        self.single: set[int] = set()

    def peek(self):
        return self.w[self.i] if self.i < len(self.w) else None

    def q(self, w):
        return f"'{w}'" if w is not None else "the end of the prompt"

    def parse(self) -> Prompt:
        phrases, background = 0, None
        while True:
            phrases += 1
            if phrases > MAX_PHRASES:
                raise PromptError(f"too many phrases: at most {MAX_PHRASES} are allowed")
            self.phrase()
            if self.peek() == "and":
                self.i += 1
                continue
            if self.peek() == "on":
                self.i += 1
                if self.peek() != "a":
                    raise PromptError(f"expected 'a' in 'on a … background' but found {self.q(self.peek())}")
                self.i += 1
                if self.peek() not in BACKGROUNDS:
                    raise PromptError(f"{self.q(self.peek())} is not a background colour")
                background = BACKGROUNDS.index(self.peek())
                self.i += 1
                if self.peek() != "background":
                    raise PromptError(f"expected 'background' but found {self.q(self.peek())}")
                self.i += 1
            break
        if self.peek() is not None:
            raise PromptError(f"unexpected word '{self.peek()}'")
        if len(self.objects) > MAX_OBJECTS:
            raise PromptError(f"the prompt asks for {len(self.objects)} objects")
        for subject, rel, size, colour, shape, phrase in self.refs:
            def match(j):
                o = self.objects[j]
                return (o.shape == shape and (colour is None or o.colour == colour)
                        and (size is None or o.size == size))
            singles = [j for j in sorted(self.single) if j != subject and match(j)]
            multis = [j for j in range(len(self.objects)) if j not in self.single and match(j)]
            if not singles and not multis:
                raise PromptError(f"'{phrase}' refers to no object the prompt brings in")
            if len(singles) != 1 or multis:
                raise PromptError(f"'{phrase}' could mean more than one object")
            self.relations.append((subject, rel, singles[0]))
        return Prompt(self.w, self.objects, self.relations, background)

    def description(self, plural):
        size = colour = None
        if self.peek() in SIZES:
            size = SIZES.index(self.peek())
            self.i += 1
        if self.peek() in COLOURS:
            colour = COLOURS.index(self.peek())
            self.i += 1
        w = self.peek()
        if w is None:
            raise PromptError("the prompt ends where a shape was expected")
        if w in SHAPES:
            if plural:
                raise PromptError(f"'{w}' should be plural after a count above one")
            self.i += 1
            return size, colour, SHAPES.index(w)
        if w in SHAPE_PLURALS:
            if not plural:
                raise PromptError(f"'{w}' should be singular for one object")
            self.i += 1
            return size, colour, SHAPE_PLURALS.index(w)
        if w in SIZES or w in COLOURS:
            raise PromptError(f"'{w}' is out of place: the order is count, size, colour, shape")
        raise PromptError(f"'{w}' is not a shape")

    def phrase(self):
        w = self.peek()
        if w is None:
            raise PromptError("the prompt ends where a phrase was expected")
        if w not in COUNTS:
            raise PromptError(f"'{w}' cannot start a phrase")
        count = COUNTS[w]
        self.i += 1
        size, colour, shape = self.description(count > 1)
        if len(self.objects) + count > MAX_OBJECTS:
            raise PromptError(f"'{w}' makes the prompt ask for more than {MAX_OBJECTS} objects")
        first = len(self.objects)
        self.objects += [PromptObject(shape, colour, size) for _ in range(count)]
        if count == 1:
            self.single.add(first)
        r = self.region()
        if r is not None:
            for o in self.objects[first:]:
                o.region = r
            return
        rel = self.relation()
        if rel is None:
            return
        if count != 1:
            raise PromptError(f"a relation ('{RELATIONS[rel]}') needs a phrase of count one, not '{w}'")
        art = self.peek()
        start = self.i
        if art in ("a", "an"):
            self.i += 1
            s, c, sh = self.description(False)
            if len(self.objects) >= MAX_OBJECTS:
                raise PromptError(f"'{' '.join(self.w[start:self.i])}' makes the prompt ask for more than {MAX_OBJECTS} objects")
            self.objects.append(PromptObject(sh, c, s))
            self.single.add(len(self.objects) - 1)
            self.relations.append((first, rel, len(self.objects) - 1))
        elif art == "the":
            self.i += 1
            s, c, sh = self.description(False)
            self.refs.append((first, rel, s, c, sh, " ".join(self.w[start:self.i])))
        else:
            raise PromptError(f"expected 'a', 'an' or 'the' after '{RELATIONS[rel]}' but found {self.q(art)}")

    def region(self):
        w = self.peek()
        if w not in ("in", "at", "on") or self.i + 1 >= len(self.w) or self.w[self.i + 1] != "the":
            return None
        for k, (words, _, _) in enumerate(REGIONS):
            ws = words.split()
            if self.w[self.i:self.i + len(ws)] == ws:
                self.i += len(ws)
                return k
        raise PromptError(f"'{' '.join(self.w[self.i:self.i + 5])}' is not a region")

    def relation(self):
        for k, words in enumerate(RELATIONS):
            ws = words.split()
            if self.w[self.i:self.i + len(ws)] == ws:
                self.i += len(ws)
                return k
        if self.peek() == "to":
            raise PromptError(f"'{' '.join(self.w[self.i:self.i + 4])}' is not a relation")
        return None


# ---- Plans ----------------------------------------------------------------------------

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


def size_class(side: float) -> int:
    """Size class from a (fitted) side: small below 19.6 px, medium to 29.4, large above."""
    return 0 if side < 19.6 else (1 if side <= 29.4 else 2)
