"""Retrain the image tokenizer's decoder on the codes of its frozen encoder.

    python training/train_decoder.py --tokenizer checkpoints/tokenizer.pt --out checkpoints/decoders \
        --widths 96,64,48,32 --widths 128,96,64,48 --data 120000 --max-minutes 4 [--device cuda]

The encoder, and so every code, stays exactly as the transformer was trained on it: a better
decoder improves the images of an existing model without retraining the model. Each
--widths trains one decoder (all on the same batches): the tokenizer's own widths continue
from its decoder, other widths start afresh. Each is written to --out as a tokenizer
checkpoint (tokenizer-w<widths>.pt) whenever its validation PSNR improves, and as it ends
(tokenizer-w<widths>-final.pt: a loss that aims at more than PSNR can end below its start),
and is linked into a model file with `python -m ponder_train.export --relink MODEL
--tokenizer CHECKPOINT`.
"""
import argparse
import os
import time

import torch

from ponder_train import checkpoint, options
from ponder_train.data import example_chunks, folder_chunks, make_examples
from ponder_train.model import Config
from ponder_train.scenes import CATEGORIES
from ponder_train.schedule import RunLength, warmup_cosine
from ponder_train.vq_autoencoder import VQAutoencoder, psnr, reconstruction_loss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True, help="folder for the retrained tokenizers")
    ap.add_argument("--widths", action="append", help="decoder widths, from the grid up (repeatable)")
    ap.add_argument("--data", type=int, default=100000, help="distinct training images")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3, help="for fresh decoders; continued ones get a quarter")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this long (the LR decays over it)")
    ap.add_argument("--validate-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--render-dir", help="read the images from chunks rendered there with --seed "
                    "(python -m ponder_train.data) instead of rendering them")
    options.add_reconstruction_loss(ap)
    ap.add_argument("--mix", help="prompt kinds the training scenes are drawn from, comma-separated, "
                    "repeats weigh a kind more (default: the transformer's mix, data.TRAIN_MIX)")
    ap.add_argument("--device", default="cpu")
    options.add_bf16(ap)
    args = ap.parse_args()
    if args.mix:
        unknown = set(args.mix.split(",")) - set(CATEGORIES + ["any"])
        if unknown or args.render_dir:
            ap.error(f"--mix: unknown kinds {sorted(unknown)}" if unknown else "--mix does not apply to --render-dir")
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)
    dev = torch.device(args.device)
    amp = options.autocast(args, dev)
    os.makedirs(args.out, exist_ok=True)

    ck = torch.load(args.tokenizer, map_location=dev)
    base_c = Config(**ck["config"])
    base = VQAutoencoder(base_c).to(dev).eval()
    base.load_state_dict(ck["model"])

    t0 = time.time()
    images, codes = [], []
    with torch.no_grad():
        chunks = (folder_chunks(args.data, args.seed, args.render_dir) if args.render_dir
                  else example_chunks(args.data, args.seed, mix=args.mix and args.mix.split(",")))
        for chunk, _, _ in chunks:
            x = torch.from_numpy(chunk).to(dev)
            images.append(x)
            codes.append(base.encode(x))
    images, codes = torch.cat(images), torch.cat(codes)
    val = torch.from_numpy(make_examples(256, seed=10_000 + args.seed, workers=1)[0]).to(dev)
    with torch.no_grad():
        val_codes = base.encode(val)
    print(f"data: {len(images)} images rendered and encoded in {time.time() - t0:.0f} s", flush=True)

    runs = []
    for widths in args.widths or [",".join(map(str, base_c.decoder_widths))]:
        w = [int(v) for v in widths.split(",")]
        c = Config(**{**base_c.__dict__, "decoder_widths": w,
                      "encoder_widths": base_c.encoder_widths or list(reversed(base_c.decoder_widths))})
        model = VQAutoencoder(c).to(dev)
        model.encoder.load_state_dict(base.encoder.state_dict())
        model.encoder.requires_grad_(False)
        fresh = w != base_c.decoder_widths
        if not fresh:
            model.decoder.load_state_dict(base.decoder.state_dict())
        params = [p for p in model.decoder.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, fused=dev.type == "cuda")
        name = "tokenizer-w" + "-".join(map(str, w)) + ".pt"
        runs.append(dict(model=model, opt=opt, lr=args.lr if fresh else args.lr / 4, fresh=fresh,
                         path=os.path.join(args.out, name), best=-1.0, widths=w))
        print(f"{name}: {sum(p.numel() for p in params) / 1e6:.2f} M decoder parameters, "
              f"{'fresh' if fresh else 'continued'}", flush=True)

    def validate(step, final=False):
        for r in runs:
            m = r["model"].eval()
            with torch.no_grad():
                rec8 = m.decoder.to_rgb8(m.decode(val_codes).float()).cpu()
            p = psnr(rec8, val.cpu())
            better = p > r["best"]
            if better:
                r["best"] = p
                checkpoint.save(r["path"], m, None, step, m.c, args, validation_psnr=p)
            if final:
                checkpoint.save(os.path.splitext(r["path"])[0] + "-final.pt", m, None, step, m.c, args, validation_psnr=p)
            print(f"step {step} {os.path.basename(r['path'])} validation PSNR {p:.2f} dB"
                  f"{' (saved)' if better else ''}", flush=True)

    validate(0)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    step = 0
    run = RunLength(args.steps, args.max_minutes)
    while not run.over(step):
        progress = run.progress(step)
        idx = torch.randint(0, len(images), (args.batch,), generator=gen).to(dev)
        x = images[idx].permute(0, 3, 1, 2).float() / 127.5 - 1
        z = codes[idx]
        for r in runs:
            lr = r["lr"] * warmup_cosine(step, progress, warmup=200, floor=0.1)
            for g in r["opt"].param_groups:
                g["lr"] = lr
            d = r["model"].train().decoder
            with torch.autocast(**amp):
                out, logits = d.decode_with_logits(d.codebook[z].permute(0, 3, 1, 2))
            loss = reconstruction_loss(out.float(), logits.float(), x, args.outline_weight, args.stray_weight, args.pure_classes)
            r["opt"].zero_grad(set_to_none=True)
            loss.backward()
            r["opt"].step()
            r["loss"] = loss.item() if (step + 1) % 100 == 0 else None
        step += 1
        if step % 100 == 0:
            print(f"step {step} losses " + " ".join(f"{r['loss']:.4f}" for r in runs)
                  + f" {(time.time() - t0) / 100:.3f} s/step", flush=True)
            t0 = time.time()
        if step % args.validate_every == 0:
            validate(step)
    validate(step, final=True)


if __name__ == "__main__":
    main()
