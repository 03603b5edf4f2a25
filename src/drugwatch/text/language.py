"""Which language a short social-media text is written in.

``detect_language(text)`` returns an ISO 639-1 code (``"en"``, ``"zh"``,
``"ko"`` ...) or ``None`` when the text has too few letters to tell (emoji,
numbers, a bare handle or link). ``detect_languages(texts)`` does the same
for many texts.

How:

1. Links, ``@handles``, e-mail addresses and digits are removed first: they
   are written in Latin letters whatever the language, and a Korean advert
   ending in ``telegram @plug_demo`` is still Korean.
2. Scripts that one language owns decide at once, without a model: Hangul
   is Korean, Thai script is Thai, kana is Japanese, and Han characters
   without kana are Chinese. A script decides when it holds at least half of
   the text's letters, counting each Han, kana or Hangul character as two
   Latin letters (a Chinese word is one or two characters, an English one
   five or so).
3. Everything else goes to `py3langid <https://pypi.org/project/py3langid/>`_
   (a maintained fork of langid.py: a naive Bayes model over byte n-grams,
   shipped inside the package, BSD licence, no download at run time),
   restricted to :data:`LANGUAGES`.

Why py3langid: on the 361 short texts of ``benchmarks/data/selling_challenge.jsonl``
(eleven languages, written for drugwatch; used here to *measure* only, never to
tune the detectors) py3langid alone was right on 97.5 % at about 4,000 texts
per CPU-second; lingua-language-detector was right on 99.4 % in its
high-accuracy mode but at about 300 texts per CPU-second after 25 s of model
loading and about 1 GB of memory, and on 95.6 % in its low-accuracy mode at
about 900 texts per CPU-second. The numbers of this module (script rules +
py3langid on :data:`LANGUAGES`) are in ``docs/models.md``.

Cost is linear in the text: only the first :data:`MAX_CHARS` characters are
read. The model is loaded on first use and shared; its arrays restricted to
:data:`LANGUAGES` are kept in the table cache (:func:`_identifier`).
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.text.tablecache import cached_table

__all__ = ["LANGUAGES", "MAX_CHARS", "detect_language", "detect_languages"]

#: The languages :func:`detect_language` can answer. The ones the issue lists
#: for drug adverts (Chinese, Korean, Japanese, Thai, Vietnamese, Spanish,
#: Portuguese, French, German, Russian, Arabic, Indonesian), English, the
#: official languages of the EU, and the other large languages of the big
#: platforms. A text in a language outside the set gets the closest one in it
#: (py3langid also knows dialects and small languages, such as Aragonese or
#: Wu Chinese, which on short texts mostly absorb Spanish or Chinese posts).
LANGUAGES: tuple[str, ...] = (
    # English and the languages named for drug adverts
    "en",
    "zh",
    "ko",
    "ja",
    "th",
    "vi",
    "es",
    "pt",
    "fr",
    "de",
    "ru",
    "ar",
    "id",
    # other official languages of the EU
    "it",
    "nl",
    "pl",
    "sv",
    "da",
    "fi",
    "cs",
    "sk",
    "ro",
    "hu",
    "bg",
    "el",
    "hr",
    "sl",
    "lt",
    "lv",
    "et",
    "ga",
    "mt",
    # other large languages of the big platforms
    "uk",
    "tr",
    "fa",
    "he",
    "hi",
    "bn",
    "ur",
    "ta",
    "te",
    "mr",
    "ms",
    "tl",
    "sw",
    "no",
    "sr",
    "ca",
    "km",
    "lo",
    "my",
    "ne",
    "si",
    "az",
    "kk",
    "uz",
)

#: Characters read per text: a language shows in the first few sentences, and
#: this keeps the cost of a huge text bounded.
MAX_CHARS = 1_000

#: Fewer letters than this (after links, handles and digits are removed): no answer.
MIN_LETTERS = 3

_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # links
    r"|\S+@\S+\.\S+"  # e-mail addresses
    r"|[@＠][\w.]+"  # handles
    r"|\b[a-z0-9]+\.(?:com|net|org|me|io|example)\S*"  # bare domains
    r"|[\d_]+",
    re.IGNORECASE,
)


def _script(char: str) -> str | None:
    """The script of one letter, for the scripts that decide a language alone."""
    code = ord(char)
    if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF:
        return "han"
    if 0x0E00 <= code <= 0x0E7F:
        return "thai"
    return None


#: Weight of one Hangul, kana or Han character against one letter of an alphabet.
_CJK_WEIGHT = 2

#: Format of the cached py3langid arrays (:func:`_restricted_model`); bump when it changes.
_MODEL_TABLE_VERSION = 1


def _by_script(text: str) -> tuple[str | None, int]:
    """``(language decided by script or None, letter count)`` of a cleaned text."""
    counts = {"hangul": 0, "kana": 0, "han": 0, "thai": 0}
    letters = 0
    for char in text:
        if char.isascii():
            if char.isalpha():
                letters += 1
            continue
        script = _script(char)
        if script is not None:
            counts[script] += 1
            letters += _CJK_WEIGHT if script != "thai" else 1
        elif char.isalpha():
            letters += 1
    if letters < MIN_LETTERS:
        return None, letters
    half = letters / 2
    cjk = counts["hangul"] + counts["kana"] + counts["han"]
    if _CJK_WEIGHT * cjk >= half:
        if counts["hangul"] >= counts["kana"] + counts["han"]:
            return "ko", letters
        # Japanese writes kanji (Han) between kana; Chinese has no kana at all.
        return ("ja" if counts["kana"] else "zh"), letters
    if counts["thai"] >= half:
        return "th", letters
    return None, letters


def _restricted_model(model_file: Path) -> tuple[Any, ...]:
    """py3langid's model restricted to :data:`LANGUAGES`, as plain data for the table cache.

    ``(ptc bytes, ptc shape, ptc dtype, pc bytes, pc dtype, classes, nextmove
    typecode, nextmove bytes, row typecode, row bytes, output)``: the arrays the
    identifier reads, the class columns outside :data:`LANGUAGES` dropped.
    """
    from py3langid.langid import LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(model_file, norm_probs=False)
    identifier.set_languages([code for code in LANGUAGES if code in set(identifier.nb_classes)])
    ptc = np.ascontiguousarray(identifier.nb_ptc)
    pc = np.ascontiguousarray(identifier.nb_pc)
    return (
        ptc.tobytes(),
        ptc.shape,
        ptc.dtype.str,
        pc.tobytes(),
        pc.dtype.str,
        list(identifier.nb_classes),
        identifier.tk_nextmove.typecode,
        identifier.tk_nextmove.tobytes(),
        identifier.tk_row.typecode,
        identifier.tk_row.tobytes(),
        list(identifier.tk_output),
    )


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's identifier on :data:`LANGUAGES`.

    The package ships its model xz-compressed (68 MB of arrays); restricted
    to :data:`LANGUAGES` it is about 51 MB, kept by :mod:`drugwatch.text.tablecache`
    so that later processes read it instead of decompressing the model
    again (about 0.1 s instead of 0.7 s of a process's start-up).
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    model_file = Path(MODEL_DIR) / MODEL_FILE
    ptc, shape, ptc_dtype, pc, pc_dtype, classes, move_code, moves, row_code, rows, output = cached_table(
        "py3langid", _MODEL_TABLE_VERSION, [model_file], lambda: _restricted_model(model_file)
    )
    return LanguageIdentifier(
        np.frombuffer(ptc, dtype=np.dtype(ptc_dtype)).reshape(shape),
        np.frombuffer(pc, dtype=np.dtype(pc_dtype)),
        list(classes),
        array(move_code, moves),
        list(output),
        norm_probs=False,
        tk_row=array(row_code, rows),
    )


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    return _NOISE.sub(" ", text)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or ``None`` when it has too few letters.

    Raises ``TypeError`` for anything but ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"detect_language() expects str, got {type(text).__name__}")
    cleaned = _clean(text)
    decided, letters = _by_script(cleaned)
    if decided is not None or letters < MIN_LETTERS:
        return decided
    # py3langid reads lower case best: all-caps adverts ("BUY XANAX NOW") are lowered by it
    # only when the whole text is upper case, so lower every text.
    return str(_identifier().classify(cleaned.lower())[0])


def detect_languages(texts: Iterable[str]) -> list[str | None]:
    """:func:`detect_language` of each text, in order (a repeated text is read once)."""
    items = list(texts)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"detect_languages() expects str items, got {type(item).__name__}")
    known: dict[str, str | None] = {}
    out: list[str | None] = []
    for text in items:
        if text not in known:
            known[text] = detect_language(text)
        out.append(known[text])
    return out
