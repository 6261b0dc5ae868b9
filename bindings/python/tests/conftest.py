import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """A small random-weight model made by the reference exporter."""
    from ponder_train.export import export, random_model
    t, d, vocab = random_model(seed=3)
    path = tmp_path_factory.mktemp("models") / "test.gguf"
    export(t, d, vocab, str(path))
    return path


@pytest.fixture(scope="session")
def model(model_path):
    import ponder
    return ponder.Model(model_path)


@pytest.fixture(scope="session")
def reader_path(tmp_path_factory):
    """A small random-weight model with an image encoder (it can read pictures)."""
    from ponder_train.export import export, random_model
    from ponder_train.tokenizer import Encoder
    t, d, vocab = random_model(seed=4)
    path = tmp_path_factory.mktemp("models") / "reader.gguf"
    export(t, d, vocab, str(path), encoder=Encoder(t.c).eval())
    return path


@pytest.fixture(scope="session")
def reader(reader_path):
    import ponder
    return ponder.Model(reader_path)
