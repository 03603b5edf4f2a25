"""Recover the words dealers disguise to beat filters.

``normalize(raw)`` returns a :class:`NormalizedText`: the raw string, untouched,
and a lower-cased *normalized view* in which look-alike letters, fancy
alphabets, separators inside words, masked letters, leetspeak, stretched
letters and drug emoji are turned back into plain words::

    "s.H.r.ø.o.M.s"   -> "shrooms"      "CΘKE"      -> "coke"
    "Md□ma"           -> "mdma"         "x a n a x" -> "xanax"
    "x4n4x"           -> "xanax"        "weeeeed"   -> "weed"
    "🍄 + ❄️ hmu"      -> "mushroom + snow hmu"

Every character of the view maps back to a raw span (``raw_span``), so
evidence can highlight what the author actually wrote.

What is deliberately *not* changed: digits that are not written inside a word
("3 pm", "5 stars", "$50", phone numbers), dosages and pill codes ("2mg",
"30mg", "m30", "r039", "1p-lsd", "2c-b", "4-aco-dmt"), URLs, e-mail
addresses and @handles (only lower-cased), and runs of single letters
separated by spaces ("a b c") unless they spell a lexicon term.

Stages, in order (each only shortens the text or keeps its length, except
stage 1):

1. per character: NFKC; zero-width, control and variation characters
   dropped; combining accents stripped; fancy alphabets (mathematical,
   fullwidth, circled, squared, parenthesized, small capitals) to ASCII; drug
   emoji to words; whitespace collapsed; lower-cased. Then, word by word,
   look-alike letters from other scripts to Latin when the word mixes
   scripts or is made only of look-alikes ("СОКЕ").
2. single characters joined across separators ("m-d-m-a", "s_h_r_o_o_m_s";
   with plain spaces only when the result is a lexicon term); a word with
   one separator repeated between its syllables joined, or its separators
   read as masks, when that spells a drug word ("Ma-ri-ju-a-na", "x*n*x",
   "c.c..n.").
3. inside words: leetspeak and currency look-alikes ("k€tamine", "MDM@"),
   masked letters resolved against the lexicon, stretched letters.
4. word pieces split by one separator joined when they spell a drug name
   ("co-caine", "xan ax").

Guarantees (tested with hypothesis): never raises on any ``str``;
idempotent (``normalize(normalize(t).text).text == normalize(t).text``);
``len(text) <= MAX_EXPANSION * len(raw)``; every normalized span maps inside
the raw string.
"""

from __future__ import annotations

import gc
import json
import os
import re
import unicodedata
from bisect import bisect_right
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = ["EMOJI_WORDS", "MAX_EXPANSION", "NormalizedText", "normalize", "normalize_many"]

# ---------------------------------------------------------------------------
# Tables (built at import; the look-alike table from confusable-homoglyphs is
# built on first use because most texts never need it).
# ---------------------------------------------------------------------------

#: Emoji with a drug or trade meaning, mapped to the word the lexicon knows.
#: Sources: DEA "Emoji drug code decoded" (2021) reference chart and the
#: hashtag/emoji usage described in the seed papers.
EMOJI_WORDS: Final[dict[str, str]] = {
    "\U0001f343": "leaf",  # 🍃 leaf fluttering: weed
    "\U0001f33f": "herb",  # 🌿 herb: weed
    "\U0001f341": "maple leaf",  # 🍁 weed
    "\U0001f332": "tree",  # 🌲 "trees": weed
    "\U0001f333": "tree",  # 🌳
    "\U0001f966": "broccoli",  # 🥦 weed
    "\U0001f4a8": "smoke",  # 💨 dash: smoke / gas
    "\u26fd": "gas",  # ⛽ fuel pump: strong weed
    "\U0001f525": "fire",  # 🔥 quality
    "\U0001f36a": "cookies",  # 🍪 edibles / strain
    "\U0001f36b": "chocolate",  # 🍫 edibles, shroom chocolate
    "\u2744": "snow",  # ❄️ cocaine
    "\u2603": "snowman",  # ☃️ cocaine
    "\u26c4": "snowman",  # ⛄ cocaine
    "\U0001f3d4": "mountain",  # 🏔️ cocaine
    "\U0001f3b1": "eight ball",  # 🎱 an eighth of cocaine
    "\U0001f511": "key",  # 🔑 kilo
    "\U0001f48a": "pill",  # 💊 pills
    "\U0001f36c": "candy",  # 🍬 ecstasy / candy
    "\U0001f36d": "lollipop",  # 🍭 candy: ecstasy
    "\U0001f984": "unicorn",  # 🦄 ecstasy
    "\U0001f308": "rainbow",  # 🌈 rainbow pills
    "\U0001f48e": "crystal",  # 💎 crystal: meth
    "\U0001f9ca": "ice",  # 🧊 ice: meth
    "\U0001f52e": "crystal",  # 🔮 crystal ball: meth
    "\U0001f40e": "horse",  # 🐎 heroin
    "\U0001f409": "dragon",  # 🐉 chasing the dragon: heroin
    "\U0001f344": "mushroom",  # 🍄 shrooms
    "\U0001f9a0": "microbe",  # 🦠
    "\U0001f441": "eye",  # 👁️ acid
    "\U0001f9e0": "brain",  # 🧠
    "\U0001f4a7": "drop",  # 💧 drops: liquid acid / lean
    "\U0001f347": "grape",  # 🍇 purple drank flavour
    "\U0001f49c": "purple",  # 💜 lean
    "\U0001f964": "cup",  # 🥤 double cup: lean
    "\U0001f37c": "bottle",  # 🍼
    "\U0001f489": "syringe",  # 💉
    "\U0001f9ea": "lab",  # 🧪 research chemicals
    "\U0001f50c": "plug",  # 🔌 dealer
    "\U0001f47b": "snapchat",  # 👻 contact channel
    "\U0001f4e6": "package",  # 📦
    "\U0001f69a": "delivery",  # 🚚
    "\U0001f69b": "delivery",  # 🚛
    "\U0001f4ec": "mail",  # 📬
    "\U0001f4eb": "mail",  # 📫
    "\U0001f4ee": "mail",  # 📮
    "\U0001f4e9": "dm",  # 📩
    "\U0001f4e8": "dm",  # 📨
    "\U0001f4f2": "call",  # 📲
    "\U0001f4de": "call",  # 📞
    "\u260e": "call",  # ☎️
    "\U0001f4b0": "money",  # 💰
    "\U0001f4b5": "cash",  # 💵
    "\U0001f4b8": "money",  # 💸
    "\U0001f911": "money",  # 🤑
    "\U0001f6d2": "shop",  # 🛒
    "\u2708": "shipping",  # ✈️
    "\U0001f30d": "worldwide",  # 🌍
    "\U0001f30e": "worldwide",  # 🌎
    "\U0001f30f": "worldwide",  # 🌏
}

# The longest output of any one raw character (an emoji word with a space on
# each side, or a capped compatibility decomposition).
_MAX_PER_CHAR: Final[int] = 12
#: ``len(normalize(t).text) <= MAX_EXPANSION * len(t)`` for every string ``t``.
MAX_EXPANSION: Final[int] = _MAX_PER_CHAR

# Characters that stand for a hidden letter ("Md□ma", "C*ke", "w□□d", "C∅KE").
# Besides the listed ones, every character of the blocks a mask is drawn
# from stands for a letter: block elements and geometric shapes (U+2580-U+25FF),
# the circled and squared operators (U+2295-U+22A1), the large squares and
# circles of U+2B1B-U+2B2F and the multiplication crosses of the dingbats, so
# that a mask alphabet not seen before ("◘", "⊕", "⬟", "✖") reads as one too.
_BOX_MASKS: Final[str] = "".join(
    dict.fromkeys(
        "□■▢▣▤▥▦▧▨▩▪▫◻◼◽◾☐☒⬛⬜▮▯█░▒▓●•◦○◯◌◍◎⊗⊘∅⌧\ufffd✱✲✳✴✵✶★☆⁎∗❋❖◆◇"
        + "".join(chr(c) for c in range(0x2580, 0x2600))
        + "".join(chr(c) for c in range(0x2295, 0x22A2))
        + "".join(chr(c) for c in range(0x2B1B, 0x2B30))
        + "✕✖✗✘※⁂¤"
    )
)
_ASCII_MASKS: Final[str] = "*?_"
_MASKS: Final[frozenset[str]] = frozenset(_BOX_MASKS + _ASCII_MASKS)
#: Masks shaped like the letter o ("∅xy", "Shr○○ms"): read as "o" when that
#: spells a lexicon term, before any other reading of the mask.
_O_MASKS: Final[str] = "∅⊘○◯◎⊙⌀⭕"
_O_MASK_TABLE: Final[dict[int, str]] = str.maketrans(dict.fromkeys(_O_MASKS, "o"))

