"""Train Ponder's transformer on the Shapes world and export the shipped model.

    python training/train.py --tokenizer checkpoints/tokenizer.pt --out checkpoints/ponder.pt \
        --examples 60000 --steps 6000 --export models/ponder-shapes-q8_0.gguf [--device cuda]

One set of weights learns four kinds of sequence (docs/format.md):
    think       <bos> prompt <think> plan </think> <image> codes
    direct      <bos> prompt <image> codes                 (drawing without the plan)
    uncond      <bos> <image> codes                        (classifier-free guidance)
    describe    <bos> <describe> codes <think> plan </think>  (image → plan)
The loss covers what the model writes (plan, </think>, image codes), never the prompt.
Data is made from --seed (rendered in many processes, tokenized by the trained tokenizer)
and cached in --data-dir; checkpoints go to --out every --save-every steps and a run
resumes from there.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ponder_train import checkpoint  # noqa: E402
from ponder_train.data import make_examples  # noqa: E402
from ponder_train.export import export  # noqa: E402
from ponder_train.model import Config, Transformer  # noqa: E402
from ponder_train.tokenizer import VQAutoencoder  # noqa: E402
from ponder_train.vocab import Vocabulary  # noqa: E402
from ponder_train.world import normalise  # noqa: E402

MODES = ["think", "direct", "uncond", "describe"]
MODE_WEIGHTS = [0.55, 0.2, 0.1, 0.15]
PAD = -100  # label of positions without loss


def load_tokenizer(path, device):
    ck = torch.load(path, map_location=device)
    c = Config(**ck["config"])
    tok = VQAutoencoder(c).to(device)
    tok.load_state_dict(ck["model"])
    return tok.eval(), c


def build_dataset(args, tok, device):
    """Tokenized examples: prompt ids, plan ids (ragged, stored padded) and image codes."""
    path = os.path.join(args.data_dir, f"examples-{args.examples}-seed{args.seed}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["prompts"], d["plans"], d["codes"]
    os.makedirs(args.data_dir, exist_ok=True)
    vocab = Vocabulary(tok.c.codebook_size)
    t0 = time.time()
    images, prompts, plans = make_examples(args.examples, seed=args.seed)
    print(f"rendered {len(images)} scenes in {time.time() - t0:.0f} s", flush=True)
    t0 = time.time()
    codes = []
    with torch.no_grad():
        for i in range(0, len(images), 256):
            codes.append(tok.encode(torch.from_numpy(images[i:i + 256]).to(device)).view(-1, 256).cpu().numpy())
    codes = np.concatenate(codes).astype(np.int16)
    print(f"tokenized in {time.time() - t0:.0f} s", flush=True)
    P = np.full((len(prompts), 56), -1, np.int16)
    Q = np.full((len(plans), 26), -1, np.int16)
    for i, (p, q) in enumerate(zip(prompts, plans)):
        ids = vocab.encode(normalise(p))
        P[i, :len(ids)] = ids
        ids = vocab.encode(q.split())
        Q[i, :len(ids)] = ids
    np.savez(path, prompts=P, plans=Q, codes=codes)
    return P, Q, codes


def make_batch(idx, P, Q, codes, vocab, rng, device):
    """Token and label tensors for examples `idx`, each in a randomly drawn mode."""
    seqs, labels = [], []
    img_off = vocab.image_offset
    for i in idx:
        prompt = [int(t) for t in P[i] if t >= 0]
        plan = [int(t) for t in Q[i] if t >= 0]
        image = [img_off + int(c) for c in codes[i]]
        mode = rng.choice(len(MODES), p=MODE_WEIGHTS)
        if MODES[mode] == "think":
            head = [vocab["<bos>"]] + prompt + [vocab["<think>"]]
            tail = plan + [vocab["</think>"], vocab["<image>"]] + image
            # No loss on <image>: it always follows </think>.
            lab = [PAD] * (len(head) - 1) + plan + [vocab["</think>"], PAD] + image + [PAD]
        elif MODES[mode] == "direct":
            head, tail = [vocab["<bos>"]] + prompt + [vocab["<image>"]], image
            lab = [PAD] * (len(head) - 1) + image + [PAD]
        elif MODES[mode] == "uncond":
            head, tail = [vocab["<bos>"], vocab["<image>"]], image
            lab = [PAD] + image + [PAD]
        else:
            head = [vocab["<bos>"], vocab["<describe>"]] + image + [vocab["<think>"]]
            tail = plan + [vocab["</think>"]]
            lab = [PAD] * (len(head) - 1) + plan + [vocab["</think>"]] + [PAD]
        seq = head + tail
        seqs.append(seq)
        labels.append(lab[:len(seq)])
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, dtype=torch.long)
    y = torch.full((len(seqs), T), PAD, dtype=torch.long)
    for k, (s, l) in enumerate(zip(seqs, labels)):
        x[k, :len(s)] = torch.tensor(s)
        y[k, :len(l)] = torch.tensor(l)
    return x.to(device), y.to(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--export", help="write the Q8_0 GGUF here when training ends")
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
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (and export) after this long")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)  # denormals (from softmax tails) slow CPUs many times over
    dev = torch.device(args.device)
    start = time.time()

    tok, tc = load_tokenizer(args.tokenizer, dev)
    vocab = Vocabulary(tc.codebook_size)
    P, Q, codes = build_dataset(args, tok, dev)
    print(f"dataset: {len(codes)} examples, {len(np.unique(codes))} distinct codes used", flush=True)

    c = Config(dim=args.dim, layers=args.layers, heads=args.heads, kv_heads=args.heads, ffn_dim=args.ffn,
               context_length=352, vocab_size=vocab.size, codebook_size=tc.codebook_size,
               codebook_dim=tc.codebook_dim, decoder_widths=tc.decoder_widths)
    model = Transformer(c).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"transformer: {n_params / 1e6:.2f} M parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0}],
                            lr=args.lr, betas=(0.9, 0.95))
    step = checkpoint.resume(args.out, model, opt, dev)

    def save():
        checkpoint.save(args.out, model, opt, step, c, args)

    rng = np.random.default_rng(args.seed * 31 + step)
    amp = dict(device_type="cuda", dtype=torch.bfloat16) if dev.type == "cuda" else None
    t0, tokens = time.time(), 0
    while step < args.steps:
        if args.max_minutes and time.time() - start > args.max_minutes * 60:
            print(f"time limit reached at step {step}", flush=True)
            break
        # Cosine decay over the run, whichever ends it first: the step count or the time limit.
        progress = step / args.steps
        if args.max_minutes:
            progress = max(progress, (time.time() - start) / (args.max_minutes * 60))
        lr = args.lr * min(1, (step + 1) / 300) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1, progress))))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = rng.integers(0, len(codes), args.batch)
        x, y = make_batch(idx, P, Q, codes, vocab, rng, dev)
        model.train()
        if amp:
            with torch.autocast(**amp):
                logits = model(x)
        else:
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
        export(model, tok.decoder.cpu(), vocab, args.export, cfg_scale=args.cfg_scale)
        print(f"exported {args.export} ({os.path.getsize(args.export) / 1e6:.1f} MB) after {step} steps, "
              f"{(time.time() - start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
