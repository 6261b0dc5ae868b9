"""The training batch builder (tensor operations, made for GPU speed) against the sequence
layouts of docs/format.md written out one example at a time."""
import numpy as np
import torch

from ponder_train.sequences import MODES, PAD, PLAN_MAX, PROMPT_MAX, make_batch
from ponder_train.vocab import Vocabulary


def reference(prompt, plan, codes, mode, v):
    """(tokens, labels) of one example, written the plain way: a list of segments, each
    marked with whether the model writes it (and so is trained to predict it)."""
    image = [v.image_offset + c for c in codes]
    # codes show a scene on white, so the plan read from them says white (its second word)
    read = plan[:1] + [v["white"]] * (len(plan) > 1) + plan[2:]
    bos, think, end, img = [v["<bos>"]], [v["<think>"]], [v["</think>"]], [v["<image>"]]
    segments = {
        "think": [(bos + prompt + think, False), (plan + end, True), (img, False), (image, True)],
        "direct": [(bos + prompt + img, False), (image, True)],
        "uncond": [(bos + img, False), (image, True)],
        "describe": [(bos + [v["<describe>"]] + image + think, False), (read + end, True)],
        "plan": [(bos + prompt + think, False), (plan + end, True)],
    }[mode]
    seq = [t for tokens, _ in segments for t in tokens]
    written = [w for tokens, w in segments for _ in tokens]
    labels = [seq[t + 1] if written[t + 1] else PAD for t in range(len(seq) - 1)] + [PAD]
    return seq, labels


def test_make_batch_matches_the_plain_layouts():
    v = Vocabulary(1024)
    rng = np.random.default_rng(0)
    n = 40
    P = np.full((n, PROMPT_MAX), -1, np.int16)
    Q = np.full((n, PLAN_MAX), -1, np.int16)
    C = rng.integers(0, 1024, (n, 256)).astype(np.int16)
    words = list(range(6, v.image_offset))
    for i in range(n):
        lp, lq = rng.integers(1, PROMPT_MAX + 1), rng.integers(1, PLAN_MAX + 1)
        P[i, :lp] = rng.choice(words, lp)
        Q[i, :lq] = rng.choice(words, lq)
    idx = torch.arange(n).flip(0)
    modes = torch.tensor([i % len(MODES) for i in range(n)])
    x, y = make_batch(idx, modes, *(torch.from_numpy(a) for a in (P, Q, C)), v)
    assert x.shape == y.shape and x.shape[1] == max(
        len(reference([int(t) for t in P[i] if t >= 0], [int(t) for t in Q[i] if t >= 0], C[i].tolist(),
                      MODES[int(modes[k])], v)[0]) for k, i in enumerate(idx.tolist()))
    for k, i in enumerate(idx.tolist()):
        seq, labels = reference([int(t) for t in P[i] if t >= 0], [int(t) for t in Q[i] if t >= 0],
                                C[i].tolist(), MODES[int(modes[k])], v)
        assert x[k, :len(seq)].tolist() == seq, MODES[int(modes[k])]
        assert y[k, :len(seq)].tolist() == labels, MODES[int(modes[k])]
        assert (y[k, len(seq):] == PAD).all() and (x[k, len(seq):] == 0).all()


def test_raster_order_sorts_objects_top_to_bottom_then_left_to_right():
    import numpy as np
    from ponder_train.sequences import raster_order
    vocab = Vocabulary(16)
    plan = "background black small red star at 90 60 large blue ring at 20 100 medium green cross at 30 60".split()
    Q = np.full((2, 26), -1, np.int16)
    Q[0, :len(plan)] = vocab.encode(plan)
    Q[1, :8] = vocab.encode(plan[:8])
    R = raster_order(Q, vocab)
    words = [vocab.words[i] for i in R[0] if i >= 0]
    assert " ".join(words) == ("background black medium green cross at 30 60 small red star at 90 60 "
                               "large blue ring at 20 100")
    assert (R[1] == Q[1]).all()  # one object: unchanged, padding kept


def test_context_length_is_the_shipped_models_and_holds_the_longest_sequence():
    """The context derived from the format (sequences.context_length) is what the shipped model
    file was made with, and holds a think sequence of the longest prompt and plan."""
    from pathlib import Path

    import gguf

    from ponder_train.language.plan import MAX_TOKENS
    from ponder_train.language.prompt import MAX_WORDS
    from ponder_train.sequences import context_length
    shipped = Path(__file__).resolve().parents[2] / "models" / "ponder-shapes-q8_0.gguf"
    field = gguf.GGUFReader(shipped).fields["ponder.context_length"]
    assert context_length(16 * 16) == field.contents() == 352
    assert context_length(16 * 16) >= 1 + MAX_WORDS + 1 + MAX_TOKENS + 1 + 1 + 256 == 341
    assert context_length(8 * 8) % 32 == 0 and context_length(8 * 8) >= 1 + MAX_WORDS + 3 + MAX_TOKENS + 64
