"""Inputs that must fail cleanly or be handled safely: nothing hangs, nothing is silently cut
or wrapped on its way through ctypes, a model file rewritten while loaded changes nothing,
one session used by two threads answers with an error, a failed save keeps the old file, and
on_step can stop a drawing."""
import ctypes as C
import os
import resource
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import ponder
from ponder import PonderError

PROMPT = "a red circle above a blue star"
ROOT = Path(__file__).resolve().parents[3]


def finishes(fn, seconds=60):
    """Runs fn on a thread; fails (instead of hanging the run) if it does not return in time.
    Returns what fn raised, or None."""
    out = {}

    def run():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s"
    return out.get("error")


def invalid(e, *words):
    assert isinstance(e, PonderError), repr(e)
    assert e.status == "invalid argument", e.status
    for w in words:
        assert w in str(e), str(e)


# ---- Nothing hangs ----------------------------------------------------------------------

@pytest.mark.parametrize("step_size", [0, -1, 2 ** 32, 2 ** 31, 1.5, True])
def test_generate_refuses_a_step_size_that_never_finishes(model, step_size):
    # 0 drew nothing forever; 2**32 reached the library as 0 through ctypes.
    invalid(finishes(lambda: model.generate(PROMPT, step_size=step_size)), "step_size")
    invalid(finishes(lambda: model.generate(PROMPT, plan="background white\nsmall red circle at 30 30",
                                            step_size=step_size)), "step_size")


def test_step_counts_cannot_wrap_to_nothing(model):
    with model.session() as s:
        s.plan(PROMPT)
        invalid(finishes(lambda: s.step(2 ** 32)), "token count")
        invalid(finishes(lambda: s.draw(step_size=0)), "step_size")
        assert s.step(2 ** 31 - 1) == (256, 0)


# ---- Nothing silently cut or wrapped ----------------------------------------------------

def test_text_with_a_nul_is_refused(model, tmp_path):
    with pytest.raises(PonderError) as e:
        model.generate("a red circle\0 and twelve purple elephants")
    invalid(e.value, "prompt", "NUL")
    with model.session() as s:
        with pytest.raises(PonderError, match="NUL"):
            s.plan("a red circle\0")
        s.plan(PROMPT)
        with pytest.raises(PonderError, match="plan .*NUL"):
            s.set_plan("background white\nsmall red circle at 30 30\0\nlarge blue star at 90 90")
    with pytest.raises(PonderError, match="model path .*NUL"):
        ponder.Model(str(tmp_path / "model.gguf\0.txt"))
    with pytest.raises(PonderError, match="NUL"):
        ponder.Image.open(str(tmp_path / "a.png\0b"))
    img = ponder.Image.from_rgb(bytes(12), 2, 2)
    with pytest.raises(PonderError, match="NUL"):
        img.save(str(tmp_path / "out.png\0.txt"))
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("kwargs, word", [
    (dict(top_k=2 ** 32 + 1), "top_k"),  # wrapped to 1: greedy
    (dict(top_k=np.int64(2 ** 40)), "top_k"),
    (dict(seed=-1), "seed"),
    (dict(seed=2 ** 64), "seed"),
    (dict(threads=2 ** 32), "threads"),
    (dict(plan_attempts=2 ** 32 + 1), "plan attempts"),
    (dict(check=2 ** 32 + 3), "check attempts"),
    (dict(temperature=1e-50), "temperature"),  # 0 in single precision: greedy
    (dict(temperature=1e39), "temperature"),  # infinity
    (dict(temperature="1.0"), "temperature"),
    (dict(top_p=True), "top_p"),
    (dict(cfg=-3.0), "cfg"),  # negative reaches the C API as "the model's default"
])
def test_numbers_that_would_change_on_the_way_are_refused(model, kwargs, word):
    with pytest.raises(PonderError) as e:
        model.session(**kwargs)
    invalid(e.value, word)


def test_integers_in_buffers_and_sizes_cannot_wrap(model):
    with model.session() as s:
        with pytest.raises(PonderError, match="token id"):
            s.eval([2 ** 32 + 1])  # would be token 1
        with pytest.raises(PonderError, match="n_past"):
            s.eval([1], n_past=-1)
    with pytest.raises(PonderError, match="12 bytes of RGB for a 4294967298x2 image"):
        ponder.Image(2 ** 32 + 2, 2, bytes(12))  # would be a 2 x 2 picture
    img = ponder.Image.from_rgb(bytes(12), 2, 2)
    img.width = 2 ** 32 + 2  # changed after making it
    with pytest.raises(PonderError, match="image width"):
        img.png()
    tall = ponder.Image.from_rgb(bytes(128 * 128 * 3), 128, 128)
    tall.height = 2 ** 32 + 128
    with model.session() as s:
        with pytest.raises(PonderError, match="image height"):
            s.set_image(tall)


