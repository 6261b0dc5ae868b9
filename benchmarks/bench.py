"""Ponder's engine against llama.cpp and PyTorch on the same Llama weights (issue 4).

    benchmarks/run [--quick]

Prints a markdown table (each figure the median of several runs), writes it with a plot to
docs/performance.md, and ends with one `RATIO <name> <value>` line per target. A benchmark,
not a test: nothing here fails on timing.

Peers, all on the same thread count:
- llama.cpp through llama-cpp-python's low-level API, fed token ids: the same Q8_0 tensors
  written as a `llama` GGUF (the tensor names are llama.cpp's already, and Ponder's rope is
  its "normal" rope, so nothing is permuted); its logits are checked against Ponder's first.
- PyTorch fp32 eager: the reference model of training/ponder_train/model.py on the Q8_0
  weights dequantized, decoding with a key/value cache.
"""
import argparse
import ctypes as C
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import gguf  # noqa: E402
import ponder  # noqa: E402
from ponder_train.export import export, load_model, random_model  # noqa: E402
from ponder_train.model import apply_rope  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
DEFAULT = ROOT / "models" / "ponder-shapes-q8_0.gguf"
# LlamaGen's B and L shapes (FFN as LlamaGen sizes it: 2/3 of 4 × dim, to a multiple of 256),
# with Ponder's vocabulary and random weights.
SHAPES = {"LlamaGen-B": dict(dim=768, layers=12, heads=12, ffn_dim=2048),
          "LlamaGen-L": dict(dim=1024, layers=24, heads=16, ffn_dim=2816)}


# A pause before each measure, for every engine alike: PyTorch's OpenMP threads keep
# spinning on the cores for a while after its last operation, and a measure taken at once
# shares them. Measured 2026-11-27 in one process: Ponder's decode right after a PyTorch
# prefill ran at 1,460 and 1,095 tok/s, after the same prefill and 0.3 s at 2,871 and 2,933,
# alone at 2,777 and 2,986.
SETTLE_S = 0.5


def interleaved(measures, runs):
    """Each measure (a name → a function returning one rate) taken in turns for `runs`
    rounds, as a list with one rate per round: this VM's speed drifts by ±25 % over minutes,
    and taking the engines in turn puts that drift on all of them alike instead of on
    whichever ran during a slow spell. A ratio is then taken within each round."""
    rates = {name: [] for name in measures}
    for _ in range(runs):
        for name, fn in measures.items():
            time.sleep(SETTLE_S)
            rates[name].append(fn())
    return rates


def spread(values):
    """(minimum, median, maximum) of a list, or None for an empty or missing one."""
    values = [v for v in (values or []) if v is not None]
    return (min(values), statistics.median(values), max(values)) if values else None


def round_ratios(a, b):
    """a ÷ b within each round (both lists of per-round rates), or None when either is missing."""
    return [x / y for x, y in zip(a, b)] if a and b else None


def median_time(fn, runs, setup=None):
    """Median seconds of fn() over `runs` runs; setup() runs untimed before each."""
    times = []
    for _ in range(runs):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------
# Models


def random_shape(name):
    """A random-weight model file of one of SHAPES, made once and cached."""
    path = CACHE / f"{name}.gguf"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        s = SHAPES[name]
        t, d, vocab = random_model(0, dim=s["dim"], layers=s["layers"], heads=s["heads"], kv_heads=s["heads"],
                                   ffn_dim=s["ffn_dim"], codebook_size=1024, codebook_dim=4,
                                   decoder_widths=(32, 32, 16, 8))
        export(t, d, vocab, str(path) + ".tmp", cfg_scale=2.0)
        os.replace(str(path) + ".tmp", path)
    return path


