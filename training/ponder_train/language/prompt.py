"""The prompt language (docs/world.md): normalising a prompt's words, and the parser that
checks a prompt and reads its objects, placements and background. The engine's counterpart
is Sources/PonderCore/Language/Prompt.swift; tests hold the two to each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .world import (BACKGROUNDS, COLOURS, COUNTS, MAX_OBJECTS, MAX_PHRASES, REGIONS, RELATIONS, SHAPE_PLURALS, SHAPES,
                    SIZES, separates)

# The most words a valid prompt can have: four 12-word phrases with relations, three "and",
# "on a … background" (the engine's Prompt.maxWords); a model's context must hold them.
MAX_WORDS = 4 * 12 + 3 + 4


class PromptError(ValueError):
    """A prompt outside the language; the message names the offending word."""


@dataclass
class PromptObject:
    """An object a prompt asks for: indices into SHAPES, COLOURS, SIZES and REGIONS; None where
    the prompt leaves it open."""
    shape: int
    colour: Optional[int] = None
    size: Optional[int] = None
    region: Optional[int] = None


@dataclass
class Prompt:
    """A parsed prompt: its normalised words, objects, relations (indices into `objects` and
    RELATIONS) and background (an index into BACKGROUNDS, or None)."""
    words: list[str]
    objects: list[PromptObject]
    relations: list[tuple[int, int, int]]  # (subject, relation, target)
    background: Optional[int]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def words_on_white(self) -> list[str]:
        """The words without the background phrase ("on a … background", always last): what
        the model draws the image from (docs/format.md, "Backgrounds"; Prompt.wordsOnWhite)."""
        return self.words if self.background is None else self.words[:-4]


def normalise(text: str) -> list[str]:
    """The words the model reads: `text` split at separators, A to Z lower-cased, a final
    full stop dropped."""
    folded = "".join(" " if separates(c) else chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    words = [w for w in folded.split(" ") if w]
    if words and words[-1].endswith("."):
        words[-1] = words[-1][:-1]
        if not words[-1]:
            words.pop()
    return words


def parse_prompt(text: str) -> Prompt:
    """Parses and checks a prompt; raises PromptError naming the offending word."""
    words = normalise(text)
    if not words:
        raise PromptError("prompt is empty")
    p = _Parser(words)
    return p.parse()


class _Parser:
    def __init__(self, words):
        self.w, self.i = words, 0
        self.objects: list[PromptObject] = []
        self.relations: list[tuple[int, int, int]] = []
        self.refs = []
        self.single: set[int] = set()

    def peek(self):
        return self.w[self.i] if self.i < len(self.w) else None

    def q(self, w):
        return f"'{w}'" if w is not None else "the end of the prompt"

    def parse(self) -> Prompt:
        phrases, background = 0, None
        while True:
            phrases += 1
            if phrases > MAX_PHRASES:
                raise PromptError(f"too many phrases: at most {MAX_PHRASES} are allowed")
            self.phrase()
            if self.peek() == "and":
                self.i += 1
                continue
            if self.peek() == "on":
                self.i += 1
                if self.peek() != "a":
                    raise PromptError(f"expected 'a' in 'on a … background' but found {self.q(self.peek())}")
                self.i += 1
                if self.peek() not in BACKGROUNDS:
                    raise PromptError(f"{self.q(self.peek())} is not a background colour")
                background = BACKGROUNDS.index(self.peek())
                self.i += 1
                if self.peek() != "background":
                    raise PromptError(f"expected 'background' but found {self.q(self.peek())}")
                self.i += 1
            break
        if self.peek() is not None:
            raise PromptError(f"unexpected word '{self.peek()}'")
        if len(self.objects) > MAX_OBJECTS:
            raise PromptError(f"the prompt asks for {len(self.objects)} objects")
        for subject, rel, size, colour, shape, phrase in self.refs:
            def match(j):
                o = self.objects[j]
                return (o.shape == shape and (colour is None or o.colour == colour)
                        and (size is None or o.size == size))
            singles = [j for j in sorted(self.single) if j != subject and match(j)]
            multis = [j for j in range(len(self.objects)) if j not in self.single and match(j)]
            if not singles and not multis:
                raise PromptError(f"'{phrase}' refers to no object the prompt brings in")
            if len(singles) != 1 or multis:
                raise PromptError(f"'{phrase}' could mean more than one object")
            self.relations.append((subject, rel, singles[0]))
        return Prompt(self.w, self.objects, self.relations, background)

    def description(self, plural):
        size = colour = None
        if self.peek() in SIZES:
            size = SIZES.index(self.peek())
            self.i += 1
        if self.peek() in COLOURS:
            colour = COLOURS.index(self.peek())
            self.i += 1
        w = self.peek()
        if w is None:
            raise PromptError("the prompt ends where a shape was expected")
        if w in SHAPES:
            if plural:
                raise PromptError(f"'{w}' should be plural after a count above one")
            self.i += 1
            return size, colour, SHAPES.index(w)
        if w in SHAPE_PLURALS:
            if not plural:
                raise PromptError(f"'{w}' should be singular for one object")
            self.i += 1
            return size, colour, SHAPE_PLURALS.index(w)
        if w in SIZES or w in COLOURS:
            raise PromptError(f"'{w}' is out of place: the order is count, size, colour, shape")
        raise PromptError(f"'{w}' is not a shape")

    def phrase(self):
        w = self.peek()
        if w is None:
            raise PromptError("the prompt ends where a phrase was expected")
        if w not in COUNTS:
            raise PromptError(f"'{w}' cannot start a phrase")
        count = COUNTS[w]
        self.i += 1
        size, colour, shape = self.description(count > 1)
        if len(self.objects) + count > MAX_OBJECTS:
            raise PromptError(f"'{w}' makes the prompt ask for more than {MAX_OBJECTS} objects")
        first = len(self.objects)
        self.objects += [PromptObject(shape, colour, size) for _ in range(count)]
        if count == 1:
            self.single.add(first)
        r = self.region()
        if r is not None:
            for o in self.objects[first:]:
                o.region = r
            return
        rel = self.relation()
        if rel is None:
            return
        if count != 1:
            raise PromptError(f"a relation ('{RELATIONS[rel]}') needs a phrase of count one, not '{w}'")
        art = self.peek()
        start = self.i
        if art in ("a", "an"):
            self.i += 1
            s, c, sh = self.description(False)
            if len(self.objects) >= MAX_OBJECTS:
                raise PromptError(f"'{' '.join(self.w[start:self.i])}' makes the prompt ask for more than {MAX_OBJECTS} objects")
            self.objects.append(PromptObject(sh, c, s))
            self.single.add(len(self.objects) - 1)
            self.relations.append((first, rel, len(self.objects) - 1))
        elif art == "the":
            self.i += 1
            s, c, sh = self.description(False)
            self.refs.append((first, rel, s, c, sh, " ".join(self.w[start:self.i])))
        else:
            raise PromptError(f"expected 'a', 'an' or 'the' after '{RELATIONS[rel]}' but found {self.q(art)}")

    def region(self):
        w = self.peek()
        if w not in ("in", "at", "on") or self.i + 1 >= len(self.w) or self.w[self.i + 1] != "the":
            return None
        for k, (words, _, _) in enumerate(REGIONS):
            ws = words.split()
            if self.w[self.i:self.i + len(ws)] == ws:
                self.i += len(ws)
                return k
        raise PromptError(f"'{' '.join(self.w[self.i:self.i + 5])}' is not a region")

    def relation(self):
        for k, words in enumerate(RELATIONS):
            ws = words.split()
            if self.w[self.i:self.i + len(ws)] == ws:
                self.i += len(ws)
                return k
        if self.peek() == "to":
            raise PromptError(f"'{' '.join(self.w[self.i:self.i + 4])}' is not a relation")
        return None


