"""The reference implementation of Ponder's architecture, readable in one sitting.

The transformer is Llama: RMSNorm, rotary position embedding on interleaved pairs
(dims 2i and 2i+1, as llama.cpp's "normal" rope), grouped-query attention, SwiGLU.
The VQ decoder is a list of operations (docs/format.md) over named convolutions.
The Swift engine implements exactly this; tests compare the two on the same weights.
"""
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    dim: int = 256
    layers: int = 6
    heads: int = 8
    kv_heads: int = 8
    ffn_dim: int = 704
    context_length: int = 384
    norm_eps: float = 1e-5
    rope_base: float = 10000.0
    vocab_size: int = 0  # words + codebook; set from the vocabulary
    # Image geometry and decoder
    image_size: int = 128
    grid_size: int = 16
    codebook_size: int = 512
    codebook_dim: int = 16
    # Channels of the decoder at each resolution, from the token grid up (16², 32², 64², 128²).
    decoder_widths: list = field(default_factory=lambda: [64, 48, 32, 16])
    # The tokenizer's encoder (training only), from 128² down; None: the decoder's, reversed.
    encoder_widths: list | None = None


def palette_rgb():
    """The world's 12 colours (8 object colours, 4 backgrounds) in the decoder's [-1, 1] units."""
    from .language.world import BACKGROUND_RGB, COLOUR_RGB
    return torch.tensor(COLOUR_RGB + BACKGROUND_RGB, dtype=torch.float32) / 127.5 - 1


def decoder_layout(codebook_dim: int, widths: list[int]):
    """The decoder's operation list (docs/format.md) and each convolution's (in, out, kernel):
    conv in, then per upsampling step a residual block, a 2x upsample and a conv to the next
    width, then per pixel a softmax over the world's 12 colours and their mix (a fixed 1 × 1
    convolution holding the palette). Every output pixel is thus a blend of world colours,
    as anti-aliased renders are, and colours come out exact."""
    ops, shapes = ["conv in", "silu"], {"in": (codebook_dim, widths[0], 3)}
    for i in range(len(widths) - 1):
        ops += ["push", f"conv res{i}a", "silu", f"conv res{i}b", "add", "upsample", f"conv up{i}", "silu"]
        shapes[f"res{i}a"] = shapes[f"res{i}b"] = (widths[i], widths[i], 3)
        shapes[f"up{i}"] = (widths[i], widths[i + 1], 3)
    ops += ["conv out", "softmax", "conv palette"]
    shapes["out"] = (widths[-1], 12, 3)
    shapes["palette"] = (12, 3, 1)
    return ops, shapes


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim: int, length: int, base: float):
    freqs = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(length, dtype=torch.float64)[:, None] * freqs[None, :]
    return torch.cos(angles).float(), torch.sin(angles).float()


def apply_rope(x, cos, sin):
    """x: (batch, heads, seq, head_dim); rotates the pairs (2i, 2i+1)."""
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return out.flatten(-2)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        hd = c.dim // c.heads
        self.c, self.hd = c, hd
        self.attn_norm = RMSNorm(c.dim, c.norm_eps)
        self.wq = nn.Linear(c.dim, c.heads * hd, bias=False)
        self.wk = nn.Linear(c.dim, c.kv_heads * hd, bias=False)
        self.wv = nn.Linear(c.dim, c.kv_heads * hd, bias=False)
        self.wo = nn.Linear(c.heads * hd, c.dim, bias=False)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.gate = nn.Linear(c.dim, c.ffn_dim, bias=False)
        self.up = nn.Linear(c.dim, c.ffn_dim, bias=False)
        self.down = nn.Linear(c.ffn_dim, c.dim, bias=False)
        # The engine keeps keys and values in half precision; export.quantize_activations
        # sets this so that the reference rounds them as the engine does.
        self.cache_in_halves = False

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        c, hd = self.c, self.hd
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, c.heads, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, c.kv_heads, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, c.kv_heads, hd).transpose(1, 2)
        # The tables are fp32; under bf16 autocast q and k come back to v's type for attention.
        q, k = apply_rope(q, cos, sin).to(v.dtype), apply_rope(k, cos, sin).to(v.dtype)
        if self.cache_in_halves:
            k, v = k.half().to(v.dtype), v.half().to(v.dtype)
        if c.kv_heads != c.heads:
            k = k.repeat_interleave(c.heads // c.kv_heads, dim=1)
            v = v.repeat_interleave(c.heads // c.kv_heads, dim=1)
        if mask is None:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, c.heads * hd))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Transformer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c.vocab_size, c.dim)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.output = nn.Linear(c.dim, c.vocab_size, bias=False)
        cos, sin = rope_tables(c.dim // c.heads, c.context_length, c.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, tokens, attn_mask=None):
        """tokens: (batch, seq) → logits (batch, seq, vocab). Causal unless a mask is given."""
        T = tokens.shape[1]
        x = self.embed(tokens)
        cos, sin = self.cos[:T], self.sin[:T]
        for b in self.blocks:
            x = b(x, cos, sin, attn_mask)
        return self.output(self.norm(x))


class VQDecoder(nn.Module):
    """Codes on the grid → codebook vectors → the operation list → RGB in [-1, 1]."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.ops, shapes = decoder_layout(c.codebook_dim, c.decoder_widths)
        self.codebook = nn.Parameter(torch.randn(c.codebook_size, c.codebook_dim))
        self.convs = nn.ModuleDict({name: nn.Conv2d(i, o, k, padding=k // 2) for name, (i, o, k) in shapes.items()})
        with torch.no_grad():  # the palette mix is fixed, not learned
            self.convs["palette"].weight.copy_(palette_rgb().t()[:, :, None, None])
            self.convs["palette"].bias.zero_()
        self.convs["palette"].requires_grad_(False)

    def forward(self, codes):
        """codes: (batch, grid, grid) long → (batch, 3, H, W) in [-1, 1]."""
        return self.decode_vectors(self.codebook[codes].permute(0, 3, 1, 2))

    def decode_with_logits(self, x):
        """(batch, codebook_dim, grid, grid) → (RGB in [-1, 1], the per-pixel palette logits
        before the softmax), for the tokenizer's training losses."""
        logits = self.decode_vectors(x, stop_before="softmax")
        return self.convs["palette"](torch.softmax(logits.float(), dim=1)), logits

    def decode_vectors(self, x, stop_before=None):
        """(batch, codebook_dim, grid, grid) → (batch, 3, H, W); with `stop_before`, the
        activation just before the first such operation (for training losses)."""
        saved = []
        for op in self.ops:
            if op == stop_before:
                return x
            parts = op.split()
            if parts[0] == "conv":
                x = self.convs[parts[1]](x)
            elif op == "silu":
                x = F.silu(x)
            elif op == "relu":
                x = F.relu(x)
            elif op == "tanh":
                x = torch.tanh(x)
            elif op == "softmax":
                x = torch.softmax(x, dim=1)
            elif op == "upsample":
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            elif op == "push":
                saved.append(x)
            elif op == "add":
                x = x + saved.pop()
            else:
                raise ValueError(f"unknown decoder op {op!r}")
        return x

    @staticmethod
    def to_rgb8(x):
        """(batch, 3, H, W) in [-1, 1] → (batch, H, W, 3) uint8, as the engine maps it."""
        v = torch.round((x + 1) * 127.5).clamp(0, 255)
        return v.permute(0, 2, 3, 1).to(torch.uint8)
