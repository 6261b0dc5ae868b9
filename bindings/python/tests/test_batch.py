"""`ponder batch` (docs/serving.md): 200 prompts locally, a process per core; a run
interrupted (Ctrl-C, and a killed run's torn record) and resumed ends with the files of an
uninterrupted one; the same job on a local Ray instance gives the same files; each image is
the bytes a single process draws for its seed; bad lines are refused before any work."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ponder
from ponder.batch import read_items

ROOT = Path(__file__).resolve().parents[3]
READER = ROOT / "Tests" / "Models" / "test-reader.gguf"  # random weights: fast, and as deterministic


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PONDER_", "RAY_"))}
    e["PYTHONPATH"] = str(ROOT / "bindings" / "python")  # Ray's workers inherit it
    return e


def batch(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "ponder", "batch", *map(str, args)], capture_output=True, text=True,
                          env=env(), timeout=900, **kwargs)


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def prompts(tmp_path_factory) -> Path:
    colours, shapes = ["red", "green", "blue", "yellow", "purple"], ["circle", "square", "star", "heart"]
    lines = ["# a comment, and a blank line, are skipped", ""]
    for i in range(200):
        prompt = f"a {colours[i % 5]} {shapes[(i // 5) % 4]} to the left of a {colours[(i + 2) % 5]} ring"
        if i % 10 == 3:
            lines.append(json.dumps({"prompt": prompt, "seed": 5000 + i, "n": 2, "check": 1}))
        elif i % 10 == 7:
            lines.append(json.dumps({"prompt": prompt, "think": False}))
        else:
            lines.append(prompt)
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def whole(prompts, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole")
    done = batch(prompts, "-o", out, "--model", READER, "--contact-sheet", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "220 images" in done.stderr and "220 drawn" in done.stderr
    assert "image/s" in done.stderr  # the progress bar
    assert "Warning" not in done.stderr  # a plan that misses its prompt is recorded (plan_satisfied), not printed
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    unsatisfied = sum(r["plan_satisfied"] is False for r in records)
    assert unsatisfied and f"{unsatisfied} drawn from a plan that does not satisfy its prompt" in done.stderr
    return out


def test_the_items_of_a_file_take_their_seeds_in_order(prompts):
    items = read_items(prompts, seed=10)
    assert len(items) == 200 and items[0].line == 3 and sum(i.n for i in items) == 220
    assert [i.seed for i in items[:5]] == [10, 11, 12, 5003, 15]  # lines without a seed count the images before them
    assert items[3].seeds == [5003, 5004] and items[3].check == 1 and items[7].think is False


def test_200_prompts_give_pngs_plans_and_the_single_process_bytes(whole, prompts):
    records = [json.loads(line) for line in (whole / "results.jsonl").read_text().splitlines()]
    assert len(records) == 220 and [r["line"] for r in records] == sorted(r["line"] for r in records)
    assert len(list((whole / "images").glob("*.png"))) == 220
    model = ponder.Model(READER)
    for r in records[::23] + [records[4], records[5]]:
        image = model.generate(r["prompt"], seed=r["seed"], think=r["think"], cfg=r["cfg"], check=r["check"])
        assert (whole / r["file"]).read_bytes() == image.png(), r
        assert r["plan"] == image.plan and r["checks"] == image.checks and r["model"] == "test-reader.gguf"
        assert r["plan_satisfied"] == image.plan_satisfied
    assert [r["file"] for r in records[3:5]] == ["images/000006-5003.png", "images/000006-5004.png"]
    assert records[4]["check"] == 1
    sheet = ponder.Image.open(whole / "contact-sheet.png")
    assert (sheet.width, sheet.height) == (15 * 130 + 2, 15 * 130 + 2)  # 220 images: 15 × 15, 2 px apart
    first = ponder.Image.open(whole / records[0]["file"])
    assert sheet.rgb[(2 * sheet.width + 2) * 3:(2 * sheet.width + 2 + 128) * 3] == first.rgb[:128 * 3]


def test_an_interrupted_run_resumes_to_the_same_files(whole, prompts, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "ponder", "batch", prompts, "-o", out, "--model", READER, "--contact-sheet",
            "--workers", "2"]
    # SIGINT back to its default in the child: a test run started in the background of a
    # shell inherits it ignored, and Python then never raises KeyboardInterrupt.
    run = subprocess.Popen(list(map(str, args)), stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = out / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not results.exists() or len(results.read_text().splitlines()) < 40):
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: to the whole process group, as a terminal sends it
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and "run the same command again to resume" in stderr, stderr
    recorded = len(results.read_text().splitlines())
    assert 40 <= recorded < 220
    # What a killed run leaves: a torn last record and a PNG half written.
    with open(results, "a") as f:
        f.write('{"line": 199, "file": "images/0')
    (out / "images" / "000199-999.png.tmp-1").write_bytes(b"\x89PNG")

    resumed = batch(prompts, "-o", out, "--model", READER, "--contact-sheet", "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    skipped = int(resumed.stderr.split("drawn, ")[1].split()[0])
    assert skipped >= 40
    assert tree(out) == tree(whole)

    again = batch(prompts, "-o", out, "--model", READER, "--contact-sheet", "-q")
    assert again.returncode == 0 and "(0 drawn, 220 already there)" in again.stderr
    assert tree(out) == tree(whole)


def test_the_same_job_on_a_local_ray_instance_gives_the_same_files(whole, prompts, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    done = batch(prompts, "-o", out, "--model", READER, "--contact-sheet", "--ray", "--shard-size", "16", "-q")
    assert done.returncode == 0, done.stderr
    assert tree(out) == tree(whole)


def test_bad_lines_are_refused_before_anything_is_drawn(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("a red circle\n"
                   '{"prompt": "a red circel"}\n'
                   '{"prompt": "a blue square", "sead": 3}\n'
                   '{"prompt": "a blue square", "n": 0}\n'
                   '{"prompt": "a blue square", "cfg": "high"}\n'
                   '{"prompt": "a blue square"\n'
                   'a green star nex to the blue square\n')
    out = tmp_path / "out"
    result = batch(bad, "-o", out, "--model", READER, "-q")
    assert result.returncode == 2, result.stderr
    for expected in ["bad.jsonl:3: unknown key 'sead'", "bad.jsonl:4: 'n' must be an integer from 1",
                     "bad.jsonl:5: 'cfg' must be a number", "bad.jsonl:6: not a JSON object"]:
        assert expected in result.stderr
    assert not (out / "results.jsonl").exists()
    words = tmp_path / "words.txt"
    words.write_text("a red circle\na red circel\na green star nex to the blue square\n")
    result = batch(words, "-o", out, "--model", READER, "-q")
    assert result.returncode == 2 and "line 2: 'circel'" in result.stderr and "line 3:" in result.stderr
    assert "'nex'" in result.stderr
    assert not (out / "results.jsonl").exists()
    assert batch(tmp_path / "missing.txt", "-o", out, "-q").returncode == 2
