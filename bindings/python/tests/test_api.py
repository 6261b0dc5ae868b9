"""The Python binding end to end, and every kind of misuse answered with an error."""
import ctypes as C
import hashlib

import pytest

import ponder
from ponder import PonderError

PROMPT = "a small green star to the left of a large purple heart"


def test_generate_end_to_end(model, tmp_path):
    steps = []
    img = model.generate(PROMPT, seed=5, on_step=lambda done, total: steps.append((done, total)))
    assert (img.width, img.height, len(img.rgb)) == (128, 128, 128 * 128 * 3)
    assert steps[-1] == (256, 256) and len(steps) == 16
    assert img.plan is not None and img.plan.startswith("background ")
    ponder.Session  # the low-level class is public too
    out = tmp_path / "a.png"
    img.save(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == img.png()


def test_plan_is_valid_and_round_trips(model):
    with model.session(seed=2) as s:
        plan = s.plan(PROMPT)
        lines = plan.split("\n")
        assert lines[0].split()[0] == "background"
        assert 1 <= len(lines) - 1 <= 4
        # The engine accepts its own plan back unchanged.
        s.set_plan(plan)
        assert s.current_plan == plan


def test_edited_plan_is_used(model):
    plan = "background beige\nlarge red circle at 30 30\nsmall blue star at 100 100"
    img = model.generate(PROMPT, seed=1, plan=plan)
    assert img.plan == plan


def test_thinking_off_gives_no_plan(model):
    img = model.generate(PROMPT, seed=1, think=False)
    assert img.plan is None


def digest(img):
    return hashlib.sha256(img.png()).hexdigest()


def test_same_seed_same_png_across_runs_and_threads(model):
    base = digest(model.generate(PROMPT, seed=11, cfg=2.0, threads=1))
    for threads in (1, 2, 3, 4):
        assert digest(model.generate(PROMPT, seed=11, cfg=2.0, threads=threads)) == base
    assert digest(model.generate(PROMPT, seed=12, cfg=2.0)) != base


def test_sampling_options_are_reproducible(model):
    a = model.generate(PROMPT, seed=4, top_k=5, top_p=0.9, temperature=0.8)
    b = model.generate(PROMPT, seed=4, top_k=5, top_p=0.9, temperature=0.8)
    assert a.codes == b.codes and a.plan == b.plan


def test_speculative_drawing_changes_no_byte(model):
    # Drafts only decide how many tokens a pass yields; every token is the model's own sample.
    base = model.generate(PROMPT, seed=7, draft_tokens=0)
    for n in (1, 3, 15):
        other = model.generate(PROMPT, seed=7, draft_tokens=n)
        assert other.codes == base.codes and other.png() == base.png(), n
    for bad in (-1, 16, 1.5, "3"):
        with pytest.raises((ponder.PonderError, TypeError, ValueError), match="draft"):
            model.generate(PROMPT, seed=7, draft_tokens=bad)


def test_progress_reports_each_step_size_though_passes_draw_several(model):
    seen = []
    model.generate(PROMPT, seed=2, on_step=lambda done, total: seen.append(done), step_size=16)
    assert seen[-1] == 256 and seen == sorted(seen)
    # Once for each multiple of 16 crossed: 16 calls, the last at 256.
    assert len(seen) == 16 and all(b // 16 == a // 16 + 1 for a, b in zip(seen, seen[1:]))


def test_steps_and_previews_interleave(model):
    with model.session(seed=1) as s:
        s.plan(PROMPT)
        assert s.step(10) == (10, 246)
        preview = s.decode()
        # Rows of cells not yet generated are neutral grey.
        assert preview[-3:] == bytes([128, 128, 128])
        assert s.step(0) == (10, 246)
        assert s.step(1000) == (256, 0)
        assert s.step(5) == (256, 0)
        full = s.decode()
        assert full != preview


@pytest.mark.parametrize("prompt, word", [
    ("", "empty"),
    ("a red circel", "circel"),
    ("two red circle", "circle"),
    ("a red circles", "circles"),
    ("five red circles", "five"),
    ("three circles and two squares", "more than 4"),
    ("a circle to the left of the square", "the square"),
    ("a red circle and a red circle and a square to the left of the red circle", "more than one"),
    ("two circles to the left of a square", "count one"),
    ("a circle on a purple background", "purple"),
    ("a circle in the middle", "in the middle"),
    ("a red blue circle", "blue"),
    ("a circle and", "end"),
])
def test_bad_prompts_name_the_problem(model, prompt, word):
    with model.session() as s:
        with pytest.raises(PonderError) as e:
            s.plan(prompt)
        assert word in str(e.value)
        assert e.value.status in ("bad prompt", "invalid argument")


@pytest.mark.parametrize("prompt", [
    "A Red Circle.", "a  red   circle", "an orange heart in the top left corner on a black background",
    "a red square above a blue circle and a green cross to the right of the blue circle",
    "a yellow triangle in the top left corner and three pink rings at the bottom on a black background",
    "four small diamonds", "one ring",
])
def test_good_prompts_are_accepted(model, prompt):
    with model.session(think=False) as s:
        s.plan(prompt)


@pytest.mark.parametrize("plan, part", [
    ("", "empty"),
    ("background white", "ends early"),
    ("background purple\nsmall red circle at 20 20", "purple"),
    ("background white\nsmall red circle at 5 20", "x = 5"),
    ("background white\nsmall red circle at 20 125", "y = 125"),
    ("background white\nhuge red circle at 20 20", "huge"),
    ("background white\nsmall red circle at 20", "ends early"),
    ("background white\nsmall red circle 20 20", "'20'"),
    ("background white\nsmall red circle at 20 20\nsmall red square at 30 30", "closer"),
    ("background white\nsmall red circle at 020 20", "020"),
    ("background white\n" + "small red circle at 20 20\nsmall red circle at 60 20\nsmall red circle at 100 20\n"
     "small red circle at 20 60\nsmall red circle at 60 60", "at most 4"),
])
def test_bad_plans_name_the_bad_part(model, plan, part):
    with model.session() as s:
        s.plan(PROMPT)
        with pytest.raises(PonderError) as e:
            s.set_plan(plan)
        assert part in str(e.value)
        assert e.value.status == "bad plan"


def test_wrong_call_order(model):
    with model.session() as s:
        with pytest.raises(PonderError, match="plan"):
            s.step(1)
        with pytest.raises(PonderError, match="step"):
            s.decode()
        with pytest.raises(PonderError, match="prompt"):
            s.set_plan("background white\nsmall red circle at 20 20")
        s.plan(PROMPT)
        with pytest.raises(PonderError, match="step"):
            s.decode()
        with pytest.raises(PonderError, match="negative"):
            s.step(-1)


@pytest.mark.parametrize("kwargs, word", [
    (dict(temperature=-1.0), "temperature"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(top_p=0.0), "top_p"),
    (dict(top_p=1.5), "top_p"),
    (dict(top_k=-3), "top_k"),
    (dict(cfg=float("nan")), "NaN"),
    (dict(cfg=1000.0), "cfg_scale"),
    (dict(threads=100000), "thread"),
    (dict(threads=-2), "thread"),
    (dict(plan_attempts=0), "plan attempts"),
    (dict(plan_attempts=65), "plan attempts"),
])
def test_out_of_range_parameters(model, kwargs, word):
    with pytest.raises(PonderError) as e:
        model.session(**kwargs)
    assert word in str(e.value) and e.value.status == "invalid argument"


def test_huge_and_invalid_text(model):
    with model.session() as s:
        with pytest.raises(PonderError, match="longer than"):
            s.plan("a red circle " * 80000)  # about 1 MB
        lib = ponder._load()
        assert lib.ponder_plan(s._handle, b"a red \xff\xfe circle") == 1
        assert "UTF-8" in lib.ponder_last_error().decode()
        assert "UTF-8" in lib.ponder_session_last_error(s._handle).decode()


def test_null_pointers_are_errors():
    lib = ponder._load()
    h = C.c_void_p()
    assert lib.ponder_model_load(None, C.byref(h)) == 1 and h.value is None
    assert lib.ponder_model_load(b"x.gguf", None) == 1
    assert lib.ponder_model_get_info(None, None) == 1
    assert lib.ponder_session_create(None, None, C.byref(h)) == 1
    assert lib.ponder_plan(None, b"a red circle") == 1
    assert lib.ponder_set_plan(None, b"x") == 1
    assert lib.ponder_step(None, 1, None, None) == 1
    assert lib.ponder_decode(None, None, 0) == 1
    assert lib.ponder_write_png(None, b"/tmp/x.png") == 1
    assert lib.ponder_get_tokens(None, None, 0, None) == 1
    assert lib.ponder_eval(None, None, 0, 0, None, 0) == 1
    assert lib.ponder_encode_png(None, 0, 1, 1, None, None) == 1
    assert lib.ponder_write_png_rgb(None, 0, 1, 1, None) == 1
    assert lib.ponder_get_plan(None) is None
    assert lib.ponder_session_last_error(None) == b""
    lib.ponder_model_free(None)
    lib.ponder_session_free(None)
    lib.ponder_free(None)
    assert "NULL" in lib.ponder_last_error().decode()


def test_null_arguments_on_a_live_session(model):
    lib = ponder._load()
    with model.session() as s:
        assert lib.ponder_plan(s._handle, None) == 1
        assert lib.ponder_set_plan(s._handle, None) == 1
        s.plan(PROMPT)
        s.step(3)
        assert lib.ponder_decode(s._handle, None, 0) == 1
        small = (C.c_uint8 * 100)()
        assert lib.ponder_decode(s._handle, small, 100) == 7
        assert "needs" in lib.ponder_last_error().decode()
        assert lib.ponder_write_png(s._handle, None) == 1
        assert lib.ponder_get_tokens(s._handle, None, 0, None) == 1
        few = (C.c_int32 * 2)()
        n = C.c_size_t()
        assert lib.ponder_get_tokens(s._handle, few, 2, C.byref(n)) == 7
        assert lib.ponder_eval(s._handle, None, 1, 0, None, 0) == 1


def test_eval_checks_its_input(model):
    with model.session() as s:
        vocab = model.info["vocab_size"]
        with pytest.raises(PonderError, match="outside the vocabulary"):
            s.eval([vocab])
        with pytest.raises(PonderError, match="n_past"):
            s.eval([1], n_past=5)
        with pytest.raises(PonderError, match="context"):
            s.eval([1] * (model.info["context_length"] + 1))


def test_png_helpers_check_sizes(tmp_path):
    lib = ponder._load()
    buf = (C.c_uint8 * 12)()
    out, size = C.POINTER(C.c_uint8)(), C.c_size_t()
    assert lib.ponder_encode_png(buf, 12, 2, 2, C.byref(out), C.byref(size)) == 0
    assert C.string_at(out, 4) == b"\x89PNG"
    lib.ponder_free(out)
    assert lib.ponder_encode_png(buf, 12, 3, 2, C.byref(out), C.byref(size)) == 7
    assert lib.ponder_encode_png(buf, 12, 0, 2, C.byref(out), C.byref(size)) == 1
    assert lib.ponder_encode_png(buf, 12, -5, 2, C.byref(out), C.byref(size)) == 1
    assert lib.ponder_encode_png(buf, 12, 1 << 30, 1 << 30, C.byref(out), C.byref(size)) == 1
    assert lib.ponder_write_png_rgb(buf, 12, 2, 2, str(tmp_path / "no" / "dir.png").encode()) == 2


def test_write_png_to_bad_path(model):
    with model.session() as s:
        s.plan(PROMPT)
        s.step(256)
        with pytest.raises(PonderError) as e:
            ponder._check(ponder._load().ponder_write_png(s._handle, b"/nonexistent/dir/x.png"))
        assert e.value.status == "i/o error"


def test_missing_model_file():
    with pytest.raises(PonderError) as e:
        ponder.Model("/nonexistent/model.gguf")
    assert e.value.status == "i/o error" and "/nonexistent/model.gguf" in str(e.value)


def test_to_pil(model):
    pil = model.generate("a red circle", seed=1).to_pil()
    assert pil.size == (128, 128) and pil.mode == "RGB"