# Leetspeak. '1' is tried as both i and l.
_LEET_DIGITS: Final[dict[str, str]] = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"}
_LEET_SYMBOLS: Final[dict[str, str]] = {"@": "a", "$": "s", "!": "i"}
#: Currency signs written for the letter they look like ("k€tamine",
#: "¢oke"). Like the leet symbols they are read only when the whole word then
#: spells a lexicon term, so prices ("€5", "10€", "£20") are left alone.
_CURRENCY_LOOKALIKES: Final[dict[str, str]] = {
    "€": "e",
    "¢": "c",
    "£": "l",
    "¥": "y",
    "₿": "b",
    "₳": "a",
    "₵": "c",
    "₦": "n",
    "₱": "p",
    "₮": "t",
    "₩": "w",
    "₭": "k",
    "₲": "g",
}
_LEET: Final[dict[str, str]] = {**_LEET_DIGITS, **_LEET_SYMBOLS, **_CURRENCY_LOOKALIKES}

# Latin letters written with letters of other (mostly Latin) blocks that NFKC
# leaves alone: small capitals, negative circled/squared and parenthesized
# letters, and look-alikes the confusables data misses or maps to non-ASCII.
_OVERRIDES: dict[str, str] = {}
_SMALL_CAPS = "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ"
for _i, _c in enumerate(_SMALL_CAPS):
    if _c != "x":
        _OVERRIDES[_c] = chr(ord("a") + _i)
for _base in (0x1F150, 0x1F170, 0x1F130):  # negative circled, negative squared, squared
    for _i in range(26):
        _OVERRIDES[chr(_base + _i)] = chr(ord("a") + _i)
for _i in range(26):
    _OVERRIDES[chr(0x249C + _i)] = chr(ord("a") + _i)  # ⒜ parenthesized
    _OVERRIDES[chr(0x1F110 + _i)] = chr(ord("a") + _i)  # 🄐 parenthesized
# Letters with strokes and ligatures that NFKD does not decompose.
_OVERRIDES.update(
    {
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "ħ": "h",
        "Ħ": "h",
        "ı": "i",
        "ĸ": "k",
        "ŧ": "t",
        "Ŧ": "t",
        "ƀ": "b",
        "ɨ": "i",
        "ʉ": "u",
        "ɇ": "e",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ð": "d",
        "Ð": "d",
        "ß": "ss",
    }
)

# Look-alikes from other scripts, used word by word (see ``_fix_homoglyphs``).
# Gaps of the confusables data (it maps к to "ĸ", Θ to "O̵", Σ to "Ʃ" ...).
_SCRIPT_LOOKALIKES: Final[dict[str, str]] = {
    # Cyrillic (lower case: the view is lower-cased before this table is used)
    "а": "a",
    "в": "b",
    "с": "c",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "ӏ": "l",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "г": "r",
    "ѕ": "s",
    "т": "t",
    "у": "y",
    "ү": "y",
    "х": "x",
    "ԝ": "w",
    "ѡ": "w",
    "ь": "b",
    "п": "n",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "δ": "d",
    "ε": "e",
    "ζ": "z",
    "η": "n",
    "θ": "o",
    "ι": "i",
    "κ": "k",
    "λ": "a",
    "μ": "u",
    "ν": "v",
    "ξ": "e",
    "ο": "o",
    "π": "n",
    "ρ": "p",
    "σ": "o",
    "ς": "c",
    "τ": "t",
    "υ": "u",
    "φ": "o",
    "χ": "x",
    "ψ": "y",
    "ω": "w",
    "ϲ": "c",
    "ϳ": "j",
    "ϑ": "o",
    "ϱ": "p",
    "ϕ": "o",
    "ϰ": "k",
    # Armenian / Cherokee / others seen in spam
    "օ": "o",
    "ս": "u",
    "ց": "g",
    "հ": "h",
    "ո": "n",
    "ա": "w",
    "ք": "p",
}
# Faux-Cyrillic letters: only mapped inside words that also hold Latin letters,
# so that Russian words ("кокаин") are kept.
_WEAK_LOOKALIKES: Final[dict[str, str]] = {
    "ш": "w",
    "л": "n",
    "и": "u",
    "ц": "u",
    "д": "d",
    "я": "r",
    "ф": "o",
    "λ": "a",
    "ξ": "e",
    "π": "n",
    "σ": "o",
    "ψ": "y",
}

_COMBINING_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
    (0x1F3FB, 0x1F3FF),
)


def _is_dropped_mark(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _COMBINING_RANGES) or unicodedata.category(ch) == "Me"


def _strip_marks(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s)
    out = "".join(c for c in decomposed if not _is_dropped_mark(c))
    return unicodedata.normalize("NFC", out)


def _map_char_once(ch: str) -> str:
    if ch in EMOJI_WORDS:
        return " " + EMOJI_WORDS[ch] + " "
    if ch in _OVERRIDES:
        return _OVERRIDES[ch]
    if ch in _MASKS:
        return ch
    cat = unicodedata.category(ch)
    if ch.isspace() or cat in ("Zs", "Zl", "Zp"):
        return " "
    if cat in ("Cc", "Cf", "Cs") or _is_dropped_mark(ch):
        return ""
    nfkc = unicodedata.normalize("NFKC", ch)
    if len(nfkc) > _MAX_PER_CHAR:  # a few Arabic ligatures expand to 18 chars
        nfkc = ch
    out = []
    for c in nfkc:
        if c in _OVERRIDES:
            out.append(_OVERRIDES[c])
            continue
        low = c.lower()
        if low in _OVERRIDES:
            out.append(_OVERRIDES[low])
            continue
        out.append(_strip_marks(low) if not low.isascii() else low)
    return "".join(out)


@lru_cache(maxsize=65536)
def _map_char(ch: str) -> str:
    """Stage-1 mapping of one character, iterated to a fixed point so that
    mapping the output again changes nothing (this is what makes stage 1
    idempotent)."""
    out = _map_char_once(ch)
    for _ in range(4):
        nxt = "".join(_map_char_once(c) if c != " " else " " for c in out)
        if nxt == out:
            break
        out = nxt
    return out[:_MAX_PER_CHAR]


#: The look-alikes :func:`confusable_lookalikes` derives from the
#: confusables data, as ``scripts/build_text_tables.py`` writes them: reading
#: this file costs a millisecond, importing the confusables data and deriving
#: the table about a fifth of a second. A test keeps it equal to what the
#: script derives from the installed data.
LOOKALIKES_FILE: Final = os.path.join(os.path.dirname(__file__), "data", "lookalikes.json")


def confusable_lookalikes() -> dict[str, str]:
    """Non-ASCII letter -> the ASCII letter it imitates (lower case), from the
    Unicode confusables data of ``confusable_homoglyphs``: the first
    confusable of each lower-case letter that is one ASCII letter once its
    combining marks are removed. The source of :data:`LOOKALIKES_FILE`."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for ch, glyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii() or not ch.isalpha():
            continue
        low = ch.lower()
        if len(low) != 1 or low.isascii():
            continue
        for glyph in glyphs:
            base = "".join(c for c in unicodedata.normalize("NFD", glyph["c"]) if not unicodedata.combining(c))
            if len(base) == 1 and base.isascii() and base.isalpha():
                table.setdefault(low, base.lower())
                break
    return table


def read_lookalikes_file(path: str = LOOKALIKES_FILE) -> dict[str, str]:
    """The table :func:`confusable_lookalikes` derived, as shipped in ``path``."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    table = data["lookalikes"]
    if not isinstance(table, dict):
        raise ValueError(f"{path}: 'lookalikes' is no object")
    return table


@lru_cache(maxsize=1)
def _lookalikes() -> dict[str, str]:
    """Non-ASCII letter -> ASCII letter it imitates (lower case)."""
    table = read_lookalikes_file()
    table.update(_SCRIPT_LOOKALIKES)
    for ch in _WEAK_LOOKALIKES:
        table.pop(ch, None)
    return table


@lru_cache(maxsize=1)
def _lookalikes_mixed() -> dict[str, str]:
    table = {**_lookalikes(), **_WEAK_LOOKALIKES}
    if any(ch.isascii() for ch in table):  # _fix_homoglyphs reads non-ASCII runs only
        raise AssertionError("an ASCII character in the look-alike table")
    return table


@lru_cache(maxsize=1)
def _lookalike_letters() -> frozenset[str]:
    """The keys of :func:`_lookalikes_mixed` (all non-ASCII): a frozenset
    answers ``isdisjoint`` on a whole text faster than a dict's keys answer
    it on the text's non-ASCII runs (about 6.5 -> 3.7 us per non-ASCII bench
    text)."""
    return frozenset(_lookalikes_mixed())


