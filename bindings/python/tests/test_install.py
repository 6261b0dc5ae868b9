"""The binding installs with pip and works from the installed copy."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_pip_install_and_use(tmp_path, model_path):
    target = tmp_path / "site"
    # Build from a copy: setuptools leaves build/ and *.egg-info beside the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "bindings" / "python", source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True)
    env = dict(os.environ, PYTHONPATH=str(target), PONDER_LIB=str(ROOT / ".build" / "release" / "libponder.so"))
    code = ("import ponder, sys; m = ponder.Model(sys.argv[1]); "
            "img = m.generate('a red circle', seed=2); img.save(sys.argv[2]); print(ponder.__file__)")
    out = subprocess.run([sys.executable, "-c", code, str(model_path), str(tmp_path / "x.png")],
                         env=env, cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert str(target) in out
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
