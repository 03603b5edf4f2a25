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
read. The model (a few MB) is loaded on first use and shared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

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


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    identifier.set_languages([code for code in LANGUAGES if code in set(identifier.nb_classes)])
    return identifier


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
