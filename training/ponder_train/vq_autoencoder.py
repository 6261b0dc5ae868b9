"""The image tokenizer, a VQ autoencoder: from 128 × 128 RGB to a 16 × 16 grid of codes
and back. The decoder is the engine's (model.VQDecoder, exported to GGUF); the encoder and the
quantizer exist only in training.

Quantization is finite scalar quantization (FSQ, Mentzer et al. 2023): the encoder writes a
few numbers per grid cell, each squashed and rounded to a fixed number of levels; a code is
the combination of levels (8 × 8 × 4 × 4 = 1024 codes). Every code is a point of that grid,
so there is no codebook to collapse, and training is as smooth as a plain autoencoder's.
The grid points, in code order, are the decoder's codebook, which is what the engine reads.

Codes always describe a scene on white: an image on another background is moved onto
white before it is encoded (to_white), and the decoder's image is moved onto the
background afterwards (from_white), as the engine does with the plan's background
(docs/format.md, "Backgrounds").
"""
import itertools
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import Config, VQDecoder, palette_rgb
from .image.background import detect_background, rebackground

LEVELS = (8, 8, 4, 4)


def fsq_grid(levels=LEVELS):
    """Every code's vector, in code order: each level mapped to [-1, 1]."""
    pts = itertools.product(*[range(n) for n in levels])
    return torch.tensor([[2 * v / (n - 1) - 1 for v, n in zip(p, levels)] for p in pts], dtype=torch.float32)


def to_white(images):
    """uint8 (B, H, W, 3) images on any of the world's backgrounds → (each one's background,
    the images moved onto white): what the encoder reads."""
    backgrounds = [detect_background(i) for i in images]
    return backgrounds, np.stack([rebackground(i, b, 0) for i, b in zip(images, backgrounds)])


def from_white(images, backgrounds):
    """uint8 (B, H, W, 3) images on white (the decoder's) → moved onto `backgrounds`."""
    return np.stack([rebackground(i, 0, b) for i, b in zip(images, backgrounds)])


