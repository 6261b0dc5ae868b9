"""The canvas benchmark: how often edits of ground-truth pictures through the shipped library
are right, and their time against drawing a whole image.

    python training/edit_accuracy.py --model models/ponder-shapes-q8_0.gguf --per-kind 100 \
        --out docs/canvas.md --figure docs/images/canvas-steps.png

Scenes are the benchmark's two-object, position and colour-attribution scenes
(ponder_train.scenes, from --scene-seed), rendered exactly (ponder_train.image.render) and
given to the library with their plans. Each kind of edit is made --per-kind times, spread
evenly over the three categories, with edits drawn from --edit-seed:

- move: one object to a random free place at least 12 px away;
- recolour: one object to another colour;
- remove: one object;
- redraw: a random 44 × 44 px region, with a phrase for one object that fits in it (objects
  centred in the region go);
- add: a phrase for one object placed against one in the picture ("a small red star to the
  left of the blue circle").

The independent evaluator (ponder_train.evaluator) reads each result. A result is right when
it matches the edited plan (the one the caller passed, or for redraw and add the one the
library returned): the same background, every object with its shape, colour and size class,
its centre within 4 px (5 px for a moved object), and no extra objects; for add, the
phrase's relation also holds between the objects read. Every result is also checked pixel by
pixel: every pixel more than 16 px from every changed object's box (before and after; for
redraw, also from the region) must equal the input's, byte for byte. Time: each edit call (the canvas already made) against
drawing a whole image from its plan with the same settings, in the same process, as the
process's CPU time: with one thread (--threads 1, the default) that is the work done, and
it holds still when other programs share the machine, which wall time does not.
With --out the table is written into the file between the markers below.
"""
import argparse
import os
import sys
import time
from datetime import date

import numpy as np

from ponder_train.binding import ponder
from ponder_train.evaluator import detect
from ponder_train.image.render import render
from ponder_train.language.plan import parse_plan, plan_text
from ponder_train.language.world import (COLOURS, RELATIONS, SHAPES, SIZE_PX, SIZES, Obj, Scene, inside, relation_holds,
                                         separated, size_class)
from ponder_train.scenes import sample_example

HERE = os.path.dirname(os.path.abspath(__file__))
CATEGORIES = ["two", "position", "colour_attr"]
KINDS = ["move", "recolour", "remove", "redraw", "add"]
BEGIN, END = "<!-- edit-benchmark:begin -->", "<!-- edit-benchmark:end -->"


def fits(o: Obj, others) -> bool:
    """Whether `o` lies inside the picture and apart from `others` (docs/world.md)."""
    return inside(o) and all(separated(o, p) for p in others)


def phrase_of(o: Obj, size=True) -> str:
    return " ".join(([SIZES[SIZE_PX.index(int(o.size))]] if size else []) + [COLOURS[o.colour], SHAPES[o.shape]])


