"""One prompt language and one plan format, two implementations: the engine (Swift) and the
training code (Python) must accept and reject the same texts."""
import json
from pathlib import Path

import numpy as np

from ponder import PonderError
from ponder_train.language.plan import parse_plan
from ponder_train.language.prompt import PromptError, parse_prompt
from ponder_train.scenes import CATEGORIES, sample_prompt


def mutate(rng, text):
    words = text.split()
    pool = ["a", "the", "and", "two", "circle", "circles", "red", "large", "on", "of", "above",
            "left", "background", "corner", "in", "to", "beige", "an", "four", "star"]
    op = rng.integers(4)
    i = int(rng.integers(len(words)))
    if op == 0:
        words.pop(i)
    elif op == 1:
        words.insert(i, pool[int(rng.integers(len(pool)))])
    elif op == 2:
        words[i] = pool[int(rng.integers(len(pool)))]
    else:
        j = int(rng.integers(len(words)))
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def engine_accepts_prompt(session, text):
    try:
        session.plan(text)
        return True
    except PonderError:
        return False


def python_accepts_prompt(text):
    try:
        parse_prompt(text)
        return True
    except PromptError:
        return False


def test_prompt_parsers_agree(model):
    rng = np.random.default_rng(0)
    texts = [sample_prompt(rng, c) for c in CATEGORIES + ["any"] * 3 for _ in range(40)]
    texts += [mutate(rng, t) for t in texts for _ in range(2)]
    texts += ["A Red Circle.", "a red circle..", "  a   red circle ", "a red circle on a white background."]
    with model.session(think=False) as s:
        disagreements = [t for t in texts if engine_accepts_prompt(s, t) != python_accepts_prompt(t)]
    assert disagreements == []
    accepted = sum(python_accepts_prompt(t) for t in texts)
    assert 0.3 * len(texts) < accepted < 0.9 * len(texts)  # both kinds were tried


def test_plan_parsers_agree(model):
    rng = np.random.default_rng(1)
    sizes, colours, shapes = ["small", "medium", "large", "huge"], ["red", "blue", "teal"], ["circle", "star", "blob"]
    texts = []
    for _ in range(400):
        lines = [f"background {['white', 'black', 'pink'][int(rng.integers(3))]}"]
        for _ in range(int(rng.integers(0, 6))):
            lines.append(f"{sizes[int(rng.integers(4))]} {colours[int(rng.integers(3))]} {shapes[int(rng.integers(3))]} "
                         f"at {int(rng.integers(0, 130))} {int(rng.integers(0, 130))}")
        texts.append("\n".join(lines))
    # Plans of sampled scenes, and the same with one coordinate nudged (sometimes too close
    # to another object or the edge).
    from ponder_train.language.plan import plan_text
    from ponder_train.scenes import sample_example
    for _ in range(150):
        words = plan_text(sample_example(rng, "any")[2]).split(" ")
        texts.append(" ".join(words))
        k = int(rng.integers(len(words)))
        if words[k].isdigit():
            words[k] = str(max(0, int(words[k]) + int(rng.integers(-12, 13))))
            texts.append(" ".join(words))
    accepted = 0
    with model.session(think=False) as s:
        s.plan("a red circle")
        for t in texts:
            try:
                s.set_plan(t)
                engine = True
            except PonderError:
                engine = False
            try:
                parse_plan(t)
                py = True
            except ValueError:
                py = False
            assert engine == py, t
            accepted += py
    assert 100 < accepted < len(texts) - 100  # both kinds were tried


# ---- Whether a plan satisfies a prompt: one rule, two implementations ---------------------
# Python's scene_satisfies and Swift's Plan.satisfies (which the engine uses to check its own
# plans) are compared through a committed fixture: this test checks that the fixture holds
# Python's answers, PlanSatisfactionTests.swift that Swift gives the same ones.

FIXTURE = Path(__file__).resolve().parents[3] / "Tests" / "PonderCoreTests" / "Fixtures" / "plan-satisfies.jsonl"


def satisfaction_cases():
    """Sampled prompts with a plan solving each, and variations that may break it: an object
    moved, recoloured, resized or dropped, two objects' places swapped, another background."""
    import copy
    from ponder_train.language.plan import plan_text, scene_satisfies
    from ponder_train.language.world import BACKGROUNDS, COLOURS, SIZE_PX, Obj, valid_scene
    from ponder_train.scenes import solve_scene
    rng = np.random.default_rng(11)
    cases = []
    for category in CATEGORIES + ["any"]:
        for _ in range(30):
            text = sample_prompt(rng, category)
            prompt = parse_prompt(text)
            scene = solve_scene(prompt, rng)
            if scene is None:
                continue
            variants = [scene]
            for _ in range(4):
                v = copy.deepcopy(scene)
                k = int(rng.integers(len(v.objects)))
                o = v.objects[k]
                change = int(rng.integers(6))
                if change == 0:
                    o.cx, o.cy = int(rng.integers(10, 118)), int(rng.integers(10, 118))
                elif change == 1:
                    o.colour = int(rng.integers(len(COLOURS)))
                elif change == 2:
                    o.size = SIZE_PX[int(rng.integers(len(SIZE_PX)))]
                elif change == 3 and len(v.objects) > 1:
                    v.objects.pop(k)
                elif change == 4 and len(v.objects) > 1:
                    j = (k + 1) % len(v.objects)
                    o.cx, o.cy, v.objects[j].cx, v.objects[j].cy = v.objects[j].cx, v.objects[j].cy, o.cx, o.cy
                else:
                    v.background = int(rng.integers(len(BACKGROUNDS)))
                if valid_scene(v):
                    variants.append(v)
            for v in variants:
                cases.append({"prompt": text, "plan": plan_text(v), "satisfies": scene_satisfies(v, prompt)})
    return cases


