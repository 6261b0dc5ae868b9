"""Reading pictures: PNG and RGB input, the encoder, describe, checked drawing, and misuse of
each answered with an error that names the problem."""
import hashlib
import io
import struct
import zlib

import pytest

import ponder
from ponder import PonderError

PROMPT = "a small green star to the left of a large purple heart"


def test_describe_round_trip(reader, tmp_path):
    img = reader.generate(PROMPT, seed=3, check=0)
    path = tmp_path / "a.png"
    img.save(path)
    plan = reader.describe(path)
    lines = plan.split("\n")
    assert lines[0].startswith("background ") and 1 <= len(lines) - 1 <= 4
    # Describe is deterministic, and the same from a path, an Image, bytes and PIL.
    assert reader.describe(ponder.Image.open(path)) == plan
    assert reader.describe(ponder.Image.from_png(path.read_bytes())) == plan
    assert reader.describe(ponder.Image.from_rgb(img.rgb, 128, 128)) == plan
    assert reader.describe(img.to_pil()) == plan
    assert reader.describe(img, threads=1) == reader.describe(img, threads=2)


def test_set_image_gives_codes_and_decodes(reader):
    img = reader.generate(PROMPT, seed=3, check=0)
    with reader.session() as s:
        s.set_image(img)
        codes = s.tokens()
        assert len(codes) == 256 and all(0 <= c < reader.info["codebook_size"] for c in codes)
        assert len(s.decode()) == 128 * 128 * 3
        assert s.current_plan is None
        s.describe()
        assert s.current_plan.startswith("background ")


def test_background_is_read_from_the_pixels(reader):
    for name, rgb in [("black", (24, 24, 24)), ("beige", (240, 228, 200)), ("gray", (120, 135, 128))]:
        img = ponder.Image.from_rgb(bytes(rgb) * (128 * 128), 128, 128)
        assert reader.describe(img).startswith(f"background {name}\n")


def test_wrong_size_names_both_sizes(reader):
    with pytest.raises(PonderError, match=r"64×32 pixels; the model reads 128×128") as e:
        reader.describe(ponder.Image.from_rgb(bytes(64 * 32 * 3), 64, 32))
    assert e.value.status == "invalid argument"


def test_model_without_encoder_says_so(model):
    assert not model.can_read_images
    with pytest.raises(PonderError, match="no image encoder") as e:
        model.describe(ponder.Image.from_rgb(bytes([255]) * (128 * 128 * 3), 128, 128))
    assert e.value.status == "unsupported by the model"


def test_describe_without_image_is_wrong_state(reader):
    with reader.session() as s:
        with pytest.raises(PonderError, match="no image to describe"):
            s.describe()
        s.plan(PROMPT)
        s.step(10)
        with pytest.raises(PonderError, match="not finished: 10 of 256"):
            s.describe()


def _png(width, height, colour_type, bit_depth, rows, extra=b"", idat=None):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw) if idat is None else idat) + chunk(b"IEND", b""))


def test_png_kinds_convert_to_rgb():
    grey = ponder.Image.from_png(_png(2, 1, 0, 8, [bytes([0, 200])]))
    assert grey.rgb == bytes([0, 0, 0, 200, 200, 200])
    rgba = ponder.Image.from_png(_png(1, 1, 6, 8, [bytes([0, 0, 0, 0])]))  # transparent → white
    assert rgba.rgb == bytes([255, 255, 255])
    deep = ponder.Image.from_png(_png(1, 1, 2, 16, [struct.pack(">HHH", 65535, 257 * 10, 0)]))
    assert deep.rgb == bytes([255, 10, 0])


@pytest.mark.parametrize("data, message", [
    (b"", "PNG"),
    (b"not a png at all", "PNG"),
    (_png(4, 4, 2, 8, [bytes(12)] * 4)[:40], "PNG"),                   # truncated
    (_png(4, 4, 2, 8, [], idat=b"junk that is not zlib"), "PNG"),
    (_png(4, 4, 2, 8, [], idat=zlib.compress(bytes(10))), "PNG"),      # too little image data
    (_png(2 ** 31 - 1, 2 ** 31 - 1, 2, 8, []), "PNG"),                 # a bomb's header
    (_png(30000, 30000, 0, 8, []), "PNG"),
])
def test_hostile_png_is_an_error(reader, data, message):
    with pytest.raises(PonderError, match=message):
        ponder.Image.from_png(data)
    with reader.session() as s:
        buf = (ponder.C.c_uint8 * max(len(data), 1)).from_buffer_copy(data or b"\0")
        status = ponder._load().ponder_set_image_png_memory(s._handle, buf, len(data))
        assert status != 0


def test_bad_png_crc_is_an_error():
    data = bytearray(_png(2, 2, 2, 8, [bytes(6)] * 2))
    data[29] ^= 0xFF  # inside IHDR's CRC
    with pytest.raises(PonderError, match="PNG"):
        ponder.Image.from_png(bytes(data))


def test_missing_png_names_the_path(tmp_path):
    with pytest.raises(PonderError, match="nowhere.png"):
        ponder.Image.open(tmp_path / "nowhere.png")