class Encoder(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        w = c.encoder_widths or list(reversed(c.decoder_widths))  # 128², 64², 32², 16²
        layers = [nn.Conv2d(3, w[0], 3, padding=1), nn.SiLU()]
        for i in range(len(w) - 1):
            layers += [nn.Conv2d(w[i], w[i + 1], 4, stride=2, padding=1), nn.SiLU(),
                       nn.Conv2d(w[i + 1], w[i + 1], 3, padding=1), nn.SiLU()]
        layers += [nn.Conv2d(w[-1], c.codebook_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class VQAutoencoder(nn.Module):
    def __init__(self, c: Config, levels=LEVELS):
        super().__init__()
        n = 1
        for k in levels:
            n *= k
        assert c.codebook_size == n and c.codebook_dim == len(levels), "config must match the FSQ levels"
        self.c = c
        self.encoder = Encoder(c)
        self.decoder = VQDecoder(c)
        self.decoder.codebook.requires_grad_(False)
        with torch.no_grad():
            self.decoder.codebook.copy_(fsq_grid(levels))
        self.register_buffer("levels", torch.tensor(levels, dtype=torch.float32))
        radix = [1]
        for k in reversed(levels[1:]):
            radix.insert(0, radix[0] * k)
        self.register_buffer("radix", torch.tensor(radix))

    def _quantize(self, z):
        """z (B, D, H, W) → (level indices as floats with straight-through gradients, codes)."""
        L = self.levels[None, :, None, None]
        s = torch.sigmoid(z.float()) * (L - 1)  # rounding in fp32 also under bf16 autocast
        q = torch.round(s)
        codes = (q.long() * self.radix[None, :, None, None]).sum(1)
        return s + (q - s).detach(), codes

    def quantize(self, z):
        return self._quantize(z)[1]

    @torch.no_grad()
    def encode(self, images):
        """uint8 (B, H, W, 3) or float (B, 3, H, W) in [-1, 1] → codes (B, 16, 16)."""
        if images.dtype == torch.uint8:
            images = images.permute(0, 3, 1, 2).float() / 127.5 - 1
        return self.quantize(self.encoder(images))

    def decode(self, codes):
        return self.decoder(codes)

    def forward(self, x, with_logits=False):
        z = self.encoder(x)
        q, codes = self._quantize(z)
        v = 2 * q / (self.levels[None, :, None, None] - 1) - 1
        zero = torch.zeros((), device=x.device)
        if with_logits:
            out, logits = self.decoder.decode_with_logits(v)
            return out, codes, zero, z, logits
        return self.decoder.decode_vectors(v), codes, zero, z


def load_tokenizer(path, device):
    """(the tokenizer of checkpoint `path` on `device`, in eval mode; its Config)."""
    ck = torch.load(path, map_location=device)
    c = Config(**ck["config"])
    tok = VQAutoencoder(c).to(device)
    tok.load_state_dict(ck["model"])
    return tok.eval(), c


def psnr(a, b):
    """Peak signal-to-noise ratio in dB of two uint8 image tensors of the same shape."""
    mse = ((a.float() - b.float()) ** 2).mean().item()
    return 10 * math.log10(255 ** 2 / max(mse, 1e-10))


def nearest_colour(x, palette):
    """(B, 3, H, W) in [-1, 1] → (B, H, W) index of the nearest of the 12 world colours."""
    d = ((x[:, None] - palette[None, :, :, None, None]) ** 2).sum(2)
    return d.argmin(1)


def outline(x):
    """(B, 3, H, W) → (B, H, W): 1 on the pixels that differ from a 4-neighbour (the
    anti-aliased outlines of objects), 0 elsewhere."""
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum(1) > 0.01
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum(1) > 0.01
    edge = torch.zeros_like(x[:, 0], dtype=torch.bool)
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    return edge.float()


def pure_pixels(x, target):
    """(B, H, W): True where the pixel is exactly its nearest world colour `target`, not an
    anti-aliased blend. A blend's nearest colour is often a third one (a third of the
    two-colour blends at 1/4, 1/2, 3/4), so only pure pixels can name their colour."""
    d = ((x - palette_rgb().to(x.device)[target].permute(0, 3, 1, 2)) ** 2).sum(1)
    return d < 1e-3


def stray_colour(logits, target, pure=None, reach=2):
    """(B, H, W): each pixel's palette probability on colours that no pure pixel of the target
    within `reach` has (any pixel, without `pure`). An anti-aliased edge blends the colours
    on its two sides, which are near it; a colour from nowhere is a speck or a halo, which
    the evaluator reads as a small extra object however few pixels it has."""
    near = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).float()
    if pure is not None:
        near = near * pure[:, None].float()
    near = F.max_pool2d(near, 2 * reach + 1, stride=1, padding=reach)
    return (torch.softmax(logits.float(), dim=1) * (1 - near)).sum(1)


def reconstruction_loss(out, logits, x, outline_weight=0.0, stray_weight=0.0, pure_classes=False):
    """The tokenizer's training loss for a decoder output `out` (and its pre-softmax palette
    `logits`) against images `x`, all (B, ·, H, W) in [-1, 1]. `stray_weight` adds the mean
    stray_colour, which the per-pixel terms barely see: a speck is a few background pixels.
    `pure_classes` keeps the class term to pure pixels (below); off, the loss is the one the
    shipped decoder was trained with."""
    # Objects cover a few percent of a picture: weigh their pixels (those unlike the
    # background, read at the always-empty corner) ten times, or the background drowns them.
    # Their outlines decide which shape the evaluator sees (a small star's points are a few
    # pixels each), and small objects are mostly outline: `outline_weight` more on those.
    w = 1 + 9 * ((x - x[:, :, :1, :1]).abs().sum(1) > 0.01).float()
    if outline_weight:
        w = w + outline_weight * outline(x)
    # Besides the pixels, each pixel's nearest world colour as a class: a strong, direct
    # signal for the palette softmax. But a blend's nearest colour is often a third one, and
    # on outlines that teaches halos of it: the decoders measured in session 5 put over 0.3 of
    # their palette weight on a colour absent from the neighbourhood on most blend pixels.
    # With pure_classes, blends are left to the pixel term.
    mse = (w * ((out - x) ** 2).mean(1)).sum() / w.sum()
    target = nearest_colour(x, palette_rgb().to(x.device))
    pure = pure_pixels(x, target) if pure_classes or stray_weight else None
    ce = F.cross_entropy(logits, target, reduction="none")
    ce = (w * (pure if pure_classes else 1) * ce).sum() / w.sum()
    loss = mse + 0.1 * ce
    if stray_weight:
        loss = loss + stray_weight * stray_colour(logits, target, pure).mean()
    return loss
