"""Train the image tokenizer's encoder against a model file's frozen decoder.

    python training/train_encoder.py --model models/ponder-shapes-q8_0.gguf --out checkpoints/encoder.pt \
        --data 12000 --max-minutes 40 [--device cuda]

The decoder, and so what every code means, stays exactly as the transformer was trained on
it: the encoder learns to write, for a render, the codes this decoder turns back into that
render (the tokenizer's own reconstruction loss through straight-through FSQ rounding,
vq_autoencoder.reconstruction_loss). Many codes decode to nearly the same pixels (a plain white
cell, say), and the transformer knows only the ones the original encoder wrote. So with
--drawn N the model file's transformer first draws N images through the library (prompts
from --seed, never the benchmark's), and the encoder also learns to give each decoded
drawing back the codes it was drawn from (its FSQ levels, by squared error before rounding):
the codes the transformer reads and writes. Then the transformer can read the encoder's
codes (describe) and the engine can encode pictures for editing. The output is a tokenizer checkpoint (the file's decoder with
the new encoder), written whenever validation PSNR improves and at the end, and linked into
a model file, encoder included, with
`python -m ponder_train.export --relink MODEL --tokenizer CHECKPOINT --out NEW.gguf`.
Resumes from --out when it exists.
"""
import argparse
import os
import time

import torch

from ponder_train import checkpoint
from ponder_train.data import make_examples
from ponder_train.export import load_decoder
from ponder_train.model import Config
from ponder_train.schedule import RunLength, warmup_cosine
from ponder_train.vq_autoencoder import VQAutoencoder, psnr, reconstruction_loss


