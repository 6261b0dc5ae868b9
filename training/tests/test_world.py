"""The Python world against docs/world.md: renderer pixels, prompt grammar, scenes and
evaluator; and the Python and Swift prompt parsers against each other."""
import numpy as np
import pytest

from ponder_train.evaluator import correct, detect
from ponder_train.image.background import detect_background, rebackground
from ponder_train.image.render import render
from ponder_train.language.plan import parse_plan, plan_text, scene_satisfies
from ponder_train.language.prompt import PromptError, parse_prompt
from ponder_train.language.world import BACKGROUNDS, BACKGROUND_RGB, COLOUR_RGB, SHAPES, Obj, Scene, valid_scene
from ponder_train.scenes import CATEGORIES, sample_example, sample_prompt


def shape(name):
    return SHAPES.index(name)


def test_renderer_pixels():
    s = Scene(1, [Obj(shape("square"), 0, 16, 20, 20), Obj(shape("circle"), 4, 24, 64, 64),
                  Obj(shape("ring"), 3, 36, 100, 30), Obj(shape("triangle"), 2, 16, 100, 100)])
    img = render(s)
    assert tuple(img[0, 0]) == BACKGROUND_RGB[1]
    # A square of side 16 centred on (20, 20) covers pixels 12..27 exactly.
    assert tuple(img[12, 12]) == COLOUR_RGB[0] and tuple(img[27, 27]) == COLOUR_RGB[0]
    assert tuple(img[11, 12]) == BACKGROUND_RGB[1] and tuple(img[28, 20]) == BACKGROUND_RGB[1]
    assert tuple(img[64, 64]) == COLOUR_RGB[4]
    # The ring's hole (radius 0.3 · 36 = 10.8 px) shows the background; its band the colour.
    assert tuple(img[30, 100]) == BACKGROUND_RGB[1]
    assert tuple(img[30, 100 + 14]) == COLOUR_RGB[3]
    # Triangle, apex up: the bottom row is full width, the top row nearly empty.
    assert tuple(img[107, 93]) == COLOUR_RGB[2] and tuple(img[92, 93]) == BACKGROUND_RGB[1]
    # A circle's edge pixel is a blend: coverage strictly between 0 and 1.
    edge = img[72, 72].astype(int)  # pixel centre 12.0 px from the centre on the diagonal
    assert 0 < abs(edge - np.array(BACKGROUND_RGB[1])).sum() < abs(np.array(COLOUR_RGB[4]) - BACKGROUND_RGB[1]).sum()


def test_antialiasing_is_a_4x4_fraction():
    # A square whose edge cuts pixels at a quarter: coverage 1/4 → a quarter blend.
    img = render(Scene(0, [Obj(shape("square"), 0, 16, 20.25, 20)]))
    v = img[20, 12].astype(float)  # left edge at 12.25: three of four sub-columns inside
    expected = np.floor(np.array(BACKGROUND_RGB[0]) * 0.25 + np.array(COLOUR_RGB[0]) * 0.75 + 0.5)
    assert (v == expected).all()


def test_scene_validity():
    assert valid_scene(Scene(0, [Obj(0, 0, 16, 10, 10)]))
    assert not valid_scene(Scene(0, [Obj(0, 0, 16, 9, 10)]))  # 1 px from the edge
    assert not valid_scene(Scene(0, [Obj(0, 0, 16, 30, 30), Obj(0, 0, 16, 49, 30)]))  # gap 3
    assert valid_scene(Scene(0, [Obj(0, 0, 16, 30, 30), Obj(0, 0, 16, 50, 30)]))  # gap 4


@pytest.mark.parametrize("category", CATEGORIES + ["any"])
def test_sampled_prompts_parse_and_scenes_hold(category):
    rng = np.random.default_rng(1)
    for _ in range(60):
        text, prompt, scene = sample_example(rng, category)
        assert parse_prompt(text) == prompt
        assert valid_scene(scene) and scene_satisfies(scene, prompt)
        assert parse_plan(plan_text(scene)) == scene


def test_sampler_covers_the_language():
    rng = np.random.default_rng(2)
    words = set()
    for _ in range(3000):
        words |= set(sample_prompt(rng, "any").split())
    from ponder_train.vocab import word_tokens
    language = {w for w in word_tokens() if not w.startswith("<") and not w.isdigit() and w != "at"} | {"at"}
    assert language - words == set()


@pytest.mark.parametrize("text", ["a red circel", "two circle", "a circles", "five stars",
                                  "a circle to the left of the star", "two circles above a star",
                                  "a circle on a pink background", "a circle at the middle", "",
                                  "a circle and a square and a ring and a star and a heart"])
def test_bad_prompts(text):
    with pytest.raises(PromptError):
        parse_prompt(text)


