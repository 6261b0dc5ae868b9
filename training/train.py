"""Train Ponder's transformer on the Shapes world and export the shipped model.

    python training/train.py --tokenizer checkpoints/tokenizer.pt --out checkpoints/ponder.pt \
        --examples 60000 --steps 6000 --export models/ponder-shapes-q8_0.gguf [--device cuda]

One set of weights learns four kinds of sequence (docs/format.md):
    think       <bos> prompt <think> plan </think> <image> codes
    direct      <bos> prompt <image> codes                 (drawing without the plan)
    uncond      <bos> <image> codes                        (classifier-free guidance)
    describe    <bos> <describe> codes <think> plan </think>  (image → plan)
and a fifth, off by default (--mode-weights): think without the image,
    plan        <bos> prompt <think> plan </think>         (a sixth of a think's length)
for fine-tunes of the plans alone on a CPU.
The loss covers what the model writes (plan, </think>, image codes), never the prompt.
Data is made from --seed (rendered in many processes, tokenized by the trained tokenizer)
and cached in --data-dir; checkpoints go to --out every --save-every steps and a run
resumes from there.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ponder_train import checkpoint  # noqa: E402
from ponder_train.data import example_chunks, folder_chunks  # noqa: E402
from ponder_train.export import export, load_model  # noqa: E402
from ponder_train.model import Config, Transformer  # noqa: E402
from ponder_train.schedule import RunLength, warmup_cosine  # noqa: E402
from ponder_train.tokenizer import VQAutoencoder  # noqa: E402
from ponder_train.vocab import Vocabulary  # noqa: E402
from ponder_train.world import normalise  # noqa: E402

MODES = ["think", "direct", "uncond", "describe", "plan"]
MODE_WEIGHTS = [0.55, 0.2, 0.1, 0.15, 0.0]
PAD = -100  # label of positions without loss


def load_tokenizer(path, device):
    ck = torch.load(path, map_location=device)
    c = Config(**ck["config"])
    tok = VQAutoencoder(c).to(device)
    tok.load_state_dict(ck["model"])
    return tok.eval(), c


def build_dataset(args, tok, device):
    """Tokenized examples: prompt ids, plan ids (ragged, stored padded with -1) and image
    codes. Renders chunk by chunk (or reads the chunks a separate rendering process writes
    into --render-dir) and tokenizes each as it comes, so pixels never pile up in memory."""
    path = os.path.join(args.data_dir, f"examples-{args.examples}-seed{args.seed}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["prompts"], d["plans"], d["codes"]
    os.makedirs(args.data_dir, exist_ok=True)
    vocab = Vocabulary(tok.c.codebook_size)
    t0 = time.time()
    if args.render_dir:
        chunks = folder_chunks(args.examples, args.seed, args.render_dir)
    else:
        chunks = example_chunks(args.examples, args.seed)
    codes, prompts, plans = [], [], []
    with torch.no_grad():
        for images, p, q in chunks:
            codes.append(tok.encode(torch.from_numpy(images).to(device)).view(-1, 256).cpu().numpy())
            prompts += p
            plans += q
    codes = np.concatenate(codes).astype(np.int16)
    print(f"rendered and tokenized {len(codes)} scenes in {time.time() - t0:.0f} s", flush=True)
    P = np.full((len(prompts), PROMPT_MAX), -1, np.int16)
    Q = np.full((len(plans), PLAN_MAX), -1, np.int16)
    for i, (p, q) in enumerate(zip(prompts, plans)):
        ids = vocab.encode(normalise(p))
        P[i, :len(ids)] = ids
        ids = vocab.encode(q.split())
        Q[i, :len(ids)] = ids
    np.savez(path, prompts=P, plans=Q, codes=codes)
    return P, Q, codes


PROMPT_MAX, PLAN_MAX = 56, 26  # words of the longest prompt (the engine's limit is 55) and plan


def raster_order(Q, vocab):
    """Plan ids (padded with -1) with each plan's objects sorted by centre, top to bottom and
    left to right on a tie: the order in which a reader scanning the picture meets them. The
    describe direction learns this order (train.py --describe-order raster): a plan read
    from a picture has no prompt to take its order from."""
    number = {vocab[str(n)]: n for n in range(128)}
    out = Q.copy()
    for row in out:
        n = int((row >= 0).sum())
        objs = [row[k:k + 6].copy() for k in range(2, n, 6)]
        objs.sort(key=lambda o: (number[int(o[5])], number[int(o[4])]))
        for j, o in enumerate(objs):
            row[2 + 6 * j: 8 + 6 * j] = o
    return out


def make_batch(idx, modes, P, Q, C, vocab, Qd=None):
    """Token and label tensors for examples `idx`, example k in mode MODES[modes[k]].

    P, Q, C are the dataset's prompt ids, plan ids (padded with -1) and codes as tensors on
    the training device; everything happens there in a few tensor operations. Each row is
    first laid out with every slot a sequence can have, then the slots its mode leaves out
    are squeezed away. A label is the next token where the model writes that token (plan,
    </think>, image codes) and PAD elsewhere (the prompt, and <image>, which always follows
    </think>)."""
    B, dev = len(idx), P.device
    p, q, c = P[idx].long(), Q[idx].long(), C[idx].long() + vocab.image_offset
    think, direct, uncond, describe, plan = (modes == i for i in range(5))
    qd = q if Qd is None else Qd[idx].long()  # the plans describe writes
    thought = think | plan

    def col(token):
        return torch.full((B, 1), vocab[token], dtype=torch.long, device=dev)

    def flag(mask, width=1):
        return mask[:, None].expand(B, width)

    yes = torch.ones(B, dtype=torch.bool, device=dev)
    no = ~yes
    # Layout of think, direct and uncond: <bos> prompt <think> plan </think> <image> codes
    a_tok = torch.cat([col("<bos>"), p.clamp(min=0), col("<think>"), q.clamp(min=0), col("</think>"),
                       col("<image>"), c], 1)
    a_keep = torch.cat([flag(yes), (p >= 0) & flag(~uncond, PROMPT_MAX), flag(thought), (q >= 0) & flag(thought, PLAN_MAX),
                        flag(thought), flag(~plan), flag(~plan, 256)], 1)
    a_target = torch.cat([flag(no), flag(no, PROMPT_MAX), flag(no), flag(yes, PLAN_MAX), flag(yes), flag(no),
                          flag(yes, 256)], 1)
    # Layout of describe: <bos> <describe> codes <think> plan </think>, padded to a's width.
    # Codes always show a scene on white (data.example_chunks), so the plan read from them
    # says white; whoever describes an image takes its background from the pixels.
    pad = a_tok.shape[1] - (2 + 256 + 1 + PLAN_MAX + 1)
    q_white = qd.clone()
    q_white[:, 1] = vocab["white"]  # the plan's second word: "background" <colour>
    b_tok = torch.cat([col("<bos>"), col("<describe>"), c, col("<think>"), q_white.clamp(min=0), col("</think>"),
                       torch.zeros(B, pad, dtype=torch.long, device=dev)], 1)
    b_keep = torch.cat([flag(yes, 2 + 256 + 1), q >= 0, flag(yes), flag(no, pad)], 1)
    b_target = torch.cat([flag(no, 2 + 256 + 1), flag(yes, PLAN_MAX), flag(yes), flag(no, pad)], 1)
    d = describe[:, None]
    tok, keep, target = torch.where(d, b_tok, a_tok), torch.where(d, b_keep, a_keep), torch.where(d, b_target, a_target)
    # Squeeze: a stable sort puts the kept slots first, in order.
    order = torch.sort((~keep).int(), dim=1, stable=True).indices
    keep = keep.gather(1, order)
    x = torch.where(keep, tok.gather(1, order), 0)
    target = target.gather(1, order) & keep
    T = int(keep.sum(1).max())
    x, target = x[:, :T], target[:, :T]
    y = torch.full_like(x, PAD)
    y[:, :-1] = torch.where(target[:, 1:], x[:, 1:], PAD)
    return x, y


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
    ap.add_argument("--bf16", type=int, default=-1, help="bf16 autocast (default: on CUDA only)")
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
    amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=bool(args.bf16 if args.bf16 >= 0 else dev.type == "cuda"))
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
