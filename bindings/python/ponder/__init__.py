"""Python binding of libponder (ctypes; no compiled code).

    import ponder
    model = ponder.Model("models/ponder-shapes-q8_0.gguf")
    image = model.generate("a red circle to the left of a blue square", seed=1)
    print(image.plan)
    image.save("out.png")
    print(model.describe(ponder.Image.open("out.png")))   # picture → plan

An installed package (`pip install ./bindings/python`) carries libponder.so and the default
model. PONDER_LIB names another library (a missing file is an error) and PONDER_MODEL another
default model; from a clone without installing, the repository's .build/release/libponder.so
and models/ are used.
"""
from __future__ import annotations

import ctypes as C
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

__all__ = ["Model", "Session", "Image", "PonderError", "default_model_path", "library_path"]

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent.parent.parent  # bindings/python/ponder → repository root
DEFAULT_MODEL = "ponder-shapes-q8_0.gguf"  # PONDER_DEFAULT_MODEL of include/ponder.h (test_default_model.py)


class PonderError(Exception):
    """A failure reported by libponder; `status` is the ponder_status name."""

    def __init__(self, message: str, status: str = "error"):
        super().__init__(message)
        self.status = status


class _ModelInfo(C.Structure):
    _fields_ = [
        ("image_width", C.c_int32), ("image_height", C.c_int32),
        ("grid_width", C.c_int32), ("grid_height", C.c_int32),
        ("codebook_size", C.c_int32), ("vocab_size", C.c_int32),
        ("context_length", C.c_int32), ("embedding_length", C.c_int32),
        ("layer_count", C.c_int32), ("head_count", C.c_int32),
        ("parameter_count", C.c_int64), ("default_cfg_scale", C.c_float),
        ("can_read_images", C.c_int32),
    ]


class _SessionParams(C.Structure):
    _fields_ = [
        ("seed", C.c_uint64), ("temperature", C.c_float), ("top_k", C.c_int32),
        ("top_p", C.c_float), ("cfg_scale", C.c_float), ("think", C.c_int32),
        ("n_threads", C.c_int32), ("plan_attempts", C.c_int32), ("check_attempts", C.c_int32),
        ("draft_tokens", C.c_int32),
    ]


# ponder_progress_callback: bool (*)(int32_t done, int32_t total, void *user_data)
_PROGRESS = C.CFUNCTYPE(C.c_bool, C.c_int32, C.c_int32, C.c_void_p)
_CANCELLED = 11  # PONDER_ERR_CANCELLED


def library_path() -> Path:
    """Where libponder.so is loaded from: PONDER_LIB if set (it must name a file), else the copy
    inside the installed package, else the repository's build folder."""
    env = os.environ.get("PONDER_LIB")
    if env:
        if not Path(env).is_file():
            raise PonderError(f"PONDER_LIB is set to {env!r}, which is not a file", "not found")
        return Path(env)
    candidates = [_HERE / "libponder.so", _REPO / ".build" / "release" / "libponder.so"]
    for c in candidates:
        if c.is_file():
            return c
    raise PonderError("libponder.so not found: install the package (pip install ./bindings/python), build it "
                      f"with `swift build -c release`, or set PONDER_LIB (looked in: {', '.join(map(str, candidates))})",
                      "not found")


def default_model_path() -> Path:
    """The default model: PONDER_MODEL if set, else the copy inside the installed package, else
    the repository's models/ folder (the first that exists; the packaged path if none does)."""
    env = os.environ.get("PONDER_MODEL")
    if env:
        return Path(env)
    candidates = [_HERE / "models" / DEFAULT_MODEL, _REPO / "models" / DEFAULT_MODEL]
    return next((c for c in candidates if c.is_file()), candidates[0])


_lib = None