def make_edit(kind: str, scene: Scene, rng):
    """(request, changed objects) for one edit of `scene`, or None when this scene offers
    none. A request is ("plan", text, moved index or None), ("redraw", box, phrase) or
    ("add", phrase, relation, target index)."""
    objs = scene.objects
    if kind == "move":
        k = int(rng.integers(len(objs)))
        o = objs[k]
        for _ in range(200):
            m = Obj(o.shape, o.colour, o.size, int(rng.integers(2, 126)), int(rng.integers(2, 126)))
            if max(abs(m.cx - o.cx), abs(m.cy - o.cy)) >= 12 and fits(m, objs[:k] + objs[k + 1:]):
                new = Scene(scene.background, objs[:k] + [m] + objs[k + 1:])
                return ("plan", plan_text(new), k), [o, m]
        return None
    if kind == "recolour":
        k = int(rng.integers(len(objs)))
        o = objs[k]
        m = Obj(o.shape, int(rng.choice([c for c in range(len(COLOURS)) if c != o.colour])), o.size, o.cx, o.cy)
        return ("plan", plan_text(Scene(scene.background, objs[:k] + [m] + objs[k + 1:])), None), [o, m]
    if kind == "remove":
        k = int(rng.integers(len(objs)))
        return ("plan", plan_text(Scene(scene.background, objs[:k] + objs[k + 1:])), None), [objs[k]]
    if kind == "redraw":
        x0, y0 = int(rng.integers(0, 128 - 44 + 1)), int(rng.integers(0, 128 - 44 + 1))
        box = (x0, y0, x0 + 44, y0 + 44)
        kept = [o for o in objs if not (x0 <= o.cx < x0 + 44 and y0 <= o.cy < y0 + 44)]
        size = int(rng.integers(2))  # small or medium: a large object rarely fits beside others
        new = Obj(int(rng.integers(len(SHAPES))), int(rng.integers(len(COLOURS))), SIZE_PX[size], 0, 0)
        room = [(x, y) for x in range(x0 + SIZE_PX[size] // 2, x0 + 44 - SIZE_PX[size] // 2 + 1)
                for y in range(y0 + SIZE_PX[size] // 2, y0 + 44 - SIZE_PX[size] // 2 + 1)
                if fits(Obj(new.shape, new.colour, new.size, x, y), kept)]
        if not room:
            return None
        return ("redraw", box, "a " + phrase_of(new)), [o for o in objs if o not in kept]
    if kind == "add":
        k = int(rng.integers(len(objs)))
        target = objs[k]
        same = [o for o in objs if o.shape == target.shape and o.colour == target.colour]
        name = phrase_of(target, size=len(same) > 1)
        if len([o for o in objs if phrase_of(o, size=len(same) > 1) == name]) > 1:
            return None
        rel = int(rng.integers(len(RELATIONS)))
        others = [o for o in objs]
        room = [(x, y) for x in range(10, 119) for y in range(10, 119)
                if relation_holds(rel, x, y, target.cx, target.cy) and fits(Obj(0, 0, 16, x, y), others)]
        if not room:
            return None
        new = "a small " + COLOURS[int(rng.integers(len(COLOURS)))] + " " + SHAPES[int(rng.integers(len(SHAPES)))]
        return ("add", f"{new} {RELATIONS[rel]} the {name}", rel, k), []
    raise ValueError(kind)


def matches(found, bg, plan: Scene, moved=None) -> bool:
    """Whether the objects read (evaluator detections) are the plan's, one to one."""
    from itertools import permutations
    if bg != plan.background or len(found) != len(plan.objects):
        return False
    for order in permutations(found):
        if all(d.shape == o.shape and d.colour == o.colour and size_class(d.side) == size_class(o.size)
               and max(abs(d.cx - o.cx), abs(d.cy - o.cy)) <= (5 if i == moved else 4)
               for i, (d, o) in enumerate(zip(order, plan.objects))):
            return True
    return False


def far_pixels_kept(before: np.ndarray, after: np.ndarray, changed, region=None) -> bool:
    """Whether every pixel more than 16 px from every changed object's box (and from the
    region, for a redraw) is the input's."""
    near = np.zeros((128, 128), bool)
    if region is not None:
        x0, y0, x1, y1 = region
        near[max(0, y0 - 16):y1 + 16, max(0, x0 - 16):x1 + 16] = True
    for o in changed:
        h = o.size / 2
        x0, x1 = int(np.floor(o.cx - h - 16)), int(np.ceil(o.cx + h + 16))
        y0, y1 = int(np.floor(o.cy - h - 16)), int(np.ceil(o.cy + h + 16))
        near[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
    return bool(np.array_equal(before[~near], after[~near]))


def run(model_path: str, per_kind: int, scene_seed: int, edit_seed: int, threads: int, check=None,
        kinds=KINDS, verbose=False, temperature=None, cfg=None):
    model = ponder.Model(model_path)
    srng, erng = np.random.default_rng(scene_seed), np.random.default_rng(edit_seed)
    rows = {k: dict(right=0, n=0, kept=0, seconds=[], cells=[]) for k in KINDS}
    whole = []
    for kind in kinds:
        for i in range(per_kind):
            cat = CATEGORIES[i % len(CATEGORIES)]
            while True:
                _, _, scene = sample_example(srng, cat)
                made = make_edit(kind, scene, erng)
                if made is not None:
                    break
            request, changed = made
            before = render(scene)
            image = ponder.Image.from_rgb(before.tobytes(), 128, 128)
            with model.session(seed=i, threads=threads, check=check, temperature=temperature, cfg=cfg) as s:
                s.set_image(image)
                s.set_canvas_plan(plan_text(scene))
                t = time.process_time()
                try:
                    if request[0] == "plan":
                        s.edit(request[1])
                    elif request[0] == "redraw":
                        s.redraw(request[1], request[2])
                    else:
                        s.add(request[1])
                except ponder.PonderError as e:  # no room for the phrase: a wrong result
                    rows[kind]["n"] += 1
                    rows[kind]["seconds"].append(time.process_time() - t)
                    print(f"{kind} {i}: {e}", file=sys.stderr)
                    continue
                rows[kind]["seconds"].append(time.process_time() - t)
                result = s.image()
                if i % 10 == 0:  # a whole image drawn from the same plan, for the time ratio
                    with model.session(seed=i, threads=threads, check=check, temperature=temperature, cfg=cfg) as g:
                        t = time.process_time()
                        g.plan(" and ".join("a " + phrase_of(o) for o in scene.objects))
                        g.set_plan(plan_text(scene))
                        g.step(256)
                        g.decode()
                        whole.append(time.process_time() - t)
            after = np.frombuffer(result.rgb, np.uint8).reshape(128, 128, 3)
            plan = parse_plan(result.plan) if result.plan.count("\n") else Scene(scene.background, [])
            moved = None
            if request[0] == "redraw":
                changed = changed + [o for o in plan.objects if o not in scene.objects]
            elif request[0] == "add":
                changed = [plan.objects[-1]]
            else:
                moved = request[2]
            bg, found = detect(after)
            ok = matches(found, bg, plan, moved)
            if ok and request[0] == "add":
                # The relation between the objects read nearest the new object and the target.
                new, target = plan.objects[-1], scene.objects[request[3]]
                near = lambda o: min(found, key=lambda d: abs(d.cx - o.cx) + abs(d.cy - o.cy))  # noqa: E731
                a, b = near(new), near(target)
                ok = relation_holds(request[2], a.cx, a.cy, b.cx, b.cy)
            r = rows[kind]
            if verbose and not ok:
                print(f"{kind} {i} wrong: {request[1:]}\nplan:\n{result.plan}\nread: {bg} "
                      + "; ".join(f"{SHAPES[d.shape]} {COLOURS[d.colour]} {d.side:.0f} at {d.cx:.0f} {d.cy:.0f}" for d in found),
                      file=sys.stderr)
            if request[0] == "redraw":
                # Raster order: a kept object partly inside the region's cells is redrawn in
                # part, without the model seeing its kept cells below and to the right.
                x0, y0, x1, y1 = request[1]
                cut = any(o.cx - o.size / 2 < (x1 + 7) // 8 * 8 and o.cx + o.size / 2 > x0 // 8 * 8
                          and o.cy - o.size / 2 < (y1 + 7) // 8 * 8 and o.cy + o.size / 2 > y0 // 8 * 8
                          for o in scene.objects if o not in changed)
                r.setdefault("cut", []).append(ok) if cut else r.setdefault("whole", []).append(ok)
            r["n"] += 1
            r["right"] += ok
            r["kept"] += far_pixels_kept(before, after, changed, request[1] if request[0] == "redraw" else None)
            r["cells"].append(int(np.any(before != after, axis=2).sum()))
    return rows, whole


def table(rows, whole, args) -> str:
    w = np.mean(whole)
    flags = f"--per-kind {args.per_kind} --scene-seed {args.scene_seed} --edit-seed {args.edit_seed}"
    flags += f" --check {args.check}" if args.check is not None else ""
    flags += f" --temperature {args.temperature}" if args.temperature is not None else ""
    flags += f" --cfg {args.cfg}" if args.cfg is not None else ""
    checking = "checked editing at the library's default" if args.check is None else f"check attempts {args.check}"
    out = [f"Measured {date.today().isoformat()} with `python training/edit_accuracy.py {flags}` on "
           f"`{os.path.basename(args.model)}`, {checking}; a whole image drawn from a plan with the same settings "
           f"took {w * 1000:.0f} ms of CPU time (mean of {len(whole)}; one thread).", "",
           "| edit | right | target | far pixels kept | pixels changed (mean) | CPU time (mean) | time / whole image "
           "| median time / whole image |",
           "|---|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        r = rows[kind]
        if not r["n"]:
            continue
        target = "≥ 0.90" if kind in ("move", "recolour", "remove") else "≥ 0.85"
        t = np.mean(r["seconds"])
        out.append(f"| {kind} | {r['right'] / r['n']:.2f} ({r['right']}/{r['n']}) | {target} | {r['kept']}/{r['n']} | "
                   f"{np.mean(r['cells']) if r['cells'] else 0:.0f} | {t * 1000:.0f} ms | {t / w:.2f} | "
                   f"{np.median(r['seconds']) / w:.2f} |")
    r = rows["redraw"]
    cut, whole_ = r.get("cut", []), r.get("whole", [])
    if cut and whole_:
        out += ["", f"Raster order: redraws whose cells cut through an object kept in the picture were right "
                    f"{np.mean(cut):.2f} of the time ({sum(cut)}/{len(cut)}), the others {np.mean(whole_):.2f} "
                    f"({sum(whole_)}/{len(whole_)})."]
    return "\n".join(out)


def figure(model_path: str, path: str):
    """One base picture and a sequence of edits, each step shown with its caption."""
    from PIL import Image as PILImage, ImageDraw
    model = ponder.Model(model_path)
    steps = []
    base = model.generate("a large blue circle on the left and a small red square in the top right corner", seed=2)
    steps.append(("drawn: a large blue circle on the left\nand a small red square in the top right corner", base))
    lines = base.plan.splitlines()
    circle = next(l for l in lines if "circle" in l)
    moved = base.plan.replace(circle, circle.split(" at ")[0] + " at 40 88")
    img = model.edit(base, moved, seed=1)
    steps.append(("edit: the circle moved to 40 88", img))
    img = model.edit(img, img.plan.replace("small red square", "small green square"), seed=1)
    steps.append(("edit: the square recoloured green", img))
    img = model.add(img, "a medium yellow star to the right of the blue circle", seed=1)
    steps.append(("add: a medium yellow star\nto the right of the blue circle", img))
    img = model.redraw(img, (64, 0, 128, 56), "a small purple heart", seed=1)
    steps.append(("redraw (64, 0)-(128, 56):\na small purple heart", img))
    img = model.edit(img, img.plan.replace("background white", "background beige"), seed=1)
    steps.append(("edit: the background beige", img))
    scale, pad, caption = 2, 8, 34
    sheet = PILImage.new("RGB", (len(steps) * (128 * scale + pad) + pad, 128 * scale + 2 * pad + caption), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (text, im) in enumerate(steps):
        x = pad + k * (128 * scale + pad)
        sheet.paste(PILImage.frombytes("RGB", (128, 128), im.rgb).resize((128 * scale, 128 * scale), PILImage.NEAREST), (x, pad))
        draw.rectangle([x - 1, pad - 1, x + 128 * scale, pad + 128 * scale], outline=(160, 160, 160))
        draw.multiline_text((x, pad + 128 * scale + 4), text, fill=(0, 0, 0))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sheet.save(path)
    return [(text.replace("\n", " "), im.plan) for text, im in steps]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "ponder-shapes-q8_0.gguf"))
    ap.add_argument("--per-kind", type=int, default=100)
    ap.add_argument("--scene-seed", type=int, default=11)
    ap.add_argument("--edit-seed", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS), help="the kinds of edit to make (all, for the table)")
    ap.add_argument("--verbose", action="store_true", help="print every wrong result")
    ap.add_argument("--cfg", type=float, help="guidance scale (default: the model's)")
    ap.add_argument("--temperature", type=float, help="sampling temperature (default: the library's)")
    ap.add_argument("--check", type=int, help="checked editing's reads (default: the library's)")
    ap.add_argument("--out", help="markdown file whose table between the edit-benchmark markers is replaced")
    ap.add_argument("--figure", help="also draw the sequence of edits shown in docs/canvas.md into this PNG")
    args = ap.parse_args()
    if args.figure:
        for text, plan in figure(args.model, args.figure):
            print(f"{text}:\n{plan}\n")
    if args.per_kind <= 0:
        return
    rows, whole = run(args.model, args.per_kind, args.scene_seed, args.edit_seed, args.threads, args.check,
                      args.kinds.split(","), args.verbose, args.temperature, args.cfg)
    report = table(rows, whole, args)
    print(report)
    if args.out:
        doc = open(args.out).read()
        start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        open(args.out, "w").write(doc[:start] + "\n" + report + "\n" + doc[end:])


if __name__ == "__main__":
    main()
