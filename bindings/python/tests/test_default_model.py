"""The shipped model (models/ponder-shapes-q8_0.gguf) loads as the default and draws."""
import pytest

import ponder
from ponder_train.world import parse_plan

pytestmark = pytest.mark.skipif(not ponder.default_model_path().exists(), reason="no shipped model yet")


def test_default_model_thinks_and_draws(tmp_path):
    model = ponder.Model()  # path=None: the default model
    assert model.info["image_width"] == 128 and model.info["grid_width"] == 16
    img = model.generate("a small green star to the left of a large purple heart", seed=0)
    parse_plan(img.plan)  # a valid plan (the grammar guarantees it)
    assert len(set(img.codes)) > 1
    img.save(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
