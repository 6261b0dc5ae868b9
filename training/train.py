"""Train Ponder's transformer on the Shapes world and export the shipped model.

    python training/train.py --tokenizer checkpoints/tokenizer.pt --out checkpoints/ponder.pt \
        --examples 60000 --steps 6000 --export models/ponder-shapes-q8_0.gguf [--device cuda]

One set of weights learns the sequences of ponder_train/sequences.py (docs/format.md):
think, direct, uncond and describe, and plan-only ones for fine-tunes (off by default:
--mode-weights). The loss covers what the model writes (plan, </think>, image codes), never
the prompt.
Data is made from --seed (rendered in many processes, tokenized by the trained tokenizer)
and cached in --data-dir; checkpoints go to --out every --save-every steps and a run
resumes from there.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from ponder_train import checkpoint, options
from ponder_train.export import export, load_model
from ponder_train.model import Config, Transformer
from ponder_train.schedule import RunLength, warmup_cosine
from ponder_train.sequences import MODE_WEIGHTS, MODES, PAD, context_length, dataset, make_batch, raster_order
from ponder_train.vocab import Vocabulary
from ponder_train.vq_autoencoder import load_tokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--export", help="write the Q8_0 GGUF here when training ends")
    ap.add_argument("--init", help="start from this transformer checkpoint's weights, or a model file's (.gguf: its "
                    "Q8_0 values), same sizes, with a fresh optimizer and LR schedule: to continue a finished run "
                    "on new data (a checkpoint at --out wins)")
    ap.add_argument("--examples", type=int, default=60000)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--cfg-scale", type=float, default=2.0, help="guidance scale written into the model file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--render-dir", help="read rendered chunks from here (python -m ponder_train.data) as they come")
    options.add_bf16(ap)
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--mode-weights", default=",".join(map(str, MODE_WEIGHTS)),
                    help="how often each of " + ", ".join(MODES) + " is drawn")
    ap.add_argument("--mode-per-batch", action="store_true",
                    help="one mode for a whole batch (so plan-only batches stay short), not one per sequence")
    ap.add_argument("--describe-order", choices=["plan", "raster"], default="plan",
                    help="the order of objects in describe's plans: the prompt's (as the plan has them) or raster "
                    "(top to bottom, then left to right)")
    ap.add_argument("--warmup", type=int, default=300, help="LR warm-up steps")
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="train for this long once the data is ready, then stop (and export); the LR decays over it")
    args = ap.parse_args()
    mode_p = torch.tensor([float(w) for w in args.mode_weights.split(",")])
    if len(mode_p) != len(MODES) or (mode_p < 0).any() or mode_p.sum() <= 0:
        ap.error(f"--mode-weights needs {len(MODES)} weights, not negative, not all zero")
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)  # denormals (from softmax tails) slow CPUs many times over
    dev = torch.device(args.device)
    start = time.time()

    tok, tc = load_tokenizer(args.tokenizer, dev)
    vocab = Vocabulary(tc.codebook_size)
    P, Q, codes = dataset(tok, args.examples, args.seed, args.data_dir, args.render_dir, dev)
    print(f"dataset: {len(codes)} examples, {len(np.unique(codes))} distinct codes used", flush=True)

    c = Config(dim=args.dim, layers=args.layers, heads=args.heads, kv_heads=args.heads, ffn_dim=args.ffn,
               context_length=context_length(tc.grid_size ** 2), vocab_size=vocab.size, codebook_size=tc.codebook_size,
               codebook_dim=tc.codebook_dim, decoder_widths=tc.decoder_widths)
    model = Transformer(c).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"transformer: {n_params / 1e6:.2f} M parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=dev.type == "cuda")
    step = checkpoint.resume(args.out, model, opt, dev)
    if step == 0 and args.init and args.init.endswith(".gguf"):
        model.load_state_dict(load_model(args.init)[0].state_dict())
        print(f"weights from {args.init}", flush=True)
    elif step == 0 and args.init:
        checkpoint.load_weights(args.init, model, dev)

    def save():
        checkpoint.save(args.out, model, opt, step, c, args)

    # The dataset sits on the training device; batches are drawn and built there.
    Qd = torch.from_numpy(raster_order(Q, vocab)).to(dev) if args.describe_order == "raster" else None
    P, Q, C = (torch.from_numpy(a).to(dev) for a in (P, Q, codes))
    gen = torch.Generator().manual_seed(args.seed * 31 + step)
    amp = options.autocast(args, dev)
    t0, tokens = time.time(), 0
    run = RunLength(args.steps, args.max_minutes)  # the time limit counts from here, data made
    while not run.over(step):
        lr = args.lr * warmup_cosine(step, run.progress(step), warmup=args.warmup, floor=0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, len(C), (args.batch,), generator=gen).to(dev)
        modes = torch.multinomial(mode_p, 1 if args.mode_per_batch else args.batch, replacement=True,
                                  generator=gen).expand(args.batch).to(dev)
        x, y = make_batch(idx, modes, P, Q, C, vocab, Qd)
        model.train()
        with torch.autocast(**amp):
            logits = model(x)
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.view(-1), ignore_index=PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += x.numel()
        if step % 25 == 0:
            dt = time.time() - t0
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {tokens / dt:.0f} tokens/s", flush=True)
            t0, tokens = time.time(), 0
        if step % args.save_every == 0:
            save()
    save()
    if args.export:
        model.eval().cpu()
        os.makedirs(os.path.dirname(os.path.abspath(args.export)), exist_ok=True)
        export(model, tok.decoder.cpu(), vocab, args.export, cfg_scale=args.cfg_scale, encoder=tok.encoder.cpu().eval())
        print(f"exported {args.export} ({os.path.getsize(args.export) / 1e6:.1f} MB) after {step} steps, "
              f"{(time.time() - start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
