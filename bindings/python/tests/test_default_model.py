"""The shipped model (models/ponder-shapes-q8_0.gguf) loads as the default and draws."""
from pathlib import Path

import pytest

import ponder
from ponder_train.language.plan import parse_plan

pytestmark = pytest.mark.skipif(not ponder.default_model_path().exists(), reason="no shipped model yet")


def test_default_model_thinks_and_draws(tmp_path):
    model = ponder.Model()  # path=None: the default model
    assert model.info["image_width"] == 128 and model.info["grid_width"] == 16
    img = model.generate("a small green star to the left of a large purple heart", seed=0)
    parse_plan(img.plan)  # a valid plan (the grammar guarantees it)
    assert len(set(img.codes)) > 1
    img.save(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_thinking_checks_its_plans_against_the_prompt():
    # The same seeds with one plan and with up to eight: the first sample is the same, so a
    # first plan that satisfies its prompt is kept as is; the others are written again.
    import numpy as np
    from ponder_train.language.plan import scene_satisfies
    from ponder_train.language.prompt import parse_prompt
    from ponder_train.scenes import sample_prompt
    model = ponder.Model()
    rng = np.random.default_rng(5)
    prompts = [sample_prompt(rng, "complex") for _ in range(20)]
    first = [model.plan(p, seed=i, plan_attempts=1) for i, p in enumerate(prompts)]
    checked = [model.plan(p, seed=i) for i, p in enumerate(prompts)]  # the default: 8
    ok = lambda plan, p: scene_satisfies(parse_plan(plan), parse_prompt(p))
    for p, a, b in zip(prompts, first, checked):
        if ok(a, p):
            assert a == b
    assert sum(ok(b, p) for p, b in zip(prompts, checked)) > sum(ok(a, p) for p, a in zip(prompts, first))


def test_the_default_model_name_is_the_headers():
    header = (Path(__file__).resolve().parents[3] / "include" / "ponder.h").read_text()
    assert f'#define PONDER_DEFAULT_MODEL "{ponder.DEFAULT_MODEL}"' in header.splitlines()
