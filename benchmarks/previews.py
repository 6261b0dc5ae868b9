"""How close mid-way previews come to the final image, for each way of filling the cells not
yet drawn (docs/format.md, "Previews").

    .venv/bin/python benchmarks/previews.py [--per-category 5] [--seeds 2] [--step 8]

The VQ decoder needs a code in every cell, and its convolutions reach about 5.5 cells, so the
codes put in the undrawn cells colour the finished rows just above them. This draws a fixed
prompt set with the shipped model through the library (the issue's prompt, then training's
benchmark sampler: --per-category prompts of each of its 7 categories, 1 to 4 objects), checked
drawing off so that no finished cell changes after the last token. For a preview after every
--step tokens it decodes the first N codes with each fill below and compares the finished
rows with the final image. Decoding here is the PyTorch reference decoder of the model file
(`ponder_train.export.load_decoder`, within 2 levels of the engine's), on white, so that every
fill is decoded alike; the engine's own previews are checked against the reference decoding of
the engine's fill (plan). The fills of the undrawn cells:

- zero: code 0 (the engine's first previews).
- above: the cell above; in the first row, the last drawn cell.
- row: the rest of the current row repeats its last drawn cell, and every row below copies
  the row above it.
- background: the encoder's codes of a white picture.
- mirror: the drawn rows reflected about the frontier (row f + k is row f - 1 - k; the
  current row's undrawn cells, the row above).
- plan: the encoder's codes of the plan rendered (ponder_train.image.render, on white); the engine's fill.
- composite: the plan fill's preview of the drawn rows above the plan's render of the rest,
  encoded (an encoder and a decoder pass per preview more than plan).

Distances are in token rows above the frontier, the row being drawn (N // 16); the issue
asks about the rows more than one token row (8 px) above it, distance 2 and more. Prints
markdown tables: per fill, those rows' mean and greatest absolute difference (levels of 255,
over every channel of every pixel), the share of their pixels off by more than 16 levels and
how many of those lie on the final image's outlines (a neighbour more than 16 levels away),
and the share of previews whose rows 2+, 3+ and 4+ above are all within 16 levels; then the
mean (greatest) per distance; then the issue's case. 10 to 20 minutes on 2 cores.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import ponder  # noqa: E402
from ponder_train.export import load_decoder, load_encoder  # noqa: E402
from ponder_train.model import VQDecoder  # noqa: E402
from ponder_train.image.render import render  # noqa: E402
from ponder_train.language.plan import parse_plan  # noqa: E402
from ponder_train.scenes import CATEGORIES, sample_example  # noqa: E402

GRID, CELL = 16, 8
DISTANCES = range(1, 8)
FILLS = ["zero", "above", "row", "background", "mirror", "plan", "composite"]
ISSUE = ("a red circle in the center", 0, 160)


def encode(encoder, codebook, rgb):
    """The encoder's codes of an RGB8 picture on white: its nearest codebook vector per cell,
    as the engine's VQEncoder picks them (docs/format.md, "Encoder")."""
    img = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        z = torch.tanh(encoder(img) / 2)[0].permute(1, 2, 0).reshape(-1, codebook.shape[1])
        return torch.cdist(z, codebook).argmin(1).numpy()


