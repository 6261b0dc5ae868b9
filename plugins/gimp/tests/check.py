"""Checks what tests/batch.scm made in GIMP against the CLI's results (tests/run).

    python check.py OUT MODEL

OUT holds the layers the plug-in made (exported as PNG), their histories, the plans describe
returned, facts.txt, and the CLI's pictures and plans for the same inputs (cli-*).
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

out = Path(sys.argv[1])
model = sys.argv[2]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def pixels(name):
    """RGBA pixels of a PNG in OUT (alpha 255 for a PNG without alpha)."""
    return np.asarray(Image.open(out / name).convert("RGBA")).astype(np.int16)


def text(name):
    return (out / name).read_text()


def plan_of(history):
    """The newest step's plan in a history text (plugins/gimp/README.md, "History")."""
    step = history.split("\n\n")[0]
    return step.split("plan:\n", 1)[1].strip() + "\n"


facts = dict(line.split(" ", 1) for line in text("facts.txt").splitlines())
prompt = "a red circle to the left of a blue square"

# Generate: a new layer above the background, the prompt's name, the CLI's pixels byte for byte.
check(facts["generate-layers"] == "2", f"generate left {facts['generate-layers']} layers, not 2")
check(facts["base"] == "size 128 128 offset 0 0", f"generated layer: {facts['base']}")
check(text("base-name.txt") == prompt, f"generated layer's name {text('base-name.txt')!r}")
base, cli_base = pixels("base.png"), pixels("cli-base.png")
check(np.array_equal(base, cli_base), "the generated layer's pixels differ from the CLI's image")
check(len(np.unique(base[..., :3].reshape(-1, 3), axis=0)) > 10, "the generated layer is nearly blank")
history = text("base-history.txt")
for field in (f"step: generate\nprompt: {prompt}\nthink: yes\nplan satisfies prompt: yes\nseed: 4\n",
              "guidance: ", "check: 3\n", f"model: {model}\n"):
    check(field in history, f"the generated layer's history lacks {field!r}:\n{history}")
check(plan_of(history) == text("cli-base.txt"), "the history's plan is not the CLI's plan")
check(np.array_equal(pixels("background-before.png"), pixels("background-after.png")),
      "the background layer changed")
check(np.array_equal(pixels("fresh.png"), cli_base), "generate with no image open drew another picture")
check(facts["fresh-image"] == "128 128 layers 1", f"generate with no image open: {facts['fresh-image']}")
check(np.array_equal(pixels("created.png"), cli_base), "File > Create's generate drew another picture")
check(facts["created-image"] == "128 128 layers 1", f"File > Create's generate: {facts['created-image']}")
check(text("created-history.txt") == history, "File > Create's generate wrote another history")

check("plan satisfies prompt: no\n" in text("crowded-history.txt"), "a prompt no plan satisfies is not marked so")

# Describe: the CLI's plan for the same picture.
check(text("describe.txt").strip() == text("cli-describe.txt").strip(),
      f"describe gave\n{text('describe.txt')}\nthe CLI\n{text('cli-describe.txt')}")

# Redraw selection: the CLI's pixels inside the selection, the layer's own outside it.
x0, y0, x1, y1 = 80, 40, 126, 90
star, cli_star = pixels("star.png"), pixels("cli-star.png")
inside = np.zeros(base.shape[:2], bool)
inside[y0:y1, x0:x1] = True
check(np.array_equal(star[inside], cli_star[inside]), "redraw: the selection differs from the CLI's redraw")
check(np.array_equal(star[~inside], base[~inside]), "redraw: pixels outside the selection changed")
check(not np.array_equal(star[inside], base[inside]), "redraw: nothing was drawn in the selection")
check(facts["star"] == "size 128 128 offset 0 0", f"redraw layer: {facts['star']}")
check(text("star-name.txt") == "redraw: a small yellow star", f"redraw layer's name {text('star-name.txt')!r}")
star_history = text("star-history.txt")
check(star_history.startswith("step: redraw\nphrase: a small yellow star\nregion: 80 40 126 90\nseed: 1\n"),
      f"redraw history:\n{star_history}")
check("source plan: history" in star_history, "redraw did not take the plan from the layer's history")
check(plan_of(star_history) == text("cli-star.txt"), "redraw: the history's plan is not the CLI's")
check(star_history.endswith(history), "redraw: the history does not go on with the source layer's")
check(np.array_equal(pixels("base-after.png"), base), "redraw changed its source layer")

