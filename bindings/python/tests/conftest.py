import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
MODELS = ROOT / "Tests" / "Models"  # random-weight models, written by Tests/Models/make.py


@pytest.fixture(scope="session")
def model_path():
    """A small random-weight model (no image encoder)."""
    return MODELS / "test.gguf"


@pytest.fixture(scope="session")
def model(model_path):
    import ponder
    return ponder.Model(model_path)


@pytest.fixture(scope="session")
def reader_path():
    """A small random-weight model with an image encoder (it can read pictures)."""
    return MODELS / "test-reader.gguf"


@pytest.fixture(scope="session")
def reader(reader_path):
    import ponder
    return ponder.Model(reader_path)
