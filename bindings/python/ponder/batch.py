"""`ponder batch`: many prompts to PNGs and their plans, on every core or on a Ray cluster
(docs/serving.md, "Batch jobs").

    ponder-batch prompts.jsonl -o out/                 # or: python -m ponder batch ...
    ponder-batch prompts.txt -o out/ --contact-sheet   # plain lines: one prompt a line
    ponder-batch prompts.jsonl -o out/ --ray           # a local Ray instance, or $RAY_ADDRESS
    ponder-batch prompts.jsonl -o out/ --ray ray://head:10001

The prompts file holds one item a line: a JSON object {"prompt": ..., "seed": S, "n": N,
"think": true, "cfg": 1.0, "check": 3} (only "prompt" is needed) or a plain prompt. Blank
lines and lines starting with '#' are skipped. A line's N images take the seeds S … S+N−1;
a line without a seed takes the next ones after the images of the lines before it, counted
from --seed, so every image of a file has its own seed.

Out: OUT/images/LLLLLL-SEED.png (LLLLLL: the line's number in the file), OUT/results.jsonl
(one record an image, in file order: line, file, prompt, seed, think, cfg, check, model,
plan, plan_satisfied, checks, redraws) and, with --contact-sheet, OUT/contact-sheet.png. The images are the
bytes a single process draws for the same seed (the library is deterministic for a seed at
any thread count), so the result does not depend on how the work was spread.

Run again, the command skips the lines whose images are all recorded, so an interrupted
job resumes where it stopped and ends with the files of an uninterrupted one.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

import ponder

RESULTS = "results.jsonl"
SHEET = "contact-sheet.png"
KEYS = {"prompt", "seed", "n", "think", "cfg", "check"}
MAX_N = 10000
SEED_MAX = 2 ** 64 - 1


@dataclass(frozen=True)
class Item:
    """One line of the prompts file and the settings it is drawn with."""
    line: int                 # its number in the file, from 1
    prompt: str
    seed: int                 # the first image's seed; image k has seed + k
    n: int
    think: bool = True
    cfg: Optional[float] = None
    check: Optional[int] = None

    @property
    def seeds(self) -> list[int]:
        return [self.seed + k for k in range(self.n)]

    def file(self, seed: int) -> str:
        return f"images/{self.line:06d}-{seed}.png"


class BatchError(Exception):
    pass


def read_items(path: Path, seed: int = 0, n: int = 1, think: bool = True, cfg: Optional[float] = None,
               check: Optional[int] = None) -> list[Item]:
    """The items of a prompts file; the options are the defaults of lines that do not set
    them. Every fault of the file is raised at once (BatchError), before anything is drawn."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BatchError(f"{path}: cannot read it as UTF-8 text ({e})") from None
    items, faults, next_seed = [], [], seed
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        fields = {"prompt": line}
        if line.startswith("{"):
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as e:
                faults.append(f"{where}: not a JSON object ({e.msg} at column {e.colno})")
                continue
            if not isinstance(fields, dict):
                faults.append(f"{where}: not a JSON object")
                continue
        unknown = sorted(set(fields) - KEYS)
        fault = None
        if unknown:
            fault = f"unknown key {', '.join(map(repr, unknown))} (keys: {', '.join(sorted(KEYS))})"
        elif not isinstance(fields.get("prompt"), str) or not fields["prompt"].strip():
            fault = "'prompt' must be a non-empty string"
        elif not _is_int(fields.get("n", n)) or not 1 <= fields.get("n", n) <= MAX_N:
            fault = f"'n' must be an integer from 1 to {MAX_N}, not {fields.get('n')!r}"
        elif "seed" in fields and (not _is_int(fields["seed"]) or not 0 <= fields["seed"] <= SEED_MAX):
            fault = f"'seed' must be an integer from 0 to 2^64-1, not {fields['seed']!r}"
        elif not isinstance(fields.get("think", think), bool):
            fault = f"'think' must be true or false, not {fields['think']!r}"
        elif fields.get("cfg") is not None and (isinstance(fields["cfg"], bool) or not isinstance(fields["cfg"], (int, float))):
            fault = f"'cfg' must be a number, not {fields['cfg']!r}"
        elif fields.get("check") is not None and (not _is_int(fields["check"]) or not 0 <= fields["check"] <= 16):
            fault = f"'check' must be an integer from 0 to 16, not {fields['check']!r}"
        if fault:
            faults.append(f"{where}: {fault}")
            continue
        count = fields.get("n", n)
        first = fields.get("seed", next_seed)
        if first + count - 1 > SEED_MAX:
            faults.append(f"{where}: seeds {first} + {count} images pass 2^64-1")
            continue
        next_seed += count  # counts images, whatever seeds the lines chose
        items.append(Item(number, fields["prompt"], first, count, fields.get("think", think),
                          None if fields.get("cfg", cfg) is None else float(fields.get("cfg", cfg)),
                          fields.get("check", check)))
    if not items and not faults:
        faults.append(f"{path}: no prompts (blank lines and lines starting with '#' are skipped)")
    if faults:
        raise BatchError("\n".join(faults[:20]) + (f"\n… and {len(faults) - 20} more" if len(faults) > 20 else ""))
    return items


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_items(model: ponder.Model, items: list[Item]) -> None:
    """Refuses a bad prompt or setting before anything is drawn: the library parses each
    prompt (no thinking: microseconds) and takes each settings in a session."""
    faults = []
    checked = {}
    for item in items:
        key = (item.prompt, item.cfg, item.check)
        if key in checked:
            continue
        try:
            with model.session(think=False, cfg=item.cfg, check=0, threads=1) as s:
                s.plan(item.prompt)
            checked[key] = True
        except ponder.PonderError as e:
            faults.append(f"line {item.line}: {e}")
    if faults:
        raise BatchError("\n".join(faults[:20]) + (f"\n… and {len(faults) - 20} more" if len(faults) > 20 else ""))