# ---------------------------------------------------------------------------
# The result object
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class NormalizedText:
    """A raw string and its normalized, lower-cased view, with an offset map.

    ``starts[i]``/``ends[i]`` give the raw span the i-th normalized character
    came from (``None`` when the view is a plain lower-casing of ``raw``).
    """

    raw: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalized span ``text[start:end]`` to a raw span.

        Out-of-range positions are clamped; an empty span maps to an empty
        raw span at the corresponding position.
        """
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if self.starts is None or self.ends is None:
            return start, end
        if start == end:
            pos = self.starts[start] if start < n else len(self.raw)
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def raw_slice(self, start: int, end: int) -> str:
        """The raw text behind ``text[start:end]``."""
        a, b = self.raw_span(start, end)
        return self.raw[a:b]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NormalizedText):
            return NotImplemented
        return self.raw == other.raw and self.text == other.text

    def __hash__(self) -> int:
        return hash((self.raw, self.text))

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------
# Vocabulary from the lexicon (masks, leet at word edges, spaced letters and
# split words are only resolved when they produce a lexicon term).
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Vocab:
    words: frozenset[str]  # single-token terms and their plurals
    mask_pool: str  # "\n"-joined candidates for masked words
    preferred: dict[str, int]  # term -> rank (lower is better) for masks
    labels: dict[str, frozenset[str | None]]
    joinable: frozenset[str]  # unambiguous drug words for split joins


_TOKEN_TERM = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@lru_cache(maxsize=1)
def _vocab() -> _Vocab:
    from drugwatch.lexicon import load_lexicon

    lex = load_lexicon()
    words: set[str] = set()
    pool: set[str] = set()
    preferred: dict[str, int] = {}
    labels: dict[str, set[str | None]] = {}
    joinable: set[str] = set()
    kind_rank = {
        "name": 0,
        "brand": 0,
        "street": 1,
        "misspelling": 2,
        "form": 2,
        "hashtag": 3,
        "transaction": 4,
        "selling": 4,
        "shipping": 4,
    }
    for e in lex.entries:
        term = e.term
        if not _TOKEN_TERM.fullmatch(term) or len(term) < 3:
            continue
        words.add(term)
        if term[-1] != "s":
            words.add(term + "s")
        labels.setdefault(term, set()).add(e.label)
        rank = kind_rank.get(e.kind, 5) + (10 if e.ambiguous else 0)
        if term not in preferred or rank < preferred[term]:
            preferred[term] = rank
        if term.isalpha() and len(term) >= 4:
            pool.add(term)
        if (
            e.label is not None
            and not e.ambiguous
            and term.isalpha()
            and len(term) >= 5
            and e.kind in ("name", "brand", "street", "misspelling")
        ):
            joinable.add(term)
    return _Vocab(
        frozenset(words),
        "\n".join(sorted(pool)),
        preferred,
        {k: frozenset(v) for k, v in labels.items()},
        frozenset(joinable),
    )


def _in_vocab(word: str) -> bool:
    return word in _vocab().words


def _is_drug_word(word: str) -> bool:
    """Whether ``word`` (or the singular of a plural in the vocabulary) is a
    lexicon term with a drug label."""
    labels = _vocab().labels
    found = labels.get(word)
    if found is None and word.endswith("s") and word in _vocab().words:
        found = labels.get(word[:-1])
    return found is not None and any(lab is not None for lab in found)


#: The longest word stage 3 decodes (leet, masks, stretched letters); longer
#: runs of word characters are left as they are. No lexicon term is longer.
MAX_DECODED_WORD: Final[int] = 40


# ---------------------------------------------------------------------------
# Edits with offset bookkeeping
# ---------------------------------------------------------------------------

# An edit replaces cur[a:b] with ``new``; ``src`` gives, for each new
# character, the index in cur it comes from (None: positional when the length
# is unchanged, else every new char maps to the whole replaced span).
_Edit = tuple[int, int, str, "list[int] | None"]


def _apply(cur: str, starts: list[int], ends: list[int], edits: list[_Edit]) -> tuple[str, list[int], list[int]]:
    out: list[str] = []
    ns: list[int] = []
    ne: list[int] = []
    pos = 0
    for a, b, new, src in edits:
        out.append(cur[pos:a])
        ns.extend(starts[pos:a])
        ne.extend(ends[pos:a])
        if src is not None:
            if len(src) == 1:  # the usual whitespace edit: a run -> " "
                ns.append(starts[src[0]])
                ne.append(ends[src[0]])
            else:
                ns.extend([starts[j] for j in src])
                ne.extend([ends[j] for j in src])
        elif len(new) == b - a:
            ns.extend(starts[a:b])
            ne.extend(ends[a:b])
        else:
            lo, hi = starts[a], ends[b - 1]
            ns.extend([lo] * len(new))
            ne.extend([hi] * len(new))
        out.append(new)
        pos = b
    out.append(cur[pos:])
    ns.extend(starts[pos:])
    ne.extend(ends[pos:])
    return "".join(out), ns, ne


# ---------------------------------------------------------------------------
# Protected spans: URLs, e-mail addresses, @handles are only lower-cased.
# ---------------------------------------------------------------------------

# An e-mail address starts where its run of address characters starts, and a
# domain where its dotted run of word characters and hyphens starts (leading
# hyphens are kept in the span): tried from every position inside such a run,
# each attempt would read to the run's end, the square of its length when
# nothing matches ("a.a.a...@", "a-a-a-... x.com"). Runs of characters
# that cannot be split are taken whole (``++``), so no attempt backtracks
# into them.
_PROTECTED = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"
    r"|(?<![\w@])@[\w.]+"
    r"|(?<![\w-])(?<![\w-]\.)-*+\b[\w-]++(?:\.[\w-]++)*"
    r"\.(?:com|net|org|io|me|co|ly|gg|app|to|link|info|biz|us|uk|ca"
    r"|de|ru|onion|xyz|shop|store)\b(?:/\S*)?"
)


# Every _PROTECTED match holds '@', "://", "www." or a dot and a listed TLD.
_PROTECTED_TLD_HINT = re.compile(
    r"\.(?:com|net|org|io|me|co|ly|gg|app|to|link|info|biz|us|uk|ca"
    r"|de|ru|onion|xyz|shop|store)\b"
)


def _protected_spans(s: str) -> list[tuple[int, int]]:
    """``_PROTECTED`` spans of ``s``; the regex is slow, so texts that cannot
    hold a match are answered without it."""
    if "@" not in s and "://" not in s and "www." not in s and ("." not in s or _PROTECTED_TLD_HINT.search(s) is None):
        return []
    return [m.span() for m in _PROTECTED.finditer(s)]


class _Protected:
    """URL / e-mail / @handle spans of a string, computed on first use (most
    texts never ask: edits are rare)."""

    __slots__ = ("_s", "_spans")

    def __init__(self, s: str) -> None:
        self._s = s
        self._spans: _Spans | None = None

    def overlaps(self, a: int, b: int) -> bool:
        if self._spans is None:
            self._spans = _Spans(_protected_spans(self._s))
        return self._spans.overlaps(a, b)


class _Spans:
    """Sorted, non-overlapping spans asked whether they overlap ``[a, b)``
    in ``O(log n)``: a text with many protected spans and many candidate
    edits must not cost their product."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for lo, hi in spans:
            self._starts.append(lo)
            self._ends.append(hi)

    def overlaps(self, a: int, b: int) -> bool:
        # The spans are disjoint and in order, so their ends are sorted too:
        # only the first span ending after ``a`` can overlap.
        k = bisect_right(self._ends, a)
        return k < len(self._starts) and self._starts[k] < b


def _is_protected(spans: _Protected | _Spans, a: int, b: int) -> bool:
    return spans.overlaps(a, b)


# ---------------------------------------------------------------------------
# Stage 1
# ---------------------------------------------------------------------------

# Whitespace and control characters.
_WS_CLASS = r"[\s\x00-\x1f\x7f]"
# A run of them that is not a single space: it starts with a character other
# than a space, or with a space before another one of them. (The regex engine
# only tries positions holding one of the characters, unlike a pattern that
# starts with ``_WS_CLASS*``.) A single space is an edit only at either end.
_ODD_WS_RUN = re.compile(rf"(?:[^\S ]|[\x00-\x1f\x7f]| (?={_WS_CLASS})){_WS_CLASS}*")
_WS_CHAR = re.compile(_WS_CLASS)
_ODD_WS = re.compile(r"[^\S ]|[\x00-\x1f\x7f]")
_RI_RUN = re.compile("[\U0001f1e6-\U0001f1ff]{3,}")


def _whitespace_edits(cur: str) -> list[_Edit]:
    """Collapse whitespace runs to one space, drop control characters and
    leading/trailing whitespace."""
    # every character _ODD_WS matches is unprintable, so a printable string
    # (the usual case) needs no regex search
    if not cur or (
        cur[0] != " " and cur[-1] != " " and "  " not in cur and (cur.isprintable() or _ODD_WS.search(cur) is None)
    ):
        return []
    edits: list[_Edit] = []
    n = len(cur)
    if cur[0] == " " and (n == 1 or _WS_CHAR.match(cur, 1) is None):
        edits.append((0, 1, "", None))  # a single leading space
    for m in _ODD_WS_RUN.finditer(cur):
        a, b = m.span()
        if a == 0 or b == n or not any(c.isspace() for c in m.group()):
            edits.append((a, b, "", None))
        else:
            edits.append((a, b, " ", [a]))
    if n > 1 and cur[-1] == " " and (not edits or edits[-1][1] != n):
        edits.append((n - 1, n, "", None))  # a single trailing space
    return edits


