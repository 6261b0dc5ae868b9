"""The image tokenizer: a VQ autoencoder from 128 × 128 RGB to a 16 × 16 grid of codes and
back. The decoder is the engine's (model.VQDecoder, exported to GGUF); the encoder and the
quantizer exist only in training.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import Config, VQDecoder


class Encoder(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        w = list(reversed(c.decoder_widths))  # 128², 64², 32², 16²
        layers = [nn.Conv2d(3, w[0], 3, padding=1), nn.SiLU()]
        for i in range(len(w) - 1):
            layers += [nn.Conv2d(w[i], w[i + 1], 4, stride=2, padding=1), nn.SiLU(),
                       nn.Conv2d(w[i + 1], w[i + 1], 3, padding=1), nn.SiLU()]
        layers += [nn.Conv2d(w[-1], c.codebook_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class VQAutoencoder(nn.Module):
    """Encoder → nearest codebook vector (EMA codebook, dead codes restarted) → decoder."""

    def __init__(self, c: Config, decay: float = 0.99):
        super().__init__()
        self.c = c
        self.encoder = Encoder(c)
        self.decoder = VQDecoder(c)
        self.decoder.codebook.requires_grad_(False)
        self.decay = decay
        self.register_buffer("ema_count", torch.ones(c.codebook_size))
        self.register_buffer("ema_sum", self.decoder.codebook.detach().clone())

    @property
    def codebook(self):
        return self.decoder.codebook

    def quantize(self, z):
        """z: (B, D, H, W) → codes (B, H, W)."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t()
             + self.codebook.pow(2).sum(1)[None])
        return d.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    @torch.no_grad()
    def encode(self, images):
        """uint8 (B, H, W, 3) or float (B, 3, H, W) in [-1, 1] → codes (B, 16, 16)."""
        if images.dtype == torch.uint8:
            images = images.permute(0, 3, 1, 2).float() / 127.5 - 1
        return self.quantize(self.encoder(images))

    def forward(self, x):
        z = self.encoder(x)
        codes = self.quantize(z)
        q = self.codebook[codes].permute(0, 3, 1, 2)
        commit = F.mse_loss(z, q.detach())
        if self.training:
            self._ema_update(z, codes)
        out = self.decoder.decode_vectors(z + (q - z).detach())  # straight-through
        return out, codes, commit

    @torch.no_grad()
    def _ema_update(self, z, codes):
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        onehot = F.one_hot(codes.view(-1), self.c.codebook_size).type(flat.dtype)
        self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count = (self.ema_count + 1e-5) / (n + self.c.codebook_size * 1e-5) * n
        self.codebook.copy_(self.ema_sum / count[:, None])
        # Restart codes nobody uses with random encoder outputs, so the codebook stays in use.
        dead = self.ema_count < 1e-3
        if dead.any():
            pick = flat[torch.randint(0, flat.shape[0], (int(dead.sum()),), device=flat.device)]
            self.codebook[dead] = pick
            self.ema_sum[dead] = pick
            self.ema_count[dead] = 1.0
