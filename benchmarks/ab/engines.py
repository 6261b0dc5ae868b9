"""Two builds of libponder.so in one process, timed in alternation: the comparison this
machine's drift allows (its speed moves by up to 2x between consecutive processes, so two
separate benchmark runs cannot tell a 5 % change from noise).

    python benchmarks/ab/engines.py OLD/libponder.so NEW/libponder.so [--rounds 40] [--threads 2]

Each round decodes 64 tokens after a 64-token prefix and prefills 64 tokens on each build,
through ponder_eval. Prints each build's median tokens/s and the median per-round ratio
new/old. Build the old library from a checkout of the older commit (a git worktree) and copy
it aside first: a rebuild replaces the file. Both libraries carry their own Swift runtime and
are loaded with RTLD_LOCAL, so they do not see each other."""
import argparse
import ctypes as C
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import ponder  # noqa: E402  (for the parameter struct's layout only)


def open_session(path, model_path, threads):
    lib = C.CDLL(str(path))
    lib.ponder_session_default_params.restype = ponder._SessionParams
    model, session = C.c_void_p(), C.c_void_p()
    if lib.ponder_model_load(str(model_path).encode(), C.byref(model)) != 0:
        raise SystemExit(f"{path}: cannot load {model_path}")
    params = lib.ponder_session_default_params()
    params.n_threads = threads
    if lib.ponder_session_create(model, C.byref(params), C.byref(session)) != 0:
        raise SystemExit(f"{path}: cannot create a session")
    return lib, session


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--model", default=str(ROOT / "models" / "ponder-shapes-q8_0.gguf"))
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    engines = {"old": open_session(args.old, args.model, args.threads),
               "new": open_session(args.new, args.model, args.threads)}
    prefix = list(range(6, 70))

    def decode(lib, s):
        lib.ponder_eval(s, (C.c_int32 * 64)(*prefix), 64, 0, None, 0)
        one = (C.c_int32 * 1)(prefix[-1])
        t = time.perf_counter()
        for i in range(64):
            if lib.ponder_eval(s, one, 1, 64 + i, None, 0) != 0:
                raise SystemExit("ponder_eval failed")
        return 64 / (time.perf_counter() - t)

    def prefill(lib, s):
        t = time.perf_counter()
        lib.ponder_eval(s, (C.c_int32 * 64)(*prefix), 64, 0, None, 0)
        return 64 / (time.perf_counter() - t)

    rates = {(e, m): [] for e in engines for m in ("decode", "prefill")}
    for _ in range(args.rounds):
        for name, (lib, s) in engines.items():
            rates[(name, "decode")].append(decode(lib, s))
            rates[(name, "prefill")].append(prefill(lib, s))
    for m in ("decode", "prefill"):
        ratios = [b / a for a, b in zip(rates[("old", m)], rates[("new", m)])]
        print(f"{m}: old {statistics.median(rates[('old', m)]):.0f} tok/s, new {statistics.median(rates[('new', m)]):.0f} "
              f"tok/s, median per-round ratio new/old {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
