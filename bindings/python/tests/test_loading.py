"""Where the binding finds its library and its default model, and what it says when it cannot."""
import sys

import pytest

import ponder
from ponder import PonderError


@pytest.mark.parametrize("bad", ["/nonexistent/libponder.so", "/"])
def test_ponder_lib_naming_no_file_is_an_error(monkeypatch, bad):
    monkeypatch.setenv("PONDER_LIB", bad)
    monkeypatch.setattr(ponder, "_lib", None)  # as in a fresh process
    with pytest.raises(PonderError) as e:
        ponder.Model()
    assert "PONDER_LIB" in str(e.value) and repr(bad) in str(e.value) and e.value.status == "not found"


def test_ponder_lib_naming_a_file_is_used(monkeypatch):
    real = ponder.library_path()
    monkeypatch.setenv("PONDER_LIB", str(real))
    assert ponder.library_path() == real


def test_ponder_model_names_the_default_model(monkeypatch, model_path):
    monkeypatch.setenv("PONDER_MODEL", str(model_path))
    assert ponder.Model().info["codebook_size"] == 64  # the test model's, not the shipped one's
    monkeypatch.setenv("PONDER_MODEL", "/nonexistent/model.gguf")
    with pytest.raises(PonderError) as e:
        ponder.Model()
    assert "/nonexistent/model.gguf" in str(e.value)


def test_to_pil_without_pillow_says_what_to_install(monkeypatch):
    image = ponder.Image.from_rgb(bytes(12), 2, 2)
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "ponder\[pil\]"'):
        image.to_pil()