def _stage1_ascii(raw: str) -> tuple[str, list[int] | None, list[int] | None]:
    cur = raw.lower()
    edits = _whitespace_edits(cur)
    if not edits:
        return cur, None, None
    n = len(cur)
    return _apply(cur, list(range(n)), list(range(1, n + 1)), edits)


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


class _MapTable(dict[int, str]):
    """``str.translate`` table of ``_map_char`` by code point, filled as
    characters are met (a C-level look-up per character instead of a Python
    loop step). Characters that map to nothing or to several characters are
    also put in ``_IRREGULAR``: a run without them maps character by
    character, so its offset map is the identity."""

    def __missing__(self, code: int) -> str:
        mapped = _map_char(chr(code))
        if len(mapped) != 1:
            _IRREGULAR.add(chr(code))  # always, or a full table would hide one
        if len(self) < 65536:
            self[code] = mapped
        return mapped


_MAP_TABLE: Final[_MapTable] = _MapTable()
_IRREGULAR: Final[set[str]] = set()


def _stage1_unicode(raw: str) -> tuple[str, list[int], list[int]]:
    """Stage 1 for text with non-ASCII characters: ASCII runs are lower-cased
    in bulk, other characters mapped with ``_MAP_TABLE`` (in bulk when each
    maps to one character, else one by one); whitespace is collapsed
    afterwards like on the ASCII path.

    Regional-indicator letters ("🇸🇭🇷🇴🇴🇲") are non-ASCII, so each run of
    them lies inside one run of non-ASCII characters and is looked for there,
    with ``max`` over the short runs instead of the whole text (about 9 %
    less CPU in this stage per non-ASCII bench text)."""
    table = _MAP_TABLE
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _NON_ASCII_RUN.finditer(raw):
        a, b = m.span()
        if pos < a:
            out.append(raw[pos:a].lower())
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        pos = b
        run = m.group()
        ri_letters: set[int] | None = None
        if "\U0001f1e6" <= max(run):
            ri_letters = {a + k for ri in _RI_RUN.finditer(run) for k in range(*ri.span())}
        if not ri_letters:
            mapped_run = run.translate(table)  # fills _IRREGULAR first
            if _IRREGULAR.isdisjoint(run):
                out.append(mapped_run)
                starts.extend(range(a, b))
                ends.extend(range(a + 1, b + 1))
                continue
        for i in range(a, b):
            ch = raw[i]
            if ri_letters and i in ri_letters:
                mapped = chr(ord("a") + ord(ch) - 0x1F1E6)
            else:
                mapped = table[ord(ch)]
            size = len(mapped)
            if size == 1:
                out.append(mapped)
                starts.append(i)
                ends.append(i + 1)
            elif size:
                out.append(mapped)
                starts.extend([i] * size)
                ends.extend([i + 1] * size)
            elif ends:  # zero-width and combining chars ride with the previous char
                ends[-1] = i + 1
    if pos < len(raw):
        out.append(raw[pos:].lower())
        starts.extend(range(pos, len(raw)))
        ends.extend(range(pos + 1, len(raw) + 1))
    cur = "".join(out)
    edits = _whitespace_edits(cur)
    if edits:
        cur, starts, ends = _apply(cur, starts, ends, edits)
    return cur, starts, ends


# A run of letters holding a non-ASCII character (or one after it). Written
# as ``L*N L*`` it was tried from every letter of a long run of ASCII letters,
# each try reading to the run's end (6 s for 16,000 letters before one
# Cyrillic "а"): a try now starts only where a run of letters starts, or at
# a character that is not a letter.
_NONASCII_WORD = re.compile(r"(?:(?<![^\W\d_])|(?![^\W\d_]))[^\W\d_]*[^\x00-\x7f][^\W\d_]*")


#: Capitals that imitate another Latin letter than their lower case does:
#: Greek Μ looks like M but μ like u, Ν like N but ν like v, Η like H but η
#: like n, Υ like Y but υ like u. Stage 1 lower-cases, so these are looked up
#: on the raw character ("ΜDMA" -> "mdma", not "udma").
_CAPITAL_LOOKALIKES: Final[dict[str, str]] = {"Μ": "m", "Ν": "n", "Η": "h", "Υ": "y"}


def _capital_positions(raw: str, cur: str, starts: list[int] | None) -> dict[int, str] | None:
    """Positions of ``cur`` that came from a capital in ``_CAPITAL_LOOKALIKES``."""
    # four substring searches: much cheaper than hashing every character
    if starts is None or not any(c in raw for c in _CAPITAL_LOOKALIKES):
        return None
    return {
        p: _CAPITAL_LOOKALIKES[raw[r]]
        for p, r in enumerate(starts)
        if raw[r] in _CAPITAL_LOOKALIKES and p < len(cur) and not cur[p].isascii()
    }


def _fix_homoglyphs(cur: str, capitals: dict[int, str] | None = None) -> list[_Edit]:
    """Map look-alike letters of other scripts to Latin, word by word: when a
    word mixes scripts ("сoke", "CΘKE") or consists only of look-alikes
    ("СОКЕ"). Words written in another script ("кокаин") are kept.
    ``capitals`` overrides the mapping at positions that were capitals."""
    if _lookalike_letters().isdisjoint(cur):
        return []  # no word can change (emoji, symbols, other scripts)
    return _fix_homoglyphs_unfiltered(cur, capitals)


def _fix_homoglyphs_unfiltered(cur: str, capitals: dict[int, str] | None = None) -> list[_Edit]:
    strong = _lookalikes()
    edits: list[_Edit] = []
    for m in _NONASCII_WORD.finditer(cur):
        word = m.group()
        has_ascii = any(c.isascii() for c in word)
        table: Mapping[str, str] = _lookalikes_mixed() if has_ascii else strong
        if capitals:
            base = m.start()
            capital = {c: capitals[base + k] for k, c in enumerate(word) if base + k in capitals}
            if capital:
                # the word's capitals over the table, without copying the
                # table for every word (thousands of entries)
                # ChainMap writes only to its first map; typeshed asks every map to be mutable
                table = ChainMap(capital, table)  # type: ignore[arg-type]
        if has_ascii:
            new = "".join(c if c.isascii() else table.get(c, c) for c in word)
        elif all(c in table for c in word):
            new = "".join(table[c] for c in word)
        else:
            continue
        if new != word and len(new) == len(word):
            edits.append((m.start(), m.end(), new, None))
        elif new != word:
            # multi-letter look-alikes ("ю" -> "io"): map each output char to
            # its source letter
            src: list[int] = []
            out: list[str] = []
            for k, c in enumerate(word):
                rep = c if c.isascii() else table.get(c, c)
                out.append(rep)
                src.extend([m.start() + k] * len(rep))
            edits.append((m.start(), m.end(), "".join(out), src))
    return edits


# ---------------------------------------------------------------------------
# Stage 2: single characters joined across separators
# ---------------------------------------------------------------------------

_X = r"[a-z0-9@$!]"
_PUNCT_RUN = re.compile(rf"(?<![\w@#$&]){_X}(?:[ ]?[.\-_*/|·•~+:][ ]?{_X}){{2,}}(?![\w])")
_SPACE_RUN = re.compile(rf"(?<![\w@#$&]){_X}(?: {_X}){{2,}}(?![\w])")
# What every match of the two patterns above holds: "<sep> x <sep>" and
# " x y" with no word character after y. Both start with a character the
# regex engine can skip to, unlike the patterns (a look-behind comes first), so
# searching them is cheap and most texts stop there.
_PUNCT_HINT = re.compile(rf"[.\-_*/|·•~+:][ ]?{_X}[ ]?[.\-_*/|·•~+:]")
_SPACE_HINT = re.compile(rf" {_X} {_X}(?![\w])")


def _punct_runs(cur: str) -> list[re.Match[str]]:
    """``_PUNCT_RUN.finditer(cur)``, skipped when ``_PUNCT_HINT`` is absent.

    A run's first separator character is its second or third character and
    starts a hint, so no run starts more than two characters before the first
    hint: the scan starts there (look-behinds still see the text before it).
    """
    hint = _PUNCT_HINT.search(cur)
    if hint is None:
        return []
    return list(_PUNCT_RUN.finditer(cur, max(0, hint.start() - 2)))


def _space_runs(cur: str) -> list[re.Match[str]]:
    """``_SPACE_RUN.finditer(cur)``, skipped when ``_SPACE_HINT`` is absent.

    Every run "x y z..." has a hint at its second character (" y z" with no
    word character after "z"), so the scan starts one character before the
    first hint."""
    hint = _SPACE_HINT.search(cur)
    if hint is None:
        return []
    return list(_SPACE_RUN.finditer(cur, max(0, hint.start() - 1)))


def _count_letters(s: str) -> int:
    return sum(1 for c in s if "a" <= c <= "z")


