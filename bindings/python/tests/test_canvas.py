"""Editing pictures through the Python binding (docs/canvas.md): every kind of edit keeps the
pixels far from what it changes, returns a new Image with its plan, leaves the input as it
was, is deterministic, and fails with a clear error on a bad reference, no room, a full
picture and bad arguments."""
from pathlib import Path

import pytest

import ponder

ROOT = Path(__file__).resolve().parents[3]
BASE_PLAN = "background white\nmedium red circle at 32 64\nmedium blue square at 96 64"


@pytest.fixture(scope="module")
def shapes():
    return ponder.Model(ROOT / "models" / "ponder-shapes-q8_0.gguf")


@pytest.fixture(scope="module")
def base(shapes):
    return shapes.generate("a red circle to the left of a blue square", plan=BASE_PLAN, seed=4)


def far_bytes_changed(a: ponder.Image, b: ponder.Image, boxes) -> int:
    """Bytes that differ at pixels more than 16 px from every (x0, y0, x1, y1) box."""
    changed = 0
    for y in range(128):
        for x in range(128):
            if any(x0 - 16 <= x < x1 + 16 and y0 - 16 <= y < y1 + 16 for x0, y0, x1, y1 in boxes):
                continue
            i = (y * 128 + x) * 3
            changed += a.rgb[i:i + 3] != b.rgb[i:i + 3]
    return changed


