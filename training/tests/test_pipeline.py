"""The training pipeline end to end on a tiny budget: tokenizer, transformer, export, and the
exported file drawing through the engine. (The real run's figures are in training/README.md.)"""
import subprocess
import sys
from pathlib import Path

from ponder_train.binding import ponder

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    subprocess.run([sys.executable, *map(str, args)], check=True, cwd=ROOT, capture_output=True)


def test_train_tokenizer_then_transformer_then_export(tmp_path):
    tok = tmp_path / "tok.pt"
    run("training/train_tokenizer.py", "--out", tok, "--steps", 3, "--data", 32, "--batch", 4,
        "--widths", "16,8,8,8", "--save-every", 3)
    assert tok.exists()
    # its decoder retrained on the frozen codes: a checkpoint at the start and one at the end
    run("training/train_decoder.py", "--tokenizer", tok, "--out", tmp_path / "dec", "--data", 32, "--batch", 4,
        "--steps", 3, "--validate-every", 3)
    assert (tmp_path / "dec" / "tokenizer-w16-8-8-8-final.pt").exists()
    # a tokenizer started from another's weights takes its sizes, whatever --widths says
    import torch
    run("training/train_tokenizer.py", "--out", tmp_path / "tok2.pt", "--init", tok, "--steps", 1, "--data", 8,
        "--batch", 2, "--widths", "32,8,8,8")
    assert torch.load(tmp_path / "tok2.pt", map_location="cpu")["config"]["decoder_widths"] == [16, 8, 8, 8]
    model = tmp_path / "m.gguf"
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t.pt", "--examples", 32, "--steps", 3,
        "--batch", 4, "--dim", 64, "--layers", 1, "--heads", 2, "--ffn", 64, "--data-dir", tmp_path,
        "--export", model)
    # Resuming a finished run is a no-op that still exports.
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t.pt", "--examples", 32, "--steps", 3,
        "--batch", 4, "--dim", 64, "--layers", 1, "--heads", 2, "--ffn", 64, "--data-dir", tmp_path,
        "--export", model)
    # --init starts a new run from those weights (with no steps, it saves them unchanged);
    # weights of other sizes are refused.
    import pytest
    sizes = ["--batch", 4, "--layers", 1, "--heads", 2, "--ffn", 64, "--data-dir", tmp_path, "--examples", 32]
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t2.pt", "--init", tmp_path / "t.pt",
        "--steps", 0, "--dim", 64, *sizes)
    a, b = (torch.load(tmp_path / n, map_location="cpu") for n in ("t.pt", "t2.pt"))
    assert b["step"] == 0 and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    with pytest.raises(subprocess.CalledProcessError):
        run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t3.pt", "--init", tmp_path / "t.pt",
            "--steps", 0, "--dim", 32, *sizes)
    # plan-only batches (the mode of CPU plan fine-tunes) train; mode weights of the wrong count are refused
    run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t4.pt", "--init", tmp_path / "t.pt",
        "--steps", 2, "--dim", 64, "--mode-weights", "0,0,0,0,1", "--mode-per-batch", *sizes)
    assert torch.load(tmp_path / "t4.pt", map_location="cpu")["step"] == 2
    with pytest.raises(subprocess.CalledProcessError):
        run("training/train.py", "--tokenizer", tok, "--out", tmp_path / "t5.pt", "--steps", 1, "--dim", 64,
            "--mode-weights", "1,1", *sizes)
    m = ponder.Model(model)
    assert m.info["codebook_size"] == 1024 and m.info["layer_count"] == 1
    img = m.generate("a red circle above a blue square", seed=1)
    assert img.plan is not None and len(img.rgb) == 128 * 128 * 3


def test_relink_rewrites_a_model_byte_for_byte(tmp_path):
    """load_model reads back exactly what export wrote (Q8_0 values re-quantize to the same
    bytes), so relinking a model with its own decoder and encoder reproduces its file."""
    import torch

    from ponder_train.export import export, random_model, relink
    from ponder_train.model import Config
    from ponder_train.vq_autoencoder import VQAutoencoder
    t, d, vocab = random_model(3, codebook_size=1024, codebook_dim=4)
    first = tmp_path / "a.gguf"
    tok = VQAutoencoder(Config(**{**d.c.__dict__}))
    tok.decoder.load_state_dict(d.state_dict())
    export(t, d, vocab, str(first), cfg_scale=1.5, encoder=tok.encoder)
    torch.save({"model": tok.state_dict(), "config": tok.c.__dict__}, tmp_path / "tok.pt")
    second = tmp_path / "b.gguf"
    relink(str(first), str(tmp_path / "tok.pt"), str(second))
    assert first.read_bytes() == second.read_bytes()