def _consistent_runs(cur: str, src: list[int]) -> list[list[int]]:
    """Split a run's character positions where the separator style changes.

    A separator with a space ("m - d - m - a") and one without ("c.o.k.e")
    do not belong to one word: "a - c.o.k.e" is the word "a" and the word
    "coke", not "acoke". A character between the two styles goes with its
    tight neighbours. Only pieces of three or more characters are kept (the
    length ``_PUNCT_RUN`` asks for).
    """
    spaced = [" " in cur[p + 1 : q] for p, q in zip(src, src[1:], strict=False)]
    if all(spaced) or not any(spaced):
        return [src]
    pieces: list[list[int]] = []
    i = 0
    while i < len(spaced):
        j = i
        while j + 1 < len(spaced) and spaced[j + 1] == spaced[i]:
            j += 1
        chars = src[i : j + 2]  # separators i..j join characters i..j+1
        if spaced[i]:
            chars = chars[1 if i > 0 else 0 : len(chars) - (1 if j + 1 < len(spaced) else 0)]
        if len(chars) >= 3:
            pieces.append(chars)
        i = j + 1
    return pieces


#: The longest word a run of spaced single characters ("x a n a x") is
#: joined into. No lexicon term is longer (the longest has 30 characters, a
#: test holds this) and ``_decode_word`` decodes no longer word, so the cap
#: changes no result; it bounds the sub-runs tried from each character.
MAX_JOINED_RUN: Final[int] = MAX_DECODED_WORD

# Which characters a decoded word may turn a character into: ``_decode_word``
# replaces leet characters by the letter they stand for ("1" by "i" or "l")
# and shortens runs of one letter, so a word and its decoding have the same
# *join key* (leet mapped, "l" and "1" read as "i", repeats collapsed).
_JOIN_KEY_TABLE: Final[dict[int, str]] = str.maketrans(
    {**{c: ("i" if c == "1" else v) for c, v in _LEET.items()}, "l": "i"}
)


def _join_key(word: str) -> str:
    mapped = word.translate(_JOIN_KEY_TABLE)
    return "".join(c for k, c in enumerate(mapped) if k == 0 or c != mapped[k - 1])


