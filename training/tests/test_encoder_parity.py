"""The engine's VQ encoder against the PyTorch reference on the same weights: the codes of
ground-truth renders, on every background (the engine reads the background from the border
and moves the picture onto white; the reference does the same with tokenizer.to_white).

Both compute in fp32 but in a different order (im2col + sgemm against PyTorch's convolution),
and FSQ rounds a continuous value per cell, so a value that lies on a rounding boundary may
fall either way: the bar is the same code on at least 99.5 % of cells."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ponder_train.binding import ponder
from ponder_train.export import export, load_decoder, load_encoder, random_model
from ponder_train.model import Config
from ponder_train.image.render import render
from ponder_train.vq_autoencoder import Encoder, VQAutoencoder, to_white

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "ponder-shapes-q8_0.gguf"


def engine_codes(model, images):
    out = []
    with model.session(threads=2) as s:
        for img in images:
            s.set_image(ponder.Image.from_rgb(img.tobytes(), img.shape[1], img.shape[0]))
            out.append(s.tokens())
    return np.array(out)


def scenes(per_category, seed):
    from ponder_train.accuracy import prompt_set
    return [s for _, _, s in prompt_set(seed, per_category)]


def test_random_encoder_matches_reference(tmp_path):
    """A random encoder and codebook: the engine's nearest codebook vector to tanh(z / 2)."""
    t, d, vocab = random_model(seed=11)
    enc = Encoder(t.c).eval()
    path = tmp_path / "reader.gguf"
    export(t, d, vocab, str(path), encoder=enc)
    images = np.stack([render(s) for s in scenes(4, 99)])
    _, white = to_white(images)
    with torch.no_grad():
        x = torch.from_numpy(white).permute(0, 3, 1, 2).float() / 127.5 - 1
        z = torch.tanh(enc(x) / 2).permute(0, 2, 3, 1)  # (B, 16, 16, D)
        dist = ((z[..., None, :] - d.codebook[None, None, None]) ** 2).sum(-1)
        ref = dist.argmin(-1).reshape(len(images), -1).numpy()
    got = engine_codes(ponder.Model(path), images)
    assert got.shape == ref.shape
    assert (got == ref).mean() >= 0.995, f"{(got == ref).mean():.4f} of cells agree"


@pytest.mark.skipif(os.environ.get("PONDER_SKIP_SHIPPED") == "1", reason="PONDER_SKIP_SHIPPED=1")
def test_shipped_encoder_matches_pytorch_on_benchmark_renders():
    """The shipped model's encoder, run by PyTorch's FSQ tokenizer (sigmoid and rounding) and by
    the engine, over the ground-truth renders of the benchmark's prompt set (seed 2026, 100
    prompts per category, as training/prompt_accuracy.py builds it)."""
    model = ponder.Model(SHIPPED)
    assert model.can_read_images, "the shipped model must carry its encoder"
    decoder, encoder = load_decoder(str(SHIPPED)), load_encoder(str(SHIPPED))
    tok = VQAutoencoder(Config(**{**decoder.c.__dict__, "encoder_widths": encoder.c.encoder_widths})).eval()
    tok.decoder.load_state_dict(decoder.state_dict())
    tok.encoder.load_state_dict(encoder.state_dict())
    images = np.stack([render(s) for s in scenes(100, 2026)])
    _, white = to_white(images)
    with torch.no_grad():
        ref = torch.cat([tok.encode(torch.from_numpy(white[k:k + 64])) for k in range(0, len(white), 64)])
    ref = ref.reshape(len(images), -1).numpy()
    got = engine_codes(model, images)
    agree = (got == ref).mean()
    print(f"{agree:.5f} of {got.size} cells agree over {len(images)} renders")
    assert agree >= 0.995
