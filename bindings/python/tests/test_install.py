"""`pip install ./bindings/python` into a fresh virtual environment builds a wheel (hatchling,
with pip's build isolation, running SwiftPM) that carries libponder.so and the default model,
so the package draws from any folder with no environment variable; the `pil` extra brings
Pillow, and without it `to_pil()` says what to install."""
import base64
import json
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

    # The commands of the extras (docs/serving.md), from the installed package.
    bin_dir = env_dir / "bin"
    missing = subprocess.run([str(bin_dir / "ponder-serve"), "--port", "0"], env=env, cwd=elsewhere,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and 'pip install "ponder[serve]"' in missing.stderr
    pip_install(str(ROOT / "bindings" / "python") + "[serve,batch]")
    (elsewhere / "prompts.txt").write_text("a red circle\n" + '{"prompt": "a blue square", "seed": 7, "n": 2}\n')
    batch = subprocess.run([str(bin_dir / "ponder-batch"), "prompts.txt", "-o", "out", "--contact-sheet"], env=env,
                           cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert batch.returncode == 0, batch.stderr
    assert len((elsewhere / "out" / "results.jsonl").read_text().splitlines()) == 3
    assert (elsewhere / "out" / "images" / "000002-8.png").is_file() and (elsewhere / "out" / "contact-sheet.png").is_file()
    log = elsewhere / "serve.log"
    server = subprocess.Popen([str(bin_dir / "ponder-serve"), "--port", "0"], env=env, cwd=elsewhere,
                              stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        import re
        import time
        import urllib.request
        deadline, port = time.monotonic() + 60, None
        while port is None and time.monotonic() < deadline and server.poll() is None:
            found = re.search(r"on http://127\.0\.0\.1:(\d+) ", log.read_text())
            port = found and found.group(1)
            time.sleep(0.05)
        assert port, log.read_text()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/images/generations", method="POST",
                                         data=b'{"prompt": "a red circle", "seed": 2}',
                                         headers={"Content-Type": "application/json"})
        for _ in range(100):  # the socket listens before uvicorn has started
            try:
                answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
                break
            except OSError:
                time.sleep(0.1)
        assert answer["data"][0]["b64_json"] == base64.b64encode((elsewhere / "x.png").read_bytes()).decode()
    finally:
        server.terminate()
        server.wait(30)