def test_an_image_holds_exactly_its_pixels():
    # A buffer of another size means the sides are wrong: saving it would cut or pad rows.
    for n in (64 * 64 * 3 - 1, 64 * 64 * 3 + 1, 128 * 128 * 3):
        with pytest.raises(PonderError, match=f"{n} bytes of RGB for a 64x64 image; 12288 needed"):
            ponder.Image(64, 64, bytes(n))
    assert ponder.Image(64, 64, bytes(64 * 64 * 3)).width == 64


# ---- A model file rewritten while loaded -------------------------------------------------

def test_a_model_file_overwritten_in_place_changes_nothing(model_path, reader_path, tmp_path):
    path = tmp_path / "model.gguf"
    shutil.copyfile(model_path, path)
    model = ponder.Model(path)
    before = model.generate(PROMPT, seed=2).codes
    inode = path.stat().st_ino
    shutil.copyfile(reader_path, path)  # as `cp other.gguf model.gguf`: same inode, new bytes
    assert path.stat().st_ino == inode
    assert model.generate(PROMPT, seed=2).codes == before
    os.truncate(path, 100)  # shorter than the weights: a mapping would raise SIGBUS here
    assert model.generate(PROMPT, seed=2).codes == before
    model.close()


# ---- One session, two threads -------------------------------------------------------------

def test_a_second_thread_on_a_busy_session_gets_an_error(model):
    # draft_tokens=0: a pass per token, so on_step sees done == 32 exactly.
    with model.session(seed=1, draft_tokens=0) as s:
        s.plan(PROMPT)
        inside, answered = threading.Event(), threading.Event()
        seen = {}

        def intruder():
            inside.wait()
            for name, call in [("step", lambda: s.step(1)), ("plan", lambda: s.plan(PROMPT)),
                               ("decode", s.decode), ("tokens", s.tokens)]:
                try:
                    call()
                    seen[name] = "ran"
                except PonderError as e:
                    seen[name] = (e.status, str(e))
            answered.set()

        def on_step(done, total):
            if done == 32:
                inside.set()
                assert answered.wait(30)
                # From inside the callback, on this thread: previews, not changes.
                assert len(s.decode()) == 128 * 128 * 3 and len(s.tokens()) == 32
                with pytest.raises(PonderError, match="progress callback"):
                    s.step(1)

        t = threading.Thread(target=intruder)
        t.start()
        assert s.draw(on_step, step_size=16)
        t.join()
        for name in ("step", "plan", "decode", "tokens"):
            status, message = seen[name]
            assert status == "wrong call order" and "another thread" in message, (name, seen[name])
        assert len(s.tokens()) == 256  # the drawing went on untouched


def test_two_threads_stepping_one_session_never_crash(model):
    with model.session(seed=4) as s:
        s.plan(PROMPT)
        counts = {"ran": 0, "refused": 0, "other": []}
        lock = threading.Lock()

        def hammer():
            for _ in range(300):
                try:
                    s.step(1)
                    key = "ran"
                except PonderError as e:
                    key = "refused" if e.status == "wrong call order" else None
                    if key is None:
                        counts["other"].append(e)
                        continue
                with lock:
                    counts[key] += 1

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counts["other"] == []
        assert counts["ran"] + counts["refused"] == 600
        assert s.step(0)[0] == min(256, counts["ran"])


# ---- No data lost -----------------------------------------------------------------------

def with_file_size_limit(limit, fn):
    """Runs fn with writes beyond `limit` bytes failing (EFBIG), as on a full disk."""
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN  # Python ignores it, so writes fail
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        return fn()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_failed_save_keeps_the_old_file(model, tmp_path):
    img = model.generate(PROMPT, seed=1)
    noise = ponder.Image.from_rgb(np.random.default_rng(0).integers(0, 256, 128 * 128 * 3, dtype=np.uint8), 128, 128)
    out = tmp_path / "out.png"
    img.save(out)
    old = out.read_bytes()
    assert len(noise.png()) > len(old) + 4096
    with pytest.raises(PonderError) as e:
        with_file_size_limit(len(old) + 1024, lambda: noise.save(out))
    assert e.value.status == "i/o error" and "unchanged" in str(e.value)
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no partial file left
    # The session's writer (ponder_write_png) goes the same way.
    with model.session(seed=9) as s:
        s.plan(PROMPT)
        s.step(256)
        status = with_file_size_limit(100, lambda: ponder._load().ponder_write_png(s._handle, str(out).encode()))
        assert status == 2 and out.read_bytes() == old
    noise.save(out)
    assert out.read_bytes() == noise.png()