@lru_cache(maxsize=1)
def _join_keys_automaton():  # -> ahocorasick.Automaton
    """The join key of every lexicon word a spaced run can spell, with the
    key's length as its value."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for word in _vocab().words:
        if word.isalnum() and len(word) <= MAX_JOINED_RUN:
            key = _join_key(word)
            automaton.add_word(key, len(key))
    automaton.make_automaton()
    return automaton


def _spells_term(word: str) -> bool:
    if _count_letters(word) < 2:
        return False
    decoded = _decode_word(word)
    return _in_vocab(decoded if decoded is not None else word)


def _best_spaced_word(letters: str) -> tuple[int, int] | None:
    """The longest ``letters[i:j]`` (three characters or more, at most
    ``MAX_JOINED_RUN``) that spells a lexicon term, the first one among
    equally long ones; ``None`` when there is none.

    Trying every sub-run costs the cube of the run's length. Only sub-runs
    whose join key is a lexicon word's key can spell one (decoding keeps the
    key), and those are found in one Aho-Corasick pass over the run's key:
    a key occurrence covering key runs ``p..q`` stands for the sub-runs that
    start in the characters of run ``p`` and end in those of run ``q``.
    """
    mapped = letters.translate(_JOIN_KEY_TABLE)
    run_starts = [0]
    run_starts.extend(k for k in range(1, len(mapped)) if mapped[k] != mapped[k - 1])
    run_starts.append(len(mapped))
    key = "".join(mapped[k] for k in run_starts[:-1])
    ends_at: dict[int, set[int]] = {}  # start i -> the ends j worth trying
    for q, key_len in _join_keys_automaton().iter(key):
        p = q - key_len + 1
        first_end, last_end = run_starts[q] + 1, run_starts[q + 1]
        for i in range(max(run_starts[p], first_end - MAX_JOINED_RUN), run_starts[p + 1]):
            lo, hi = max(first_end, i + 3), min(last_end, i + MAX_JOINED_RUN)
            if lo <= hi:
                ends_at.setdefault(i, set()).update(range(lo, hi + 1))
    best: tuple[int, int] | None = None
    for i in sorted(ends_at):
        for j in sorted(ends_at[i], reverse=True):
            if best is not None and j - i <= best[1] - best[0]:
                break
            if _spells_term(letters[i:j]):
                best = (i, j)
                break
    return best


# A word written with one separator repeated between its letters or
# syllables ("Ma-ri-ju-a-na", "sh_r_o_o_m_s", "x*n*x", "c.c..n."): pieces of
# word characters joined by one separator character, which may be doubled
# (a mask per hidden letter). It starts with a letter: a number ("3.5",
# "10-20") is not read. Possessive, so a try from a word's start reads each
# character once; a try elsewhere in a word fails at the look-behind.
_SEP_CHARS: Final[str] = ".-_*/|·•~+"
_SEPARATED = re.compile(r"(?<![a-z0-9@$!#&])[a-z][a-z0-9@$!]*+([.\-_*/|·•~+])\1*+[a-z0-9@$!]++(?:\1++[a-z0-9@$!]++)*+")
# A separator after a word character and before one (with more of it between):
# every ``_SEPARATED`` match holds one. It starts with a character class the
# regex engine can skip to, so the usual text is answered by one fast search.
_SEPARATED_HINT = re.compile(r"[.\-_*/|·•~+](?<=[a-z0-9@$!][.\-_*/|·•~+])[.\-_*/|·•~+]*+[a-z0-9@$!]")
_SEPARATED_WORD_CHARS: Final[frozenset[str]] = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!")
#: Separators that are also mask symbols: where joining the pieces spells no
#: term, each one may stand for a hidden letter ("x*n*x", "c.c..n.", "k-t-m-n-").
_MASK_SEPS: Final[str] = ".-_*•"
#: The fewest pieces of a word joined across a separator by ``_separated_words``
#: (a word split once or twice is left to stage 4, which joins only drug
#: words of five letters or more: "e-mail", "co-op", "x-ray" stay).
MIN_SEPARATED_PIECES: Final[int] = 3


def _separated_words(cur: str, prot: _Protected) -> list[_Edit]:
    """Words written with one separator repeated inside them, read only when
    the result is a drug word of the lexicon.

    Joined: three pieces or more, the separator single ("Ma-ri-ju-a-na" ->
    "marijuana", "sh_r_o_o_m_s" -> "shrooms"). Masked: a separator that is
    also a mask symbol (``_MASK_SEPS``) read as a hidden letter, against the
    lexicon as any mask is (``_decode_word``: "x*n*x" -> "xanax", "c.c..n."
    -> "cocaine"), the same symbol at the word's edges included when the
    whole run then reads as a term. Anything else is left to the other
    rules (``_join_single_chars`` joins "s.o.s" as before).
    """
    hint = _SEPARATED_HINT.search(cur)
    if hint is None:
        return []
    # the first match starts at the word before the first hint, or later
    start = hint.start()
    while start > 0 and cur[start - 1] in _SEPARATED_WORD_CHARS:
        start -= 1
    edits: list[_Edit] = []
    n = len(cur)
    for m in _SEPARATED.finditer(cur, start):
        a, b = m.span()
        sep = m.group(1)
        while cur[b - 1] == "!":  # "x*n*x!": an exclamation mark, not a leet "i"
            b -= 1
        if b <= m.start(1):
            continue
        a0, b0 = a, b
        while a0 > 0 and cur[a0 - 1] == sep:
            a0 -= 1
        while b0 < n and cur[b0] == sep:
            b0 += 1
        before = cur[a0 - 1] if a0 > 0 else " "
        after = cur[b0] if b0 < n else " "
        if before.isalnum() or before in "_@#$&" or before in _SEP_CHARS or after.isalnum() or after == "_":
            continue
        if after in _SEP_CHARS and b0 + 1 < n and cur[b0 + 1].isalnum():
            continue  # a run of another separator goes on ("co-ca.ine"): not one word
        if b - a > MAX_DECODED_WORD or b0 - a0 > 2 * MAX_DECODED_WORD:
            continue
        reading = _read_separated(cur[a0:b0], a - a0, b0 - b, sep)
        if reading is None or _is_protected(prot, a0, b0):
            continue
        x, y, new, joined = reading
        if joined:
            edits.append((a0 + x, a0 + y, new, [k for k in range(a0 + x, a0 + y) if cur[k] != sep]))
        else:
            edits.append((a0 + x, a0 + y, new, None))
    return edits


@lru_cache(maxsize=16384)
def _read_separated(run: str, lead: int, tail: int, sep: str) -> tuple[int, int, str, bool] | None:
    """The reading of one ``_separated_words`` run (its word, with ``lead``
    and ``tail`` separators at its edges): the span read within ``run``, the
    new text, and whether it is a join (else a masked reading)."""
    a, b = lead, len(run) - tail
    token = run[a:b]
    if _in_vocab(token):
        return None
    pieces = token.split(sep)
    if "" not in pieces and len(pieces) >= MIN_SEPARATED_PIECES:
        joined = "".join(pieces)
        decoded = _decode_word(joined)
        word = decoded if decoded is not None else joined
        if word.isalpha() and _is_drug_word(word):
            return a, b, joined, True
    if sep not in _MASK_SEPS:
        return None
    whole = run.replace(sep, "*")
    read = _read_mask_separated(whole)
    if read is not None:
        return 0, len(run), read, False
    if (lead or tail) and not _fits_english(whole):
        # the symbols at the edges may be punctuation ("k-t-m-n-."), unless
        # the whole run is an English word's shape ("g-n--n-": "genuine")
        read = _read_mask_separated(token.replace(sep, "*"))
        if read is not None:
            return a, b, read, False
    return None


def _fits_english(pattern: str) -> bool:
    """Whether a common English word fits ``pattern``, each mask one letter."""
    return len(pattern) <= MAX_DECODED_WORD and bool(_english_skeletons().fit(pattern))


@lru_cache(maxsize=16384)
def _read_mask_separated(pattern: str) -> str | None:
    """A word whose separators were turned into masks ("x*n*x"), read as a
    drug word with each mask one letter. Separators are ordinary punctuation
    too, so this asks more than a mask symbol does: three known letters
    ("i.e." is no "inex"), a drug word of the pattern's length whose hidden
    letters are vowels but for one consonant (and fewer consonants than
    vowels), and no common English word of that shape with as many vowels
    hidden."""
    if len(pattern) > MAX_DECODED_WORD or _count_letters(pattern) < SKELETON_MIN_KNOWN:
        return None
    read = _decode_word(pattern)
    if read is None or len(read) != len(pattern) or not read.isalpha() or not _is_drug_word(read):
        return None
    hidden = [i for i, c in enumerate(pattern) if c == "*"]

    def vowels_hidden(word: str) -> int:
        return sum(word[i] in _VOWELS for i in hidden)

    # the separators hide vowels, with at most one consonant ("p.a.k." is no
    # "planks": its dots would hide three consonants)
    best = vowels_hidden(read)
    if len(hidden) - best > min(1, best - 1):
        return None
    # as in _resolve_skeleton: an English word that fits as well is a guess
    if any(vowels_hidden(w) >= best for w in _english_skeletons().fit(pattern)):
        return None
    return read


def _join_single_chars(cur: str, prot: _Protected) -> list[_Edit]:
    separated = _separated_words(cur, prot)
    punct_runs = _punct_runs(cur)
    space_runs = _space_runs(cur)
    if not separated and not punct_runs and not space_runs:
        return []
    edits: list[_Edit] = list(separated)
    read = _Spans((a, b) for a, b, _, _ in separated)
    for m in punct_runs:
        a, b = m.span()
        if _is_protected(prot, a, b) or _is_protected(read, a, b):
            continue
        src_all = [j for j in range(a, b) if cur[j].isalnum() or cur[j] in "@$!"]
        for src in _consistent_runs(cur, src_all):
            letters = "".join(cur[j] for j in src)
            if _count_letters(letters) < 2:
                continue
            edits.append((src[0], src[-1] + 1, letters, src))
    taken = _Spans((a, b) for a, b, _, _ in edits)
    for m in space_runs:
        a, b = m.span()
        if _is_protected(prot, a, b) or _is_protected(taken, a, b):
            continue
        # every other position is a character: the longest sub-run that
        # spells a lexicon term is joined
        best = _best_spaced_word(cur[a:b:2])
        if best is not None:
            i, j = best
            src = list(range(a + 2 * i, a + 2 * j, 2))
            edits.append((src[0], src[-1] + 1, cur[a + 2 * i : a + 2 * j : 2], src))
    edits.sort()
    return edits


# ---------------------------------------------------------------------------
# Stage 3: inside words (leet, masks, stretched letters)
# ---------------------------------------------------------------------------

_CURRENCY_CHARS: Final[str] = "".join(_CURRENCY_LOOKALIKES)
_SPECIAL = "0-9@$!*?_" + re.escape(_BOX_MASKS + _CURRENCY_CHARS)
_SEGMENTS = re.compile(r"[a-z]+|[^a-z]+")
_TRIPLE = re.compile(r"([a-z])\1\1+")
_EDGE_TRIM_LEAD = "!?*_@"
_EDGE_TRIM_TAIL = "!?*_@"
_LETTERS_OR_LEET = re.compile(r"[a-z]")
# "4" read as "for" ("bars4sale", "4ever"), not as the letter a.
_FOUR_WORDS: Final[tuple[str, ...]] = ("sale", "ever", "life", "real", "you", "free", "less")


def _resolve_mask(pattern: str) -> str | None:
    """Resolve a word with hidden letters against the lexicon, e.g. "md□ma".

    A few masks (at most two, or half the known letters) each stand for one
    letter or none (an unsupported character rendered as a box). More masks
    ("C*c**n*", "K⊠t⊠m⊠n⊠": every vowel hidden) are read by the word's
    skeleton: each mask is one letter, and the known letters must sit where
    the term has them (:func:`_resolve_skeleton`). Returns the best term
    when all matching terms agree on their labels, else ``None``.
    """
    v = _vocab()
    known = sum(1 for c in pattern if "a" <= c <= "z")
    masked = sum(1 for c in pattern if c in _MASKS)
    if known < 2 or known + masked != len(pattern):
        return None
    if masked > max(2, known // 2):
        return _resolve_skeleton(pattern, known, masked)
    rx = "".join(".?" if c in _MASKS else c for c in pattern)
    pool = _mask_pools().get(pattern[0], "") if "a" <= pattern[0] <= "z" else v.mask_pool
    found = re.findall(rf"^{rx}$", pool, re.M)
    if not found:
        return None
    labels = {lab for t in found for lab in v.labels.get(t, ())}
    if len(labels) > 1:
        return _prefer_hidden_vowels(pattern, found)
    return min(found, key=lambda t: (v.preferred.get(t, 9), t))


@lru_cache(maxsize=1)
def _mask_pools() -> dict[str, str]:
    """``_vocab().mask_pool`` split by first letter: a pattern that starts
    with a letter is matched against the terms that start with it."""
    pools: dict[str, list[str]] = {}
    for term in _vocab().mask_pool.split("\n"):
        if term:
            pools.setdefault(term[0], []).append(term)
    return {first: "\n".join(terms) for first, terms in pools.items()}


def _prefer_hidden_vowels(pattern: str, found: list[str]) -> str | None:
    """Of terms of different labels that fit a lightly masked word, the ones
    reading each mask as one letter, a vowel ("c░c░ine": "cocaine", not
    "cycline"), as :func:`_resolve_skeleton` would choose; ``None`` when they
    still disagree, a common English word fits as well, or the word has one
    mask or fewer than three known letters, too little to tell."""
    hidden = [i for i, c in enumerate(pattern) if c in _MASKS]
    if len(hidden) < 2 or len(pattern) - len(hidden) < SKELETON_MIN_KNOWN:
        return None  # one mask is as often a consonant ("md*a": mdma, not mdea)
    same_length = [t for t in found if len(t) == len(pattern) and all(t[i] in _VOWELS for i in hidden)]
    if not same_length:
        return None
    return _pick_by_vowels(pattern, same_length)


def _pick_by_vowels(pattern: str, found: list[str]) -> str | None:
    """The best of ``found`` (terms of ``pattern``'s length that fit it): the
    terms whose hidden letters are most often vowels must agree on their
    label, and no common English word may fit as well."""
    v = _vocab()
    hidden = [i for i, c in enumerate(pattern) if c in _MASKS]

    def vowels_hidden(word: str) -> int:
        return sum(word[i] in _VOWELS for i in hidden)

    best = max(vowels_hidden(t) for t in found)
    top = [t for t in found if vowels_hidden(t) == best]
    labels = {lab for t in top for lab in v.labels.get(t, ())}
    if len(labels) > 1:
        return None
    # an English word that fits as well: a guess, not a reading
    if any(vowels_hidden(w) >= best for w in _english_skeletons().fit(pattern)):
        return None
    return min(top, key=lambda t: (v.preferred.get(t, 9), t))


#: Fewest known letters, and most masks beyond the known letters, of a word
#: read by its skeleton. "c*c**n*" (3 known, 4 masked) is read; "*o**" is not.
SKELETON_MIN_KNOWN: Final[int] = 3
SKELETON_MAX_EXTRA_MASKS: Final[int] = 2
#: General English words a skeleton must not also fit (the most frequent of
#: the hashtag segmenter's unigram counts): "h*ll*" is "hello", not a drug.
SKELETON_ENGLISH_WORDS: Final[int] = 30_000
_VOWELS: Final[frozenset[str]] = frozenset("aeiouy")


class _SkeletonIndex:
    """Words by (length, position, letter): the words fitting a skeleton are
    the intersection of the sets of its known letters."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: list[str] = []
        self._at: dict[tuple[int, int, str], set[int]] = {}
        for w in words:
            i = len(self.words)
            self.words.append(w)
            for pos, ch in enumerate(w):
                self._at.setdefault((len(w), pos, ch), set()).add(i)

    def fit(self, pattern: str) -> list[str]:
        n = len(pattern)
        per_letter = [self._at.get((n, pos, ch)) for pos, ch in enumerate(pattern) if "a" <= ch <= "z"]
        sets = [s for s in per_letter if s is not None]
        if not sets or len(sets) < len(per_letter):
            return []
        sets.sort(key=len)
        found = set(sets[0])
        for s in sets[1:]:
            found &= s
            if not found:
                return []
        return [self.words[i] for i in sorted(found)]


@lru_cache(maxsize=1)
def _lexicon_skeletons() -> _SkeletonIndex:
    return _SkeletonIndex(_vocab().mask_pool.split("\n"))


@lru_cache(maxsize=1)
def _english_skeletons() -> _SkeletonIndex:
    from drugwatch.text.hashtags import _base_log_probs

    probs = _base_log_probs()
    top = sorted(probs, key=lambda w: (-probs[w], w))[:SKELETON_ENGLISH_WORDS]
    lexicon = _vocab().words
    return _SkeletonIndex(w for w in top if w.isascii() and w.isalpha() and len(w) >= 4 and w not in lexicon)


@lru_cache(maxsize=16384)
def _resolve_skeleton(pattern: str, known: int, masked: int) -> str | None:
    """A heavily masked word read by its skeleton: its length, its known
    letters in place, each mask one letter. The lexicon terms that fit must
    agree on their labels. Masks usually hide vowels, so the terms whose
    hidden letters are most often vowels are kept ("c*c**n*": "cocaine", not
    "cycline"); a common English word that fits as well ("h*ll*": "hello")
    makes the reading a guess, and the word is left as it is. Of the terms
    kept, the best kind wins."""
    if known < SKELETON_MIN_KNOWN or masked > known + SKELETON_MAX_EXTRA_MASKS:
        return None
    found = _lexicon_skeletons().fit(pattern)
    if not found:
        return None
    return _pick_by_vowels(pattern, found)


def _collapse_repeats(word: str) -> str:
    if not _TRIPLE.search(word):
        return word
    two = _TRIPLE.sub(lambda m: m.group(1) * 2, word)
    if _in_vocab(two):
        return two
    one = _TRIPLE.sub(lambda m: m.group(1), word)
    if _in_vocab(one):
        return one
    return two


@lru_cache(maxsize=65536)
def _decode_word(core: str) -> str | None:
    """Decode one word core to a fixed point; ``None`` when nothing changes.

    One pass can enable another: decoding "AA00A0A"'s lone "0" makes "00"
    sit between two-letter runs, which a second pass decodes. Iterating
    until nothing changes keeps :func:`normalize` idempotent. Each pass only
    turns leet into letters or shortens the word, so this terminates.
    """
    word = _decode_word_once(core)
    if word is None:
        return None
    for _ in range(8):
        again = _decode_word_once(word)
        if again is None:
            break
        word = again
    return word


def _decode_word_once(core: str) -> str | None:
    """Decode one word core; ``None`` when nothing changes. The result may be
    shorter than ``core`` (stretched letters), never longer.

    Leet digits between letters are decoded ("c0ke", "sh00ms"); leet at a
    word's edge ("0xy", "cok3"), leet symbols ("b@rs", "p!lls") and masked
    letters ("md□ma") only when the result is a lexicon term, so that "3pm",
    "m30", "1p", "em@il" and "snake_case" survive.
    """
    if len(core) > MAX_DECODED_WORD or not _LETTERS_OR_LEET.search(core):
        return None
    segs = _SEGMENTS.findall(core)
    last = len(segs) - 1
    safe: set[int] = set()
    optional: set[int] = set()
    masked: set[int] = set()
    n_letters = sum(len(seg) for seg in segs if seg[0].isalpha())
    for k, seg in enumerate(segs):
        if seg[0].isalpha():
            continue
        if all(c in _LEET for c in seg):
            # Digits between letters are leet ("c0ke", "sh00ms") unless the
            # word looks like a code ("m30s", "t3s", "m30forsale").
            if (
                0 < k < last
                and all(c in _LEET_DIGITS for c in seg)
                and ((len(seg) == 1 and n_letters >= 3) or (len(segs[k - 1]) >= 2 and len(segs[k + 1]) >= 2))
                and not (seg == "4" and segs[k + 1].startswith(_FOUR_WORDS))
            ):
                safe.add(k)
            else:
                optional.add(k)
        elif any(c in _MASKS for c in seg):
            masked.add(k)

    def build(one: str, confirmed: bool) -> str:
        out = []
        for k, seg in enumerate(segs):
            if k in safe or (confirmed and (k in optional or k in masked)):
                out.append("".join((one if c == "1" else _LEET.get(c, c)) for c in seg))
            else:
                out.append(seg)
        return "".join(out)

    ones = ("i", "l") if "1" in core else ("i",)
    if optional or masked or "1" in core:
        for one in ones:
            word = build(one, True)
            for cand in (word, _collapse_repeats(word)):
                if _in_vocab(cand):
                    return None if cand == core else cand
            if masked:
                as_o = word.translate(_O_MASK_TABLE)  # "∅xy": a mask shaped like an o
                if as_o != word and _in_vocab(as_o):
                    return as_o
                resolved = _resolve_mask(word)
                if resolved is not None:
                    return resolved
    word = _collapse_repeats(build("i", False))
    return None if word == core else word


_CORE_CHARS: Final[frozenset[str]] = frozenset(
    "abcdefghijklmnopqrstuvwxyz0123456789@$!*?_" + _BOX_MASKS + _CURRENCY_CHARS
)
# A run of _CORE_CHARS (matched forwards, and backwards on the reversed text).
_CORE_SPAN = re.compile("[" + re.escape("".join(sorted(_CORE_CHARS))) + "]*")


def _edge_masks(cur: str, a0: int, a: int, b: int, b0: int) -> bool:
    """Whether the characters trimmed off a word's edges (``cur[a0:a]``,
    ``cur[b:b0]``) may be masks: only ``*``, ``_`` and box masks ("her?" and
    "wow!" end a sentence), and only when the word is masked inside as well
    ("car*" is a footnote mark)."""
    edges = cur[a0:a] + cur[b:b0]
    return all(c in _MASKS and c not in "?!@" for c in edges) and any(c in _MASKS for c in cur[a:b])


#: Runs longer than this are read without the cache (one long run would be
#: kept as a key); the cache holds at most 65,536 runs, so its size is
#: bounded whatever the input.
_RUN_CACHE_MAX: Final[int] = 2 * MAX_DECODED_WORD


def _decode_words(cur: str, prot: _Protected) -> list[_Edit]:
    """Stage 3: every maximal run of core characters that holds a
    ``_SUSPECT`` hint, decoded as a word.

    A run's reading depends on its characters only (a character before a
    run is no core character, so never the "@" of a handle), so it is cached
    per distinct run (``_run_reading``): the usual runs ("2mg", "100mg",
    "24/7") are answered by a cache look-up instead of the edge trimming
    and the checks of ``_read_run`` (this stage 13.2 -> 8.7 us per text on
    the bench texts, interleaved A/B at load 7; about 2 % of ``normalize``)."""
    edits: list[_Edit] = []
    done = -1
    n = len(cur)
    rev: str | None = None
    for hint in _suspect_starts(cur):
        if hint < done:
            continue
        # widen the hint to the run of core characters around it
        a = hint
        if a > 0 and cur[a - 1] in _CORE_CHARS:
            if rev is None:
                rev = cur[::-1]
            a = n - _CORE_SPAN.match(rev, n - a).end()  # type: ignore[union-attr]
        b = done = _CORE_SPAN.match(cur, hint).end()  # type: ignore[union-attr]
        run = cur[a:b]
        reading = _run_reading(run) if b - a <= _RUN_CACHE_MAX else _read_run(run)
        if reading is None:
            continue
        x, y, new, src = reading
        if _is_protected(prot, a + x, a + y):
            continue
        edits.append((a + x, a + y, new, None if src is None else [a + k for k in src]))
    return edits


def _read_run(run: str) -> tuple[int, int, str, tuple[int, ...] | None] | None:
    """The reading of one maximal run of core characters that holds a
    ``_SUSPECT`` hint: the span it replaces (within ``run``), the new text
    and, for a shortened word, each new character's position within
    ``run``; ``None`` when it decodes to nothing."""
    a, b = 0, len(run)
    while a < b and run[a] in _EDGE_TRIM_LEAD:
        a += 1
    while b > a and run[b - 1] in _EDGE_TRIM_TAIL:
        b -= 1
    if b - a < 2 or (a > 0 and run[a - 1] == "@"):  # @handles are kept
        return None
    n = len(run)
    new = None
    if (a, b) != (0, n) and n <= MAX_DECODED_WORD and _edge_masks(run, 0, a, b, n):
        # a mask at the edge of a word masked inside too ("c*c**n*",
        # "*cst*sy") hides a letter when the whole run reads as a term
        whole = _decode_word(run)
        if whole is not None and _in_vocab(whole):
            a, b, new = 0, n, whole
    if new is None and run[b:] == "@" and n - a <= MAX_DECODED_WORD:
        # a word-final "@" is an "a" ("MDM@") when the word then names a
        # drug; elsewhere it is an address or a handle
        whole = _decode_word(run[a:])
        if whole is not None and _is_drug_word(whole):
            b, new = n, whole
    core = run[a:b]
    if new is None:
        # checked before the cache, which would keep a long core as its key
        new = _decode_word(core) if len(core) <= MAX_DECODED_WORD else None
    if new is None:
        return None
    if len(new) == len(core):
        return a, b, new, None
    return a, b, new, tuple(_align(core, new, a))


_run_reading = lru_cache(maxsize=65536)(_read_run)


def _align(core: str, new: str, offset: int) -> list[int]:
    """Source positions for a shortened word: greedy left-to-right alignment
    (collapsed repeats keep their first letters)."""
    src: list[int] = []
    j = 0
    for c in new:
        while j < len(core) - 1 and core[j] != c and len(core) - j > len(new) - len(src):
            j += 1
        src.append(offset + min(j, len(core) - 1))
        j += 1
    return src


# ---------------------------------------------------------------------------
# Stage 4: word pieces split by one separator ("co-caine", "xan ax")
# ---------------------------------------------------------------------------

_PIECE_SEPS: Final[str] = " .-_*/|·•~+"
_TO_SPACE: Final[dict[int, int]] = {ord(c): ord(" ") for c in _PIECE_SEPS}
_TO_SPACE_BYTES: Final[bytes] = bytes.maketrans(
    "".join(c for c in _PIECE_SEPS if c.isascii()).encode(), b" " * sum(1 for c in _PIECE_SEPS if c.isascii())
)
_ANY_PIECE_SEP = re.compile("[" + re.escape(_PIECE_SEPS.replace(" ", "")) + "]")


#: One space (the gaps between the pieces of a split word).
_ONE_SPACE = re.compile(" ")


@lru_cache(maxsize=1)
def _joinable_automaton():  # -> ahocorasick.Automaton
    """The joinable drug words, whole."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for term in _vocab().joinable:
        automaton.add_word(term, term)
    automaton.make_automaton()
    return automaton


def _piece_joins(cur: str, spaced: str) -> list[tuple[int, int, str]]:
    """Every joinable drug word written as two pieces, or as three when it has
    at most 12 letters, with one separator between pieces (``spaced`` is
    ``cur`` with the separators made spaces): (start, end, term).

    The word may have no letter or digit on either side, and a word after
    "@" or "#" is a handle or a tag, not a split word. The spaces are
    removed and the words found whole in what is left; a word found there is
    kept when one or two single spaces fell inside it. (An automaton of
    every way to split every joinable word found the same spans at the same
    speed but took about a fifth of a second to build in every process.)"""
    compact = spaced.replace(" ", "")
    if len(compact) == len(spaced):
        return []
    # shifts[k]: the position in ``compact`` of the character after the k-th
    # space, so that compact[c] is spaced[c + bisect_right(shifts, c)]
    shifts: list[int] | None = None
    found: list[tuple[int, int, str]] = []
    n = len(cur)
    for last, term in _joinable_automaton().iter(compact):
        if shifts is None:
            shifts = [m.start() - k for k, m in enumerate(_ONE_SPACE.finditer(spaced))]
        first = last - len(term) + 1
        before_first = bisect_right(shifts, first)
        before_last = bisect_right(shifts, last)
        gaps = before_last - before_first
        if gaps == 2:
            # two pieces between double spaces are no three pieces
            if len(term) > 12 or shifts[before_first] == shifts[before_first + 1]:
                continue
        elif gaps != 1:
            continue
        a = first + before_first
        b = last + before_last + 1
        if a > 0 and (cur[a - 1].isalnum() or cur[a - 1] in "@#"):
            continue
        if b < n and cur[b].isalnum():
            continue
        found.append((a, b, term))
    return found


def _join_pieces(cur: str, prot: _Protected) -> list[_Edit]:
    if cur.isascii():
        spaced = cur.encode("ascii").translate(_TO_SPACE_BYTES).decode("ascii")
    else:  # the same as cur.translate(_TO_SPACE): spaces map to themselves
        spaced = _ANY_PIECE_SEP.sub(" ", cur)
    found = _piece_joins(cur, spaced)
    if not found:
        return []
    found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
    edits: list[_Edit] = []
    last_end = -1
    for a, b, term in found:
        if a < last_end or _is_protected(prot, a, b):
            continue
        src = [k for k in range(a, b) if spaced[k] != " "]
        edits.append((a, b, term, src))
        last_end = b
    return edits


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

# Where stage 3 has work: a letter next to a special character, or a letter
# written three times.
_SUSPECT = re.compile(rf"[a-z][{_SPECIAL}]|[{_SPECIAL}][a-z]|([a-z])\1\1")
# The same hints found by two patterns the regex engine scans faster (each
# starts with a character class it can skip to): a special character with a
# letter before or after it, and a tripled letter.
_SPECIAL_BY_LETTER = re.compile(rf"[{_SPECIAL}](?:(?<=[a-z].)|(?=[a-z]))")
_TRIPLE_LETTER = re.compile(r"([a-z])\1\1")


def _suspect_starts(cur: str) -> list[int]:
    """Positions inside every run of core characters that holds a
    ``_SUSPECT`` match (and in no other run), in order. Stage 3 widens each
    to its run, so these stand in for ``_SUSPECT.finditer``."""
    starts = [m.start() for m in _SPECIAL_BY_LETTER.finditer(cur)]
    triple = _TRIPLE_LETTER.search(cur)
    if triple is not None:
        starts.extend(m.start() for m in _TRIPLE_LETTER.finditer(cur, triple.start()))
        starts.sort()
    return starts


_MAX_ROUNDS: Final[int] = 4

#: Texts at least this long are read with the cyclic garbage collector paused
#: (here, in the lexicon matcher and in ``analyze``; ``analyze_many`` pauses
#: it for a whole corpus). Reading one creates hundreds of thousands of
#: objects that live until it is done, and the collections they trigger walk
#: all of them again and again: reading a 64,000-character text of emoji took
#: 2.8 s with the collector running, 1.0 s without. The views hold no
#: reference cycles; what cyclic garbage a stage leaves (an exception caught
#: in a library, say) is collected once the collector runs again.
GC_PAUSE_MIN_CHARS: Final[int] = 10_000


def normalize(text: str) -> NormalizedText:
    """Normalize ``text``; see the module docstring for what is recovered.

    Raises ``TypeError`` for anything but ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() expects str, got {type(text).__name__}")
    if len(text) >= GC_PAUSE_MIN_CHARS and gc.isenabled():
        gc.disable()
        try:
            return _normalize(text)
        finally:
            gc.enable()
    return _normalize(text)


def _normalize(text: str) -> NormalizedText:
    raw = text
    if not raw:
        return NormalizedText(raw, "")
    if raw.isascii():
        cur, starts, ends = _stage1_ascii(raw)
    else:
        cur, starts, ends = _stage1_unicode(raw)
        if not cur.isascii():
            edits = _fix_homoglyphs(cur, _capital_positions(raw, cur, starts))
            if edits:
                cur, starts, ends = _apply(cur, starts, ends, edits)

    # The word stages can enable each other (a mask resolved next to a
    # Cyrillic letter makes a mixed-script word; a decoded digit makes a
    # neighbour decodable), so they run in rounds until one changes nothing:
    # that is what makes normalize() idempotent. Most texts need one round.
    for round_ in range(_MAX_ROUNDS):
        changed = False
        if round_ and not cur.isascii():
            edits = _fix_homoglyphs(cur)
            if edits:
                if starts is None or ends is None:
                    starts, ends = list(range(len(cur))), list(range(1, len(cur) + 1))
                cur, starts, ends = _apply(cur, starts, ends, edits)
                changed = True
        prot = _Protected(cur)
        for stage in (_join_single_chars, _decode_words, _join_pieces):
            edits = stage(cur, prot)
            if edits:
                if starts is None or ends is None:
                    starts, ends = list(range(len(cur))), list(range(1, len(cur) + 1))
                cur, starts, ends = _apply(cur, starts, ends, edits)
                prot = _Protected(cur)
                changed = True
        if not changed:
            break

    if starts is None or ends is None:
        return NormalizedText(raw, cur)
    return NormalizedText(raw, cur, tuple(starts), tuple(ends))


def normalize_many(texts: Iterable[str]) -> list[NormalizedText]:
    """``normalize`` over an iterable of strings."""
    return [normalize(t) for t in texts]