def llama_gguf(ponder_path):
    """The model's transformer as a `llama` GGUF for llama.cpp: the same Q8_0 bytes."""
    out = CACHE / (Path(ponder_path).stem + ".llama.gguf")
    if out.exists() and out.stat().st_mtime >= Path(ponder_path).stat().st_mtime:
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    r = gguf.GGUFReader(str(ponder_path))
    v = lambda key: r.fields[f"ponder.{key}"].contents()
    # The file lists the words; the image codes take the ids after them.
    words = v("vocab.tokens") + [f"<code{i}>" for i in range(v("image.codebook_size"))]
    w = gguf.GGUFWriter(str(out) + ".tmp", "llama")
    w.add_name("ponder-as-llama")
    w.add_context_length(v("context_length"))
    w.add_embedding_length(v("embedding_length"))
    w.add_block_count(v("block_count"))
    w.add_feed_forward_length(v("feed_forward_length"))
    w.add_head_count(v("attention.head_count"))
    w.add_head_count_kv(v("attention.head_count_kv"))
    w.add_layer_norm_rms_eps(v("attention.layer_norm_rms_epsilon"))
    w.add_rope_freq_base(v("rope.freq_base"))
    w.add_rope_dimension_count(v("embedding_length") // v("attention.head_count"))
    # A vocabulary llama.cpp accepts; token ids are fed directly, so it never tokenizes.
    w.add_tokenizer_model("llama")
    w.add_token_list(words)
    w.add_token_scores([0.0] * len(words))
    w.add_token_types([1] * len(words))
    w.add_bos_token_id(1)
    w.add_eos_token_id(3)
    names = {"token_embd.weight", "output_norm.weight", "output.weight"}
    for x in r.tensors:
        if x.name in names or x.name.startswith("blk."):
            quantized = x.tensor_type == gguf.GGMLQuantizationType.Q8_0
            w.add_tensor(x.name, np.array(x.data), raw_dtype=x.tensor_type if quantized else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(str(out) + ".tmp", out)
    return out


# ---------------------------------------------------------------------------------------
# Ponder


class PonderRunner:
    def __init__(self, path, threads):
        self.model = ponder.Model(path)
        self.threads = threads
        self.vocab = self.model.info["vocab_size"]
        self.logits = (C.c_float * self.vocab)()
        self.lib = ponder._load()

    def _eval(self, s, tokens, n_past):
        arr = (C.c_int32 * len(tokens))(*tokens)
        ponder._check(self.lib.ponder_eval(s._handle, arr, len(tokens), n_past, self.logits, self.vocab))

    def logits_of(self, tokens):
        with self.model.session(threads=self.threads) as s:
            self._eval(s, tokens, 0)
            return np.frombuffer(self.logits, np.float32).copy()

    def prefill(self, tokens, runs):
        with self.model.session(threads=self.threads) as s:
            return len(tokens) / median_time(lambda: self._eval(s, tokens, 0), runs)

    def decode(self, prefix, n, runs):
        with self.model.session(threads=self.threads) as s:
            def go():
                for i in range(n):
                    self._eval(s, [prefix[-1]], len(prefix) + i)
            return n / median_time(go, runs, setup=lambda: self._eval(s, prefix, 0))

    def decode_pair(self, prompt, n, runs):
        """Guided steps per second: each step one token for each of the two sequences."""
        def go():
            with self.model.session(threads=self.threads, cfg=2.0, think=False) as s:
                s.plan(prompt)
                t0 = time.perf_counter()
                s.step(n)
                return time.perf_counter() - t0
        return n / statistics.median(go() for _ in range(runs))


# ---------------------------------------------------------------------------------------
# llama.cpp


class LlamaRunner:
    """llama.cpp through llama-cpp-python's C API, two sequences per context."""

    def __init__(self, path, threads, ctx=512):
        import llama_cpp as L
        self.L = L
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = ctx, ctx, ctx, 2
        cp.n_threads = cp.n_threads_batch = threads
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(ctx, 0, 2)

    def close(self):
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)
        self.L.llama_model_free(self.model)

    def _decode(self, items):
        """items: (token, pos, seq); logits for the last item of each sequence."""
        b = self.batch
        b.n_tokens = len(items)
        last = {seq: k for k, (_, _, seq) in enumerate(items)}
        for k, (tok, pos, seq) in enumerate(items):
            b.token[k], b.pos[k], b.n_seq_id[k] = tok, pos, 1
            b.seq_id[k][0] = seq
            b.logits[k] = 1 if last[seq] == k else 0
        if self.L.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")

    def _clear(self):
        mem = self.L.llama_get_memory(self.ctx)
        self.L.llama_memory_clear(mem, True)

    def logits_of(self, tokens):
        self._clear()
        self._decode([(t, i, 0) for i, t in enumerate(tokens)])
        p = self.L.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(p, shape=(self.n_vocab,)).copy()

    def prefill(self, tokens, runs):
        def go():
            self._clear()
            self._decode([(t, i, 0) for i, t in enumerate(tokens)])
        return len(tokens) / median_time(go, runs)

    def decode(self, prefix, n, runs, pair=False):
        seqs = (0, 1) if pair else (0,)

        def setup():
            self._clear()
            for s in seqs:
                self._decode([(t, i, s) for i, t in enumerate(prefix)])

        def go():
            for i in range(n):
                self._decode([(prefix[-1], len(prefix) + i, s) for s in seqs])
        return n / median_time(go, runs, setup)


# ---------------------------------------------------------------------------------------
# PyTorch


class TorchRunner:
    """The reference model in fp32, eager, decoding with a key/value cache."""

    def __init__(self, path, threads):
        torch.set_num_threads(threads)
        self.t, _, _ = load_model(str(path))

    @torch.no_grad()
    def _forward(self, tokens, cache, pos):
        t = self.t
        x = t.embed(torch.tensor([tokens]))
        T = len(tokens)
        cos, sin = t.cos[pos:pos + T], t.sin[pos:pos + T]
        for i, b in enumerate(t.blocks):
            c, hd = b.c, b.hd
            h = b.attn_norm(x)
            q = b.wq(h).view(1, T, c.heads, hd).transpose(1, 2)
            k = b.wk(h).view(1, T, c.kv_heads, hd).transpose(1, 2)
            v = b.wv(h).view(1, T, c.kv_heads, hd).transpose(1, 2)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
            x = x + b.wo(a.transpose(1, 2).reshape(1, T, c.heads * hd))
            h = b.ffn_norm(x)
            x = x + b.down(torch.nn.functional.silu(b.gate(h)) * b.up(h))
        return t.output(t.norm(x[:, -1]))

    def prefill(self, tokens, runs):
        return len(tokens) / median_time(lambda: self._forward(tokens, [None] * len(self.t.blocks), 0), runs)

    def decode(self, prefix, n, runs):
        cache = []

        def setup():
            cache[:] = [None] * len(self.t.blocks)
            self._forward(prefix, cache, 0)

        def go():
            for i in range(n):
                self._forward([prefix[-1]], cache, len(prefix) + i)
        return n / median_time(go, runs, setup)


# ---------------------------------------------------------------------------------------


def end_to_end(path, runs):
    """Prompt → PNG in milliseconds with the session defaults (thinking, guidance, checked
    drawing), on 1 and 2 threads taken in turns: {threads: [ms per round]}."""
    model = ponder.Model(path)
    prompt = "a small green star to the left of a large purple heart and a red ring in the top right corner"
    model.generate(prompt, seed=0, threads=1)  # warm
    times = {1: [], 2: []}
    for _ in range(runs):
        for t in times:
            time.sleep(SETTLE_S)
            times[t].append(1000 * median_time(lambda: model.generate(prompt, seed=1, threads=t), 1))
    return times


def parallel_images_per_second(path, sessions, images_each):
    model = ponder.Model(path)
    prompts = ["a red circle above a blue square", "two green stars and a purple heart"]

    def work(k):
        for i in range(images_each):
            model.generate(prompts[k % 2], seed=i, threads=1)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(sessions)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sessions * images_each / (time.perf_counter() - t0)


def memory_and_load(path):
    """Peak resident memory (MB) of a fresh process that loads the model and draws one image,
    and the median model load time (ms)."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (this one
    # holds PyTorch), while VmHWM belongs to the new process's memory alone.
    hwm = "print(int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024"
    code = (
        "import sys,time,statistics; sys.path.insert(0, sys.argv[2]); import ponder\n"
        "ts=[]\n"
        "for _ in range(5):\n"
        "    t0=time.perf_counter(); m=ponder.Model(sys.argv[1]); ts.append(time.perf_counter()-t0)\n"
        "m.generate('a red circle above a blue square', seed=0, threads=2)\n"
        + hwm + ", statistics.median(ts) * 1000)\n")
    base = "import sys; sys.path.insert(0, sys.argv[2]); import ponder; ponder._load()\n" + hwm + ")\n"
    args = [str(path), str(ROOT / "bindings" / "python")]
    rss, load_ms = map(float, subprocess.check_output([sys.executable, "-c", code, *args]).split())
    python_rss = float(subprocess.check_output([sys.executable, "-c", base, *args]))
    return rss, python_rss, load_ms


def plot(rows, path):
    """Decode tokens/s against parameters, Ponder and llama.cpp, log-log, as a PNG."""
    from PIL import Image, ImageDraw
    W, H, pad = 640, 360, 60
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    xs = [np.log10(r["params"]) for r in rows]
    ys = [np.log10(v) for r in rows for v in (r["ponder"], r["llama"]) if v]
    x0, x1, y0, y1 = min(xs) - 0.2, max(xs) + 0.2, min(ys) - 0.2, max(ys) + 0.2
    px = lambda x: pad + (x - x0) / (x1 - x0) * (W - 2 * pad)
    py = lambda y: H - pad - (y - y0) / (y1 - y0) * (H - 2 * pad)
    d.line([(pad, H - pad), (W - pad, H - pad)], fill="black")
    d.line([(pad, pad), (pad, H - pad)], fill="black")
    for key, colour in (("ponder", (40, 90, 210)), ("llama", (244, 140, 30))):
        pts = [(px(np.log10(r["params"])), py(np.log10(r[key]))) for r in rows if r[key]]
        d.line(pts, fill=colour, width=3)
        for (x, y), r in zip(pts, [r for r in rows if r[key]]):
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
            d.text((x + 6, y - 14), f"{r[key]:.0f}", fill=colour)
    for r in rows:
        d.text((px(np.log10(r["params"])) - 30, H - pad + 6), f"{r['name']} {r['params'] / 1e6:.0f}M", fill="black")
    d.text((pad, 12), "decode tokens/s (one sequence) vs parameters, log-log:  Ponder (blue), llama.cpp (orange)",
           fill="black")
    img.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer runs and tokens, the default model only")
    ap.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    T = args.threads
    try:
        import llama_cpp  # noqa: F401
        have_llama = True
    except ImportError:
        have_llama = False
        print("llama-cpp-python is not installed: the llama.cpp columns are left out", file=sys.stderr)

    models = [("default", DEFAULT)] + ([] if args.quick else [(n, random_shape(n)) for n in SHAPES])
    prefix = list(range(6, 70))  # 64 word tokens: a prompt and plan's length
    rows = []
    for name, path in models:
        params = sum(int(np.prod(x.shape)) for x in gguf.GGUFReader(str(path)).tensors
                     if x.name.startswith(("blk.", "token_embd", "output")))
        n_dec = 32 if name == "LlamaGen-L" else 64
        if args.quick:
            n_dec = 16
        r = {"name": name, "params": params}
        p = PonderRunner(path, T)
        measures = {"ponder": lambda: p.decode(prefix, n_dec, 1),
                    "ponder_pair": lambda: p.decode_pair("a red circle above a blue square", n_dec, 1),
                    "ponder_prefill": lambda: p.prefill(prefix, 1)}
        if name == "default" and T != 1:
            p1 = PonderRunner(path, 1)
            measures["ponder_1_thread"] = lambda: p1.decode(prefix, n_dec, 1)
        lr = None
        if have_llama:
            lr = LlamaRunner(llama_gguf(path), T)
            check = np.abs(lr.logits_of(prefix[:16]) - p.logits_of(prefix[:16])).max() / np.abs(p.logits_of(prefix[:16])).max()
            r["llama_check"] = float(check)
            measures.update({"llama": lambda: lr.decode(prefix, n_dec, 1),
                             "llama_pair": lambda: lr.decode(prefix, n_dec, 1, pair=True),
                             "llama_prefill": lambda: lr.prefill(prefix, 1)})
        if name == "default":
            tr = TorchRunner(path, T)
            measures.update({"torch": lambda: tr.decode(prefix, n_dec, 1),
                             "torch_prefill": lambda: tr.prefill(prefix, 1)})
        r.update(interleaved(measures, runs))
        if lr:
            lr.close()
        rows.append(r)
        print(f"{name}: {r}", file=sys.stderr, flush=True)

    e2e = end_to_end(DEFAULT, runs)
    ips = parallel_images_per_second(DEFAULT, 2, 2 if args.quick else 4)
    rss, python_rss, load_ms = memory_and_load(DEFAULT)
    model_mb = DEFAULT.stat().st_size / 2 ** 20

    med = lambda v: statistics.median(v) if v else None
    f = lambda v, d=0: "–" if v is None else f"{v:.{d}f}"
    rng = lambda sp, d=2: "–" if sp is None else f"{sp[1]:.{d}f} ({sp[0]:.{d}f}–{sp[2]:.{d}f})"
    lines = ["| model | params | engine | decode tok/s | guided pair steps/s | prefill 64 tok/s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['params'] / 1e6:.1f} M | Ponder | {f(med(r['ponder']))} | "
                     f"{f(med(r['ponder_pair']))} | {f(med(r['ponder_prefill']))} |")
        lines.append(f"| | | llama.cpp | {f(med(r.get('llama')))} | {f(med(r.get('llama_pair')))} | "
                     f"{f(med(r.get('llama_prefill')))} |")
        if r.get("torch"):
            lines.append(f"| | | PyTorch fp32 | {f(med(r['torch']))} | – | {f(med(r['torch_prefill']))} |")
    d0 = rows[0]
    # Every ratio is taken within each round (the engines ran in turn), then summarised.
    ratios = {
        "decode_default_vs_llamacpp": round_ratios(d0["ponder"], d0.get("llama")),
        "decode_default_pair_vs_llamacpp": round_ratios(d0["ponder_pair"], d0.get("llama_pair")),
        "decode_b_vs_llamacpp": round_ratios(rows[1]["ponder"], rows[1].get("llama")) if len(rows) > 1 else None,
        "decode_l_vs_llamacpp": round_ratios(rows[2]["ponder"], rows[2].get("llama")) if len(rows) > 2 else None,
        "prefill_default_vs_llamacpp": round_ratios(d0["ponder_prefill"], d0.get("llama_prefill")),
        "decode_default_vs_torch": round_ratios(d0["ponder"], d0.get("torch")),
        "decode_default_threads_2_vs_1": round_ratios(d0["ponder"], d0.get("ponder_1_thread")) if T == 2 else None,
        "image_guided_ms_2_threads": e2e[2],
        "rss_over_model_mb": [rss - python_rss - model_mb],
    }
    spreads = {k: spread(v) for k, v in ratios.items()}
    lines += ["", f"| ratio (within each of {runs} rounds) | median (min–max) |", "|---|---|"]
    names = {"decode_default_vs_llamacpp": "default model decode, Ponder ÷ llama.cpp",
             "decode_default_pair_vs_llamacpp": "default model guided pair, Ponder ÷ llama.cpp",
             "decode_b_vs_llamacpp": "LlamaGen-B decode, Ponder ÷ llama.cpp",
             "decode_l_vs_llamacpp": "LlamaGen-L decode, Ponder ÷ llama.cpp",
             "prefill_default_vs_llamacpp": "default model prefill, Ponder ÷ llama.cpp",
             "decode_default_vs_torch": "default model decode, Ponder ÷ PyTorch fp32",
             "decode_default_threads_2_vs_1": "default model decode, Ponder 2 threads ÷ 1 thread"}
    for k, label in names.items():
        if spreads[k]:
            lines.append(f"| {label} | {rng(spreads[k])} |")
    lines += ["", "| end to end, default model | median (min–max) |", "|---|---|",
              f"| prompt → PNG (plan, 256 guided tokens, checked drawing, decode, PNG), 1 thread | {rng(spread(e2e[1]), 0)} ms |",
              f"| the same, 2 threads | {rng(spread(e2e[2]), 0)} ms |",
              f"| images/s, 2 sessions in parallel (1 thread each) | {ips:.2f} |",
              f"| model load | {load_ms:.1f} ms |",
              f"| peak resident memory (load + one image) | {rss:.0f} MiB (Python itself: {python_rss:.0f} MiB) |",
              f"| model file | {model_mb:.1f} MiB |"]
    checks = [f"{r['name']} {r['llama_check']:.1e}" for r in rows if "llama_check" in r]
    table = "\n".join(lines)
    print(table)
    # RATIO lines carry the median; RANGE lines the minimum and maximum over the rounds.
    out = []
    for k, sp in spreads.items():
        out.append(f"RATIO {k} {'n/a' if sp is None else f'{sp[1]:.3f}'}")
    for k, sp in spreads.items():
        if sp is not None and sp[0] != sp[2]:
            out.append(f"RANGE {k} {sp[0]:.3f} {sp[2]:.3f}")
    if not args.quick:
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                             capture_output=True, text=True).stdout.strip()
        plot_path = Path(args.out).with_name("performance-plot.png")
        plot([{**r, "ponder": med(r["ponder"]), "llama": med(r.get("llama"))} for r in rows], plot_path)
        doc = [
            "# Performance", "",
            f"Measured {date.today().isoformat()} on an x86-64 virtual machine ({os.cpu_count()} cores, {cpu}), "
            f"{T} threads everywhere unless a row says otherwise, with `benchmarks/run` ({runs} rounds, the engines "
            "taken in turn within each round; rates are medians over the rounds, ratios are taken within each "
            "round and given as median (minimum–maximum)). "
            "Ponder's engine, llama.cpp (llama-cpp-python, built from source by `benchmarks/run`) and the "
            "PyTorch fp32 reference run the same weights: the default model and two random-weight "
            "models of LlamaGen's B and L shapes (with Ponder's 1,211-word vocabulary, hence fewer "
            "parameters than LlamaGen's own). Decode: tokens/s after a 64-token prefix (the prefix "
            "untimed); guided pair: steps/s with two sequences per step (Ponder's includes sampling each step's token); "
            "prefill: a 64-token prompt and plan in one batch.", "",
            f"llama.cpp's logits after 16 tokens differ from Ponder's by (max relative): {', '.join(checks)}." if checks else "",
            "", table, "",
            "The closing lines of the run (RATIO: the median over the rounds; RANGE: minimum and maximum; "
            "memory: peak resident minus Python's own minus the model file, in MiB; the guided image in ms):", "",
            "<!-- not run: the output of benchmarks/run -->", "```text"] + out + [
            "```", "", "![decode tokens/s against model size](performance-plot.png)", ""]
        # The written sections (from the first "## " heading on) are kept as they are.
        old = open(args.out).read() if os.path.exists(args.out) else ""
        if "\n## " in old:
            doc.append(old[old.index("\n## ") + 1:].rstrip("\n"))
        Path(args.out).write_text("\n".join(doc) + "\n")
    for line in out:
        print(line)


if __name__ == "__main__":
    main()
