"""Train the VQ image tokenizer on renders of the Shapes world.

    python training/train_tokenizer.py --out checkpoints/tokenizer.pt --steps 4000 [--device cuda]

Checkpoints every --save-every steps to --out and resumes from it when it exists.
"""
import argparse
import os
import time

import torch

from ponder_train import checkpoint, options
from ponder_train.data import make_examples
from ponder_train.model import Config
from ponder_train.schedule import RunLength, warmup_cosine
from ponder_train.vq_autoencoder import LEVELS, VQAutoencoder, load_tokenizer, psnr, reconstruction_loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--data", type=int, default=20000, help="distinct training images")
    ap.add_argument("--widths", default="64,48,32,16", help="decoder widths, from the grid up")
    ap.add_argument("--encoder-widths", help="encoder widths, from the image down (default: the decoder's, reversed)")
    options.add_reconstruction_loss(ap)
    ap.add_argument("--init", help="start from this tokenizer's weights and sizes (a new optimizer and schedule); "
                    "its codes then change, so a transformer must be trained on them anew")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--best", help="also write the weights alone here whenever validation PSNR is the best yet "
                    "(default: OUT with -best before .pt)")
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping (0: none)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this long (the LR decays over it)")
    options.add_bf16(ap)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)  # denormals (from softmax tails) slow CPUs many times over
    dev = torch.device(args.device)
    amp = options.autocast(args, dev)
    t0 = time.time()
    images, _, _ = make_examples(args.data, seed=args.seed)
    val, _, _ = make_examples(256, seed=10_000 + args.seed, workers=1)
    print(f"data: {len(images)} train + {len(val)} validation images in {time.time() - t0:.0f} s", flush=True)
    # On a GPU the whole set lives in its memory (60,000 renders are 3 GB): no copy per step.
    images = torch.from_numpy(images).to(dev)
    val = torch.from_numpy(val)

    if args.init:
        model, c = load_tokenizer(args.init, dev)
    else:
        c = Config(codebook_size=1024, codebook_dim=len(LEVELS), decoder_widths=[int(w) for w in args.widths.split(",")],
                   encoder_widths=[int(w) for w in args.encoder_widths.split(",")] if args.encoder_widths else None)
        model = VQAutoencoder(c).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, fused=dev.type == "cuda")
    step = checkpoint.resume(args.out, model, opt, dev)
    best_path = args.best or args.out.removesuffix(".pt") + "-best.pt"
    best = torch.load(best_path, map_location="cpu")["validation_psnr"] if step and os.path.exists(best_path) else -1.0

    def validate_and_save():
        nonlocal best
        model.eval()
        with torch.no_grad():
            rec = model.decode(model.encode(val.to(dev)))
            rec8 = torch.round((rec + 1) * 127.5).clamp(0, 255).permute(0, 2, 3, 1).cpu()
        p = psnr(rec8, val)
        print(f"step {step} validation PSNR {p:.2f} dB", flush=True)
        checkpoint.save(args.out, model, opt, step, c, args)
        # A run can collapse late (every code at once, after which the saturated quantizer
        # passes no gradient): the best weights are kept apart.
        if p > best:
            best = p
            checkpoint.save(best_path, model, None, step, c, args, validation_psnr=p)

    gen = torch.Generator().manual_seed(args.seed * 7919 + step)
    t0 = time.time()
    run = RunLength(args.steps, args.max_minutes)
    while not run.over(step):
        lr = args.lr * warmup_cosine(step, run.progress(step), warmup=200, floor=0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, len(images), (args.batch,), generator=gen).to(dev)
        x = images[idx].permute(0, 3, 1, 2).float() / 127.5 - 1
        model.train()
        with torch.autocast(**amp):
            out, codes, _, z, logits = model(x, with_logits=True)
        out, logits = out.float(), logits.float()
        loss = reconstruction_loss(out, logits, x, args.outline_weight, args.stray_weight, args.pure_classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        if step % 50 == 0 or step == args.steps:
            used = len(torch.unique(codes))
            print(f"step {step} loss {loss.item():.4f} codes in batch {used} "
                  f"lr {lr:.2e} {(time.time() - t0) / 50:.2f} s/step", flush=True)
            t0 = time.time()
        if step % args.save_every == 0 or step == args.steps:
            validate_and_save()
    if step % args.save_every != 0 and step != args.steps:
        validate_and_save()  # stopped by the time limit between checkpoints


if __name__ == "__main__":
    main()
