"""The token sequences the transformer learns (docs/format.md), the dataset they are made
from, and batches of them.

One set of weights learns four kinds of sequence:
    think       <bos> prompt <think> plan </think> <image> codes
    direct      <bos> prompt <image> codes                 (drawing without the plan)
    uncond      <bos> <image> codes                        (classifier-free guidance)
    describe    <bos> <describe> codes <think> plan </think>  (image → plan)
and a fifth, off by default: think without the image,
    plan        <bos> prompt <think> plan </think>         (a sixth of a think's length)
for fine-tunes of the plans alone on a CPU. The loss covers what the model writes (plan,
</think>, image codes), never the prompt.
"""
import os
import time

import numpy as np
import torch

from .data import example_chunks, folder_chunks
from .language.plan import MAX_TOKENS as PLAN_MAX_TOKENS
from .language.prompt import MAX_WORDS as PROMPT_MAX_WORDS
from .language.prompt import normalise
from .vocab import Vocabulary

MODES = ["think", "direct", "uncond", "describe", "plan"]
MODE_WEIGHTS = [0.55, 0.2, 0.1, 0.15, 0.0]  # how often train.py draws each mode by default
PAD = -100  # label of positions without loss
# Widths of the dataset's arrays of prompt and plan ids (padded with -1): the longest prompt
# with one slot to spare, as the cached datasets (examples-*.npz) were written, and the
# longest plan.
PROMPT_MAX, PLAN_MAX = PROMPT_MAX_WORDS + 1, PLAN_MAX_TOKENS


def context_length(image_tokens: int) -> int:
    """The context a model is made with. Its longest sequence is think's: <bos>, the longest
    prompt (55 words), <think>, the longest plan (26 tokens), </think>, <image> and the image
    tokens: 341 for a 16 × 16 grid, the sum the engine checks a model file against at load
    (Sources/PonderCore/Engine/Vocabulary.swift). Rounded up to a whole number of 32-token
    blocks, which gives the 352 every model file so far has, so exports stay byte-identical."""
    longest = 1 + PROMPT_MAX_WORDS + 1 + PLAN_MAX_TOKENS + 1 + 1 + image_tokens
    return -(-longest // 32) * 32


def dataset(tok, examples, seed, data_dir, render_dir, device):
    """Tokenized examples: prompt ids, plan ids (ragged, stored padded with -1) and image
    codes. Renders chunk by chunk (or reads the chunks a separate rendering process writes
    into `render_dir`) and tokenizes each as it comes, so pixels never pile up in memory."""
    path = os.path.join(data_dir, f"examples-{examples}-seed{seed}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["prompts"], d["plans"], d["codes"]
    os.makedirs(data_dir, exist_ok=True)
    vocab = Vocabulary(tok.c.codebook_size)
    t0 = time.time()
    if render_dir:
        chunks = folder_chunks(examples, seed, render_dir)
    else:
        chunks = example_chunks(examples, seed)
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
