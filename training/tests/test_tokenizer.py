"""The tokenizer's training loss: object outlines weigh more when asked."""
import torch

from ponder_train.vq_autoencoder import outline, reconstruction_loss


def _square():
    x = -torch.ones(1, 3, 16, 16)
    x[:, :, 4:12, 4:12] = 1  # an 8 × 8 white square on black
    return x


def test_outline_marks_the_pixels_on_either_side_of_an_edge():
    e = outline(_square())[0]
    assert e[4, 6] == 1 and e[3, 6] == 1  # the square's top row and the row above it
    assert e[7, 7] == 0 and e[0, 0] == 0  # inside and far outside
    assert e.sum() == 28 + 32  # the square's border pixels and those just outside its sides


def test_outline_weight_makes_an_outline_error_cost_more_than_an_inner_one():
    x = _square()
    logits = torch.zeros(1, 12, 16, 16)
    on_edge, inside = x.clone(), x.clone()
    on_edge[:, :, 4, 6] = -1
    inside[:, :, 7, 7] = -1
    plain = [reconstruction_loss(o, logits, x) for o in (on_edge, inside)]
    exact, on_edge, inside = (reconstruction_loss(o, logits, x, outline_weight=30) for o in (x, on_edge, inside))
    assert torch.isclose(plain[0], plain[1])
    assert on_edge - exact > 3 * (inside - exact) > 0  # weights 1 + 9 + 30 against 1 + 9


def test_stray_colour_counts_colours_from_nowhere_not_those_of_a_nearby_edge():
    from ponder_train.vq_autoencoder import stray_colour
    target = torch.zeros(1, 16, 16, dtype=torch.long)  # colour 0, with a square of colour 1
    target[:, 4:12, 4:12] = 1
    logits = torch.full((1, 12, 16, 16), -30.0)
    logits[:, 0] = 30  # every pixel sure of colour 0...
    logits[:, :, 0, 0] = -30
    logits[:, 1, 0, 0] = 30  # ...but a far corner, sure of the square's colour: a speck
    logits[:, :, 2, 6] = -30
    logits[:, 1, 2, 6] = 30  # and a pixel two above the square's edge, the same: a blend
    logits[:, :, 14, 14] = -30
    logits[:, 5, 14, 14] = 30  # and a colour found nowhere
    s = stray_colour(logits, target)[0]
    assert s[0, 0] > 0.99 and s[14, 14] > 0.99
    assert s[2, 6] < 0.01 and s[8, 8] > 0.99  # inside the square colour 0 is the stray one
    assert s[7, 2] < 0.01  # colour 0 two pixels from the square's side is at home


def test_stray_weight_adds_the_mean_stray_probability():
    x = _square()
    logits = torch.randn(1, 12, 16, 16)
    from ponder_train.vq_autoencoder import nearest_colour, pure_pixels, stray_colour
    from ponder_train.model import palette_rgb
    base = reconstruction_loss(x, logits, x)
    target = nearest_colour(x, palette_rgb())
    extra = stray_colour(logits, target, pure_pixels(x, target)).mean()
    assert extra > 0
    assert torch.isclose(reconstruction_loss(x, logits, x, stray_weight=2.0), base + 2 * extra)


def test_only_pure_pixels_name_a_colour():
    from ponder_train.model import palette_rgb
    from ponder_train.vq_autoencoder import nearest_colour, pure_pixels
    pal = palette_rgb()
    x = torch.stack([pal[3], 0.5 * pal[3] + 0.5 * pal[-1], pal[-1]]).t()[None, :, None, :]  # (1, 3, 1, 3)
    pure = pure_pixels(x, nearest_colour(x, pal))[0, 0]
    assert pure.tolist() == [True, False, True]


def test_a_blend_is_not_taught_its_nearest_colour():
    # Two images alike but for one blended pixel; whatever the logits say there, the class
    # term does not see it (only the pixel term does, and `out` is exact here).
    from ponder_train.model import palette_rgb
    pal = palette_rgb()
    x = pal[3][None, :, None, None].expand(1, 3, 8, 8).clone()
    x[:, :, 4, 4] = 0.5 * pal[3] + 0.5 * pal[-1]
    a, b = torch.zeros(1, 12, 8, 8), torch.zeros(1, 12, 8, 8)
    b[:, 5, 4, 4] = 20  # sure of an unrelated colour at the blend
    assert torch.isclose(reconstruction_loss(x, a, x, pure_classes=True), reconstruction_loss(x, b, x, pure_classes=True))
    assert reconstruction_loss(x, b, x) > reconstruction_loss(x, a, x)  # the shipped decoder's loss sees it
