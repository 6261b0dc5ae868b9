"""Writes the random-weight models the engine and binding tests load, so that the tests
need no PyTorch: the exporter (training/ponder_train) makes them once, and git keeps them.

    .venv/bin/python Tests/Models/make.py          # from the repository root (needs torch)

test.gguf: the shipped layout at small sizes (dim 64, 2 layers, 4 heads of which 2 key/value,
SwiGLU 128, 64 codes of 16 dimensions, decoder widths 32, 32, 16, 8), seed 3.
test-reader.gguf: the same sizes with an image encoder, seed 4, so it can read pictures.
Random weights draw noise, but deterministic noise: the tests compare runs with each other,
never with a picture of something. training/tests/test_test_models.py checks that this script
still writes these very bytes.
"""
import sys
from pathlib import Path

from ponder_train.export import export, random_model
from ponder_train.vq_autoencoder import Encoder

HERE = Path(__file__).resolve().parent


def make(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    t, d, vocab = random_model(seed=3)
    export(t, d, vocab, str(folder / "test.gguf"))
    t, d, vocab = random_model(seed=4)
    export(t, d, vocab, str(folder / "test-reader.gguf"), encoder=Encoder(t.c).eval())
    return [folder / "test.gguf", folder / "test-reader.gguf"]


if __name__ == "__main__":
    for path in make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"{path}: {path.stat().st_size} bytes")
