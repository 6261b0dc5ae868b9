"""Messages pass through the binding as the library writes them: the word's role and near
miss, the background phrase last, white space as word breaks, invisible characters escaped
(docs/world.md, "Words outside the language")."""
import pytest

from ponder import PonderError
from ponder_train.language.prompt import PromptError, normalise, parse_prompt


@pytest.mark.parametrize("prompt, parts", [
    ("a magenta circle", ["'magenta' is not a colour", "did you mean 'pink'?"]),
    ("a big red circle", ["'big' is not a size", "did you mean 'large'?"]),
    ("a red cirle", ["'cirle' is not a shape", "did you mean 'circle'?"]),
    ("a red circle on a grey background", ["did you mean 'gray'?"]),
    ("a red circle on a black background and a blue square",
     ["'and a blue square' follows the background phrase", "comes last"]),
    ("a red circle\u200b", ["'circle\\u{200B}'"]),
])
def test_prompt_messages(model, prompt, parts):
    with model.session(think=False) as s:
        with pytest.raises(PonderError) as e:
            s.plan(prompt)
    assert e.value.status == "bad prompt"
    for part in parts:
        assert part in str(e.value)
    assert "\u200b" not in str(e.value)


def test_plan_messages(model):
    with model.session(think=False) as s:
        s.plan("a red circle")
        with pytest.raises(PonderError, match="'cirle' is not a shape.*did you mean 'circle'"):
            s.set_plan("background white\nsmall red cirle at 20 20")


# Characters that separate words, and some that do not, in both implementations of the
# prompt language: the engine's (through the binding) and the training code's.
SEPARATORS = ["\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u3000"]
JOINERS = ["\u200b", "\u200d", "\ufeff", "\x1c", "\x1f", "\u180e", "_"]


@pytest.mark.parametrize("ch", SEPARATORS + JOINERS)
def test_white_space_separates_words_in_both_implementations(model, ch):
    text = f"a{ch}red circle{ch}"
    separates = ch in SEPARATORS
    assert (normalise(text) == ["a", "red", "circle"]) == separates
    with model.session(think=False) as s:
        if separates:
            s.plan(text)
            parse_prompt(text)
        else:
            with pytest.raises(PonderError):
                s.plan(text)
            with pytest.raises(PromptError):
                parse_prompt(text)
