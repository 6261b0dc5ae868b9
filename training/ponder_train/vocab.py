"""The token vocabulary a Ponder model file lists (docs/format.md).

Word tokens first (special tokens, the prompt language's words, the plan grammar's words and
the coordinates 0..127), then the image codes, which take the last `codebook_size` ids.
The engine checks at load that every word it needs is present.
"""
from .language.world import BACKGROUNDS, CANVAS, COLOURS, COUNTS, SHAPE_PLURALS, SHAPES, SIZES

SPECIALS = ["<pad>", "<bos>", "<think>", "</think>", "<image>", "<describe>"]
CONNECTIVES = ["and", "on", "background", "the", "of", "at", "in", "to", "top", "bottom",
               "left", "right", "center", "corner", "above", "below"]


def word_tokens() -> list[str]:
    words = SPECIALS + list(COUNTS) + SIZES + COLOURS + SHAPES + SHAPE_PLURALS + BACKGROUNDS + CONNECTIVES
    words += [str(i) for i in range(CANVAS)]
    seen, out = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


class Vocabulary:
    def __init__(self, codebook_size: int):
        self.words = word_tokens()
        self.ids = {w: i for i, w in enumerate(self.words)}
        self.image_offset = len(self.words)
        self.codebook_size = codebook_size

    @property
    def size(self) -> int:
        return self.image_offset + self.codebook_size

    def __getitem__(self, word: str) -> int:
        return self.ids[word]

    def encode(self, words: list[str]) -> list[int]:
        return [self.ids[w] for w in words]

    def image_token(self, code: int) -> int:
        return self.image_offset + code