def _load():
    global _lib
    if _lib is not None:
        return _lib
    lib = C.CDLL(str(library_path()))
    P, S = C.c_void_p, C.c_int
    sigs = {
        "ponder_status_string": (C.c_char_p, [S]),
        "ponder_last_error": (C.c_char_p, []),
        "ponder_model_load": (S, [C.c_char_p, C.POINTER(P)]),
        "ponder_model_free": (None, [P]),
        "ponder_model_get_info": (S, [P, C.POINTER(_ModelInfo)]),
        "ponder_session_default_params": (_SessionParams, []),
        "ponder_session_create": (S, [P, C.POINTER(_SessionParams), C.POINTER(P)]),
        "ponder_session_free": (None, [P]),
        "ponder_session_last_error": (C.c_char_p, [P]),
        "ponder_plan": (S, [P, C.c_char_p]),
        "ponder_get_plan": (C.c_char_p, [P]),
        "ponder_set_plan": (S, [P, C.c_char_p]),
        "ponder_step": (S, [P, C.c_int32, C.POINTER(C.c_int32), C.POINTER(C.c_int32)]),
        "ponder_get_tokens": (S, [P, C.POINTER(C.c_int32), C.c_size_t, C.POINTER(C.c_size_t)]),
        "ponder_decode": (S, [P, C.POINTER(C.c_uint8), C.c_size_t]),
        "ponder_write_png": (S, [P, C.c_char_p]),
        "ponder_eval": (S, [P, C.POINTER(C.c_int32), C.c_size_t, C.c_size_t, C.POINTER(C.c_float), C.c_size_t]),
        "ponder_encode_png": (S, [C.POINTER(C.c_uint8), C.c_size_t, C.c_int32, C.c_int32,
                                  C.POINTER(C.POINTER(C.c_uint8)), C.POINTER(C.c_size_t)]),
        "ponder_write_png_rgb": (S, [C.POINTER(C.c_uint8), C.c_size_t, C.c_int32, C.c_int32, C.c_char_p]),
        "ponder_free": (None, [P]),
        "ponder_get_check_stats": (S, [P, C.POINTER(C.c_int32), C.POINTER(C.c_int32)]),
        "ponder_get_plan_stats": (S, [P, C.POINTER(C.c_int32), C.POINTER(C.c_int32)]),
        "ponder_set_image": (S, [P, C.POINTER(C.c_uint8), C.c_size_t, C.c_int32, C.c_int32]),
        "ponder_set_image_png": (S, [P, C.c_char_p]),
        "ponder_set_image_png_memory": (S, [P, C.POINTER(C.c_uint8), C.c_size_t]),
        "ponder_describe": (S, [P]),
        "ponder_read_png": (S, [C.c_char_p, C.POINTER(C.POINTER(C.c_uint8)), C.POINTER(C.c_int32), C.POINTER(C.c_int32)]),
        "ponder_read_png_memory": (S, [C.POINTER(C.c_uint8), C.c_size_t, C.POINTER(C.POINTER(C.c_uint8)),
                                       C.POINTER(C.c_int32), C.POINTER(C.c_int32)]),
        "ponder_set_canvas_plan": (S, [P, C.c_char_p]),
        "ponder_edit": (S, [P, C.c_char_p]),
        "ponder_redraw_region": (S, [P, C.c_int32, C.c_int32, C.c_int32, C.c_int32, C.c_char_p]),
        "ponder_add": (S, [P, C.c_char_p]),
        "ponder_set_edit_progress": (S, [P, _PROGRESS, P]),
        "ponder_draw": (S, [P, _PROGRESS, P]),
        "ponder_generate": (S, [P, C.c_char_p, _PROGRESS, P]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


def _check(status: int):
    if status != 0:
        lib = _load()
        raise PonderError(lib.ponder_last_error().decode("utf-8", "replace"),
                          lib.ponder_status_string(status).decode())


def _int(value, what: str, lo: int, hi: int) -> int:
    """An integer argument for the library (numpy integers too), checked against its range
    before ctypes could wrap it."""
    import operator
    if isinstance(value, bool):
        raise PonderError(f"{what} must be an integer, not {value!r}", "invalid argument")
    try:
        n = operator.index(value)
    except TypeError:
        raise PonderError(f"{what} must be an integer, not {value!r}", "invalid argument") from None
    if not lo <= n <= hi:
        raise PonderError(f"{what} {n} is out of range ({lo} to {hi})", "invalid argument")
    return n


def _i32(value, what: str) -> int:
    """An int32_t argument: only kept from wrapping; the library checks what it means."""
    return _int(value, what, -2 ** 31, 2 ** 31 - 1)


def _float(value, what: str) -> float:
    """A float argument (numpy floats too), refused where single precision would silently turn
    it into something else: infinity from a finite number, or 0 from a nonzero one. The
    library checks the range."""
    import math
    import numbers
    import struct
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PonderError(f"{what} must be a number, not {value!r}", "invalid argument")
    x = float(value)
    try:
        single = struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        single = math.inf
    if (math.isfinite(x) and not math.isfinite(single)) or (x != 0 and single == 0):
        raise PonderError(f"{what} {x!r} cannot be held in single precision", "invalid argument")
    return x


def _text(s: str, what: str) -> bytes:
    """A string for the library: UTF-8, and refused if it holds a NUL, where C would end it."""
    if not isinstance(s, str):
        raise TypeError(f"{what} must be str, not {type(s).__name__}")
    if "\0" in s:
        raise PonderError(f"{what} contains a NUL character (at index {s.index(chr(0))}); "
                          "the library would read only the text before it", "invalid argument")
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PonderError(f"{what} is not valid Unicode text ({e.reason} at index {e.start})", "invalid argument") from None


def _path(path, what: str = "path") -> bytes:
    """A file name as the system spells it (os.fsencode: names that are not UTF-8 too)."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise PonderError(f"{what} contains a NUL character; the library would read only the text before it",
                          "invalid argument")
    return encoded


class Image:
    """A picture: `.width`, `.height`, `.rgb` (row-major RGB8 bytes, width * height * 3), and
    for a generated one `.plan` (text, docs/plan.md), `.codes` (the image tokens), `.checks`
    and `.redraws` (how checked drawing read it back and redrew it; 0 with checking off), and
    `.cancelled` (True when on_step stopped the drawing: the cells not drawn are grey), and
    `.plan_satisfied` (False when no plan written satisfied the prompt and the last was
    drawn, e.g. a prompt asking for what cannot fit; None without a plan).
    Open a PNG with `Image.open(path)`, take pixels with `Image.from_rgb(rgb, width, height)`;
    wherever an Image is taken, a PIL image is accepted too."""

    def __init__(self, width: int, height: int, rgb: bytes, plan: Optional[str] = None,
                 codes: Optional[list[int]] = None, checks: int = 0, redraws: int = 0, cancelled: bool = False):
        # Exactly width * height * 3 bytes: a buffer of another size means the sides are wrong,
        # and saving it would write a picture cut or padded from other rows.
        if len(rgb) != width * height * 3:
            raise PonderError(f"{len(rgb)} bytes of RGB for a {width}x{height} image; {width * height * 3} needed",
                              "invalid argument")
        self.width, self.height, self.rgb, self.plan = width, height, rgb, plan
        self.codes, self.checks, self.redraws, self.cancelled = codes or [], checks, redraws, cancelled
        self.plan_satisfied: Optional[bool] = None

    @classmethod
    def from_rgb(cls, rgb, width: int, height: int) -> "Image":
        """Pixels as bytes-like RGB8 (bytes, bytearray, memoryview, a uint8 numpy array),
        row-major, exactly width * height * 3 bytes; sides 1 to 32768."""
        width, height = _int(width, "image width", 1, 32768), _int(height, "image height", 1, 32768)
        if isinstance(rgb, (int, str)):
            raise TypeError(f"rgb must be bytes-like, not {type(rgb).__name__}")
        rgb = bytes(rgb) if not hasattr(rgb, "tobytes") else rgb.tobytes()
        if len(rgb) != width * height * 3:
            raise PonderError(f"{len(rgb)} bytes of RGB for a {width}x{height} image; {width * height * 3} needed",
                              "invalid argument")
        return cls(width, height, rgb)

    @classmethod
    def open(cls, path) -> "Image":
        """Reads a PNG file through libpng (any PNG kind; alpha on its bKGD colour, else white)."""
        lib = _load()
        out, w, h = C.POINTER(C.c_uint8)(), C.c_int32(), C.c_int32()
        _check(lib.ponder_read_png(_path(path), C.byref(out), C.byref(w), C.byref(h)))
        try:
            return cls(w.value, h.value, C.string_at(out, w.value * h.value * 3))
        finally:
            lib.ponder_free(out)

    @classmethod
    def from_png(cls, data: bytes) -> "Image":
        """Reads a PNG held in memory."""
        lib = _load()
        data = bytes(data)
        buf = (C.c_uint8 * max(len(data), 1)).from_buffer_copy(data or b"\0")
        out, w, h = C.POINTER(C.c_uint8)(), C.c_int32(), C.c_int32()
        _check(lib.ponder_read_png_memory(buf, len(data), C.byref(out), C.byref(w), C.byref(h)))
        try:
            return cls(w.value, h.value, C.string_at(out, w.value * h.value * 3))
        finally:
            lib.ponder_free(out)

    @classmethod
    def coerce(cls, image) -> "Image":
        """An Image as is, or a PIL image converted to RGB (alpha onto white)."""
        if isinstance(image, Image):
            return image
        try:
            from PIL import Image as PILImage
        except ImportError:
            PILImage = None
        if PILImage is not None and isinstance(image, PILImage.Image):
            if image.mode.startswith("I;16"):  # 16-bit grey: v / 257, as libpng reads it
                import numpy as np
                grey = np.asarray(image, dtype=np.uint16).astype(np.uint32)
                grey = ((grey * 2 + 257) // 514).astype(np.uint8)
                image = PILImage.fromarray(grey, "L")
            try:
                if image.mode == "La":  # premultiplied: Pillow converts it to LA only
                    image = image.convert("LA")
                if image.mode in ("RGBA", "LA", "PA", "RGBa") or (image.mode == "P" and "transparency" in image.info):
                    rgba = image.convert("RGBA")
                    white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
                    image = PILImage.alpha_composite(white, rgba)
                image = image.convert("RGB")
            except ValueError as e:
                raise PonderError(f"a PIL image in mode {image.mode} cannot be read as RGB: {e}", "invalid argument") from None
            return cls(image.width, image.height, image.tobytes())
        raise TypeError(f"expected a ponder.Image or a PIL image, got {type(image).__name__}")

    def png(self) -> bytes:
        """The image as PNG bytes (encoded by libpng through the library)."""
        lib = _load()
        width, height = _i32(self.width, "image width"), _i32(self.height, "image height")
        buf = (C.c_uint8 * max(len(self.rgb), 1)).from_buffer_copy(self.rgb or b"\0")
        out, size = C.POINTER(C.c_uint8)(), C.c_size_t()
        _check(lib.ponder_encode_png(buf, len(self.rgb), width, height, C.byref(out), C.byref(size)))
        try:
            return C.string_at(out, size.value)
        finally:
            lib.ponder_free(out)

    def save(self, path) -> None:
        """Writes the image as a PNG file, whole or not at all: it is written beside `path` and
        renamed over it once complete, so a failed save leaves the file that was there."""
        lib = _load()
        width, height = _i32(self.width, "image width"), _i32(self.height, "image height")
        target = _path(path)
        buf = (C.c_uint8 * max(len(self.rgb), 1)).from_buffer_copy(self.rgb or b"\0")
        _check(lib.ponder_write_png_rgb(buf, len(self.rgb), width, height, target))

    def to_pil(self):
        """A PIL.Image in mode RGB (needs Pillow: `pip install "ponder[pil]"`)."""
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise ImportError('Image.to_pil needs Pillow: pip install "ponder[pil]" (or pip install pillow)') from None
        return PILImage.frombytes("RGB", (self.width, self.height), self.rgb)


def _with_progress(call, on_step, report=lambda done, total: True) -> bool:
    """call(callback) with a ponder_progress_callback that passes (done, total) to on_step
    when report(done, total) says so: True when the call finished, False when on_step
    stopped it (False or 0 from it); an exception from on_step, or Ctrl-C, stops it too and
    is raised here."""
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be callable, not {type(on_step).__name__}")
    raised = []

    def progress(done, total, _user_data):
        try:  # everything inside: an exception escaping a ctypes callback is only printed
            if on_step is None or not report(done, total):
                return True
            answer = on_step(done, total)
            return answer is None or bool(answer)  # False, 0, numpy's False: stop
        except BaseException as e:  # KeyboardInterrupt too: Ctrl-C stops the drawing
            raised.append(e)
            return False

    status = call(_PROGRESS(progress))  # the callback lives until the call returns
    if raised:
        raise raised[0]
    if status == _CANCELLED:
        return False
    _check(status)
    return True


class _Owned:
    """Owns one library handle (`_open`): close() frees it with the library function named
    `_free`, and using it once closed is an error that says so, not a NULL pointer."""
    _kind, _free, _closed_by = "handle", "", "close()"

    @property
    def _handle(self):
        h = getattr(self, "_open", None)
        if h is None:
            raise PonderError(f"the {self._kind} is closed ({self._closed_by} freed it)", "wrong call order")
        return h

    def close(self):
        if getattr(self, "_open", None):
            getattr(_load(), self._free)(self._open)
            self._open = None

    __del__ = close


class Session(_Owned):
    """A generation in progress on a Model; use one session from one thread at a time."""
    _kind, _free, _closed_by = "session", "ponder_session_free", "close() or the end of its with-block"

    def __init__(self, model: "Model", *, seed: int = 0, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 cfg: Optional[float] = None, think: bool = True, threads: int = 0,
                 plan_attempts: Optional[int] = None, check: Optional[int] = None,
                 draft_tokens: Optional[int] = None):
        lib = _load()
        self._model = model  # keeps the model alive as long as the session
        p = lib.ponder_session_default_params()
        p.seed = _int(seed, "seed", 0, 2 ** 64 - 1)
        if temperature is not None:
            p.temperature = _float(temperature, "temperature")
        if top_k is not None:
            p.top_k = _int(top_k, "top_k", 0, 2 ** 31 - 1)
        if top_p is not None:
            p.top_p = _float(top_p, "top_p")
        if cfg is not None:
            p.cfg_scale = _float(cfg, "cfg")
            if p.cfg_scale < 0:  # the C API reads a negative scale as "the model's default"
                raise PonderError(f"cfg {cfg} must not be negative (None takes the model's default)", "invalid argument")
        p.think = 1 if think else 0
        p.n_threads = _int(threads, "threads", 0, 256)
        if plan_attempts is not None:
            p.plan_attempts = _int(plan_attempts, "plan attempts", 1, 64)
        if type(check).__name__ in ("bool", "bool_"):  # numpy's bool too
            check = bool(check)
        if check is False:
            p.check_attempts = 0
        elif check is not None and check is not True:  # True keeps the library's default
            p.check_attempts = _int(check, "check attempts", 0, 16)
        if draft_tokens is not None:
            p.draft_tokens = _int(draft_tokens, "draft tokens", 0, 15)
        h = C.c_void_p()
        _check(lib.ponder_session_create(model._handle, C.byref(p), C.byref(h)))
        self._open = h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def plan(self, prompt: str) -> Optional[str]:
        """Sets the prompt and thinks; returns the plan text (None with thinking off)."""
        _check(_load().ponder_plan(self._handle, _text(prompt, "prompt")))
        return self.current_plan

    @property
    def current_plan(self) -> Optional[str]:
        p = _load().ponder_get_plan(self._handle)
        return p.decode() if p is not None else None

    def set_plan(self, plan: str) -> None:
        _check(_load().ponder_set_plan(self._handle, _text(plan, "plan")))

    def step(self, n: int = 1) -> tuple[int, int]:
        """Generates up to n more image tokens; returns (done, remaining)."""
        done, remaining = C.c_int32(), C.c_int32()
        _check(_load().ponder_step(self._handle, _i32(n, "token count"), C.byref(done), C.byref(remaining)))
        return done.value, remaining.value

    def draw(self, on_step: Optional[Callable[[int, int], Optional[bool]]] = None, step_size: int = 16) -> bool:
        """Draws the tokens still to come (ponder_draw). `on_step(done, total)` is called each
        time another `step_size` tokens are done (a pass of speculative drawing may draw
        several, so `done` need not be a multiple) and after the last; returning False from it stops the drawing
        there (None or True goes on). Returns True when the image is complete, False when
        stopped: the tokens drawn stay, `decode()` shows them, and `draw()` or `step()` go on
        from there to the same image. An exception from on_step stops the drawing too and is
        raised here; so is Ctrl-C."""
        return self._drawing(lambda cb: _load().ponder_draw(self._handle, cb, None), on_step, step_size)

    def generate(self, prompt: str, on_step: Optional[Callable[[int, int], Optional[bool]]] = None,
                 step_size: int = 16) -> bool:
        """plan(prompt), then draw(on_step, step_size), in one library call (ponder_generate)."""
        text = _text(prompt, "prompt")
        return self._drawing(lambda cb: _load().ponder_generate(self._handle, text, cb, None), on_step, step_size)

    def _drawing(self, call, on_step, step_size) -> bool:
        step_size = _int(step_size, "step_size", 1, 2 ** 31 - 1)
        reported = [0]  # a pass draws several tokens: report on crossing each step_size multiple

        def report(done, total):
            if done // step_size == reported[0] // step_size and done != total:
                return False
            reported[0] = done
            return True
        return _with_progress(call, on_step, report)

    def tokens(self) -> list[int]:
        lib = _load()
        n = C.c_size_t()
        _check(lib.ponder_get_tokens(self._handle, None, 0, C.byref(n)))
        buf = (C.c_int32 * max(n.value, 1))()
        _check(lib.ponder_get_tokens(self._handle, buf, n.value, C.byref(n)))
        return list(buf[: n.value])

    def decode(self) -> bytes:
        """RGB8 of the tokens so far (ungenerated cells grey), on the plan's background (else the
        prompt's, else white): the tokens describe the scene on white (docs/format.md). Mid-way,
        with the shipped model, rows 7 or more token rows above the row being drawn are final;
        in nearer ones shape outlines may still move by about a pixel (docs/format.md,
        "Previews")."""
        info = self._model.info
        size = info["image_width"] * info["image_height"] * 3
        buf = (C.c_uint8 * size)()
        _check(_load().ponder_decode(self._handle, buf, size))
        return bytes(buf)

    def check_stats(self) -> tuple[int, int]:
        """(checks, redraws) of the last drawing's checked drawing."""
        checks, redraws = C.c_int32(), C.c_int32()
        _check(_load().ponder_get_check_stats(self._handle, C.byref(checks), C.byref(redraws)))
        return checks.value, redraws.value

    def plan_stats(self) -> tuple[int, Optional[bool]]:
        """(plans written, whether the plan drawn from satisfies the prompt: None without a
        prompt or plan). False means no plan written fit (e.g. a prompt asking for what
        cannot fit) and the last is drawn."""
        attempts, satisfied = C.c_int32(), C.c_int32()
        _check(_load().ponder_get_plan_stats(self._handle, C.byref(attempts), C.byref(satisfied)))
        return attempts.value, None if satisfied.value < 0 else bool(satisfied.value)

    def set_image(self, image) -> None:
        """Takes a picture (Image or PIL image, the model's size) as the session's image."""
        image = Image.coerce(image)
        buf = (C.c_uint8 * max(len(image.rgb), 1)).from_buffer_copy(image.rgb or b"\0")
        _check(_load().ponder_set_image(self._handle, buf, len(image.rgb), _i32(image.width, "image width"),
                                        _i32(image.height, "image height")))

    def describe(self) -> str:
        """Reads the session's image back into a plan; returns its text."""
        _check(_load().ponder_describe(self._handle))
        return self.current_plan

    # Editing (docs/canvas.md): the session's canvas is the picture set with set_image (its
    # plan from set_canvas_plan, else described), its finished drawing, or the last edit.

    def set_canvas_plan(self, plan: str) -> None:
        """Gives the picture set with set_image the caller's plan instead of describing it."""
        _check(_load().ponder_set_canvas_plan(self._handle, _text(plan, "plan")))

    def _editing(self, call, on_step) -> bool:
        """Runs an edit call with on_step(done, total) as its progress callback
        (ponder_set_edit_progress): called after each image token the edit samples, done
        restarting at 1 with each pass (the first drawing, each redraw its check asks for,
        each new place tried). False (or 0) from on_step stops the edit, which then returns
        False and leaves the canvas as it was; an exception from on_step, or Ctrl-C, stops it
        too and is raised."""
        if on_step is None:
            _check(call())
            return True
        lib = _load()

        def watched(callback):
            _check(lib.ponder_set_edit_progress(self._handle, callback, None))
            try:
                return call()
            finally:
                lib.ponder_set_edit_progress(self._handle, _PROGRESS(), None)  # NULL: no callback
        return _with_progress(watched, on_step)

    def edit(self, plan: str, on_step: Optional[Callable[[int, int], Optional[bool]]] = None) -> bool:
        """Redraws the canvas to an edited copy of its plan (moved, recoloured, resized,
        removed or added objects, another background). With on_step, see _editing: returns
        False when on_step stopped it."""
        text = _text(plan, "plan")
        return self._editing(lambda: _load().ponder_edit(self._handle, text), on_step)

    def redraw(self, box, prompt: Optional[str] = None,
               on_step: Optional[Callable[[int, int], Optional[bool]]] = None) -> bool:
        """Redraws the region box = (x0, y0, x1, y1), pixels, x0 <= x < x1: objects centred
        in it go; with `prompt` (a phrase for one object) a new one is planned inside it,
        else it is cleared to the background. on_step as for edit."""
        try:
            x0, y0, x1, y1 = box
        except (TypeError, ValueError):
            raise TypeError(f"box must be (x0, y0, x1, y1), got {box!r}") from None
        x0, y0, x1, y1 = (_i32(v, name) for v, name in zip((x0, y0, x1, y1), ("x0", "y0", "x1", "y1")))
        phrase = None if prompt is None else _text(prompt, "prompt")
        return self._editing(lambda: _load().ponder_redraw_region(self._handle, x0, y0, x1, y1, phrase), on_step)

    def add(self, phrase: str, on_step: Optional[Callable[[int, int], Optional[bool]]] = None) -> bool:
        """Adds one object by a phrase that may refer to the picture's objects with "the".
        on_step as for edit."""
        text = _text(phrase, "phrase")
        return self._editing(lambda: _load().ponder_add(self._handle, text), on_step)

    def image(self) -> "Image":
        """The session's picture now (decoded drawing, or the canvas after an edit)."""
        checks, redraws = self.check_stats()
        info = self._model.info
        return Image(info["image_width"], info["image_height"], self.decode(), self.current_plan,
                     self.tokens(), checks, redraws)

    def eval(self, tokens: Sequence[int], n_past: int = 0):
        """Raw evaluation (ponder_eval): returns the logits after the last token as a list."""
        vocab = self._model.info["vocab_size"]
        arr = (C.c_int32 * max(len(tokens), 1))(*[_i32(t, "token id") for t in tokens])
        logits = (C.c_float * vocab)()
        n_past = _int(n_past, "n_past", 0, 2 ** 63 - 1)
        _check(_load().ponder_eval(self._handle, arr, len(tokens), n_past, logits, vocab))
        return list(logits)


class Model(_Owned):
    """A loaded model file. `path=None` loads the default model (`default_model_path()`)."""
    _kind, _free = "model", "ponder_model_free"

    def __init__(self, path=None):
        lib = _load()
        path = default_model_path() if path is None else path
        h = C.c_void_p()
        _check(lib.ponder_model_load(_path(path, "model path"), C.byref(h)))
        self._open = h
        info = _ModelInfo()
        _check(lib.ponder_model_get_info(h, C.byref(info)))
        self.info = {name: getattr(info, name) for name, _ in _ModelInfo._fields_}

    def session(self, **kwargs) -> Session:
        return Session(self, **kwargs)

    @property
    def can_read_images(self) -> bool:
        """Whether the model file has an image encoder (describe works)."""
        return bool(self.info["can_read_images"])

    def describe(self, image, **kwargs) -> str:
        """Picture (Image, PIL image, or a PNG path) → the plan text the model reads in it.
        The picture must be the model's size (128 × 128 for the default model)."""
        if isinstance(image, (str, os.PathLike)):
            image = Image.open(image)
        with Session(self, **kwargs) as s:
            s.set_image(image)
            return s.describe()

    def plan(self, prompt: str, seed: int = 0, **kwargs) -> str:
        """Thinks only: returns the plan the model writes for the prompt."""
        with Session(self, seed=seed, think=True, **kwargs) as s:
            return s.plan(prompt)

    def generate(self, prompt: str, *, seed: int = 0, think: bool = True, cfg: Optional[float] = None,
                 plan: Optional[str] = None, on_step: Optional[Callable[[int, int], Optional[bool]]] = None,
                 step_size: int = 16, check: Optional[int] = None, **kwargs) -> Image:
        """Prompt to image. `plan` replaces the model's own plan; `check` is how many times the
        drawing is read back and wrong objects redrawn (None: the library's default, 0: off;
        `image.checks`). `on_step(done, total)` is called each time another `step_size`
        tokens (at least 1) are done and after the last; returning False from it stops the drawing cleanly: the
        image so far comes back with `image.cancelled` True (cells not drawn are grey). An
        exception from on_step, or Ctrl-C, stops it too and is raised."""
        with Session(self, seed=seed, think=think and plan is None, cfg=cfg, check=check, **kwargs) as s:
            if plan is None:
                complete = s.generate(prompt, on_step, step_size)
            else:
                _int(step_size, "step_size", 1, 2 ** 31 - 1)  # refused before any work
                s.plan(prompt)
                s.set_plan(plan)
                complete = s.draw(on_step, step_size)
            checks, redraws = s.check_stats()
            image = Image(self.info["image_width"], self.info["image_height"], s.decode(),
                          s.current_plan, s.tokens(), checks, redraws, cancelled=not complete)
            attempts, image.plan_satisfied = s.plan_stats()
            if image.plan_satisfied is False:
                import warnings
                warnings.warn(f"no plan of the {attempts} written satisfies the prompt {prompt!r}; the last was drawn "
                              "(the prompt may ask for what cannot fit)", stacklevel=2)
            return image

    def _edit(self, image, plan: Optional[str], seed: int, check: Optional[int], kwargs, act, on_step=None) -> Image:
        if isinstance(image, (str, os.PathLike)):
            image = Image.open(image)
        image = Image.coerce(image)
        with Session(self, seed=seed, check=check, **kwargs) as s:
            s.set_image(image)
            known = plan if plan is not None else image.plan
            if known is not None:
                try:
                    s.set_canvas_plan(known)
                except PonderError as e:
                    which = "image_plan" if plan is not None else "image.plan"
                    raise PonderError(f"the picture's own plan ({which}): {e}", e.status) from None
            complete = act(s, on_step)
            result = s.image()
            result.cancelled = not complete  # stopped by on_step: the input picture, unchanged
            return result

    def edit(self, image, plan: str, *, seed: int = 0, image_plan: Optional[str] = None,
             check: Optional[int] = None, on_step: Optional[Callable[[int, int], Optional[bool]]] = None,
             **kwargs) -> Image:
        """Returns `image` redrawn to `plan`, an edited copy of its plan (docs/canvas.md):
        only the cells of changed objects are redrawn; other pixels are kept byte for byte.
        The picture's own plan is `image_plan`, else `image.plan` (an Image Ponder made), else
        it is described. `image` may be an Image, a PIL image or a PNG path.
        `on_step(done, total)` is called after each image token the edit samples (done
        restarts at 1 with each pass: the first drawing, each redraw its check asks for);
        False from it stops the edit, and the picture comes back unchanged with
        `image.cancelled` True. An exception from on_step, or Ctrl-C, stops it and is raised."""
        return self._edit(image, image_plan, seed, check, kwargs, lambda s, cb: s.edit(plan, cb), on_step)

    def redraw(self, image, box, prompt: Optional[str] = None, *, seed: int = 0,
               image_plan: Optional[str] = None, check: Optional[int] = None,
               on_step: Optional[Callable[[int, int], Optional[bool]]] = None, **kwargs) -> Image:
        """Inpainting: returns `image` with the region box = (x0, y0, x1, y1) redrawn, holding
        what `prompt` (a phrase for one object, e.g. "a small red star") says, or cleared to
        the background when prompt is None. on_step as for edit."""
        return self._edit(image, image_plan, seed, check, kwargs, lambda s, cb: s.redraw(box, prompt, cb), on_step)

    def add(self, image, phrase: str, *, seed: int = 0, image_plan: Optional[str] = None,
            check: Optional[int] = None, on_step: Optional[Callable[[int, int], Optional[bool]]] = None,
            **kwargs) -> Image:
        """Returns `image` with one more object, placed as `phrase` says, e.g. "a red star to
        the right of the blue circle" ("the" names an object already in the picture).
        on_step as for edit."""
        return self._edit(image, image_plan, seed, check, kwargs, lambda s, cb: s.add(phrase, cb), on_step)
