"""One prompt language and one plan format, two implementations: the engine (Swift) and the
training code (Python) must accept and reject the same texts."""
import numpy as np

from ponder import PonderError
from ponder_train.sampler import CATEGORIES, sample_prompt
from ponder_train.world import PromptError, parse_plan, parse_prompt


def mutate(rng, text):
    words = text.split()
    pool = ["a", "the", "and", "two", "circle", "circles", "red", "large", "on", "of", "above",
            "left", "background", "corner", "in", "to", "beige", "an", "four", "star"]
    op = rng.integers(4)
    i = int(rng.integers(len(words)))
    if op == 0:
        words.pop(i)
    elif op == 1:
        words.insert(i, pool[int(rng.integers(len(pool)))])
    elif op == 2:
        words[i] = pool[int(rng.integers(len(pool)))]
    else:
        j = int(rng.integers(len(words)))
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def engine_accepts_prompt(session, text):
    try:
        session.plan(text)
        return True
    except PonderError:
        return False


def python_accepts_prompt(text):
    try:
        parse_prompt(text)
        return True
    except PromptError:
        return False


def test_prompt_parsers_agree(model):
    rng = np.random.default_rng(0)
    texts = [sample_prompt(rng, c) for c in CATEGORIES + ["any"] * 3 for _ in range(40)]
    texts += [mutate(rng, t) for t in texts for _ in range(2)]
    texts += ["A Red Circle.", "a red circle..", "  a   red circle ", "a red circle on a white background."]
    with model.session(think=False) as s:
        disagreements = [t for t in texts if engine_accepts_prompt(s, t) != python_accepts_prompt(t)]
    assert disagreements == []
    accepted = sum(python_accepts_prompt(t) for t in texts)
    assert 0.3 * len(texts) < accepted < 0.9 * len(texts)  # both kinds were tried


def test_plan_parsers_agree(model):
    rng = np.random.default_rng(1)
    sizes, colours, shapes = ["small", "medium", "large", "huge"], ["red", "blue", "teal"], ["circle", "star", "blob"]
    texts = []
    for _ in range(400):
        lines = [f"background {['white', 'black', 'pink'][int(rng.integers(3))]}"]
        for _ in range(int(rng.integers(0, 6))):
            lines.append(f"{sizes[int(rng.integers(4))]} {colours[int(rng.integers(3))]} {shapes[int(rng.integers(3))]} "
                         f"at {int(rng.integers(0, 130))} {int(rng.integers(0, 130))}")
        texts.append("\n".join(lines))
    # Plans of sampled scenes, and the same with one coordinate nudged (sometimes too close
    # to another object or the edge).
    from ponder_train.sampler import sample_example
    from ponder_train.world import plan_text
    for _ in range(150):
        words = plan_text(sample_example(rng, "any")[2]).split(" ")
        texts.append(" ".join(words))
        k = int(rng.integers(len(words)))
        if words[k].isdigit():
            words[k] = str(max(0, int(words[k]) + int(rng.integers(-12, 13))))
            texts.append(" ".join(words))
    accepted = 0
    with model.session(think=False) as s:
        s.plan("a red circle")
        for t in texts:
            try:
                s.set_plan(t)
                engine = True
            except PonderError:
                engine = False
            try:
                parse_plan(t)
                py = True
            except ValueError:
                py = False
            assert engine == py, t
            accepted += py
    assert 100 < accepted < len(texts) - 100  # both kinds were tried
