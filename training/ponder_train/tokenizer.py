"""The image tokenizer: a VQ autoencoder from 128 × 128 RGB to a 16 × 16 grid of codes and
back. The decoder is the engine's (model.VQDecoder, exported to GGUF); the encoder and the
quantizer exist only in training.

Quantization is by cosine similarity: encoder outputs and codebook vectors are L2-normalised
(as in ViT-VQGAN and LlamaGen), which keeps the codebook in use; codes that fall out of use
are restarted from encoder outputs. `finalize()` stores the normalised codebook in the
decoder, which is what the engine reads.
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
    def __init__(self, c: Config, beta: float = 0.25):
        super().__init__()
        self.c = c
        self.beta = beta
        self.encoder = Encoder(c)
        self.decoder = VQDecoder(c)
        self.register_buffer("usage", torch.zeros(c.codebook_size))

    def normalized_codebook(self):
        return F.normalize(self.decoder.codebook, dim=1)

    def quantize(self, z):
        """Normalised z: (B, D, H, W) → codes (B, H, W)."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        return (flat @ self.normalized_codebook().t()).argmax(1).view(z.shape[0], z.shape[2], z.shape[3])

    @torch.no_grad()
    def encode(self, images):
        """uint8 (B, H, W, 3) or float (B, 3, H, W) in [-1, 1] → codes (B, 16, 16)."""
        if images.dtype == torch.uint8:
            images = images.permute(0, 3, 1, 2).float() / 127.5 - 1
        return self.quantize(F.normalize(self.encoder(images), dim=1))

    def decode(self, codes):
        return self.decoder.decode_vectors(self.normalized_codebook()[codes].permute(0, 3, 1, 2))

    def forward(self, x, with_logits=False):
        z = F.normalize(self.encoder(x), dim=1)
        codes = self.quantize(z)
        q = self.normalized_codebook()[codes].permute(0, 3, 1, 2)
        vq_loss = F.mse_loss(q, z.detach()) + self.beta * F.mse_loss(z, q.detach())
        if self.training:
            with torch.no_grad():
                counts = torch.bincount(codes.view(-1), minlength=self.c.codebook_size).float()
                self.usage.mul_(0.99).add_(counts / counts.sum(), alpha=0.01)
        zq = z + (q - z).detach()  # straight-through
        if with_logits:
            logits = self.decoder.decode_vectors(zq, stop_before="softmax")
            out = self.decoder.convs["palette"](torch.softmax(logits, dim=1))
            return out, codes, vq_loss, z, logits
        return self.decoder.decode_vectors(zq), codes, vq_loss, z

    @torch.no_grad()
    def restart_dead_codes(self, z, threshold=0.03):
        """Codes used less than `threshold` times their fair share restart at encoder outputs."""
        dead = self.usage < threshold / self.c.codebook_size
        n = int(dead.sum())
        if n:
            flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
            pick = flat[torch.randint(0, flat.shape[0], (n,), device=flat.device)]
            self.decoder.codebook[dead] = pick + 0.01 * torch.randn_like(pick)
            self.usage[dead] = 2 * threshold / self.c.codebook_size
        return n

    @torch.no_grad()
    def finalize(self):
        """Stores the normalised codebook, so the plain decoder (the engine's) decodes codes."""
        self.decoder.codebook.copy_(self.normalized_codebook())
        return self