def test_from_rgb_checks_sizes():
    with pytest.raises(PonderError, match="12 bytes of RGB for a 2x3 image; 18 needed"):
        ponder.Image.from_rgb(bytes(12), 2, 3)
    with pytest.raises(PonderError, match="image width 0 is out of range"):
        ponder.Image.from_rgb(b"", 0, 0)
    with pytest.raises(TypeError):
        ponder.Image.coerce("not an image")


def test_set_image_c_misuse(reader):
    lib = ponder._load()
    with reader.session() as s:
        assert lib.ponder_set_image(s._handle, None, 0, 128, 128) != 0
        assert b"rgb is NULL" in lib.ponder_last_error()
        buf = (ponder.C.c_uint8 * 10)()
        assert lib.ponder_set_image(s._handle, buf, 10, 128, 128) != 0
        assert b"10 bytes" in lib.ponder_last_error()
        assert lib.ponder_set_image(s._handle, buf, 10, -1, 5) != 0
        assert lib.ponder_set_image_png(s._handle, None) != 0
        assert lib.ponder_describe(None) != 0
    assert lib.ponder_read_png(None, None, None, None) != 0


def _sha(img):
    return hashlib.sha256(img.rgb).hexdigest()


def test_checked_drawing_is_deterministic_and_reported(model):
    a = model.generate(PROMPT, seed=9, check=3, threads=1)
    b = model.generate(PROMPT, seed=9, check=3, threads=2)
    assert _sha(a) == _sha(b) and (a.checks, a.redraws) == (b.checks, b.redraws)
    # Every redraw is read back: at most check - 1 redraws.
    assert 1 <= a.checks <= 3 and a.redraws < a.checks
    off = model.generate(PROMPT, seed=9, check=0)
    assert (off.checks, off.redraws) == (0, 0)
    if a.redraws == 0:  # the first drawing matched its plan: kept as drawn
        assert _sha(a) == _sha(off)
    one = model.generate(PROMPT, seed=9, check=1)
    assert (one.checks, one.redraws) == (1, 0) and _sha(one) == _sha(off)  # read once, nothing redrawn
    direct = model.generate(PROMPT, seed=9, think=False, check=3)
    assert (direct.checks, direct.redraws) == (0, 0)  # no plan, nothing to check against


def test_check_out_of_range(model):
    with pytest.raises(PonderError, match="check attempts 17 is out of range"):
        model.generate(PROMPT, check=17)
    with pytest.raises(PonderError, match="check attempts -1"):
        model.generate(PROMPT, check=-1)


def test_python_arguments_are_range_checked(model):
    import numpy as np
    with pytest.raises(PonderError, match="check attempts 4294967299 is out of range"):
        model.generate(PROMPT, check=2 ** 32 + 3)
    with pytest.raises(PonderError, match="check attempts must be an integer"):
        model.generate(PROMPT, check="2")
    with pytest.raises(PonderError, match="image width 4294967424 is out of range"):
        ponder.Image.from_rgb(bytes(3 * 128), 2 ** 32 + 128, 1)
    with pytest.raises(TypeError):
        ponder.Image.from_rgb(49152, 128, 128)
    img = ponder.Image.from_rgb(np.zeros((2, 2, 3), np.uint8), np.int64(2), np.int64(2))
    assert img.width == 2 and len(img.rgb) == 12
    on = model.generate(PROMPT, seed=3, check=True)
    default = model.generate(PROMPT, seed=3)
    assert on.rgb == default.rgb  # True is the library's default, not a count


def test_pil_16_bit_and_la_images():
    from PIL import Image as PILImage
    import numpy as np
    grey = PILImage.new("I;16", (2, 2), 65535 // 2)
    assert ponder.Image.coerce(grey).rgb[:3] == bytes([127, 127, 127])
    la = PILImage.new("LA", (2, 2), (10, 0)).convert("La")
    assert ponder.Image.coerce(la).rgb[:3] == bytes([255, 255, 255])  # transparent: white


def test_failed_set_image_changes_nothing(reader):
    with reader.session() as s:
        s.plan(PROMPT)
        s.step(256)
        plan, codes = s.current_plan, s.tokens()
        with pytest.raises(PonderError, match="64×64"):
            s.set_image(ponder.Image.from_rgb(bytes(64 * 64 * 3), 64, 64))
        assert s.current_plan == plan and s.tokens() == codes


def test_huge_sizes_are_errors_not_negative(reader):
    lib = ponder._load()
    buf = (ponder.C.c_uint8 * 16)()
    with reader.session() as s:
        for call in (lambda n: lib.ponder_set_image(s._handle, buf, n, 128, 128),
                     lambda n: lib.ponder_set_image_png_memory(s._handle, buf, n),
                     lambda n: lib.ponder_decode(s._handle, buf, n)):
            for n in (2 ** 64 - 1, 2 ** 63):
                assert call(n) == 1
                assert f"{n}, more than any buffer can hold".encode() in lib.ponder_last_error()
        logits = (ponder.C.c_float * 4)()
        tokens = (ponder.C.c_int32 * 1)(1)
        assert lib.ponder_eval(s._handle, tokens, 1, 0, logits, 2 ** 64 - 1) == 1  # was a trap


def test_a_stream_that_is_no_png_is_refused_at_once():
    import time
    t = time.perf_counter()
    with pytest.raises(PonderError, match="not a PNG"):
        ponder.Image.open("/dev/zero")
    assert time.perf_counter() - t < 1