# --- drawing: the same function in a local process and in a Ray task ---------------------

_models: dict = {}


def _model(path: Optional[str]) -> ponder.Model:
    """The worker process's model, loaded once: later shards on the same worker reuse it."""
    if path not in _models:
        _models[path] = ponder.Model(path)
    return _models[path]


def draw_shard(model_path: Optional[str], threads: int, items: list[Item]) -> list[tuple[Item, list[dict]]]:
    """Draws every image of the items; returns, for each, its images as dicts (seed, png,
    plan, checks, redraws)."""
    import warnings
    model = _model(model_path)
    out = []
    for item in items:
        images = []
        for seed in item.seeds:
            with warnings.catch_warnings():  # a plan that misses its prompt is recorded, not printed
                warnings.simplefilter("ignore", UserWarning)
                image = model.generate(item.prompt, seed=seed, think=item.think, cfg=item.cfg, check=item.check,
                                       threads=threads)
            images.append({"seed": seed, "png": image.png(), "plan": image.plan, "checks": image.checks,
                           "redraws": image.redraws, "plan_satisfied": image.plan_satisfied})
        out.append((item, images))
    return out


def _local_worker(args):
    return draw_shard(*args)


def _ignore_interrupt():
    # Ctrl-C reaches the whole process group: the parent alone handles it (it stops the pool).
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def shards(items: list[Item], size: int) -> Iterator[list[Item]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def run_local(model_path, threads, todo: list[Item], workers: int) -> Iterator[tuple[Item, list[dict]]]:
    """A process per worker (spawned: no fork of a process that holds library threads),
    each loading the model once, one line at a time."""
    if workers == 1:  # no pool: the same function in this process
        for item in todo:
            yield from draw_shard(model_path, threads, [item])
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_ignore_interrupt) as pool:
        try:
            for result in pool.imap_unordered(_local_worker, [(model_path, threads, [item]) for item in todo]):
                yield from result
        except BaseException:
            pool.terminate()
            raise


def run_ray(model_path, threads, todo: list[Item], address: Optional[str], shard_size: int) -> Iterator:
    """The shards as Ray tasks (each needing `threads` CPUs) on the cluster at `address`
    (None: $RAY_ADDRESS, else a local instance). Each Ray worker process loads the model once
    and keeps it for the shards it runs after. At most twice the cluster's CPUs' worth of
    shards are out at once, so the driver holds few finished images."""
    try:
        import ray
    except ImportError:
        raise BatchError('--ray needs Ray: pip install "ponder[ray]"') from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=True, logging_level="warning")
    try:
        task = ray.remote(num_cpus=threads)(draw_shard)
        pending = list(shards(todo, shard_size))
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1) // threads))
        out = []
        while pending or out:
            while pending and len(out) < window:
                out.append(task.remote(model_path, threads, pending.pop(0)))
            ready, out = ray.wait(out, num_returns=1)
            yield from ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()


