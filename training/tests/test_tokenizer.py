"""The tokenizer's training loss: object outlines weigh more when asked."""
import torch

from ponder_train.tokenizer import outline, reconstruction_loss


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
