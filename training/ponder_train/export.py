"""Export a reference model to the engine's GGUF file (docs/format.md), with the `gguf`
package's writer and its Q8_0 quantizer.

    python -m ponder_train.export --random --out models/test-random.gguf

writes a small random-weight model (for tests), and

    python -m ponder_train.export --relink MODEL.gguf --tokenizer TOKENIZER.pt --out NEW.gguf

rewrites a model file with a tokenizer checkpoint's decoder and encoder
(training/train_decoder.py, training/train_encoder.py).
"""
import argparse
import os

import gguf
import numpy as np
import torch

from .model import Block, Config, Transformer, VQDecoder
from .sequences import context_length
from .vocab import Vocabulary

ARCH = "ponder"
PLAN_GRAMMAR_VERSION = 1
Q8 = gguf.GGMLQuantizationType.Q8_0


def q8_round_trip(w: np.ndarray) -> np.ndarray:
    """What the engine will compute with: the weights quantized to Q8_0 and back."""
    q = gguf.quants.quantize(w.astype(np.float32), Q8)
    return gguf.quants.dequantize(q, Q8).reshape(w.shape).astype(np.float32)


def transformer_matrices(t: Transformer):
    """(GGUF name, torch parameter) for every Q8_0 matrix, in file order."""
    yield "token_embd.weight", t.embed.weight
    for i, b in enumerate(t.blocks):
        p = f"blk.{i}."
        yield p + "attn_q.weight", b.wq.weight
        yield p + "attn_k.weight", b.wk.weight
        yield p + "attn_v.weight", b.wv.weight
        yield p + "attn_output.weight", b.wo.weight
        yield p + "ffn_gate.weight", b.gate.weight
        yield p + "ffn_up.weight", b.up.weight
        yield p + "ffn_down.weight", b.down.weight
    yield "output.weight", t.output.weight


def quantize_in_place(t: Transformer):
    """Replaces every exported matrix by its Q8_0 round trip, so the reference computes with
    exactly the engine's weights."""
    with torch.no_grad():
        for _, p in transformer_matrices(t):
            p.copy_(torch.from_numpy(q8_round_trip(p.detach().cpu().float().numpy())))