def test_plan_satisfaction_fixture_holds_pythons_answers():
    cases = satisfaction_cases()
    committed = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert committed == cases, f"regenerate with: python {Path(__file__).name} --write-fixture"
    both = sum(c["satisfies"] for c in cases)
    assert 0.3 * len(cases) < both < 0.8 * len(cases)  # both answers are exercised


# ---- Rendering a plan: one renderer, two implementations -----------------------------------
# Python's ponder_train.image.render (training data) and Swift's Renderer (which previews use, docs/format.md,
# "Previews") are compared through a committed fixture of each render's FNV-1a hash: this test
# checks that the fixture holds Python's renders, RendererTests.swift that Swift's are the same.

RENDER_FIXTURE = FIXTURE.with_name("renders.jsonl")


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def render_cases():
    """Every shape at every size (at even and odd centres) on every background; then sampled
    scenes of every category."""
    from ponder_train.image.render import render
    from ponder_train.language.plan import plan_text
    from ponder_train.language.world import BACKGROUNDS, SHAPES, SIZE_PX, Obj, Scene
    from ponder_train.scenes import solve_scene
    scenes = []
    for b in range(len(BACKGROUNDS)):
        for k in range(len(SHAPES)):
            scenes.append(Scene(b, [Obj(k, (k + b) % 8, SIZE_PX[i], 24 + 40 * i, 22 + 40 * i + (k % 2))
                                    for i in range(len(SIZE_PX))]))
    rng = np.random.default_rng(12)
    for category in CATEGORIES:
        for _ in range(8):
            scene = solve_scene(parse_prompt(sample_prompt(rng, category)), rng)
            if scene is not None:
                scenes.append(scene)
    return [{"plan": plan_text(s), "fnv1a64": fnv1a64(render(parse_plan(plan_text(s))).tobytes())} for s in scenes]


def test_render_fixture_holds_pythons_renders():
    committed = [json.loads(line) for line in RENDER_FIXTURE.read_text().splitlines()]
    assert committed == render_cases(), f"regenerate with: python {Path(__file__).name} --write-fixture"


if __name__ == "__main__":
    import sys
    if "--write-fixture" in sys.argv:
        FIXTURE.write_text("".join(json.dumps(c) + "\n" for c in satisfaction_cases()))
        RENDER_FIXTURE.write_text("".join(json.dumps(c) + "\n" for c in render_cases()))
        print(f"wrote {FIXTURE} and {RENDER_FIXTURE}")


def test_backgrounds_are_drawn_on_white_and_laid_in_as_python_does(model):
    """The engine draws every image on white and then lays in the background the plan (or,
    without one, the prompt) names (docs/format.md, "Backgrounds"): the image tokens are those
    drawn for white, and the pixels are world.rebackground of the white image."""
    from ponder_train.image.background import rebackground
    from ponder_train.language.world import BACKGROUNDS
    base = "a red circle above a blue star"

    def rgb(image):
        return np.frombuffer(image.rgb, np.uint8).reshape(image.height, image.width, 3)

    white = model.generate(base, seed=5, think=False)
    for b, name in enumerate(BACKGROUNDS):
        img = model.generate(f"{base} on a {name} background", seed=5, think=False)
        assert img.codes == white.codes
        assert np.array_equal(rgb(img), rebackground(rgb(white), 0, b))
    # with a plan, the plan's background counts, whatever the prompt says
    with model.session(seed=5) as s, model.session(seed=5) as t:
        s.plan(base + " on a gray background")
        plan = "background black\nlarge red circle at 40 30\nsmall blue star at 40 90"
        s.set_plan(plan)
        t.plan(base)
        t.set_plan(plan.replace("black", "white"))
        for session in (s, t):
            while session.step(64)[1] > 0:
                pass
        assert s.tokens() == t.tokens()
        on_black = np.frombuffer(s.decode(), np.uint8).reshape(128, 128, 3)
        on_white = np.frombuffer(t.decode(), np.uint8).reshape(128, 128, 3)
        assert np.array_equal(on_black, rebackground(on_white, 0, BACKGROUNDS.index("black")))
        assert not np.array_equal(on_black, on_white)