def test_saving_over_a_directory_is_an_error(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(PonderError) as e:
        ponder.Image.from_rgb(bytes(12), 2, 2).save(tmp_path / "d.png")
    assert e.value.status == "i/o error" and "directory" in str(e.value)
    assert (tmp_path / "d.png").is_dir()


def cli():
    path = ROOT / ".build" / "release" / "ponder-cli"
    if not path.exists():
        pytest.skip("no CLI built")
    return path


def test_the_cli_keeps_the_old_png_and_plan_when_a_write_fails(model_path, tmp_path):
    out, plan = tmp_path / "out.png", tmp_path / "plan.txt"
    out.write_bytes(b"old png " * 4)
    plan.write_text("old plan\n")

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    args = [str(cli()), "generate", PROMPT, "--model", str(model_path), "-q", "-o", str(out)]
    r = subprocess.run(args + ["--plan-out", str(plan)], preexec_fn=limited, capture_output=True, text=True)
    assert r.returncode != 0 and "unchanged" in r.stderr
    assert out.read_bytes() == b"old png " * 4 and plan.read_text() == "old plan\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "plan.txt"]
    r = subprocess.run(args + ["--plan-out", str(plan)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and plan.read_text().startswith("background ")


# ---- Cancel ------------------------------------------------------------------------------

def test_on_step_returning_false_stops_cleanly(model):
    seen = []

    def on_step(done, total):
        seen.append(done)
        return done < 64

    # A pass per token (draft_tokens=0), so the callback sees every multiple of 16; the whole
    # image below is drawn with the default drafts and must agree with it token for token.
    img = model.generate(PROMPT, seed=3, on_step=on_step, draft_tokens=0)
    assert img.cancelled and len(img.codes) == 64 and seen == [16, 32, 48, 64]
    rgb = np.frombuffer(img.rgb, np.uint8).reshape(128, 128, 3)
    assert (rgb[-8:] == 128).all()  # the cells not drawn are grey
    whole = model.generate(PROMPT, seed=3)
    assert not whole.cancelled and whole.codes[:64] == img.codes
    # None (a callback without a return) and True go on.
    assert not model.generate(PROMPT, seed=3, on_step=lambda d, t: None).cancelled


def test_a_stopped_drawing_resumes_to_the_same_image(model):
    whole = model.generate(PROMPT, seed=6, check=0).codes
    with model.session(seed=6, check=0, draft_tokens=0) as s:  # a pass per token: stops at 100
        assert s.generate(PROMPT, on_step=lambda d, t: d < 100, step_size=10) is False
        assert len(s.tokens()) == 100
        assert s.draw() is True
        assert s.tokens() == whole


def test_an_exception_in_on_step_stops_and_is_raised(model):
    class Stop(Exception):
        pass

    def on_step(done, total):
        if done == 48:
            raise Stop()

    with model.session(seed=1, draft_tokens=0) as s:  # a pass per token: stops at 48
        with pytest.raises(Stop):
            s.generate(PROMPT, on_step=on_step)
        assert len(s.tokens()) == 48
        assert s.draw() and len(s.tokens()) == 256


def test_the_c_callback_cancels_with_its_own_status(model):
    lib = ponder._load()
    stop = ponder._PROGRESS(lambda done, total, _: done < 5)
    with model.session() as s:
        assert lib.ponder_generate(s._handle, PROMPT.encode(), stop, None) == 11
        assert lib.ponder_status_string(11) == b"cancelled"
        assert b"5 of 256" in lib.ponder_session_last_error(s._handle)
        no_callback = ponder._PROGRESS()  # a NULL function pointer
        assert lib.ponder_draw(s._handle, no_callback, None) == 0 and len(s.tokens()) == 256
        assert lib.ponder_generate(s._handle, None, no_callback, None) == 1


def test_a_closed_session_or_model_says_so(model_path):
    model = ponder.Model(model_path)
    s = model.session()
    s.close()
    s.close()  # twice is fine
    for call in (lambda: s.plan("a red circle"), lambda: s.add("a red star"), lambda: s.image()):
        with pytest.raises(PonderError, match="the session is closed") as e:
            call()
        assert e.value.status == "wrong call order"  # ponder_status_string(PONDER_ERR_WRONG_STATE)
    model.close()
    with pytest.raises(PonderError, match="the model is closed"):
        model.session()