# --- the output folder ---------------------------------------------------------------------


def record(item: Item, image: dict, model_name: str) -> dict:
    return {"line": item.line, "file": item.file(image["seed"]), "prompt": item.prompt, "seed": image["seed"],
            "think": item.think, "cfg": item.cfg, "check": item.check, "model": model_name, "plan": image["plan"],
            "plan_satisfied": image["plan_satisfied"], "checks": image["checks"], "redraws": image["redraws"]}


SETTINGS = ("prompt", "think", "cfg", "check", "model")


def done_records(out: Path, items: list[Item], model_name: str) -> dict[int, list[dict]]:
    """The records of results.jsonl that still hold: those of lines with every image recorded,
    under the same settings, and on disk. A torn last line (a killed run) is dropped."""
    path = out / RESULTS
    if not path.is_file():
        return {}
    by_line: dict[int, dict[int, dict]] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            r = json.loads(raw)
            by_line.setdefault(int(r["line"]), {})[int(r["seed"])] = r
        except (ValueError, KeyError, TypeError):
            continue
    done = {}
    for item in items:
        found = by_line.get(item.line, {})
        want = {k: v for k, v in asdict(item).items() if k in SETTINGS} | {"model": model_name}
        if all(s in found and all(found[s].get(k) == want[k] for k in SETTINGS)
               and found[s].get("file") == item.file(s) and (out / item.file(s)).is_file() for s in item.seeds):
            done[item.line] = [found[s] for s in item.seeds]
    return done