def test_evaluator_on_ground_truth():
    rng = np.random.default_rng(3)
    results = []
    for category in CATEGORIES:
        for _ in range(40):
            _, prompt, scene = sample_example(rng, category)
            results.append(correct(render(scene), prompt))
    assert np.mean(results) >= 0.99


def test_evaluator_rejects_wrong_images():
    p = parse_prompt("a red circle to the left of a blue square")
    good = Scene(0, [Obj(shape("circle"), 0, 24, 30, 64), Obj(shape("square"), 4, 24, 90, 64)])
    assert correct(render(good), p)
    swapped = Scene(0, [Obj(shape("circle"), 4, 24, 30, 64), Obj(shape("square"), 0, 24, 90, 64)])
    assert not correct(render(swapped), p)
    missing = Scene(0, [Obj(shape("circle"), 0, 24, 30, 64)])
    assert not correct(render(missing), p)
    extra = Scene(0, good.objects + [Obj(shape("star"), 3, 16, 64, 110)])
    assert not correct(render(extra), p)
    moved = Scene(0, [Obj(shape("circle"), 0, 24, 90, 64), Obj(shape("square"), 4, 24, 30, 64)])
    assert not correct(render(moved), p)
    wrong_shape = Scene(0, [Obj(shape("ring"), 0, 24, 30, 64), Obj(shape("square"), 4, 24, 90, 64)])
    assert not correct(render(wrong_shape), p)
    q = parse_prompt("a large heart in the top left corner on a black background")
    assert correct(render(Scene(1, [Obj(shape("heart"), 5, 36, 24, 24)])), q)
    assert not correct(render(Scene(0, [Obj(shape("heart"), 5, 36, 24, 24)])), q)  # background
    assert not correct(render(Scene(1, [Obj(shape("heart"), 5, 16, 24, 24)])), q)  # size
    assert not correct(render(Scene(1, [Obj(shape("heart"), 5, 36, 64, 24)])), q)  # region


def test_detector_measures_objects():
    scene = Scene(3, [Obj(shape(n), k, [16, 24, 36][k % 3], 20 + 30 * (k % 4), 20 + 45 * (k // 4))
                      for k, n in enumerate(SHAPES)])
    bg, found = detect(render(scene))
    assert bg == 3 and len(found) == len(SHAPES)
    for o in scene.objects:
        d = min(found, key=lambda d: (d.cx - o.cx) ** 2 + (d.cy - o.cy) ** 2)
        assert (d.shape, d.colour) == (o.shape, o.colour)
        assert abs(d.side - o.size) < 1.0 and abs(d.cx - o.cx) < 0.5 and abs(d.cy - o.cy) < 0.5


def test_training_data_follows_its_mix():
    from ponder_train.data import example_chunks, make_examples
    images, prompts, plans = next(example_chunks(8, seed=3, workers=1, mix=["complex"]))
    assert images.shape == (8, 128, 128, 3)
    assert all(len(parse_prompt(p).objects) >= 3 for p in prompts)
    assert all(len(parse_plan(q).objects) >= 3 for q in plans)
    # the default mix is the transformer's, and the same seed gives the same data
    a, b = make_examples(8, seed=3, workers=1), make_examples(8, seed=3, workers=1)
    assert a[1] == b[1] and np.array_equal(a[0], b[0])
    assert a[1] != prompts


def test_training_images_are_on_white_and_plans_keep_the_background():
    """The model's image tokens always show a scene on white (docs/format.md, "Backgrounds"):
    training renders every image on white, while prompts and plans name what was asked."""
    from ponder_train.data import example_chunks
    images, prompts, plans = next(example_chunks(64, seed=3, workers=1))
    assert all(tuple(img[0, 0]) == BACKGROUND_RGB[0] for img in images)  # the margin keeps objects off it
    named = [parse_prompt(p).background for p in prompts]
    assert any(b not in (None, 0) for b in named)
    for b, q in zip(named, plans):
        assert parse_plan(q).background == (b or 0)


def test_words_on_white_leave_out_the_background_phrase():
    assert parse_prompt("A red circle above a blue star on a Black background.").words_on_white == \
        "a red circle above a blue star".split()
    assert parse_prompt("two green squares").words_on_white == ["two", "green", "squares"]


@pytest.mark.parametrize("category", ["complex", "counting"])
def test_rebackground_is_the_renderer_on_another_background(category):
    rng = np.random.default_rng(4)
    for _ in range(12):
        _, _, scene = sample_example(rng, category)
        on = [render(Scene(b, scene.objects)) for b in range(len(BACKGROUNDS))]
        for a in range(len(BACKGROUNDS)):
            assert detect_background(on[a]) == a
            for b in range(len(BACKGROUNDS)):
                moved = rebackground(on[a], a, b)
                # exact up to the rounding of each blend (uint8 renders)
                assert np.abs(moved.astype(int) - on[b]).max() <= 2
                assert np.mean(moved == on[b]) > 0.98


