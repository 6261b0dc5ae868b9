"""The committed random-weight models that the engine and binding tests load are what their
documented command writes today, byte for byte (docs/reliability.md's command for the
fuzzer's seed models is run by the docs test, Tests/Docs)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_py_writes_the_committed_test_models(tmp_path):
    spec = importlib.util.spec_from_file_location("make_test_models", ROOT / "Tests" / "Models" / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    for path in make.make(tmp_path):
        assert path.read_bytes() == (ROOT / "Tests" / "Models" / path.name).read_bytes(), path.name

