"""The disguises demo dealers apply to drug words (the attacks DMML missed).

Each technique turns one word into a disguised form a reader still recognises:

* ``homoglyph``: look-alike letters from other scripts (``CΘKE``, ``хаnах``);
* ``separator``: letters split by dots, spaces or dashes (``s.h.r.o.o.m.s``,
  ``x a n a x``), sometimes with mixed case and ``ø`` (``s.H.r.ø.o.M.s``);
* ``mask``: one inner letter replaced by a box or symbol (``Md□ma``, ``c*ke``);
* ``leet``: digits and symbols for letters (``x4n4x``, ``p3rc$``);
* ``emoji``: the word replaced by, or followed by, the drug's emoji (``🍄``).

:func:`disguise` applies one technique to every listed term in a text and
returns the new text with the technique's name, so the generator can keep the
plain text as truth for de-obfuscation.
"""

from __future__ import annotations

import random
import re
from typing import Final

#: Latin letter -> look-alikes from Greek and Cyrillic.
HOMOGLYPHS: Final[dict[str, tuple[str, ...]]] = {
    "a": ("а", "α"),
    "c": ("с", "ϲ"),
    "e": ("е",),
    "i": ("і",),
    "o": ("о", "ο"),
    "p": ("р",),
    "s": ("ѕ",),
    "x": ("х",),
    "y": ("у",),
    "k": ("κ",),
    "A": ("А", "Α"),
    "B": ("В", "Β"),
    "C": ("С", "Ϲ"),
    "E": ("Е", "Ε"),
    "H": ("Н", "Η"),
    "K": ("К", "Κ"),
    "M": ("М", "Μ"),
    "O": ("Θ", "О", "Ο"),
    "P": ("Р", "Ρ"),
    "T": ("Т", "Τ"),
    "X": ("Х", "Χ"),
}
LEET: Final[dict[str, tuple[str, ...]]] = {
    "a": ("4", "@"),
    "e": ("3",),
    "i": ("1", "!"),
    "o": ("0",),
    "s": ("$", "5"),
    "t": ("7",),
    "l": ("1",),
}
MASKS: Final[tuple[str, ...]] = ("□", "*", "#", "_", "■")
TECHNIQUES: Final[tuple[str, ...]] = ("homoglyph", "separator", "mask", "leet", "emoji")


def _homoglyph(rng: random.Random, word: str) -> str:
    if rng.random() < 0.4:
        word = word.upper()
    letters = list(word)
    spots = [i for i, ch in enumerate(letters) if ch in HOMOGLYPHS]
    if not spots:
        return word
    for i in rng.sample(spots, max(1, len(spots) // 2)):
        letters[i] = rng.choice(HOMOGLYPHS[letters[i]])
    return "".join(letters)


def _separator(rng: random.Random, word: str) -> str:
    sep = rng.choice((".", " ", "-", "_", "•"))
    letters = [ch for ch in word if ch != " "]
    if rng.random() < 0.3:
        letters = [ch.upper() if rng.random() < 0.5 else ch for ch in letters]
        letters = ["ø" if ch == "o" and rng.random() < 0.5 else ch for ch in letters]
    return sep.join(letters)


def _mask(rng: random.Random, word: str) -> str:
    inner = [i for i, ch in enumerate(word) if ch.isalpha() and 0 < i < len(word) - 1]
    if not inner:
        return word
    i = rng.choice(inner)
    word = word[:i] + rng.choice(MASKS) + word[i + 1 :]
    if rng.random() < 0.5:
        word = word[0].upper() + word[1:]
    return word


def _leet(rng: random.Random, word: str) -> str:
    out = [rng.choice(LEET[ch]) if ch in LEET and rng.random() < 0.8 else ch for ch in word]
    if out == list(word):  # unlucky draw: force one substitution where possible
        spots = [i for i, ch in enumerate(word) if ch in LEET]
        if spots:
            i = rng.choice(spots)
            out[i] = LEET[word[i]][0]
    return "".join(out)


def disguise_word(rng: random.Random, word: str, technique: str, emoji: str = "💊") -> str:
    """One word in disguise. ``emoji`` is the drug's emoji, used by the ``emoji`` technique."""
    if technique == "homoglyph":
        return _homoglyph(rng, word)
    if technique == "separator":
        return _separator(rng, word)
    if technique == "mask":
        return _mask(rng, word)
    if technique == "leet":
        return _leet(rng, word)
    if technique == "emoji":
        return emoji if rng.random() < 0.5 else f"{word} {emoji}"
    raise ValueError(f"unknown technique {technique!r}; expected one of: {', '.join(TECHNIQUES)}")


def disguise(
    rng: random.Random,
    text: str,
    terms: list[str],
    emoji: str = "💊",
    technique: str | None = None,
) -> tuple[str, str]:
    """Disguise every occurrence of ``terms`` in ``text`` outside hashtags.

    Returns ``(new_text, technique)``. Hashtags are left alone: a disguised
    tag stops being a tag, and dealers keep their tags searchable.
    """
    technique = technique or rng.choice(TECHNIQUES)
    if not terms:
        return text, technique
    # One alternation, longest first, so "green bars" is disguised once and
    # its "bars" is not disguised again.
    alternation = "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))
    pattern = re.compile(r"(?<![#\w])(?:" + alternation + r")(?!\w)", re.IGNORECASE)
    text = pattern.sub(lambda m: disguise_word(rng, m.group(0), technique, emoji), text)
    return text, technique
