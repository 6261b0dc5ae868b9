#!/usr/bin/env python3
"""Writes the PNG fixtures for PNGReaderTests (and the pngread fuzz seeds) with Python's
standard library only, so anyone can regenerate them: python3 make.py

NAME with NAME.rgb is a conversion case: NAME.rgb holds the RGB8 pixels PNGReader must
return. The PNGs carry no .png suffix because .gitignore drops *.png. The expected values
follow the reader's rules, written out independently here: 16-bit samples map to
round(v/257), sub-byte grey scales to 0..255, and alpha composites in 8-bit sRGB as
round((c*a + bg*(255-a))/255) onto bKGD when present, else white.
hostile-NAME must be refused with an error."""
import hashlib
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "..", "..", "Fuzz", "corpus", "pngread")
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(width, height, depth, ctype, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, interlace))


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        group = samples[i:i + per]
        for j, s in enumerate(group):
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp, filters):
    """rows: raw bytes per row; filters: filter type per row (cycled)."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        f = filters[y % len(filters)]
        out.append(f)
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out.append((v - pred) & 0xFF)
        prev = row
    return bytes(out)


def scanlines(pixels, width, height, depth, ctype, interlace=0, filters=(0,)):
    """pixels: list of rows of pixel tuples (samples per channel)."""
    ch = CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)

    def rows_of(xs, ys):
        return [pack_row([s for x in xs for s in pixels[y][x]], depth) for y in ys]

    if not interlace:
        return filter_rows(rows_of(range(width), range(height)), bpp, filters)
    out = b""
    for x0, y0, dx, dy in ADAM7:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if len(xs) and len(ys):
            out += filter_rows(rows_of(xs, ys), bpp, filters)
    return out


def png(width, height, depth, ctype, pixels, before_idat=(), interlace=0, filters=(0,), after_ihdr=()):
    data = zlib.compress(scanlines(pixels, width, height, depth, ctype, interlace, filters), 9)
    return (b"\x89PNG\r\n\x1a\n" + ihdr(width, height, depth, ctype, interlace)
            + b"".join(after_ihdr) + b"".join(before_idat)
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def to8(v, depth):
    if depth == 16:
        return (v * 255 + 32895) >> 16
    return v * 255 // ((1 << depth) - 1)


def over(c, a, bg):
    return (c * a + bg * (255 - a) + 127) // 255


def rgb_bytes(rgb_rows):
    return bytes(v for row in rgb_rows for px in row for v in px)


def noise(n, seed):
    out = b""
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:n]


WHITE = (255, 255, 255)
cases = {}     # name -> (png bytes, expected rgb bytes)
hostile = {}   # name -> png bytes


def expect_rgb(width, height, rgba8, bg=WHITE):
    """rgba8: function (x, y) -> (r, g, b, a) in 8 bits."""
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            r, g, b, a = rgba8(x, y)
            row.append((over(r, a, bg[0]), over(g, a, bg[1]), over(b, a, bg[2])))
        rows.append(row)
    return rgb_bytes(rows)


# Grey at 8, 4 and 1 bits (odd widths exercise sub-byte packing).
for depth, w, h in [(8, 4, 3), (4, 5, 2), (1, 9, 2)]:
    top = (1 << depth) - 1
    px = [[((x * 7 + y * 3) % (top + 1),) for x in range(w)] for y in range(h)]
    px[0][0], px[-1][-1] = (0,), (top,)
    name = f"grey{depth}"
    cases[name] = (png(w, h, depth, 0, px),
                   expect_rgb(w, h, lambda x, y: (to8(px[y][x][0], depth),) * 3 + (255,)))

# Grey + alpha, on white and on a grey bKGD.
ga = [[(40 * x + 10 * y, [0, 85, 170, 255][x]) for x in range(4)] for y in range(2)]
cases["grey-alpha"] = (png(4, 2, 8, 4, ga), expect_rgb(4, 2, lambda x, y: (ga[y][x][0],) * 3 + (ga[y][x][1],)))
cases["grey-alpha-bkgd"] = (png(4, 2, 8, 4, ga, [chunk(b"bKGD", struct.pack(">H", 60))]),
                            expect_rgb(4, 2, lambda x, y: (ga[y][x][0],) * 3 + (ga[y][x][1],), (60, 60, 60)))

# Palettes: 8-bit and 2-bit, with tRNS, with tRNS and a bKGD index.
pal = [(255, 0, 0), (0, 200, 0), (10, 20, 250), (128, 128, 128)]
plte = chunk(b"PLTE", bytes(v for c in pal for v in c))
idx8 = [[((x + y) % 4,) for x in range(4)] for y in range(2)]
cases["palette"] = (png(4, 2, 8, 3, idx8, [plte]), expect_rgb(4, 2, lambda x, y: pal[idx8[y][x][0]] + (255,)))
idx2 = [[((x * 3 + y) % 4,) for x in range(5)] for y in range(3)]
cases["palette2"] = (png(5, 3, 2, 3, idx2, [plte]), expect_rgb(5, 3, lambda x, y: pal[idx2[y][x][0]] + (255,)))
trns = [0, 128, 255]  # entry 3 has no tRNS byte: opaque
alpha = lambda i: trns[i] if i < len(trns) else 255
cases["palette-trns"] = (png(4, 2, 8, 3, idx8, [plte, chunk(b"tRNS", bytes(trns))]),
                         expect_rgb(4, 2, lambda x, y: pal[idx8[y][x][0]] + (alpha(idx8[y][x][0]),)))
cases["palette-trns-bkgd"] = (
    png(4, 2, 8, 3, idx8, [plte, chunk(b"tRNS", bytes(trns)), chunk(b"bKGD", bytes([2]))]),
    expect_rgb(4, 2, lambda x, y: pal[idx8[y][x][0]] + (alpha(idx8[y][x][0]),), pal[2]))

# RGB 8-bit, one row per filter type; RGB with a tRNS colour.
rgb = [[((x * 37 + y * 11) % 256, (x * 5 + y * 71) % 256, (x * y * 13) % 256) for x in range(7)] for y in range(5)]
cases["rgb8-filters"] = (png(7, 5, 8, 2, rgb, filters=(0, 1, 2, 3, 4)),
                         expect_rgb(7, 5, lambda x, y: rgb[y][x] + (255,)))
key = rgb[1][2]
cases["rgb8-trns"] = (png(7, 5, 8, 2, rgb, [chunk(b"tRNS", struct.pack(">HHH", *key))]),
                      expect_rgb(7, 5, lambda x, y: rgb[y][x] + (0 if rgb[y][x] == key else 255,)))

# 16-bit: RGB, and every grey value (row y, column x holds y*256+x).
rgb16 = [[(x * 20000 + y * 7, 65535 - x * 3000, (x * 257 + 128 * y) % 65536) for x in range(3)] for y in range(2)]
cases["rgb16"] = (png(3, 2, 16, 2, rgb16),
                  expect_rgb(3, 2, lambda x, y: tuple(to8(v, 16) for v in rgb16[y][x]) + (255,)))
all16 = [[(y * 256 + x,) for x in range(256)] for y in range(256)]
cases["grey16-all"] = (png(256, 256, 16, 0, all16, filters=(1,)),
                       expect_rgb(256, 256, lambda x, y: (to8(y * 256 + x, 16),) * 3 + (255,)))

# RGBA 8-bit on white, on bKGD; RGBA 16-bit with a 16-bit bKGD.
rgba = [[(200, 30 * x, 255 - 40 * y, [0, 64, 128, 255][x]) for x in range(4)] for y in range(2)]
cases["rgba8"] = (png(4, 2, 8, 6, rgba), expect_rgb(4, 2, lambda x, y: rgba[y][x]))
cases["rgba8-bkgd"] = (png(4, 2, 8, 6, rgba, [chunk(b"bKGD", struct.pack(">HHH", 0, 128, 255))]),
                       expect_rgb(4, 2, lambda x, y: rgba[y][x], (0, 128, 255)))
rgba16 = [[(x * 21845, 65535 - y * 30000, 1000 * x + 3, [0, 32768, 65535][x]) for x in range(3)] for y in range(2)]
bg16 = (65535, 0, 30000)
cases["rgba16-bkgd"] = (png(3, 2, 16, 6, rgba16, [chunk(b"bKGD", struct.pack(">HHH", *bg16))]),
                        expect_rgb(3, 2, lambda x, y: tuple(to8(v, 16) for v in rgba16[y][x]),
                                   tuple(to8(v, 16) for v in bg16)))

# Adam7: odd sizes leave some passes short or empty.
il = [[((x * 23) % 256, (y * 29) % 256, (x ^ y) * 9 % 256) for x in range(11)] for y in range(9)]
cases["interlaced"] = (png(11, 9, 8, 2, il, interlace=1, filters=(0, 1, 2, 3, 4)),
                       expect_rgb(11, 9, lambda x, y: il[y][x] + (255,)))
il2 = [[((x + 2 * y) % 4,) for x in range(10)] for y in range(7)]
cases["interlaced-grey2"] = (png(10, 7, 2, 0, il2, interlace=1),
                             expect_rgb(10, 7, lambda x, y: (to8(il2[y][x][0], 2),) * 3 + (255,)))
ila = [[(x * 50, y * 60, 100, (x * 64 + y * 32) % 256) for x in range(5)] for y in range(5)]
cases["interlaced-rgba"] = (png(5, 5, 8, 6, ila, interlace=1), expect_rgb(5, 5, lambda x, y: ila[y][x]))

# Ancillary chunks the reader never hands to libpng: a zTXt inflating to 4 MB, an iCCP
# that is not a profile, a private chunk, a tEXt.
junk = [chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(4 << 20), 9)),
        chunk(b"iCCP", b"x\x00\x00" + zlib.compress(b"not a profile")),
        chunk(b"prVt", noise(300, b"private")),
        chunk(b"tEXt", b"Title\x00ponder")]
cases["ancillary"] = (png(7, 5, 8, 2, rgb, junk), expect_rgb(7, 5, lambda x, y: rgb[y][x] + (255,)))

# Hostile inputs.
good = cases["rgb8-filters"][0]
idat_at = good.index(b"IDAT") - 4
hostile["truncated"] = good[:idat_at + 20]
hostile["no-iend"] = good[:-12]
bad = bytearray(good)
bad[29] ^= 0xFF  # IHDR's CRC
hostile["bad-crc-ihdr"] = bytes(bad)
bad = bytearray(good)
bad[-13] ^= 0x01  # IDAT's CRC
hostile["bad-crc-idat"] = bytes(bad)
hostile["garbage"] = noise(500, b"garbage")
hostile["zero-size"] = png(0, 0, 8, 2, [])
big = b"\x89PNG\r\n\x1a\n" + ihdr(1 << 31, 1, 8, 2) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")
hostile["side-2-31"] = big
tiny = zlib.compress(bytes(1000))
hostile["bomb-30000"] = (b"\x89PNG\r\n\x1a\n" + ihdr(30000, 30000, 8, 2) + chunk(b"IDAT", tiny) + chunk(b"IEND", b""))
hostile["bomb-4096"] = (b"\x89PNG\r\n\x1a\n" + ihdr(4096, 4096, 8, 6) + chunk(b"IDAT", tiny) + chunk(b"IEND", b""))
hostile["interlaced-junk"] = (b"\x89PNG\r\n\x1a\n" + ihdr(16, 16, 8, 2, 1)
                              + chunk(b"IDAT", zlib.compress(noise(900, b"adam7"))) + chunk(b"IEND", b""))
hostile["not-zlib"] = (b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 2) + chunk(b"IDAT", noise(60, b"z"))
                       + chunk(b"IEND", b""))
hostile["huge-chunk-length"] = (b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 2)
                                + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"x" * 40)
parts = good[:idat_at], good[idat_at:-12]
hostile["split-idat"] = parts[0] + parts[1] + chunk(b"tEXt", b"a\x00b") + parts[1] + chunk(b"IEND", b"")
hostile["bad-colour-type"] = (b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 5) + chunk(b"IDAT", zlib.compress(bytes(80)))
                              + chunk(b"IEND", b""))
hostile["palette-without-plte"] = png(4, 2, 8, 3, idx8)
hostile["short-image-data"] = (b"\x89PNG\r\n\x1a\n" + ihdr(7, 5, 8, 2)
                               + chunk(b"IDAT", zlib.compress(scanlines(rgb, 7, 5, 8, 2)[:40]))
                               + chunk(b"IEND", b""))

for name, (data, expected) in cases.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    if name != "grey16-all":  # 192 KiB; the test computes round(v/257) itself
        with open(os.path.join(HERE, name + ".rgb"), "wb") as f:
            f.write(expected)
for name, data in hostile.items():
    with open(os.path.join(HERE, "hostile-" + name), "wb") as f:
        f.write(data)

# Fuzz seeds: a few of each kind, small.
os.makedirs(SEEDS, exist_ok=True)
for name in ["grey4", "grey-alpha-bkgd", "palette2", "palette-trns-bkgd", "rgb8-filters", "rgb8-trns", "rgb16",
             "rgba16-bkgd", "interlaced", "interlaced-grey2", "interlaced-rgba", "ancillary"]:
    with open(os.path.join(SEEDS, name), "wb") as f:
        f.write(cases[name][0])
for name in ["truncated", "bad-crc-idat", "interlaced-junk", "bomb-4096", "split-idat"]:
    with open(os.path.join(SEEDS, "hostile-" + name), "wb") as f:
        f.write(hostile[name])