def q8_activations(x: torch.Tensor) -> torch.Tensor:
    """x as the engine multiplies it with Q8_0 weights (as llama.cpp does): quantized per 32
    values of its last dimension to int8 with the scale max|x| / 127, rounding half to even."""
    blocks = x.float().reshape(*x.shape[:-1], x.shape[-1] // 32, 32)
    d = blocks.abs().amax(-1, keepdim=True) / 127
    inv = torch.where(d != 0, 1 / d, torch.zeros_like(d))
    return (torch.round(blocks * inv) * d).reshape(x.shape)


def quantize_activations(t: Transformer):
    """Makes every matrix of the reference read its input through q8_activations, and every
    attention read its keys and values rounded to half precision (the engine's cache), so
    that with quantize_in_place it computes what the engine computes."""
    for m in t.modules():
        if isinstance(m, torch.nn.Linear):
            m.register_forward_pre_hook(lambda _, args: (q8_activations(args[0]),))
        if isinstance(m, Block):
            m.cache_in_halves = True


def encoder_layout(encoder):
    """The tokenizer's encoder (tokenizer.Encoder) as the file's operation list and its
    convolutions by name (docs/format.md, "Encoder"): `conv in`, per halving a stride-2
    `conv downN` and a `conv midN`, then `conv out` to the code vector, followed by `tanh`.
    FSQ rounds sigmoid(z) · (L − 1); its codebook holds 2 q / (L − 1) − 1, and
    2 sigmoid(z) − 1 = tanh(z / 2), so the nearest codebook vector to tanh(z / 2) is FSQ's
    code. The halving is folded into `out`'s weights (exact: a power of two)."""
    convs = [m for m in encoder.net if isinstance(m, torch.nn.Conv2d)]
    ops, named = ["conv in", "silu"], {"in": (convs[0], 1.0)}
    middle = convs[1:-1]
    for i in range(0, len(middle), 2):
        down, mid = middle[i], middle[i + 1]
        ops += [f"conv down{i // 2} stride {down.stride[0]}", "silu", f"conv mid{i // 2}", "silu"]
        named[f"down{i // 2}"], named[f"mid{i // 2}"] = (down, 1.0), (mid, 1.0)
    ops += ["conv out", "tanh"]
    named["out"] = (convs[-1], 0.5)
    return ops, named


def export(t: Transformer, d: VQDecoder, vocab: Vocabulary, path: str, cfg_scale: float = 1.0, encoder=None):
    """Writes the model file whole or not at all: to a file beside `path`, renamed over it once
    complete, so a failed export leaves the file that was there."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        _write(t, d, vocab, tmp, cfg_scale, encoder)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write(t: Transformer, d: VQDecoder, vocab: Vocabulary, path: str, cfg_scale: float, encoder):
    c = t.c
    w = gguf.GGUFWriter(path, ARCH)
    k = lambda name: f"{ARCH}.{name}"
    w.add_name("ponder-shapes")
    w.add_uint32(k("context_length"), c.context_length)
    w.add_uint32(k("embedding_length"), c.dim)
    w.add_uint32(k("block_count"), c.layers)
    w.add_uint32(k("feed_forward_length"), c.ffn_dim)
    w.add_uint32(k("attention.head_count"), c.heads)
    w.add_uint32(k("attention.head_count_kv"), c.kv_heads)
    w.add_float32(k("attention.layer_norm_rms_epsilon"), c.norm_eps)
    w.add_float32(k("rope.freq_base"), c.rope_base)
    w.add_array(k("vocab.tokens"), vocab.words)
    w.add_uint32(k("image.width"), c.image_size)
    w.add_uint32(k("image.height"), c.image_size)
    w.add_uint32(k("image.grid_width"), c.grid_size)
    w.add_uint32(k("image.grid_height"), c.grid_size)
    w.add_uint32(k("image.codebook_size"), c.codebook_size)
    w.add_uint32(k("plan.grammar_version"), PLAN_GRAMMAR_VERSION)
    w.add_uint32(k("world.version"), 1)
    w.add_float32(k("sampling.cfg_scale"), cfg_scale)
    w.add_array(k("decoder.ops"), d.ops)
    if encoder is not None:
        enc_ops, enc_convs = encoder_layout(encoder)
        w.add_array(k("encoder.ops"), enc_ops)

    def f32(name, tensor):
        w.add_tensor(name, tensor.detach().cpu().float().numpy().astype(np.float32))

    for name, p in transformer_matrices(t):
        q = gguf.quants.quantize(p.detach().cpu().float().numpy(), Q8)
        w.add_tensor(name, q, raw_dtype=Q8)
    for i, b in enumerate(t.blocks):
        f32(f"blk.{i}.attn_norm.weight", b.attn_norm.weight)
        f32(f"blk.{i}.ffn_norm.weight", b.ffn_norm.weight)
    f32("output_norm.weight", t.norm.weight)
    f32("vq.codebook", d.codebook)
    for name, conv in d.convs.items():
        f32(f"dec.{name}.weight", conv.weight)
        f32(f"dec.{name}.bias", conv.bias)
    if encoder is not None:
        for name, (conv, scale) in enc_convs.items():
            f32(f"enc.{name}.weight", conv.weight * scale)
            f32(f"enc.{name}.bias", conv.bias * scale)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_model(seed: int = 0, dim=64, layers=2, heads=4, kv_heads=2, ffn_dim=128,
                 codebook_size=64, codebook_dim=16, decoder_widths=(32, 32, 16, 8)):
    """A small model with random weights, scaled so its logits are far from ties."""
    torch.manual_seed(seed)
    vocab = Vocabulary(codebook_size)
    c = Config(dim=dim, layers=layers, heads=heads, kv_heads=kv_heads, ffn_dim=ffn_dim,
               context_length=context_length(Config.grid_size ** 2), vocab_size=vocab.size, codebook_size=codebook_size,
               codebook_dim=codebook_dim, decoder_widths=list(decoder_widths))
    t, d = Transformer(c), VQDecoder(c)
    with torch.no_grad():
        for p in t.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.5 / p.shape[1] ** 0.5 * 4)
        for b in t.blocks:
            b.attn_norm.weight.uniform_(0.5, 1.5)
            b.ffn_norm.weight.uniform_(0.5, 1.5)
        t.output.weight.normal_(0, 3 / dim ** 0.5)
    return t.eval(), d.eval(), vocab


def load_model(path: str):
    """The reference transformer of a model file, with its vocabulary and guidance scale.
    Its matrices come back as the file's Q8_0 values in fp32, which quantize back to the
    same bytes, so export(load_model(f)) rewrites f (the test of --relink checks this)."""
    r = gguf.GGUFReader(path)
    v = lambda key: r.fields[f"{ARCH}.{key}"].contents()
    c = Config(dim=v("embedding_length"), layers=v("block_count"), heads=v("attention.head_count"),
               kv_heads=v("attention.head_count_kv"), ffn_dim=v("feed_forward_length"),
               context_length=v("context_length"), norm_eps=v("attention.layer_norm_rms_epsilon"),
               rope_base=v("rope.freq_base"), codebook_size=v("image.codebook_size"))
    vocab = Vocabulary(c.codebook_size)
    if v("vocab.tokens") != vocab.words:
        raise ValueError(f"{path}: its vocabulary is not this version's")
    c.vocab_size = vocab.size
    t = Transformer(c)
    tensors = {x.name: x for x in r.tensors}
    params = dict(transformer_matrices(t))
    for i, b in enumerate(t.blocks):
        params[f"blk.{i}.attn_norm.weight"], params[f"blk.{i}.ffn_norm.weight"] = b.attn_norm.weight, b.ffn_norm.weight
    params["output_norm.weight"] = t.norm.weight
    with torch.no_grad():
        for name, p in params.items():
            x = tensors[name]
            data = gguf.quants.dequantize(x.data, x.tensor_type) if x.tensor_type == Q8 else np.asarray(x.data)
            p.copy_(torch.from_numpy(np.array(data, np.float32).reshape(p.shape)))
    return t.eval(), vocab, float(v("sampling.cfg_scale"))


def load_decoder(path: str) -> VQDecoder:
    """The reference decoder of a model file (its `dec.*` tensors, codebook and operation
    list, which must be the layout model.decoder_layout writes), in fp32."""
    r = gguf.GGUFReader(path)
    tensors = {x.name: np.array(x.data, np.float32).reshape([int(n) for n in reversed(x.shape)]) for x in r.tensors
               if x.name.startswith(("dec.", "vq."))}
    cb = tensors["vq.codebook"]
    widths = [tensors["dec.in.weight"].shape[0]] + [tensors[f"dec.up{i}.weight"].shape[0] for i in range(8)
                                                     if f"dec.up{i}.weight" in tensors]
    c = Config(codebook_size=cb.shape[0], codebook_dim=cb.shape[1], decoder_widths=widths)
    d = VQDecoder(c)
    if list(r.fields[f"{ARCH}.decoder.ops"].contents()) != d.ops:
        raise ValueError(f"{path}: its decoder's operations are not model.decoder_layout's")
    with torch.no_grad():
        d.codebook.copy_(torch.from_numpy(cb))
        for name, conv in d.convs.items():
            conv.weight.copy_(torch.from_numpy(tensors[f"dec.{name}.weight"]))
            conv.bias.copy_(torch.from_numpy(tensors[f"dec.{name}.bias"]))
    return d.eval()


def load_encoder(path: str):
    """The reference encoder (tokenizer.Encoder) of a model file with one, in fp32, its `out`
    convolution scaled back from the file's halved weights (encoder_layout); None without."""
    from .vq_autoencoder import Encoder
    r = gguf.GGUFReader(path)
    if f"{ARCH}.encoder.ops" not in r.fields:
        return None
    tensors = {x.name: np.array(x.data, np.float32).reshape([int(n) for n in reversed(x.shape)]) for x in r.tensors
               if x.name.startswith("enc.")}
    widths = [tensors["enc.in.weight"].shape[0]] + [tensors[f"enc.down{i}.weight"].shape[0] for i in range(8)
                                                     if f"enc.down{i}.weight" in tensors]
    c = Config(codebook_dim=tensors["enc.out.weight"].shape[0], encoder_widths=widths)
    e = Encoder(c)
    ops, named = encoder_layout(e)
    if list(r.fields[f"{ARCH}.encoder.ops"].contents()) != ops:
        raise ValueError(f"{path}: its encoder's operations are not encoder_layout's")
    with torch.no_grad():
        for name, (conv, scale) in named.items():
            conv.weight.copy_(torch.from_numpy(tensors[f"enc.{name}.weight"]) / scale)
            conv.bias.copy_(torch.from_numpy(tensors[f"enc.{name}.bias"]) / scale)
    return e.eval()


def relink(model_path: str, tokenizer_path: str, out: str, cfg_scale: float | None = None):
    """Writes `out`: the model file's transformer with the tokenizer checkpoint's decoder and
    encoder (and, if given, another default guidance scale)."""
    from .vq_autoencoder import VQAutoencoder
    t, vocab, cfg = load_model(model_path)
    ck = torch.load(tokenizer_path, map_location="cpu")
    tok = VQAutoencoder(Config(**ck["config"]))
    tok.load_state_dict(ck["model"])
    if tok.c.codebook_size != t.c.codebook_size:
        raise ValueError("the tokenizer's codebook is not the model's")
    t.c.codebook_dim, t.c.decoder_widths = tok.c.codebook_dim, tok.c.decoder_widths
    export(t, tok.decoder.eval(), vocab, out, cfg_scale=cfg if cfg_scale is None else cfg_scale,
           encoder=tok.encoder.eval())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", action="store_true", help="export a small random-weight test model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-encoder", action="store_true", help="with --random: leave the encoder out (a model that cannot read images)")
    ap.add_argument("--relink", metavar="MODEL", help="rewrite MODEL with the decoder and encoder of --tokenizer")
    ap.add_argument("--tokenizer", help="tokenizer checkpoint (training/train_decoder.py writes them)")
    ap.add_argument("--cfg-scale", type=float, help="with --relink: the default guidance scale to write")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.relink:
        if not args.tokenizer:
            ap.error("--relink needs --tokenizer")
        relink(args.relink, args.tokenizer, args.out, args.cfg_scale)
        print(f"wrote {args.out}: {args.relink}'s transformer with {args.tokenizer}'s decoder")
        return
    if not args.random:
        ap.error("this command writes random test models (--random) or relinks a decoder (--relink); "
                 "trained models are exported by training/train.py --export")
    t, d, vocab = random_model(args.seed)
    from .vq_autoencoder import Encoder
    encoder = None if args.no_encoder else Encoder(t.c).eval()
    export(t, d, vocab, args.out, encoder=encoder)
    print(f"wrote {args.out} (random weights, for tests and demos: it draws noise, not shapes)")


if __name__ == "__main__":
    main()