def box(x, y, side):
    return (x - side // 2, y - side // 2, x + side // 2, y + side // 2)


def test_edit_by_plan_moves_and_keeps_the_rest(shapes, base):
    before = bytes(base.rgb)
    moved = BASE_PLAN.replace("circle at 32 64", "circle at 40 100")
    out = shapes.edit(base, moved, seed=1)
    assert out.plan == moved
    assert out.rgb != base.rgb
    assert base.rgb == before and base.plan == BASE_PLAN  # the input is never changed
    assert far_bytes_changed(base, out, [box(32, 64, 24), box(40, 100, 24)]) == 0
    # The same seed, any thread count: the same picture.
    again = shapes.edit(base, moved, seed=1, threads=1)
    assert again.rgb == out.rgb


def test_recolour_remove_and_background(shapes, base):
    green = shapes.edit(base, BASE_PLAN.replace("blue square", "green square"), seed=1)
    assert far_bytes_changed(base, green, [box(96, 64, 24)]) == 0
    removed = shapes.edit(base, "background white\nmedium blue square at 96 64", seed=1)
    assert far_bytes_changed(base, removed, [box(32, 64, 24)]) == 0
    # Removing everything leaves the background line alone, a valid canvas plan.
    empty = shapes.edit(base, "background white", seed=1)
    assert empty.plan == "background white"
    beige = shapes.edit(base, BASE_PLAN.replace("white", "beige"), seed=1)
    assert beige.plan.startswith("background beige") and beige.rgb[:3] == bytes((240, 228, 200))


def test_redraw_region(shapes, base):
    out = shapes.redraw(base, (40, 88, 90, 126), "a small green star", seed=2)
    lines = out.plan.splitlines()
    assert lines[:3] == BASE_PLAN.splitlines()
    size, colour, shape, _, x, y = lines[3].split()
    assert (size, colour, shape) == ("small", "green", "star")
    assert 48 <= int(x) <= 82 and 96 <= int(y) <= 118
    assert far_bytes_changed(base, out, [(40, 88, 90, 126)]) == 0
    cleared = shapes.redraw(base, (0, 30, 64, 100), seed=2)  # no phrase: cleared
    assert cleared.plan == "background white\nmedium blue square at 96 64"
    with pytest.raises(ponder.PonderError, match="no room"):
        shapes.redraw(base, (50, 2, 70, 20), "a large red heart")
    with pytest.raises(ponder.PonderError, match="not a box inside"):
        shapes.redraw(base, (10, 10, 5, 20))
    with pytest.raises(TypeError, match="x0, y0, x1, y1"):
        shapes.redraw(base, (1, 2, 3))
    with pytest.raises((ValueError, ponder.PonderError, OverflowError)):
        shapes.redraw(base, (0, 0, 2 ** 40, 10))


def test_add_element(shapes, base):
    out = shapes.add(base, "a small yellow heart above the blue square", seed=3)
    lines = out.plan.splitlines()
    assert lines[:3] == BASE_PLAN.splitlines()
    size, colour, shape, _, x, y = lines[3].split()
    assert (size, colour, shape) == ("small", "yellow", "heart") and int(y) <= 64 - 8
    assert far_bytes_changed(base, out, [box(int(x), int(y), 16)]) == 0
    assert out.plan != base.plan and base.plan == BASE_PLAN


def test_add_errors(shapes, base):
    with pytest.raises(ponder.PonderError, match="'the green circle' names no object in the picture") as e:
        shapes.add(base, "a red star to the right of the green circle")
    assert e.value.status == "bad prompt"
    two = shapes.add(base, "a small red circle in the top right corner", seed=1)
    with pytest.raises(ponder.PonderError, match="could mean any of 2 objects"):
        shapes.add(two, "a star below the red circle")
    near_edge = shapes.edit(base, BASE_PLAN.replace("circle at 32 64", "circle at 24 64"))
    with pytest.raises(ponder.PonderError, match="no room"):
        shapes.add(near_edge, "a large green square to the left of the red circle")
    full = shapes.edit(base, "background white\nsmall red circle at 20 20\nsmall blue square at 100 20\n"
                             "small green star at 20 100\nsmall pink ring at 100 100")
    with pytest.raises(ponder.PonderError, match="already holds 4 objects"):
        shapes.add(full, "a small red heart")
    with pytest.raises(ponder.PonderError, match="asks for 2 objects"):
        shapes.add(base, "two red stars")


def test_picture_without_plan_is_described(shapes, base, tmp_path):
    path = tmp_path / "base.png"
    base.save(path)
    out = shapes.add(path, "a small pink ring in the bottom right corner", seed=5)  # a PNG path, no plan
    assert out.plan.splitlines()[-1].startswith("small pink ring at")
    assert len(out.plan.splitlines()) >= 2


def test_session_edits_chain(shapes, base):
    with shapes.session(seed=7) as s:
        s.set_image(base)
        s.set_canvas_plan(base.plan)
        s.add("a small purple cross below the red circle")
        s.edit(s.current_plan.replace("purple", "orange"))
        assert "small orange cross" in s.current_plan
        first = s.image()
        with pytest.raises(ponder.PonderError):
            s.add("a red star to the left of the brown heart")
        assert s.image().rgb == first.rgb  # a failed edit changes nothing
    with shapes.session() as s:
        with pytest.raises(ponder.PonderError, match="no picture"):
            s.edit(BASE_PLAN)


def test_which_plan_is_bad_and_backgrounds_must_match(shapes, base):
    with pytest.raises(ponder.PonderError, match=r"^the picture's own plan \(image_plan\): plan line 1"):
        shapes.edit(base, BASE_PLAN, image_plan="background purple")
    with pytest.raises(ponder.PonderError, match=r"^plan line 2"):
        shapes.edit(base, "background white\nhuge red circle at 20 20")
    with pytest.raises(ponder.PonderError, match="background is black, but the picture.s is white"):
        shapes.edit(base, BASE_PLAN, image_plan=BASE_PLAN.replace("white", "black"))


def test_kept_neighbour_in_a_shared_cell_is_untouched(shapes):
    plan = "background white\nlarge red square at 39 64\nlarge blue square at 79 64"
    image = shapes.generate("a red square to the left of a blue square", plan=plan, seed=1)
    out = shapes.edit(image, "background white\nlarge blue square at 79 64", seed=1)
    for y in range(46, 82):
        row = slice((y * 128 + 61) * 3, (y * 128 + 97) * 3)
        assert out.rgb[row] == image.rgb[row], f"row {y} of the kept blue square changed"


def test_add_plans_the_object_elsewhere_when_checking_reads_it_wrong(shapes):
    # The model draws this small heart wrong at some of the places it plans (the check reads
    # it wrong three times there), so checked adding plans it again at least one cell away,
    # and the drawing discarded with the first place leaves no trace. Which seeds meet such a
    # place depends on the processor's rounding (AVX2 and AVX-512 draw other codes), so the
    # first seed that does is taken; on both about one seed in four does.
    plan = "background white\nlarge brown triangle at 59 26\nlarge blue star at 60 102"
    base = shapes.generate("a large brown triangle and a large blue star", plan=plan, seed=1)
    phrase = "a small purple heart below the brown triangle"
    for seed in range(24):
        checked = shapes.add(base, phrase, seed=seed)
        if checked.checks > 3:  # more than one place's reads
            break
    else:
        pytest.fail("no seed of 24 made checked adding plan the heart again")
    first = shapes.add(base, phrase, seed=seed, check=0).plan.splitlines()[-1].split()
    new = checked.plan.splitlines()[-1].split()
    assert new[:3] == ["small", "purple", "heart"]
    (fx, fy), (x, y) = map(int, first[-2:]), map(int, new[-2:])
    assert abs(x - fx) > 8 or abs(y - fy) > 8
    assert y > 26  # the phrase still holds
    assert checked.plan.startswith(plan)
    assert far_bytes_changed(base, checked, [box(x, y, 16)]) == 0


def test_edits_report_progress_and_stop_when_asked(shapes, base):
    moved = BASE_PLAN.replace("circle at 32 64", "circle at 40 100")
    plain = shapes.edit(base, moved, seed=1)
    calls = []
    watched = shapes.edit(base, moved, seed=1, on_step=lambda done, total: calls.append((done, total)))
    assert watched.rgb == plain.rgb and not watched.cancelled  # watching changes nothing
    assert calls and calls[0][0] == 1 and all(1 <= d <= t for d, t in calls)
    # False stops the edit: the picture comes back as it was, marked cancelled.
    stopped = shapes.add(base, "a small green star above the red circle", seed=2, on_step=lambda d, t: d < 2)
    assert stopped.cancelled and stopped.rgb == base.rgb and stopped.plan == base.plan
    # An exception from on_step stops it and is raised; the session can edit again after.
    with shapes.session(seed=1) as s:
        s.set_image(base)
        s.set_canvas_plan(BASE_PLAN)

        def boom(done, total):
            raise RuntimeError("stop here")
        with pytest.raises(RuntimeError, match="stop here"):
            s.redraw((40, 88, 90, 126), "a small green star", on_step=boom)
        assert s.image().rgb == base.rgb
        assert s.edit(moved) is True
        assert s.image().rgb == plain.rgb
    with pytest.raises(TypeError, match="on_step must be callable"):
        shapes.edit(base, moved, on_step=3)