def write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def contact_sheet(out: Path, records: list[dict], columns: int = 0, gap: int = 2) -> Path:
    """A grid of the images in file order, `gap` grey pixels apart."""
    images = [ponder.Image.open(out / r["file"]) for r in records]
    w, h = images[0].width, images[0].height
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = columns * (w + gap) + gap, rows * (h + gap) + gap
    canvas = bytearray(b"\x80" * (width * height * 3))
    for i, image in enumerate(images):
        x, y = gap + (i % columns) * (w + gap), gap + (i // columns) * (h + gap)
        for row in range(h):
            start = ((y + row) * width + x) * 3
            canvas[start:start + w * 3] = image.rgb[row * w * 3:(row + 1) * w * 3]
    path = out / SHEET
    ponder.Image.from_rgb(bytes(canvas), width, height).save(path)
    return path


def run(prompts: Path, out: Path, *, model_path: Optional[str] = None, seed: int = 0, n: int = 1, think: bool = True,
        cfg: Optional[float] = None, check: Optional[int] = None, workers: int = 0, threads: int = 1,
        ray_address: Optional[str] = None, use_ray: bool = False, shard_size: int = 8, sheet: bool = False,
        sheet_columns: int = 0, sheet_max: int = 400, progress: bool = True) -> dict:
    """The batch job (what the command does); returns counts: images, drawn, skipped, and
    unsatisfied (images whose plan does not satisfy the prompt)."""
    items = read_items(prompts, seed, n, think, cfg, check)
    model_path = None if model_path is None else str(Path(model_path).resolve())
    model = ponder.Model(model_path)  # loaded here too: a bad model or prompt fails before any work
    model_name = Path(model_path or ponder.default_model_path()).name
    check_items(model, items)
    model.close()
    (out / "images").mkdir(parents=True, exist_ok=True)
    for stale in (out / "images").glob("*.tmp-*"):  # from a run killed while writing
        stale.unlink()
    done = done_records(out, items, model_name)
    todo = [item for item in items if item.line not in done]
    total = sum(item.n for item in items)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=total - sum(item.n for item in todo), unit="image", dynamic_ncols=True,
                   desc="ponder batch")
    workers = workers or max(1, _cores() // threads)
    results = out / RESULTS
    try:
        with open(results, "a", encoding="utf-8") as log:
            if todo:
                source = (run_ray(model_path, threads, todo, ray_address, shard_size) if use_ray
                          else run_local(model_path, threads, todo, min(workers, len(todo))))
                for item, images in source:
                    lines = []
                    for image in images:
                        write_atomic(out / item.file(image["seed"]), image["png"])
                        lines.append(json.dumps(record(item, image, model_name), ensure_ascii=False))
                    # The record follows its images: a recorded line is on disk.
                    log.write("".join(line + "\n" for line in lines))
                    log.flush()
                    done[item.line] = [json.loads(line) for line in lines]
                    if bar is not None:
                        bar.update(len(images))
    finally:
        if bar is not None:
            bar.close()
    ordered = [r for item in items for r in done[item.line]]
    write_atomic(results, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ordered).encode("utf-8"))
    if sheet:
        contact_sheet(out, ordered[:sheet_max], sheet_columns)
    return {"images": total, "drawn": sum(item.n for item in todo), "skipped": total - sum(item.n for item in todo),
            "unsatisfied": sum(r.get("plan_satisfied") is False for r in ordered)}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def arguments(argv=None):
    p = argparse.ArgumentParser(prog="ponder batch", description="Draws every prompt of a file into PNGs and a JSONL "
                                "of their plans and settings; run again, it resumes (docs/serving.md).")
    p.add_argument("prompts", type=Path, help="the prompts: a JSON object a line ({\"prompt\", \"seed\", \"n\", "
                   "\"think\", \"cfg\", \"check\"}) or a plain prompt a line")
    p.add_argument("-o", "--out", type=Path, required=True, help="the output folder (made if missing)")
    p.add_argument("--model", help="the model file (default: the packaged model, or $PONDER_MODEL); with --ray it "
                   "must be at this path on every node")
    p.add_argument("--seed", type=int, default=0, help="the first seed of lines without one (default 0)")
    p.add_argument("-n", type=int, default=1, help="images of lines without 'n' (default 1)")
    p.add_argument("--no-think", action="store_true", help="draw without a plan (lines may set 'think')")
    p.add_argument("--cfg", type=float, help="guidance scale (default: the model's)")
    p.add_argument("--check", type=int, help="checked drawing's reads (default: the library's, 3; 0 = off)")
    p.add_argument("--workers", type=int, default=0, help="local processes (default: cores / threads)")
    p.add_argument("--threads", type=int, default=1, help="threads per image (default 1; a Ray task asks as many CPUs)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS", help="run the shards as Ray tasks: on the "
                   "cluster at ADDRESS, else on $RAY_ADDRESS's, else on a local Ray instance")
    p.add_argument("--shard-size", type=int, default=8, help="lines a Ray task draws (default 8)")
    p.add_argument("--contact-sheet", action="store_true", help=f"also write OUT/{SHEET}: the images in a grid")
    p.add_argument("--sheet-columns", type=int, default=0, help="its columns (default: a square grid)")
    p.add_argument("--sheet-max", type=int, default=400, help="at most this many images on it, the first (default 400)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = arguments(argv)
    for name, value, lo in (("--threads", a.threads, 1), ("--shard-size", a.shard_size, 1), ("--workers", a.workers, 0),
                            ("--sheet-max", a.sheet_max, 1), ("--sheet-columns", a.sheet_columns, 0)):
        if value < lo:
            print(f"ponder batch: {name} must be at least {lo}, got {value}", file=sys.stderr)
            return 2
    if not a.quiet:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            print('ponder batch: the progress bar needs tqdm: pip install "ponder[batch]" (or run with --quiet)',
                  file=sys.stderr)
            return 2
    try:
        counts = run(a.prompts, a.out, model_path=a.model, seed=a.seed, n=a.n, think=not a.no_think, cfg=a.cfg,
                     check=a.check, workers=a.workers, threads=a.threads, use_ray=a.ray is not None,
                     ray_address=a.ray or None, shard_size=a.shard_size, sheet=a.contact_sheet,
                     sheet_columns=a.sheet_columns, sheet_max=a.sheet_max, progress=not a.quiet)
    except BatchError as e:
        print(f"ponder batch: {e}", file=sys.stderr)
        return 2
    except ponder.PonderError as e:
        print(f"ponder batch: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ponder batch: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"ponder batch: {counts['images']} images in {a.out} ({counts['drawn']} drawn, {counts['skipped']} "
          f"already there)", file=sys.stderr)
    if counts["unsatisfied"]:
        print(f"ponder batch: {counts['unsatisfied']} drawn from a plan that does not satisfy its prompt "
              f"(plan_satisfied false in {RESULTS})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
