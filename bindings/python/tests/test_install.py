"""`pip install ./bindings/python` into a fresh virtual environment builds a wheel (hatchling,
with pip's build isolation, running SwiftPM) that carries libponder.so and the default model,
so the package draws from any folder with no environment variable; the `pil` extra brings
Pillow, and without it `to_pil()` says what to install."""
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

DRAW = """
import ponder, sys
model = ponder.Model()
image = model.generate("a red circle", seed=2)
image.save("x.png")
print(ponder.__file__)
print(ponder.library_path())
print(ponder.default_model_path())
try:
    image.to_pil()
    print("to_pil: ok")
except ImportError as e:
    print("to_pil:", e)
"""


def test_pip_install_into_a_fresh_venv_works_from_another_folder(tmp_path):
    env_dir, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    elsewhere.mkdir()
    python = str(env_dir / "bin" / "python")
    # Nothing of the repository or of this test's environment may leak in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PONDER_", "PYTHON", "VIRTUAL_ENV", "PIP_"))}

    def pip_install(spec):
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", spec],
                       env=env, cwd=elsewhere, check=True)

    def draw():
        result = subprocess.run([python, "-c", DRAW], env=env, cwd=elsewhere, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    pip_install(str(ROOT / "bindings" / "python"))
    module, library, model, pil = draw()
    site = str(env_dir)
    assert module.startswith(site) and library.startswith(site) and model.startswith(site)
    assert Path(model).name == "ponder-shapes-q8_0.gguf"
    assert (elsewhere / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pil == 'to_pil: Image.to_pil needs Pillow: pip install "ponder[pil]" (or pip install pillow)'

    pip_install(str(ROOT / "bindings" / "python") + "[pil]")
    assert draw()[3] == "to_pil: ok"