# A selection that cuts an object: the library redraws all of it; the layer changes only the
# selection (pixels outside it are the source's, though the library changed some of them).
cut, cli_cut = pixels("cut.png"), pixels("cli-cut.png")
inside = np.zeros(base.shape[:2], bool)
inside[0:30, 66:100] = True
check(np.array_equal(cut[inside], cli_cut[inside]), "redraw (cut): the selection differs from the CLI's redraw")
check(np.array_equal(cut[~inside], base[~inside]), "redraw (cut): pixels outside the selection changed")
check(not np.array_equal(cli_cut[~inside], base[~inside]), "redraw (cut): the library changed nothing outside the box")

# Add element: the CLI's picture exactly (the layer keeps its source's pixels outside the cells
# the library redrew, as the library does).
added = pixels("added.png")
check(np.array_equal(added, pixels("cli-added.png")), "add: the layer differs from the CLI's add")
check(not np.array_equal(added, star), "add: nothing was drawn")
added_history = text("added-history.txt")
check(added_history.startswith("step: add\nphrase: a small pink heart below the blue square\n"),
      f"add history:\n{added_history}")
check(plan_of(added_history) == text("cli-added.txt"), "add: the history's plan is not the CLI's")
check(added_history.count("step: ") == 3, "add: the history does not hold all three steps")
check(np.array_equal(pixels("star-after.png"), star), "add changed its source layer")
check(facts["edit-layers"] == "4", f"after the edits the image holds {facts['edit-layers']} layers, not 4")

# Every bad request was refused and left no layer behind.
for label in ("bad-prompt", "empty-prompt", "bad-seed", "bad-check", "no-selection", "no-such-object",
              "two-objects", "long-prompt", "gray-image", "selection-off-layer", "created-bad-prompt",
              "created-long-prompt"):
    check(facts[label] == "refused", f"{label}: {facts[label]}")
check(facts["error-layers"] == "4", f"the refused calls left {facts['error-layers']} layers, not 4")
# Describe reads a grayscale layer too (GEGL gives it as grey RGB): a background and objects.
gray_plan = text("gray-describe.txt").splitlines()
check(gray_plan[0].startswith("background ") and len(gray_plan) >= 2, f"describe of a grayscale layer: {gray_plan}")

# Other sizes: scaled in and out. A 256 x 192 image gets a centred 192 x 192 layer; edits of it
# keep its size and place, and its own pixels outside what they changed.
check(facts["big"] == "size 192 192 offset 32 0", f"generate in a 256 x 192 image: {facts['big']}")
big = pixels("big.png")
check(len(np.unique(big[..., :3].reshape(-1, 3), axis=0)) > 10, "the scaled layer is nearly blank")
big_plan = text("big-describe.txt").splitlines()
check(big_plan[0].startswith("background ") and len(big_plan) >= 2, f"describe of the scaled layer: {big_plan}")
for label in ("big-added", "big-cleared"):
    check(facts[label] == "size 192 192 offset 32 0", f"{label}: {facts[label]}")
big_added = pixels("big-added.png")
changed = (big_added != big).any(-1)
check(0 < changed.sum() < 0.25 * changed.size, f"add on the scaled layer changed {changed.sum()} pixels")
cleared = pixels("big-cleared.png")
selected = np.zeros(big.shape[:2], bool)
selected[128:192, 0:62] = True  # the selection (32, 128)-(94, 192) in the layer's coordinates
check(np.array_equal(cleared[~selected], big[~selected]), "redraw on the scaled layer changed pixels outside the selection")
red = lambda p, where: ((p[..., 0] > 180) & (p[..., 1] < 90) & (p[..., 2] < 90))[where].sum()
check(red(big, selected) > 100 and red(cleared, selected) < 10,
      f"clearing the red circle: {red(big, selected)} red pixels in the selection before, {red(cleared, selected)} after")
check(red(cleared, ~selected) > 20, "the part of the red circle outside the selection went")
check(np.array_equal(pixels("big-after.png"), big), "the edits changed the scaled source layer")

if failures:
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
print("ok: the generated layer is the CLI's image byte for byte and holds the plan and settings; describe "
      "gives the CLI's plan; redraw and add equal the CLI's edits, keep pixels outside the selection and their "
      "source layers; 12 bad requests refused with a message (the library's, for prompts and phrases); "
      "other sizes scaled in and out")