def outlines(image):
    """Pixels with a neighbour (of 8) more than 16 levels away in some channel: shape outlines."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    near = np.zeros(image.shape[:2], bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near |= np.abs(padded[dy:dy + image.shape[0], dx:dx + image.shape[1]] - image).max(axis=2) > 16
    return near


def decode(decoder, grids):
    with torch.no_grad():
        out = VQDecoder.to_rgb8(decoder(torch.from_numpy(np.stack(grids).reshape(-1, GRID, GRID)).long()))
    return out.numpy().astype(np.int16)


class Fills:
    """The grids a preview after n codes decodes, one per fill, for one drawing."""

    def __init__(self, codes, plan, decoder, encoder, codebook):
        self.codes, self.decoder, self.encoder, self.codebook = codes, decoder, encoder, codebook
        self.blank = encode(encoder, codebook, np.full((128, 128, 3), 255, np.uint8))
        scene = parse_plan(plan)
        scene.background = 0  # the codes describe the scene on white
        self.rendered = render(scene)
        self.planned = encode(encoder, codebook, self.rendered)

    def grid(self, name, n):
        g = np.array(self.codes[:n] + [0] * (GRID * GRID - n))
        f = n // GRID  # the frontier: the row being drawn
        for c in range(n, GRID * GRID):
            r, col = divmod(c, GRID)
            if name == "above":
                g[c] = g[c - GRID] if c >= GRID else g[n - 1]
            elif name == "row":
                g[c] = g[c - GRID] if r > f else g[n - 1]
            elif name == "background":
                g[c] = self.blank[c]
            elif name == "mirror":
                src = max(2 * f - 1 - r, 0) if r > f else r - 1
                g[c] = g[src * GRID + col] if src >= 0 else g[n - 1]
            elif name == "plan":
                g[c] = self.planned[c]
            elif name == "composite":
                break
            elif name != "zero":
                raise ValueError(name)
        if name == "composite":
            # The plan fill's preview above the frontier, the plan's render below, encoded.
            preview = decode(self.decoder, [self.grid("plan", n)])[0].astype(np.uint8)
            picture = self.rendered.copy()
            picture[:f * CELL] = preview[:f * CELL]
            picture[f * CELL:(f + 1) * CELL, :(n % GRID) * CELL] = preview[f * CELL:(f + 1) * CELL, :(n % GRID) * CELL]
            g[n:] = encode(self.encoder, self.codebook, picture)[n:]
        return g.reshape(GRID, GRID)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ponder.default_model_path()))
    ap.add_argument("--per-category", type=int, default=5, help="prompts per benchmark category")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--prompt-seed", type=int, default=19)
    ap.add_argument("--step", type=int, default=8, help="tokens between cut points")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = ponder.Model(a.model)
    decoder, encoder = load_decoder(a.model), load_encoder(a.model)
    if encoder is None:
        sys.exit(f"{a.model} has no encoder: the plan fills need one")
    codebook = decoder.codebook.detach()
    rng = np.random.default_rng(a.prompt_seed)
    prompts = [ISSUE[0]] + [sample_example(rng, cat)[0] for cat in CATEGORIES for _ in range(a.per_category)]
    cuts = sorted(set(range(24, 249, a.step)) | {ISSUE[2]})

    total = {f: np.zeros((len(DISTANCES) + 1, 3)) for f in FILLS}  # per distance: sum of mean, max, count
    far = {f: {k: [] for k in (2, 3, 4)} for f in FILLS}  # per preview, rows >= k above: greatest
    off = {f: np.zeros(3) for f in FILLS}  # rows >= 2 above: pixels off by > 16, of them on outlines, pixels
    issue, engine_gap = {}, 0
    for prompt in prompts:
        for seed in range(a.seeds):
            with model.session(seed=seed, check=0, threads=a.threads) as s:
                plan = s.plan(prompt)
                s.step(ISSUE[2])
                engine = np.frombuffer(s.decode(), np.uint8).reshape(128, 128, 3).astype(np.int16)
                s.step(GRID * GRID)
                codes = s.tokens()
            fills = Fills(codes, plan, decoder, encoder, codebook)
            final = decode(decoder, [np.array(codes)])[0]
            outline = outlines(final)
            out = decode(decoder, [fills.grid(f, n) for n in cuts for f in FILLS]).reshape(len(cuts), len(FILLS), 128, 128, 3)
            if parse_plan(plan).background == 0:  # the engine lays in other backgrounds
                rows = ISSUE[2] // GRID * CELL
                engine_gap = max(engine_gap, int(np.abs(engine - out[cuts.index(ISSUE[2]), FILLS.index("plan")])[:rows].max()))
            for i, n in enumerate(cuts):
                frontier = n // GRID
                for j, f in enumerate(FILLS):
                    diff = np.abs(out[i, j] - final)
                    for d in DISTANCES:
                        if frontier - d >= 0:
                            rows = diff[(frontier - d) * CELL:(frontier - d + 1) * CELL]
                            total[f][d] += (rows.mean(), 0, 1)
                            total[f][d, 1] = max(total[f][d, 1], rows.max())
                    for k in (2, 3, 4):
                        if frontier - k >= 0:
                            far[f][k].append(diff[:(frontier - k + 1) * CELL].max())
                    if frontier >= 2:
                        px = diff[:(frontier - 1) * CELL].max(axis=2) > 16
                        off[f] += (px.sum(), (px & outline[:(frontier - 1) * CELL]).sum(), px.size)
                    if (prompt, seed, n) == ISSUE:
                        issue[f] = diff[:(frontier - 1) * CELL]
        print(f"drawn: {prompt}", file=sys.stderr)

    print(f"{len(prompts)} prompts x {a.seeds} seeds = {len(prompts) * a.seeds} images, a preview after every "
          f"{a.step} tokens from {cuts[0]} to {cuts[-1]}; the engine's previews are at most {engine_gap} level(s) "
          f"off the plan fill decoded here\n")
    print("| fill | rows 2+ above: mean abs. difference | greatest | pixels off by > 16 | of them on outlines "
          "| previews within 16, rows 2+ above | 3+ | 4+ |")
    print("|---|---|---|---|---|---|---|---|")
    for f in FILLS:
        t = total[f]
        mean2 = sum(t[d, 0] for d in DISTANCES if d >= 2) / sum(t[d, 2] for d in DISTANCES if d >= 2)
        print(f"| {f} | {mean2:.3f} | {max(t[d, 1] for d in DISTANCES if d >= 2):.0f} | "
              f"{off[f][0] / off[f][2]:.3%} | {off[f][1] / max(off[f][0], 1):.0%} | " + " | ".join(f"{np.mean(np.array(far[f][k]) <= 16):.0%}" for k in (2, 3, 4)) + " |")
    print("\nMean (greatest) absolute difference by token rows above the frontier:\n")
    print("| fill | " + " | ".join(str(d) for d in DISTANCES) + " |")
    print("|---|" + "---|" * len(DISTANCES))
    for f in FILLS:
        t = total[f]
        print(f"| {f} | " + " | ".join(f"{t[d, 0] / t[d, 2]:.3f} ({t[d, 1]:.0f})" for d in DISTANCES) + " |")
    print(f"\nThe issue's case ({ISSUE[0]!r}, seed {ISSUE[1]}, after {ISSUE[2]} tokens), rows 2+ above:\n")
    print("| fill | mean | greatest |")
    print("|---|---|---|")
    for f, diff in issue.items():
        print(f"| {f} | {diff.mean():.3f} | {diff.max()} |")


if __name__ == "__main__":
    main()
