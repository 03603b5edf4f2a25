"""Text preprocessing of Li, Xu, Shah & Mackey (JMIR 2019), for the baselines.

The paper strips hyperlinks, special characters (emoji, '!', '@') and stop
words, keeps '#', and builds three variants of each post: text with hashtags,
hashtags only, text without hashtags. Its two-branch LSTM reads the text
tokens (first 50) and the hashtag tokens (first 15) separately.

:func:`jmir_clean` does exactly this, in order:

1. Hyperlinks are removed: anything starting ``http://``, ``https://`` or
   ``www.`` up to the next whitespace, and bare links ``name.tld/...`` or
   ``name.tld`` for common TLDs (com, net, org, io, me, co, ly, ...), which
   includes ``t.me/handle`` and ``wa.me/number``.
2. HTML character references are decoded (``&#39;`` -> ', ``&amp;`` -> &),
   with :func:`html.unescape`.
3. The text is lower-cased (``str.lower``).
4. Apostrophes (' and ’) are deleted so that contractions stay one token
   ("don't" -> "dont").
5. Tokens are read: a hashtag is '#' followed by letters, digits or
   underscores (glued tags "#xanax#oxy" are two hashtags); a word is a run of
   letters, digits or underscores of any script. Every other character is
   dropped: emoji, punctuation ('!', '?', '.', ',', ...), symbols ('@', '$',
   '%', '*', ...), a '#' not followed by a word character.
6. Words in scikit-learn's ``ENGLISH_STOP_WORDS`` (318 words; note that it
   holds a few content words such as "fire", "call", "bill", "find") are
   removed; hashtags are never removed.
7. Tokens are joined with single spaces.

Numbers stay ("2mg", "30", "420"), so does non-Latin text.
"""

from __future__ import annotations

import html
import re
from typing import Final, Literal

from drugwatch.text.stopwords import ENGLISH_STOP_WORDS

JmirVariant = Literal["with_hashtags", "hashtags_only", "without_hashtags"]
JMIR_VARIANTS: Final[tuple[str, ...]] = ("with_hashtags", "hashtags_only", "without_hashtags")

#: The stop word list (scikit-learn's English list).
STOP_WORDS: Final[frozenset[str]] = frozenset(ENGLISH_STOP_WORDS)

_TLDS = (
    "com|net|org|io|me|co|info|biz|ly|ee|gg|xyz|shop|store|online|site|app|onion|ru|uk|"
    "de|ca|au|nl|fr|ch|cc|tk|link|top|club|live|pro|page|eu|es|pl|us|gl|to"
)
_LINK: Final = re.compile(
    r"(?:https?://|www\.)\S+"
    rf"|(?<![\w@.\-])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:{_TLDS})(?![\w\-@])(?:/\S*)?",
    re.IGNORECASE,
)
_APOSTROPHE: Final = re.compile(r"['’]")
_TOKEN: Final = re.compile(r"#?\w+")
_HAS_ALNUM: Final = re.compile(r"[^\W_]")


def _tokens(text: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    text = _LINK.sub(" ", text)
    text = html.unescape(text)
    text = _APOSTROPHE.sub("", text.lower())
    return [t for t in _TOKEN.findall(text) if _HAS_ALNUM.search(t) and (t.startswith("#") or t not in STOP_WORDS)]


def jmir_clean(text: str) -> str:
    """Clean a post the JMIR way (see the module docstring for every step).

    >>> jmir_clean("Get your Xanax here!!! 💊 DM @demo_plug https://example.com #xanax#bars")
    'xanax dm demo_plug #xanax #bars'
    """
    return " ".join(_tokens(text))


def jmir_tokens(text: str, *, include_hashtags: bool = False) -> tuple[list[str], list[str]]:
    """The two inputs of the JMIR two-branch LSTM: (text tokens, hashtag tokens).

    Text tokens are the cleaned words without hashtags (the
    "without_hashtags" variant) or, with ``include_hashtags=True``, with them
    in place (the "with_hashtags" variant). Hashtag tokens keep their '#'.
    Both are in text order; truncation (50 / 15 in the paper) and padding are
    the model's job.

    >>> jmir_tokens("order now for quick delivery #xanax #2mgxanax")
    (['order', 'quick', 'delivery'], ['#xanax', '#2mgxanax'])
    >>> jmir_tokens("order now #xanax", include_hashtags=True)
    (['order', '#xanax'], ['#xanax'])
    """
    tokens = _tokens(text)
    tags = [t for t in tokens if t.startswith("#")]
    if include_hashtags:
        return tokens, tags
    return [t for t in tokens if not t.startswith("#")], tags


def jmir_variant(text: str, variant: JmirVariant | str) -> str:
    """One of the three JMIR text variants of a post, cleaned.

    ``"with_hashtags"``: all cleaned tokens; ``"hashtags_only"``: the hashtags
    ('#' kept); ``"without_hashtags"``: the words without the hashtags.

    >>> jmir_variant("Xanax bars for sale! #xanax", "without_hashtags")
    'xanax bars sale'
    """
    if variant not in JMIR_VARIANTS:
        raise ValueError(f"unknown JMIR variant {variant!r}; use one of {JMIR_VARIANTS}")
    tokens = _tokens(text)
    if variant == "hashtags_only":
        tokens = [t for t in tokens if t.startswith("#")]
    elif variant == "without_hashtags":
        tokens = [t for t in tokens if not t.startswith("#")]
    return " ".join(tokens)


__all__ = [
    "JMIR_VARIANTS",
    "JmirVariant",
    "STOP_WORDS",
    "jmir_clean",
    "jmir_tokens",
    "jmir_variant",
]
