"""The training pipeline end to end on a tiny budget: tokenizer, transformer, export, and the
exported file drawing through the engine. (The real run's figures are in training/README.md.)"""
import subprocess
import sys
from pathlib import Path

import ponder

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    subprocess.run([sys.executable, *map(str, args)], check=True, cwd=ROOT, capture_output=True)


def test_train_tokenizer_then_transformer_then_export(tmp_path):
    tok = tmp_path / "tok.pt"
    run("training/train_tokenizer.py", "--out", tok, "--steps", 3, "--data", 32, "--batch", 4,
        "--widths", "16,8,8,8", "--save-every", 3)
    assert tok.exists()
    model = tmp_path / "m.gguf"
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t.pt", "--examples", 32, "--steps", 3,
        "--batch", 4, "--dim", 64, "--layers", 1, "--heads", 2, "--ffn", 64, "--data-dir", tmp_path,
        "--export", model)
    # Resuming a finished run is a no-op that still exports.
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t.pt", "--examples", 32, "--steps", 3,
        "--batch", 4, "--dim", 64, "--layers", 1, "--heads", 2, "--ffn", 64, "--data-dir", tmp_path,
        "--export", model)
    m = ponder.Model(model)
    assert m.info["codebook_size"] == 1024 and m.info["layer_count"] == 1
    img = m.generate("a red circle above a blue square", seed=1)
    assert img.plan is not None and len(img.rgb) == 128 * 128 * 3