def drawn_codes_of(model_path, n, seed, out):
    """(n, 16, 16) codes of n images the model file draws through the library (thinking, its
    default guidance, unchecked), from prompts of every kind drawn from `seed`; cached next
    to `out`."""
    import numpy as np
    path = out.removesuffix(".pt") + f"-drawn{n}-seed{seed}.npy"
    if os.path.exists(path):
        return torch.from_numpy(np.load(path))
    from ponder_train.binding import ponder
    from ponder_train.data import TRAIN_MIX
    from ponder_train.scenes import sample_example
    rng = np.random.default_rng(seed * 7_919 + 1)
    model = ponder.Model(model_path)
    codes = []
    t0 = time.time()
    for i in range(n):
        text, _, _ = sample_example(rng, TRAIN_MIX[int(rng.integers(len(TRAIN_MIX)))])
        codes.append(model.generate(text, seed=seed + i, check=0).codes)
        if (i + 1) % 200 == 0:
            print(f"drawn {i + 1}/{n} in {time.time() - t0:.0f} s", flush=True)
    codes = np.array(codes, np.int64).reshape(n, 16, 16)
    np.save(path, codes)
    return torch.from_numpy(codes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model file whose decoder the encoder learns to invert")
    ap.add_argument("--out", required=True, help="tokenizer checkpoint to write (and resume from)")
    ap.add_argument("--encoder-widths", default="32,48,64,96", help="from the image down (128², 64², 32², 16²)")
    ap.add_argument("--data", type=int, default=12000, help="distinct training images")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this long (the LR decays over it)")
    ap.add_argument("--validate-every", type=int, default=200)
    ap.add_argument("--drawn", type=int, default=0, help="images drawn by the model file's transformer whose codes "
                    "the encoder learns to give back (0: reconstruction alone)")
    ap.add_argument("--drawn-weight", type=float, default=1.0, help="weight of the drawn codes' loss")
    ap.add_argument("--drawn-batch", type=int, default=32, help="drawn pictures per step (beside --batch renders)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)
    dev = torch.device(args.device)

    decoder = load_decoder(args.model)
    c = Config(**{**decoder.c.__dict__, "encoder_widths": [int(w) for w in args.encoder_widths.split(",")]})
    model = VQAutoencoder(c).to(dev)
    model.decoder.load_state_dict(decoder.state_dict())
    model.decoder.requires_grad_(False)
    model.decoder.eval()
    opt = torch.optim.AdamW(model.encoder.parameters(), lr=args.lr, weight_decay=0.0)
    step = checkpoint.resume(args.out, model, opt, dev)
    best_path = args.out.removesuffix(".pt") + "-best.pt"
    best = torch.load(best_path, map_location="cpu")["validation_psnr"] if step and os.path.exists(best_path) else -1.0

    t0 = time.time()
    images = torch.from_numpy(make_examples(args.data, seed=args.seed)[0])
    val = torch.from_numpy(make_examples(256, seed=20_000 + args.seed, workers=1)[0])
    print(f"data: {len(images)} train + {len(val)} validation images in {time.time() - t0:.0f} s", flush=True)

    drawn_codes = drawn_codes_of(args.model, args.drawn, args.seed, args.out) if args.drawn else None
    if drawn_codes is not None:
        print(f"drawn: {len(drawn_codes)} images' codes, {len(torch.unique(drawn_codes))} distinct", flush=True)
        levels = model.levels.long()
        # Each code's FSQ level per dimension (code = sum of level × radix).
        drawn_levels = torch.stack([(drawn_codes // r) % l for r, l in zip(model.radix.tolist(), levels.tolist())], 1).float()
        with torch.no_grad():  # the pictures as the engine decodes them (RGB8), once
            drawn_pictures = torch.cat([model.decoder.to_rgb8(model.decoder(drawn_codes[k:k + 64].to(dev)).float()).cpu()
                                        for k in range(0, len(drawn_codes), 64)])
        # The last tenth is held out: how many of its cells the encoder gives back.
        held = max(1, len(drawn_codes) // 10)
        val_drawn, val_drawn_codes = drawn_pictures[-held:], drawn_codes[-held:]
        drawn_pictures, drawn_codes, drawn_levels = drawn_pictures[:-held], drawn_codes[:-held], drawn_levels[:-held]

    def validate_and_save(final=False):
        nonlocal best
        model.eval()
        with torch.no_grad():
            rec8 = model.decoder.to_rgb8(model.decode(model.encode(val.to(dev))).float()).cpu()
        p = psnr(rec8, val)
        if drawn_codes is not None:
            with torch.no_grad():
                back = torch.cat([model.encode(val_drawn[k:k + 64].to(dev)).cpu() for k in range(0, len(val_drawn), 64)])
            print(f"step {step} held-out drawings: {(back == val_drawn_codes).float().mean():.4f} of cells given back", flush=True)
        checkpoint.save(args.out, model, opt, step, c, args)
        if p > best:
            best = p
            checkpoint.save(best_path, model, None, step, c, args, validation_psnr=p)
        print(f"step {step} validation PSNR {p:.2f} dB{' (best)' if p == best else ''}", flush=True)

    gen = torch.Generator().manual_seed(args.seed * 7919 + step)
    run = RunLength(args.steps, args.max_minutes)
    t0 = time.time()
    while not run.over(step):
        lr = args.lr * warmup_cosine(step, run.progress(step), warmup=100, floor=0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, len(images), (args.batch,), generator=gen)
        x = images[idx].to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
        model.encoder.train()
        out, _, _, _, logits = model(x, with_logits=True)
        loss = reconstruction_loss(out.float(), logits.float(), x)
        if drawn_codes is not None:
            k = torch.randint(0, len(drawn_codes), (args.drawn_batch,), generator=gen)
            pictures = drawn_pictures[k].to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
            s = torch.sigmoid(model.encoder(pictures)) * (model.levels[None, :, None, None] - 1)
            loss = loss + args.drawn_weight * ((s - drawn_levels[k].to(dev)) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.encoder.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {(time.time() - t0) / 50:.2f} s/step", flush=True)
            t0 = time.time()
        if step % args.validate_every == 0:
            validate_and_save()
    validate_and_save(final=True)


if __name__ == "__main__":
    main()
