"""The token vocabulary a Ponder model file lists (docs/format.md).

Word tokens first (special tokens, the prompt language's words, the plan grammar's words and
the coordinates 0..127), then the image codes, which take the last `codebook_size` ids.
The word lists follow ../shared/world.md; the engine checks at load that every word it
needs is present, so a list that drifts from the world fails loudly.
"""

SPECIALS = ["<pad>", "<bos>", "<think>", "</think>", "<image>", "<describe>"]

SHAPES = ["circle", "square", "triangle", "diamond", "star", "heart", "cross", "ring"]
SHAPE_PLURALS = ["circles", "squares", "triangles", "diamonds", "stars", "hearts", "crosses", "rings"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"]
SIZES = ["small", "medium", "large"]
BACKGROUNDS = ["white", "black", "gray", "beige"]
COUNTS = ["a", "an", "one", "two", "three", "four"]
CONNECTIVES = ["and", "on", "background", "the", "of", "at", "in", "to", "top", "bottom",
               "left", "right", "center", "corner", "above", "below"]
CANVAS = 128


def word_tokens() -> list[str]:
    words = SPECIALS + COUNTS + SIZES + COLOURS + SHAPES + SHAPE_PLURALS + BACKGROUNDS + CONNECTIVES
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
