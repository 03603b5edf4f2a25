"""Contact extraction: messaging-app handles, phones, e-mails, URLs, payment
channels, crypto addresses and shipping/stealth language.

Dealers put a way to reach them in almost every advert (JMIR 2019: Wickr
36.2 %, Telegram 20.0 %, Kik 18.3 %, WhatsApp 15.3 %, plus e-mail and phone),
and they hide it: "w1ckr", "name at protonmail dot com", "5 5 5 0 1 4 2",
"five five five zero one four two", "+1(440) *** -3147". :func:`find_contacts`
returns every contact with its span in the raw text so that evidence can be
shown and accounts that share a phone, handle or e-mail can be linked.

How it works
------------
1. The raw text is *folded* into a view of exactly the same length: lower-case,
   look-alike letters (Cyrillic, Greek, accented, full-width, mathematical
   alphabets) mapped to ASCII, Unicode decimal digits mapped to 0-9. Because
   every character maps to one character, a span in the folded view is the
   same span in the raw text. (The shared :mod:`drugwatch.text.normalize` is
   not used here: its leetspeak rules turn digits into letters, which would
   destroy phone numbers and addresses, and it is slower than this fold.)
2. A pre-filter (Aho-Corasick passes over the folded text, its leetspeak
   reading and, when a word looks cut up, the text without separators) notes
   the cues present: app/payment/shipping/e-mail/URL keywords, digits, digit
   words, '@', '$', long alphanumeric tokens. Most texts have none and stop
   here; otherwise each detector runs only when its cues are present.
3. Detectors run on the folded view (crypto addresses on the raw text, as
   they are case-sensitive); candidates that overlap are resolved by a fixed
   priority (see ``_PRIORITY``).

Values are normalized for linking: handles lower-cased without '@', phones in
E.164 ("+14405550142") when they can be parsed for the region, otherwise the
bare digits (7-digit local numbers) or the digits with 'X' for masked ones,
e-mails lower-cased, URLs with lower-cased scheme and host.

Bitcoin legacy (base58check) and bech32/bech32m checksums are verified; an
address that fails its checksum is kept only when a crypto word ("btc",
"wallet", ...) stands just before it (OCR and typing errors are common).
Ethereum (EIP-55 needs Keccak-256, not in the standard library) and Monero
addresses are checked for format only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final, Literal, NamedTuple, get_args

import ahocorasick
import phonenumbers

from drugwatch.text.stopwords import ENGLISH_STOP_WORDS

ContactKind = Literal[
    "app_handle",
    "app_mention",
    "phone",
    "email",
    "url",
    "payment",
    "crypto_address",
    "instagram_handle",
    "shipping",
]

CONTACT_KINDS: Final[tuple[str, ...]] = get_args(ContactKind)


@dataclass(frozen=True, slots=True)
class Contact:
    """One way to reach or pay a seller, found in a text.

    ``raw_start``/``raw_end`` slice the raw text passed to :func:`find_contacts`.
    ``obfuscated`` is true when the contact was written to dodge filters
    (look-alike letters, leetspeak, spelled or spaced digits, masked digits,
    "at"/"dot" words).

    ``value`` by kind: ``app_handle``/``instagram_handle`` the handle
    (lower-case, no '@') or, for a phone given as an app id, the phone value;
    ``app_mention`` the app name; ``phone`` E.164, bare digits or digits with
    'X' for masked positions; ``email`` the address; ``url`` the URL;
    ``payment`` the handle ("$demo_cash" -> "demo_cash") or, without one, the
    app or payment word; ``crypto_address`` the address (Ethereum and bech32
    lower-cased); ``shipping`` the phrase, lower-case, single spaces.
    """

    kind: ContactKind
    app: str | None
    value: str
    raw_start: int
    raw_end: int
    obfuscated: bool = False


# ---------------------------------------------------------------------------
# Folding: same-length, lower-case, look-alikes to ASCII.

_CONFUSABLES: Final[dict[str, str]] = {
    # Cyrillic (lower case; upper case is lowered first)
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ӏ": "l",
    "һ": "h",
    "ɡ": "g",
    "ʀ": "r",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "θ": "o",
    "ω": "w",
    "ϲ": "c",
    "ϳ": "j",
    # Latin letters without a decomposition
    "ø": "o",
    "ð": "d",
    "ł": "l",
    "đ": "d",
    "ı": "i",
    "ħ": "h",
    "ŧ": "t",
    "ƒ": "f",
    # at / dot look-alikes
    "＠": "@",
    "﹫": "@",
    "。": ".",
    "．": ".",
}


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    low = char.lower()
    if len(low) != 1:
        low = char
    mapped = _CONFUSABLES.get(low)
    if mapped is not None:
        return mapped
    if low.isascii():
        return low
    if low.isdecimal():
        return str(unicodedata.decimal(low))
    compat = unicodedata.normalize("NFKC", low)
    if len(compat) == 1:
        compat = compat.lower()
        if len(compat) == 1 and compat.isascii():
            return compat
        mapped = _CONFUSABLES.get(compat)
        if mapped is not None:
            return mapped
    decomposed = unicodedata.normalize("NFKD", low)
    base = decomposed[0] if decomposed else low
    if base.isascii() and base.isalnum() and all(unicodedata.combining(c) for c in decomposed[1:]):
        return base.lower()
    return low


def fold(text: str) -> str:
    """Lower-case ``text`` and map look-alike characters to ASCII, keeping its length.

    >>> fold("W1CKR: Dеmо_plug")  # Cyrillic е and о
    'w1ckr: demo_plug'
    """
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE)


class _FoldTable(dict[int, str]):
    """``str.translate`` table for :func:`fold`, filled from ``_fold_char`` as
    characters are met (a C-level look-up per character instead of a Python
    call)."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < 65536:
            self[code] = folded
        return folded


_FOLD_TABLE: Final[_FoldTable] = _FoldTable()


# ---------------------------------------------------------------------------
# Vocabulary.

#: Leetspeak classes used inside app and payment keywords.
_LEET: Final[dict[str, str]] = {
    "a": "a4@",
    "e": "e3",
    "i": "i1!|",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
    "l": "l1|",
    "b": "b8",
}
_LETTER_SEP = r"[\s._\-*·•]?"


#: Aliases this short are matched as written, without leetspeak: "1g" and
#: "7g" are grams ("1g - lemon haze"), not "ig" and "tg".
_MIN_LEET_LETTERS: Final[int] = 3


def _leet_class(word: str, char: str) -> str:
    """The characters that may stand for ``char`` in ``word`` (see ``_fuzzy``)."""
    if sum(c != " " for c in word) < _MIN_LEET_LETTERS:
        return char
    return _LEET.get(char, char)


def _fuzzy(word: str) -> str:
    """A regex for ``word`` tolerating leetspeak (in words of 3+ letters) and, in
    words of 5+ letters, one separator between letters ("w.i.c.k.r", "whats
    app", "t e l e g r a m")."""
    parts = []
    short = sum(c != " " for c in word) < _MIN_LEET_LETTERS
    for char in word:
        if char == " ":
            parts.append(r"[\s._\-]*")
            continue
        cls = None if short else _LEET.get(char)
        parts.append("[" + re.escape(cls) + "]" if cls else re.escape(char))
    letters = sum(c != " " for c in word)
    if letters < 5:
        return "".join(parts)
    out = parts[0]
    for prev, part in zip(parts, parts[1:], strict=False):
        if prev == r"[\s._\-]*" or part == r"[\s._\-]*":
            out += part
        else:
            out += _LETTER_SEP + part
    return out


@dataclass(frozen=True, slots=True)
class _Alias:
    text: str
    app: str | None
    kind: str  # "app", "payment" or "instagram"
    strong: bool  # a bare mention counts without a cue


#: The contact kind of an alias followed by a handle, by the alias's kind.
_HANDLE_KIND: Final[dict[str, ContactKind]] = {
    "app": "app_handle",
    "payment": "payment",
    "instagram": "instagram_handle",
}

_ALIASES: Final[tuple[_Alias, ...]] = (
    # messaging apps: unambiguous names
    *(_Alias(t, "wickr", "app", True) for t in ("wickr me", "wickrme", "wickr", "wikr", "wickr id")),
    *(_Alias(t, "telegram", "app", True) for t in ("telegram", "telegramm", "telegarm")),
    *(_Alias(t, "kik", "app", True) for t in ("kik messenger", "kik me", "kik")),
    *(
        _Alias(t, "whatsapp", "app", True)
        for t in ("whatsapp", "whats app", "whatsap", "watsapp", "watsap", "whatapp", "whattsapp")
    ),
    *(_Alias(t, "snapchat", "app", True) for t in ("snapchat", "snap chat")),
    _Alias("threema", "threema", "app", True),
    *(_Alias(t, "wechat", "app", True) for t in ("wechat", "weixin")),
    _Alias("discord", "discord", "app", True),
    *(_Alias(t, "signal", "app", True) for t in ("signal app", "signal messenger")),
    *(_Alias(t, "session", "app", True) for t in ("session app", "session messenger", "session id")),
    *(_Alias(t, "line", "app", True) for t in ("line app", "line messenger", "line id")),
    # messaging apps: short or ordinary words, need a handle or a cue
    *(_Alias(t, "telegram", "app", False) for t in ("tg", "tele")),
    *(_Alias(t, "snapchat", "app", False) for t in ("snap", "sc", "👻")),
    _Alias("wa", "whatsapp", "app", False),
    _Alias("wx", "wechat", "app", False),
    _Alias("signal", "signal", "app", False),
    _Alias("session", "session", "app", False),
    _Alias("line", "line", "app", False),
    *(_Alias(t, "instagram", "instagram", False) for t in ("instagram", "insta", "ig")),
    # payment
    *(_Alias(t, "cashapp", "payment", True) for t in ("cash app", "cashapp", "cash-app")),
    _Alias("venmo", "venmo", "payment", True),
    _Alias("zelle", "zelle", "payment", True),
    *(_Alias(t, "paypal", "payment", True) for t in ("paypal", "pay pal")),
    *(_Alias(t, "bitcoin", "payment", True) for t in ("bitcoin accepted", "bitcoins", "bitcoin", "btc")),
    *(_Alias(t, "ethereum", "payment", True) for t in ("ethereum", "eth")),
    *(_Alias(t, "monero", "payment", True) for t in ("monero", "xmr")),
    *(
        _Alias(t, None, "payment", True)
        for t in ("cryptocurrency", "crypto", "usdt", "western union", "moneygram", "apple pay")
    ),
)

_ALIAS_BY_TEXT: Final[dict[str, _Alias]] = {a.text: a for a in _ALIASES}

#: Shipping and stealth phrases (kind "shipping"), longest first in the regex.
_SHIPPING: Final[tuple[str, ...]] = (
    "discreet shipping",
    "discrete shipping",
    "discreet packaging",
    "discrete packaging",
    "discreet delivery",
    "discrete delivery",
    "discreet package",
    "stealth shipping",
    "stealth packaging",
    "stealth",
    "overnight shipping",
    "overnight delivery",
    "overnight",
    "next day delivery",
    "next day shipping",
    "next-day delivery",
    "same day delivery",
    "same-day delivery",
    "fast delivery",
    "quick delivery",
    "express delivery",
    "express shipping",
    "fast shipping",
    "free shipping",
    "worldwide shipping",
    "shipping worldwide",
    "ship worldwide",
    "ships worldwide",
    "worldwide delivery",
    "nationwide shipping",
    "nationwide delivery",
    "tracking number",
    "tracking",
    "vacuum sealed",
    "vacuum-sealed",
    "vac sealed",
    "smell proof",
    "meetups",
    "meetup",
    "meet-up",
    "meet ups",
    "door to door",
    "priority mail",
    "usps",
    "fedex",
    "dhl",
)

#: Words after an app name that are not handles.
_NOT_HANDLE: Final[frozenset[str]] = (
    frozenset(ENGLISH_STOP_WORDS)
    | frozenset(
        {
            "me",
            "id",
            "is",
            "at",
            "name",
            "username",
            "user",
            "handle",
            "number",
            "num",
            "no",
            "on",
            "only",
            "available",
            "now",
            "orders",
            "order",
            "inquiries",
            "inquiry",
            "info",
            "information",
            "link",
            "bio",
            "below",
            "above",
            "plug",
            "dm",
            "hmu",
            "contact",
            "delivery",
            "shipping",
            "price",
            "prices",
            "menu",
            "text",
            "call",
            "message",
            "msg",
            "add",
            "hit",
            "up",
            "please",
            "pls",
            "plz",
            "serious",
            "buyers",
            "app",
            "messenger",
            "channel",
            "group",
            "account",
            "accepted",
            "accept",
            "payment",
            "payments",
            "pay",
            "via",
            "and",
            "or",
            "asap",
            "today",
            "details",
            "questions",
            "more",
            "fast",
            "quick",
            "reply",
            "replies",
            "chat",
            "com",
            "www",
            "http",
            "https",
            "here",
            "there",
            "tho",
            "too",
            "also",
            "ok",
            "okay",
            "yes",
            "yeah",
            "u",
            "ur",
            "you",
            "your",
            "my",
            "mine",
            "dms",
            "pm",
            "inbox",
            "follow",
            "page",
            "same",
            "day",
            "new",
            "best",
            "legit",
        }
    )
    | frozenset(a.text for a in _ALIASES)
)

_SEP_WORDS = r"me|id|is|at|name|username|user|handle|number|num|no\.?|on|via|add|@"
_SEP_PUNCT = r"[:=>\-–—~|»→⇒➡👉📲📱☎📞✉️\ufe0f()\[\]]"
# A run of punctuation is taken whole (possessive): with ``+`` the run could
# be split between iterations of the outer ``*`` in exponentially many ways,
# all tried when no handle follows ("snap" and 24 colons took 35 s).
_SEP = rf"(?:\s*(?:{_SEP_PUNCT}++|(?:{_SEP_WORDS})(?![a-z0-9_])))*\s*"
_LINK_TOKEN = (
    r"(?:https?://)?(?:www\.)?(?:t|wa|telegram|kik|paypal|snapchat\.com/add|"
    r"cash\.app|venmo\.com)(?:\.me)?/[a-z0-9_$+.\-]+"
)
_PHONE_TOKEN = r"\+?\(?[0-9][0-9\s().\-]{5,22}[0-9]"
_WORD_TOKEN = r"[@$]?\s?[a-z0-9_][a-z0-9_.\-]{0,65}(?:#[0-9]{4})?"


def _build_alias_re() -> re.Pattern[str]:
    """Every alias alternative in one pattern, longest first: the reference
    that ``_alias_matches`` reproduces (tests compare the two). Not compiled
    at import: it takes about 0.1 s and the scan never needs it."""
    return re.compile(
        r"(?<![a-z0-9_])(?P<alias>"
        + "|".join(
            f"(?P<a{i}>{re.escape(a.text) if not a.text.isascii() else _fuzzy(a.text)})"
            for i, a in sorted(enumerate(_ALIASES), key=lambda p: -len(p[1].text))
        )
        + r")(?![a-z0-9_])"
        + rf"(?=(?P<sep>{_SEP})(?P<tok>{_LINK_TOKEN}|{_PHONE_TOKEN}|{_WORD_TOKEN}))?"
    )


_LAZY_PATTERNS: Final[dict[str, Callable[[], re.Pattern[str]]]] = {"_ALIAS_RE": _build_alias_re}


def __getattr__(name: str) -> re.Pattern[str]:
    """Patterns built on first access (``contacts._ALIAS_RE``), then kept as module attributes."""
    build = _LAZY_PATTERNS.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    pattern = build()
    globals()[name] = pattern
    return pattern


_ALIAS_GROUPS: Final[dict[str, _Alias]] = {f"a{i}": a for i, a in enumerate(_ALIASES)}


def _alias_first_chars(alias: _Alias) -> str:
    """The characters an alias's pattern can start with (see ``_fuzzy``)."""
    first = alias.text[0]
    return _leet_class(alias.text, first) if alias.text.isascii() else first


# ``_ALIAS_RE`` tries ~70 alternatives at every position of a text. A match can
# only start where a word starts with the first two characters of one of the
# alternatives (``_ALIAS_STARTS`` finds those places), so ``_alias_matches``
# tries there only the alternatives that can start with that character, in
# the same order: the same matches as ``_ALIAS_RE.finditer``, many times faster.
_ALIAS_BY_FIRST: dict[str, tuple[re.Pattern[str], tuple[tuple[str, _Alias], ...]]] = {}


def _alias_regex(first: str) -> tuple[re.Pattern[str], tuple[tuple[str, _Alias], ...]]:
    """``_ALIAS_RE`` restricted to the alternatives that can start with ``first``
    (compiled on first use), and its (group name, alias) pairs in order."""
    cached = _ALIAS_BY_FIRST.get(first)
    if cached is not None:
        return cached
    chosen = [
        (i, a) for i, a in sorted(enumerate(_ALIASES), key=lambda p: -len(p[1].text)) if first in _alias_first_chars(a)
    ]
    pattern = re.compile(
        r"(?<![a-z0-9_])(?P<alias>"
        + "|".join(f"(?P<a{i}>{re.escape(a.text) if not a.text.isascii() else _fuzzy(a.text)})" for i, a in chosen)
        + r")(?![a-z0-9_])"
        + rf"(?=(?P<sep>{_SEP})(?P<tok>{_LINK_TOKEN}|{_PHONE_TOKEN}|{_WORD_TOKEN}))?"
    )
    entry = (pattern, tuple((f"a{i}", a) for i, a in chosen))
    _ALIAS_BY_FIRST[first] = entry
    return entry


_LETTER_SEP_CHARS: Final[str] = "._-*·•"  # ``_LETTER_SEP``'s characters but ``\s``
#: Every character ``\s`` matches (``str.isspace``; none is above U+3000).
_WHITESPACE: Final[str] = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())


def _alias_prefixes(alias: _Alias) -> set[str]:
    """How an alias's pattern can begin: its first two characters, with the
    separator ``_fuzzy`` allows between them in names of 5+ letters ("w.i",
    "w i", "w1"), or the first character alone for a one-character alias."""
    text = alias.text
    firsts = _alias_first_chars(alias)
    if len(text) < 2 or text[1] == " " or not text.isascii():
        return set(firsts)
    seconds = _leet_class(text, text[1])
    seps = ("", *_LETTER_SEP_CHARS, *_WHITESPACE) if sum(c != " " for c in text) >= 5 else ("",)
    return {f + sep + c for f in firsts for sep in seps for c in seconds}


def _build_alias_starts() -> ahocorasick.Automaton:
    """Every alias's ``_alias_prefixes`` (value: the prefix length): each
    ``_ALIAS_RE`` match starts with one of them."""
    automaton = ahocorasick.Automaton()
    for alias in _ALIASES:
        for prefix in _alias_prefixes(alias):
            automaton.add_word(prefix, len(prefix))
    automaton.make_automaton()
    return automaton


#: Where an alias can start: one Aho-Corasick pass instead of a regex attempt
#: at every word start ("the", "and" ... begin with an alias's first letter
#: but not with its second).
_ALIAS_STARTS: Final[ahocorasick.Automaton] = _build_alias_starts()
#: What ``_ALIAS_RE``'s leading look-behind rejects before a match.
_ALIAS_NOT_BEFORE: Final[frozenset[str]] = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _alias_matches(low: str) -> list[tuple[re.Match[str], _Alias]]:
    """``(match, alias)`` for every match of ``_ALIAS_RE`` in ``low``, in order
    (the same matches as ``_ALIAS_RE.finditer(low)``)."""
    out: list[tuple[re.Match[str], _Alias]] = []
    done = 0
    for pos in sorted({end - size + 1 for end, size in _ALIAS_STARTS.iter(low)}):
        if pos < done or (pos and low[pos - 1] in _ALIAS_NOT_BEFORE):
            continue
        pattern, groups = _alias_regex(low[pos])
        m = pattern.match(low, pos)
        if m is None:
            continue
        out.append((m, next(a for name, a in groups if m.start(name) >= 0)))
        done = m.end()
    return out


#: Words just before a weak app name that make it a mention ("hmu on signal").
_MENTION_CUE: Final[re.Pattern[str]] = re.compile(r"(?:\bon|\bvia|\bthru|\bthrough|\busing|\bhmu|\badd me)\s+$")
#: Ordinary words as app names: their handle must have '@' or a digit, '_' or '.'.
_STRICT_HANDLE: Final[frozenset[str]] = frozenset({"line", "signal", "session", "tele", "wa", "sc", "wx"})
#: Weak names that never count without a handle ("on line", "on tele" = on TV).
_NO_BARE_MENTION: Final[frozenset[str]] = frozenset({"line", "session", "tele", "wa", "wx", "sc"})

_SHIPPING_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(
        r"[\s\-]*".join(re.escape(w) for w in re.split(r"[\s\-]+", p)) for p in sorted(_SHIPPING, key=len, reverse=True)
    )
    + r")(?![a-z0-9])"
)

# ---------------------------------------------------------------------------
# E-mail and URLs.

_TLDS_EMAIL = (
    "com|net|org|me|io|ch|de|uk|co|ca|info|biz|edu|gov|ru|fr|nl|es|it|pl|au|in|jp|"
    "eu|us|cc|se|no|fi|at|be|br|mx|onion|email|mail|pm|xyz|app|dev|cz|ua|ro|pt|gr|ie|nz|tk"
)
_TLDS_URL = (
    "com|net|org|io|co|info|biz|ly|ee|gg|xyz|shop|store|online|site|app|onion|ru|uk|de|"
    "ca|au|nl|fr|ch|cc|tk|link|top|club|live|pro|page|eu|es|pl|gl|su|ws"
)
_EMAIL_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![a-z0-9._%+\-])[a-z0-9._%+\-]*[a-z0-9_%+\-]@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}(?![a-z0-9\-])"
)
_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\.)"
_OBF_EMAIL_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?<![a-z0-9._%+\-])(?P<user>[a-z0-9][a-z0-9._%+\-]*)(?P<at>{_AT})"
    rf"(?P<dom>[a-z0-9][a-z0-9\-]*(?:{_DOT}[a-z0-9][a-z0-9\-]*)*?)(?P<dot>{_DOT})"
    rf"(?P<tld>{_TLDS_EMAIL})(?![a-z0-9])"
)
_PLAIN_PRONOUNS: Final[frozenset[str]] = frozenset(
    {"me", "i", "im", "we", "you", "u", "him", "her", "them", "us", "it", "meet", "be", "is"}
)

_URL_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?<![a-z0-9@.\-/])(?:t|wa|telegram|kik|paypal|signal)\.me/[^\s<>\"'`]+"
    r"|(?<![a-z0-9@.\-/_])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
    rf"(?:{_TLDS_URL})(?![a-z0-9\-@])(?:/[^\s<>\"'`]*)?"
)
_URL_TRAIL = ".,;:!?)]}'\"*"

# ---------------------------------------------------------------------------
# Phones.

_PHONE_CUE: Final[re.Pattern[str]] = re.compile(
    r"(?:call|text|txt|phone|cell|number|num|tel|mobile|whatsapp|signal|sms|contact|"
    r"hmu|📞|☎|📱|📲)(?:\W{1,3}(?:me|us|at|on|or|now|anytime))*\W{0,6}$"
)
_MASK = "*x•●"
#: A run of digits (and mask characters) joined by short separators.
_RUN_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![0-9a-z$£€¥.,:/_\-])(?:\+\s?)?\(?[0-9](?:[ \t.\-–()*x•●]{0,3}[0-9*x•●]){6,20}+"
    r"(?![0-9a-z%°])"
)
_DIGIT_WORDS: Final[dict[str, str]] = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_SPELLED_TOKEN = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|oh|o|[0-9]+)(?![a-z])"
_SPELLED_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?<![a-z0-9$£€.])(?:plus\s+|\+\s?)?{_SPELLED_TOKEN}(?:[\s,.\-_/]+{_SPELLED_TOKEN}){{3,}}"
    r"(?![a-z0-9])"
)
_DATE_SHAPES: Final[frozenset[tuple[int, ...]]] = frozenset(
    {
        (1, 1, 4),
        (1, 2, 4),
        (2, 1, 4),
        (2, 2, 4),
        (4, 1, 1),
        (4, 1, 2),
        (4, 2, 1),
        (4, 2, 2),
        (4, 4),
        (2, 2, 2),
        (1, 1, 2),
        (2, 1, 2),
        (1, 2, 2),
    }
)

# ---------------------------------------------------------------------------
# Crypto.

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(_B58)}
# Patterns whose first character is fixed or a small class put the
# look-behind after it: "(?<![x])[13]" and "[13](?<![x].)" match the same
# spans, but the regex engine can only skip ahead to a leading class.
_BTC_LEGACY_RE: Final[re.Pattern[str]] = re.compile(r"[13](?<![0-9A-Za-z].)[1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z])")
_BTC_BECH32_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![0-9A-Za-z])(?:bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71})(?![0-9A-Za-z])"
)
_ETH_RE: Final[re.Pattern[str]] = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_XMR_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![0-9A-Za-z])[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}(?:[1-9A-HJ-NP-Za-km-z]{11})?"
    r"(?![0-9A-Za-z])"
)
_CRYPTO_CUE: Final[re.Pattern[str]] = re.compile(r"(?:btc|bitcoin|wallet|address|addy|crypto|send)\W{0,12}$")
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _b58decode(s: str) -> bytes | None:
    num = 0
    for char in s:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return None
        num = num * 58 + digit
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(s) - len(s.lstrip("1"))
    return b"\x00" * pad + body


def btc_legacy_checksum_ok(address: str) -> bool:
    """True when a 1.../3... address decodes to 25 bytes with a valid base58check sum."""
    raw = _b58decode(address)
    if raw is None or len(raw) != 25:
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return digest[:4] == raw[-4:]


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def btc_bech32_checksum_ok(address: str) -> bool:
    """True when a bc1... address has a valid bech32 (v0) or bech32m (v1+) checksum."""
    address = address.lower()
    hrp, _, data = address.rpartition("1")
    if hrp != "bc" or len(data) < 7:
        return False
    values = [_BECH32_CHARSET.find(c) for c in data]
    if -1 in values:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + values)
    return const in (1, 0x2BC830A3)


# ---------------------------------------------------------------------------
# Pre-filter.

_SEPARATORS: Final[re.Pattern[str]] = re.compile(r"[\s._\-*·•]+")
#: Leetspeak read back for the keyword pre-filter ('1' and '|' are tried as i and l).
_LEET_I: Final[dict[int, str]] = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
_LEET_L: Final[dict[int, str]] = str.maketrans({"1": "l", "|": "l"})


def _bytes_table(table: dict[int, str]) -> bytes:
    """A ``bytes.translate`` table doing what the str table ``table`` does to ASCII."""
    return bytes(ord(table.get(i, chr(i))) for i in range(128)) + bytes(range(128, 256))


# ASCII fast paths (``bytes.translate`` is many times faster than
# ``str.translate`` with a dict or ``re.sub``); the tables are derived from the
# str tables and patterns above, so both paths agree on ASCII text.
_LEET_I_BYTES: Final[bytes] = _bytes_table(_LEET_I)
_LEET_L_BYTES: Final[bytes] = _bytes_table(_LEET_L)
_SEPARATOR_BYTES: Final[bytes] = bytes(i for i in range(128) if _SEPARATORS.match(chr(i)))
_DIGIT_BYTES: Final[bytes] = b"0123456789"
# every ASCII letter or digit -> "a", every other byte -> " "
_ALNUM_BYTES: Final[bytes] = bytes(ord("a") if chr(i).isascii() and chr(i).isalnum() else ord(" ") for i in range(256))
_LONG_ALNUM_RUN: Final[bytes] = b"a" * 14


# The leet tables only touch ASCII characters, and in UTF-8 every byte of a
# non-ASCII character is >= 0x80 (left alone by the bytes tables), so
# translating the UTF-8 bytes is the same as translating the string.
# "surrogatepass" round-trips lone surrogates.


def _leet_i(low: str) -> str:
    """``low.translate(_LEET_I)``."""
    if low.isascii():
        return low.encode("ascii").translate(_LEET_I_BYTES).decode("ascii")
    return low.encode("utf-8", "surrogatepass").translate(_LEET_I_BYTES).decode("utf-8", "surrogatepass")


def _leet_l(low: str) -> str:
    """``low.translate(_LEET_L)``."""
    if low.isascii():
        return low.encode("ascii").translate(_LEET_L_BYTES).decode("ascii")
    return low.encode("utf-8", "surrogatepass").translate(_LEET_L_BYTES).decode("utf-8", "surrogatepass")


def _squeeze(view: str) -> str:
    """``view`` without separators (``_SEPARATORS``)."""
    if view.isascii():
        return view.encode("ascii").translate(None, _SEPARATOR_BYTES).decode("ascii")
    # drop the ASCII separators in bulk, then the others (" ", "·", "•" ...)
    view = view.encode("utf-8", "surrogatepass").translate(None, _SEPARATOR_BYTES).decode("utf-8", "surrogatepass")
    return _SEPARATORS.sub("", view)


# For the two counts below a non-ASCII character may be replaced by one '?'
# (``encode("ascii", "replace")``): it is neither a digit nor [0-9A-Za-z].


def _count_digits(low: str) -> int:
    """ASCII digits in ``low``."""
    data = low.encode("ascii", "replace")
    return len(data) - len(data.translate(None, _DIGIT_BYTES))


def _has_long_token(raw: str) -> bool:
    """``_LONG_ALNUM`` occurs in ``raw``."""
    return _LONG_ALNUM_RUN in raw.encode("ascii", "replace").translate(_ALNUM_BYTES)


_LEET_CHARS: Final[re.Pattern[str]] = re.compile(r"[0134578@$!|+]")
_LONG_ALNUM: Final[re.Pattern[str]] = re.compile(r"[0-9A-Za-z]{14,}")
_ANY_DIGIT: Final[re.Pattern[str]] = re.compile(r"[0-9]")
#: A word cut by separators: "w.i.c.k.r", "w i c k r", "whats.app", "w1ckr".
_SPLIT_WORD_HINT: Final[re.Pattern[str]] = re.compile(
    r"[a-z0-9@$!|+][._\-*·•][a-z0-9@$!|+]|(?<![a-z])[a-z0-9] +[a-z0-9](?![a-z])|[0134578@$!|+]"
)


def _build_automata() -> tuple[ahocorasick.Automaton, ahocorasick.Automaton]:
    """Keywords of every detector, and the long app/payment names alone.

    The second automaton runs on the text with all separators removed, so it
    sees "w i c k r" and "tele gram"; only names of 5+ letters are in it
    because only those may be written with separators (see ``_fuzzy``)."""
    keywords: dict[str, bool] = {}  # keyword -> needs a word boundary
    long_names: set[str] = set()
    for alias in _ALIASES:
        if alias.text.isascii():
            for form in (alias.text, alias.text.replace(" ", "")):
                keywords[form] = len(form) <= 4
            if sum(c.isalpha() for c in alias.text) >= 5:
                long_names.add(re.sub(r"[^a-z]", "", alias.text))
    for phrase in _SHIPPING:
        first = re.split(r"[\s\-]", phrase)[0]
        keywords[first] = len(first) <= 4
    for word in ("dot", "[at]", "(at)", "{at}", "<at>", "www", "http", "t.me", "wa.me"):
        keywords[word] = False
    for tld in _TLDS_URL.split("|"):
        keywords["." + tld] = True
    for word in _DIGIT_WORDS:
        if len(word) > 2:
            keywords[word] = True
    automaton = ahocorasick.Automaton()
    for word, boundary in keywords.items():
        automaton.add_word(word, (word, boundary))
    automaton.make_automaton()
    squeezed = ahocorasick.Automaton()
    for word in long_names:
        squeezed.add_word(word, word)
    squeezed.make_automaton()
    return automaton, squeezed


_AUTOMATON, _SQUEEZED_AUTOMATON = _build_automata()


def _build_shipping_first() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for phrase in _SHIPPING:
        first = re.split(r"[\s\-]+", phrase)[0]
        automaton.add_word(first, first)
    automaton.make_automaton()
    return automaton


#: First words of the shipping phrases (every ``_SHIPPING_RE`` match starts with one).
_SHIPPING_FIRST: Final[ahocorasick.Automaton] = _build_shipping_first()


def _boundary_ok(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalpha() and text[start].isalpha()) and not (after.isalnum() and text[end - 1].isalnum())


class _Cues(NamedTuple):
    """What the cheap pre-filter saw; each detector runs only on its cues.

    A named tuple rather than a frozen dataclass: one is built for every text,
    and a tuple is built in one step instead of one ``__setattr__`` per field.
    """

    keyword: bool  # an app, payment, shipping, e-mail or URL keyword
    digit_words: int  # "one", "five", ... as whole words
    digits: int  # ASCII digits (after folding)
    at: bool
    dollar: bool
    long_token: bool  # 14+ ASCII letters/digits in a row (crypto addresses)

    @property
    def phone(self) -> bool:
        return (
            self.digits >= 6 or self.digit_words >= 3 or (self.digit_words > 0 and self.digits + self.digit_words >= 5)
        )

    @property
    def any(self) -> bool:
        return self.keyword or self.at or self.dollar or self.long_token or self.phone


_ALL_CUES: Final[_Cues] = _Cues(True, 99, 99, True, True, True)


def _keyword_scan(view: str) -> tuple[bool, int]:
    digit_words = 0
    for end, (word, boundary) in _AUTOMATON.iter(view):
        if boundary and not _boundary_ok(view, end - len(word) + 1, end + 1):
            continue
        if word in _DIGIT_WORDS:
            digit_words += 1
            continue
        return True, digit_words
    return False, digit_words


def _cues(raw: str, low: str) -> _Cues:
    keyword, digit_words = _keyword_scan(low)
    if not keyword and "👻" in low:
        keyword = True
    leet: str | None = None
    if not keyword and _LEET_CHARS.search(low):
        leet = _leet_i(low)
        # _leet_l only changes '1' and '|': without them it reads like ``low``
        keyword = _keyword_scan(leet)[0] or (("1" in low or "|" in low) and _keyword_scan(_leet_l(low))[0])
    # _SPLIT_WORD_HINT's last alternative is _LEET_CHARS: no need to search again
    if not keyword and (leet is not None or _SPLIT_WORD_HINT.search(low)):
        squeezed = _squeeze(leet if leet is not None else _leet_i(low))
        keyword = any(True for _ in _SQUEEZED_AUTOMATON.iter(squeezed))
    return _Cues(
        keyword=keyword,
        digit_words=digit_words,
        digits=_count_digits(low),
        at="@" in low,
        dollar="$" in low,
        long_token=_has_long_token(raw),
    )


# ---------------------------------------------------------------------------
# Detectors. Each yields Contact candidates; _resolve picks the survivors.

_PRIORITY: Final[dict[str, int]] = {
    "crypto_address": 0,
    "email": 1,
    "app_handle": 2,
    "payment": 3,  # with a handle; payment words get 7 (see _rank)
    "url": 4,
    "phone": 5,
    "instagram_handle": 6,
    "app_mention": 8,
    "shipping": 9,
}


def _rank(contact: Contact) -> tuple[int, int, int]:
    prio = _PRIORITY[contact.kind]
    if contact.kind == "payment" and contact.app is not None and contact.value == contact.app:
        prio = 7
    elif contact.kind == "payment" and contact.app is None:
        prio = 7
    return (prio, -(contact.raw_end - contact.raw_start), contact.raw_start)


def _phone_value(digits: str, plus: bool, region: str) -> str | None:
    """E.164 when ``digits`` parse as a possible number, else None."""
    if not 7 <= len(digits) <= 15:
        return None
    try:
        number = phonenumbers.parse(("+" if plus else "") + digits, None if plus else region)
    except phonenumbers.NumberParseException:
        return None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _groups(run: str) -> list[str]:
    return [g for g in re.split(r"[^0-9*x•●]+", run) if g]


def _classify_run(low: str, start: int, end: int, region: str) -> tuple[str, bool] | None:
    """Decide whether the digit run ``low[start:end]`` is a phone: (value, obfuscated)."""
    run = low[start:end]
    plus = run.startswith("+")
    groups = _groups(run)
    shape = tuple(len(g) for g in groups)
    digits = "".join(c for c in run if c.isdigit())
    masked = sum(c in _MASK for c in run)
    cue = bool(_PHONE_CUE.search(low, max(0, start - 40), start))
    if masked:
        blocks = re.findall(r"[*x•●]+", run)
        if any(len(b) < 2 for b in blocks) or len(digits) < 4:
            return None
        positions = len(digits) + masked
        if not (10 <= positions <= 15 or (positions == 7 and cue)):
            return None
        value = "".join("X" if c in _MASK else c for c in run if c.isdigit() or c in _MASK)
        if plus:
            return "+" + value, True
        code = str(phonenumbers.country_code_for_region(region) or "")
        national = value
        if code and national.startswith(code) and positions > 10:
            national = national[len(code) :]
        return ("+" + code + national if code and len(national) == 10 else value), True
    if not 7 <= len(digits) <= 15:
        return None
    if shape in _DATE_SHAPES or (len(groups) >= 2 and all(len(g) == 4 for g in groups)):
        return None
    if digits in "0123456789101112131415" or digits in "9876543210":
        return None  # counting, not a number
    spaced = len(groups) >= 7 and all(n == 1 for n in shape)
    if len(groups) >= 5 and not spaced and not plus:
        return None  # a list of small numbers
    odd_seps = bool(re.search(r"[*•]|\s{2,}|\.\s|\s\.", run)) or (len(groups) >= 5 and max(shape) <= 2)
    try:
        number = phonenumbers.parse(run, region)
        valid = phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        valid = False
    if valid:
        return (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            spaced or odd_seps,
        )
    if spaced:
        return _phone_value(digits, plus, region) or digits, True
    phone_shaped = shape in {(3, 3, 4), (1, 3, 3, 4)} or (plus and len(digits) >= 10)
    if phone_shaped or (cue and len(digits) >= 10):
        e164 = _phone_value(digits, plus, region)
        if e164 is not None:
            return e164, odd_seps
    if shape == (3, 4) and ("-" in run or cue):
        return digits, False
    return None


#: "o" or "oh" as a whole word (a letter neither before nor after), as a
#: ``_SPELLED_RE`` match holds them; it starts with a literal, so the engine
#: skips to the letter o.
_O_WORD_HINT: Final[re.Pattern[str]] = re.compile(r"o(?<![a-z]o)h?(?![a-z])")
#: What every ``_RUN_RE`` match holds: a digit and six more digits or masks,
#: each after at most three separators. It starts with a digit, so the regex
#: engine skips to digits (``_RUN_RE`` starts with a look-behind and is tried
#: at every position); a text without it has no run.
_RUN_HINT: Final[re.Pattern[str]] = re.compile(r"[0-9](?:[ \t.\-–()*x•●]{0,3}[0-9*x•●]){6}")


def _phones(low: str, region: str, run_digits: bool = True, spelled: bool = True) -> list[Contact]:
    """Phone numbers: digit runs (when ``run_digits``) and numbers spelled out (when ``spelled``).

    ``spelled=False`` is for texts known to hold no digit word ("one",
    "oh", ...) as a whole word: a spelled match made of digit groups alone
    is never taken, so such a text has none.
    """
    out: list[Contact] = []
    for match in _RUN_RE.finditer(low) if run_digits and _RUN_HINT.search(low) is not None else ():
        start, end = match.span()
        # trim a trailing ')' or separator the run may have swallowed
        while end > start and not (low[end - 1].isdigit() or low[end - 1] in _MASK):
            end -= 1
        if low[start] == "(" and ")" not in low[start:end]:
            start += 1
        result = _classify_run(low, start, end, region)
        if result is None and any(c in _MASK for c in low[start:end]):
            # "440 555 0199 x": a stray 'x' or '*' is not a masked digit
            cut = start + next(i for i, c in enumerate(low[start:end]) if c in _MASK)
            while cut > start and not low[cut - 1].isdigit():
                cut -= 1
            if cut > start:
                end = cut
                result = _classify_run(low, start, end, region)
        if result is not None:
            out.append(Contact("phone", None, result[0], start, end, result[1]))
    for match in _SPELLED_RE.finditer(low) if spelled else ():
        tokens = re.findall(_SPELLED_TOKEN, match.group())
        words = [t for t in tokens if not t.isdigit()]
        if not any(w not in ("o", "oh") for w in words) and len(words) < 2:
            continue
        digits = "".join(_DIGIT_WORDS.get(t, t) for t in tokens)
        if not 7 <= len(digits) <= 15:
            continue
        plus = match.group().startswith(("plus", "+"))
        value = _phone_value(digits, plus, region) or digits
        out.append(Contact("phone", None, value, match.start(), match.end(), True))
    return out


#: "at" as ``_AT`` can write it: after a space or an opening bracket, before a
#: space or a closing bracket.
_AT_WORD_HINT: Final[re.Pattern[str]] = re.compile(r"[\s\[({<]at[\s\])}>]")


#: What every ``_OBF_EMAIL_RE`` match holds from its ``_DOT`` on: "dot" or '.'
#: (then perhaps a closing bracket) and a top-level domain.
_DOT_TLD_HINT: Final[re.Pattern[str]] = re.compile(rf"(?:dot|\.)\s*[\])}}>]?\s*(?:{_TLDS_EMAIL})(?![a-z0-9])")


def _emails(low: str) -> list[Contact]:
    # Both patterns need a '.' or "dot"; _EMAIL_RE needs '@', _OBF_EMAIL_RE
    # '@' or an "at" word (see _AT) and a "dot" or '.' before a domain ending.
    # Most texts have neither.
    if "." not in low and "dot" not in low:
        return []
    plain = "@" in low
    obfuscated = (plain or _AT_WORD_HINT.search(low) is not None) and _DOT_TLD_HINT.search(low) is not None
    if not (plain or obfuscated):
        return []
    return _emails_unfiltered(low, plain=plain, obfuscated=obfuscated)


def _emails_unfiltered(low: str, *, plain: bool = True, obfuscated: bool = True) -> list[Contact]:
    """E-mail addresses, plain (``_EMAIL_RE``) and written out
    (``_OBF_EMAIL_RE``); ``plain``/``obfuscated`` skip a pattern that the
    caller knows cannot match."""
    out = [
        Contact("email", None, m.group(), m.start(), m.end(), False) for m in (_EMAIL_RE.finditer(low) if plain else ())
    ]
    for m in _OBF_EMAIL_RE.finditer(low) if obfuscated else ():
        at, dot = m.group("at"), m.group("dot")
        at_obf, dot_obf = "@" not in at or "[" in at or "(" in at, dot != "."
        if not (at_obf or dot_obf) or "@" in at and "(" not in at and "[" not in at and not dot_obf:
            continue  # a plain address, found above
        if at.strip() == "at" and m.group("user") in _PLAIN_PRONOUNS:
            continue
        if at.strip() == "at" and not dot_obf and m.group("tld") not in ("com", "net", "org"):
            continue
        domain = re.sub(_DOT, ".", m.group("dom"))
        value = f"{m.group('user')}@{domain}.{m.group('tld')}"
        out.append(Contact("email", None, value, m.start(), m.end(), True))
    return out


_URL_APPS: Final[tuple[tuple[re.Pattern[str], ContactKind, str], ...]] = (
    (re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/([a-z0-9_]{3,32})/?$"), "app_handle", "telegram"),
    (re.compile(r"^(?:https?://)?(?:www\.)?wa\.me/\+?([0-9]{7,15})/?$"), "app_handle", "whatsapp"),
    (re.compile(r"^(?:https?://)?(?:www\.)?kik\.me/([a-z0-9_.]{2,32})/?$"), "app_handle", "kik"),
    (re.compile(r"^(?:https?://)?(?:www\.)?snapchat\.com/add/([a-z0-9_.\-]{2,32})/?$"), "app_handle", "snapchat"),
    (re.compile(r"^(?:https?://)?(?:www\.)?instagram\.com/([a-z0-9_.]{1,30})/?$"), "instagram_handle", "instagram"),
    (re.compile(r"^(?:https?://)?(?:www\.)?paypal\.me/([a-z0-9_.\-]{2,32})/?$"), "payment", "paypal"),
    (re.compile(r"^(?:https?://)?(?:www\.)?cash\.app/\$([a-z0-9_]{1,20})/?$"), "payment", "cashapp"),
    (re.compile(r"^(?:https?://)?(?:www\.)?venmo\.com/(?:u/)?([a-z0-9_\-]{2,30})/?$"), "payment", "venmo"),
)


#: What every match of a ``_URL_RE`` alternative holds.
_URL_HINT: Final[re.Pattern[str]] = re.compile(rf"\.(?:{_TLDS_URL})(?![a-z0-9\-@])|\.me/")


def _urls(raw: str, low: str, region: str) -> list[Contact]:
    # a URL is kept only with a '.' in it (see _urls_unfiltered)
    if "." not in low:
        return []
    if "://" not in low and "www." not in low and _URL_HINT.search(low) is None:
        return []
    # No _URL_RE match holds white space, and only one with a '.' is kept, so
    # the pattern runs on the words that hold a '.' (as it would in a scan of
    # the whole text: each such word is entered from white space); on posts
    # with links the scan of the other words was about half of this stage.
    return _url_contacts(
        raw, low, region, (m for word in _DOT_WORD.finditer(low) for m in _URL_RE.finditer(low, *word.span()))
    )


#: A word (a run between white space) holding a '.'; tried at word starts
#: only, so the scan is linear.
_DOT_WORD: Final[re.Pattern[str]] = re.compile(r"(?<!\S)\S*?\.\S*")


def _urls_unfiltered(raw: str, low: str, region: str) -> list[Contact]:
    return _url_contacts(raw, low, region, _URL_RE.finditer(low))


def _url_contacts(raw: str, low: str, region: str, matches: Iterable[re.Match[str]]) -> list[Contact]:
    out: list[Contact] = []
    for m in matches:
        start, end = m.span()
        while end > start and low[end - 1] in _URL_TRAIL:
            end -= 1
        text = low[start:end]
        if "." not in text:
            continue
        host = re.match(r"^(?:https?://)?([^/?#]+)", text)
        if host is not None and re.fullmatch(r"[0-9.]+", host.group(1)) and "://" not in text:
            continue  # "3.5" and the like
        obfuscated = low[start:end] != raw[start:end].lower()
        for pattern, kind, app in _URL_APPS:
            hit = pattern.match(text)
            if hit:
                value = hit.group(1)
                if app == "whatsapp":
                    value = _phone_value(value, True, region) or value
                out.append(Contact(kind, app, value, start, end, obfuscated))
                break
        else:
            out.append(Contact("url", None, _url_value(raw[start:end]), start, end, obfuscated))
    return out


def _url_value(url: str) -> str:
    match = re.match(r"^((?:https?://)?)([^/?#]*)(.*)$", url, re.IGNORECASE | re.DOTALL)
    if match is None:  # pragma: no cover - the pattern matches any string
        return url
    return match.group(1).lower() + match.group(2).lower() + match.group(3)


def _crypto(raw: str, low: str) -> list[Contact]:
    out: list[Contact] = []

    def cue(start: int) -> bool:
        return bool(_CRYPTO_CUE.search(low, max(0, start - 30), start))

    for m in _BTC_LEGACY_RE.finditer(raw):
        if btc_legacy_checksum_ok(m.group()) or cue(m.start()):
            out.append(Contact("crypto_address", "bitcoin", m.group(), m.start(), m.end()))
    # each pattern below needs its prefix ("bc1", "0x") or 95 characters
    if "bc1" in raw or "BC1" in raw:
        for m in _BTC_BECH32_RE.finditer(raw):
            if btc_bech32_checksum_ok(m.group()) or cue(m.start()):
                out.append(Contact("crypto_address", "bitcoin", m.group().lower(), m.start(), m.end()))
    if "0x" in raw:
        for m in _ETH_RE.finditer(raw):
            out.append(Contact("crypto_address", "ethereum", m.group().lower(), m.start(), m.end()))
    if len(raw) >= 95:
        for m in _XMR_RE.finditer(raw):
            out.append(Contact("crypto_address", "monero", m.group(), m.start(), m.end()))
    return out


def _alias_contacts(raw: str, low: str, region: str) -> list[Contact]:
    out: list[Contact] = []
    for m, alias in _alias_matches(low):
        a_start, a_end = m.span("alias")
        dollar = a_start - 1 if a_start and raw[a_start - 1] == "$" else a_start
        if raw[dollar] == "$" and _TICKER.fullmatch(raw, dollar, a_end):
            continue  # "$SNAP", "$ETH": a stock or coin ticker
        alias_obf = _canonical(m.group("alias")) not in _ALIAS_BY_TEXT or (
            low[a_start:a_end] != raw[a_start:a_end].lower()
        )
        handle = _handle(m, alias, low, region)
        if handle is not None:
            value, h_end, h_obf = handle
            h_obf = h_obf or low[a_start:h_end] != raw[a_start:h_end].lower()
            out.append(Contact(_HANDLE_KIND[alias.kind], alias.app, value, a_start, h_end, alias_obf or h_obf))
            continue
        if alias.kind == "instagram":
            if _MENTION_CUE.search(low, max(0, a_start - 12), a_start):
                out.append(Contact("app_mention", "instagram", "instagram", a_start, a_end, alias_obf))
            continue
        if not alias.strong:
            if alias.text in _NO_BARE_MENTION or not _MENTION_CUE.search(low, max(0, a_start - 12), a_start):
                continue
        if alias.kind == "payment":
            value = alias.app or " ".join(alias.text.replace("-", " ").split())
            out.append(Contact("payment", alias.app, value, a_start, a_end, alias_obf))
        else:
            out.append(Contact("app_mention", alias.app, alias.app or alias.text, a_start, a_end, alias_obf))
    return out


def _canonical(alias_text: str) -> str:
    return " ".join(alias_text.split())


#: App names that are ordinary words.
_ORDINARY_NAMES: Final[frozenset[str]] = frozenset({"line", "signal", "session", "tele", "snap"})
#: A separator made only of dashes, bars and spaces.
_FIELD_SEP: Final[re.Pattern[str]] = re.compile(r"\s*[\-–—|]+\s*")


def _handle(m: re.Match[str], alias: _Alias, low: str, region: str) -> tuple[str, int, bool] | None:
    """The handle after an app or payment word: (value, raw end, obfuscated) or None."""
    tok = m.group("tok")
    if tok is None:
        return None
    sep = m.group("sep") or ""
    t_start = m.start("tok")
    explicit = bool(re.search(r"[^\s\w]|\b(?:id|username|handle)\b", sep)) or (alias.text == "👻")
    # "pull snap - shatter", "ig | lemon": a dash or bar between the fields of a
    # listing title; after a weak name it introduces a handle only when the
    # handle looks like one (a digit, '_' or '.'), checked below
    field_sep = explicit and not alias.strong and _FIELD_SEP.fullmatch(sep) is not None
    if alias.kind == "payment" and alias.app not in ("cashapp", "venmo", "paypal", "zelle"):
        return None
    # a link: t.me/x, wa.me/1555..., paypal.me/x
    if "/" in tok and re.match(_LINK_TOKEN, tok):
        end = t_start + len(tok.rstrip(_URL_TRAIL))
        link = low[t_start:end]
        for pattern, _kind, app in _URL_APPS:
            hit = pattern.match(link)
            if hit:
                value = hit.group(1)
                if app == "whatsapp":
                    value = _phone_value(value, True, region) or value
                return value, end, False
        return None
    # a phone number as the app id ("whatsapp +1 440 ...", "WA 0084 ..."); after
    # an ordinary word only with a separator ("line: 555 ...", not "a land line 555")
    phone_id_ok = alias.text not in _ORDINARY_NAMES or (explicit and not field_sep)
    if phone_id_ok and re.fullmatch(_PHONE_TOKEN, tok):
        end = t_start + len(tok)
        while end > t_start and not low[end - 1].isdigit():
            end -= 1
        digits = re.sub(r"[^0-9]", "", low[t_start:end])
        if 7 <= len(digits) <= 15:
            value = _phone_value(digits, tok.startswith("+"), region) or digits
            return value, end, False
    at = tok.startswith(("@", "$"))
    name = tok.lstrip("@$").lstrip().rstrip(".-")
    if not name:
        return None
    end = t_start + len(tok) - (len(tok.lstrip("@$").lstrip()) - len(name))
    if name in _NOT_HANDLE or len(name) < 2 or name.isdigit() and len(name) < 5:
        return None
    if field_sep and not re.search(r"[0-9_.]", name):
        return None
    if alias.kind == "payment" and alias.app == "cashapp":
        at = at or tok.startswith("$")
    if not (explicit or at):
        # "telegram arrived", "snapchat streak": a bare word is a handle only
        # after "me"/"at"/"name" or when it looks like one (digit, '_', '.')
        filler = bool(re.search(r"\b(?:me|at|name)\b", sep))
        if not alias.strong or len(name) < 3 or not (filler or re.search(r"[0-9_.]", name)):
            return None
    if alias.text in _STRICT_HANDLE and not at and not re.search(r"[0-9_.]", name):
        return None  # "bottom line: sales", "signal: strong"
    if not re.search(r"[a-z]", name) and not name.isdigit():
        return None
    # a domain or e-mail-like handle belongs to the URL/e-mail detectors
    if re.search(rf"\.(?:{_TLDS_URL})$", name) and alias.kind != "payment":
        return None
    return name, end, False


# The look-behinds come after the '@' and '$' (see ``_BTC_LEGACY_RE``).
_IG_HANDLE_RE: Final[re.Pattern[str]] = re.compile(
    r"@(?<![a-z0-9_.@/].)(?P<h>[a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?)(?![a-z0-9_@])"
)
_CASHTAG_RE: Final[re.Pattern[str]] = re.compile(r"\$(?<![a-z0-9_$].)(?P<h>[a-z][a-z0-9_]{1,19})(?![a-z0-9_])")
_CURRENCY_CODES: Final[frozenset[str]] = frozenset(
    {"usd", "cad", "aud", "eur", "gbp", "nzd", "mxn", "btc", "eth", "xmr", "usdt"}
)


#: "@example.com", "@mail.net.au": an e-mail domain, not an Instagram handle.
_DOMAIN_LIKE: Final[re.Pattern[str]] = re.compile(r".*\.(?:com|net|org|edu|gov)(?:\.[a-z]{2})?")


#: "$SNAP", "$BTC", "$AAPL": a stock or coin ticker (capitals, at most five
#: letters), not a Cash App tag, unless Cash App is named in the text.
_TICKER: Final[re.Pattern[str]] = re.compile(r"\$[A-Z]{1,5}(?![A-Za-z0-9_])")


def _leet_s_word(name: str) -> bool:
    """Whether ``$name`` reads as a common English word with '$' for 's'
    ("$ale", "$weet", "$pecial"): at least a million occurrences in
    wordsegment's web counts."""
    from drugwatch.text.hashtags import word_count

    return word_count("s" + name) >= 1_000_000


def _handles(raw: str, low: str) -> list[Contact]:
    out: list[Contact] = []
    for m in _IG_HANDLE_RE.finditer(low) if "@" in low else ():
        name = m.group("h")
        if re.search(r"[a-z]", name) and not _DOMAIN_LIKE.fullmatch(name):
            obf = low[m.start() : m.end()] != raw[m.start() : m.end()].lower()
            out.append(Contact("instagram_handle", "instagram", name, m.start(), m.end(), obf))
    if "$" in low:
        # a bare "$word" is a Cash App tag unless it is leetspeak for an s-word
        # ("SPRING $ALE"); next to a Cash App name it is always a tag
        cash_cue = "cash" in low or "ca$h" in low
        for m in _CASHTAG_RE.finditer(low):
            name = m.group("h")
            if name in _CURRENCY_CODES or (
                not cash_cue and (_TICKER.match(raw, m.start()) is not None or _leet_s_word(name))
            ):
                continue
            out.append(Contact("payment", "cashapp", name, m.start(), m.end(), False))
    return out


def _shipping_starts(low: str) -> list[int]:
    """Where a ``_SHIPPING_RE`` match can start: every occurrence of the first
    word of a shipping phrase, in order."""
    return sorted({end - len(word) + 1 for end, word in _SHIPPING_FIRST.iter(low)})


def _shipping_matches(low: str) -> list[re.Match[str]]:
    """The matches of ``_SHIPPING_RE.finditer(low)``, tried only where a phrase's
    first word stands."""
    out: list[re.Match[str]] = []
    done = 0
    for pos in _shipping_starts(low):
        if pos < done:
            continue
        m = _SHIPPING_RE.match(low, pos)
        if m is not None:
            out.append(m)
            done = m.end()
    return out


def _shipping(raw: str, low: str) -> list[Contact]:
    out = []
    for m in _shipping_matches(low):
        value = " ".join(m.group().replace("-", " ").split())
        obf = low[m.start() : m.end()] != raw[m.start() : m.end()].lower()
        out.append(Contact("shipping", None, value, m.start(), m.end(), obf))
    return out


def _overlaps(a: Contact, b: Contact) -> bool:
    return a.raw_start < b.raw_end and b.raw_start < a.raw_end


def _coexist(cand: Contact, other: Contact) -> bool:
    """Whether two overlapping contacts may both be kept: one span contains
    the other and both carry the same value, one a phone or e-mail and the
    other of another kind (an app id that is also a phone number)."""
    nested = (other.raw_start <= cand.raw_start and cand.raw_end <= other.raw_end) or (
        cand.raw_start <= other.raw_start and other.raw_end <= cand.raw_end
    )
    return (
        nested
        and cand.value == other.value
        and bool({cand.kind, other.kind} & {"phone", "email"})
        and cand.kind != other.kind
    )


#: Up to this many candidates, ``_resolve`` compares each with the kept ones.
_FEW_CANDIDATES: Final[int] = 16


def _resolve(candidates: list[Contact]) -> list[Contact]:
    """Keep the best candidate of each overlapping group.

    Candidates are taken in priority order (``_PRIORITY``, then longer span);
    one that overlaps a kept contact is dropped, except when one span contains
    the other and both carry the same value (an app id that is also a phone
    or e-mail: "whatsapp +1 440 555 0142" gives an app_handle and a phone).

    No candidate or one (most texts) has nothing to resolve.

    Kept contacts are disjoint but for such nested pairs. Each character of
    the text records the outermost kept contact over it (its *owner*), and an
    owner the kept contacts nested in it, so a candidate is compared with the
    contacts over its own characters only: linear in the text and the
    candidates' lengths (comparing each candidate with every kept contact
    near it cost the square of their number).
    """
    if len(candidates) < 2:
        return list(candidates)
    kept: list[Contact] = []
    if len(candidates) <= _FEW_CANDIDATES:  # most texts: each compared with the kept ones
        for cand in sorted(set(candidates), key=_rank):
            if all(not _overlaps(cand, other) or _coexist(cand, other) for other in kept):
                kept.append(cand)
        kept.sort(key=lambda c: (c.raw_start, c.raw_end, c.kind))
        return kept
    owner = [-1] * max(c.raw_end for c in candidates)
    nested: dict[int, list[int]] = {}  # owner -> the kept contacts inside it
    # Contacts with an empty span own no character: they are compared with
    # every candidate, and an empty candidate with every kept contact (no
    # detector makes one; this keeps the rule whole).
    empty: list[int] = []
    for cand in sorted(set(candidates), key=_rank):
        start, end = cand.raw_start, cand.raw_end
        if start < end:
            owners = set(owner[start:end])
            owners.discard(-1)
            near = [k for o in owners for k in (o, *nested.get(o, ()))] + empty
        else:
            owners = set()
            near = list(range(len(kept)))
        if any(_overlaps(cand, kept[k]) and not _coexist(cand, kept[k]) for k in near):
            continue
        me = len(kept)
        kept.append(cand)
        if start >= end:
            empty.append(me)
            continue
        inside = nested.setdefault(me, [])
        for o in owners:
            outer = kept[o]
            if outer.raw_start <= start and end <= outer.raw_end:
                nested.setdefault(o, []).append(me)  # inside a kept contact: it stays the owner
                del nested[me]
                break
            # a kept contact inside this one: this one owns its characters now
            inside.append(o)
            inside.extend(nested.pop(o, ()))
        else:
            owner[start:end] = [me] * (end - start)
    kept.sort(key=lambda c: (c.raw_start, c.raw_end, c.kind))
    return kept


def find_contacts(text: str, *, region: str = "US") -> list[Contact]:
    """Every contact in ``text``, in text order.

    ``region`` (ISO 3166 code) is used to read phone numbers written without
    a country code.

    >>> [(c.kind, c.app, c.value) for c in find_contacts("Wickr: demo_plug7, discreet shipping")]
    [('app_handle', 'wickr', 'demo_plug7'), ('shipping', None, 'discreet shipping')]
    """
    if not isinstance(text, str):
        raise TypeError(f"find_contacts expects a str, got {type(text).__name__}")
    if not text:
        return []
    low = fold(text)
    if len(low) != len(text):  # pragma: no cover - fold() keeps the length by construction
        raise AssertionError("fold() changed the text length")
    cues = _cues(text, low)
    if not cues.any:
        return []
    candidates: list[Contact] = []
    if cues.long_token:
        candidates += _crypto(text, low)
    if cues.keyword or cues.at:
        candidates += _emails(low)
    if cues.keyword:
        candidates += _alias_contacts(text, low, region)
    if cues.keyword:
        candidates += _urls(text, low, region)
        candidates += _shipping(text, low)
    if cues.phone:
        # cues.digit_words counts the digit words of three letters or more,
        # all of them only when no keyword stopped the scan early; "o" and
        # "oh" are looked for apart
        candidates += _phones(
            low,
            region,
            run_digits=cues.digits >= 6,
            spelled=cues.keyword or cues.digit_words > 0 or _O_WORD_HINT.search(low) is not None,
        )
    if cues.at or cues.dollar:
        candidates += _handles(text, low)
    found = _resolve(candidates)
    if not text.isascii():
        # look-alike or full-width characters inside a contact are obfuscation
        found = [
            replace(c, obfuscated=True)
            if not c.obfuscated and text[c.raw_start : c.raw_end].lower() != low[c.raw_start : c.raw_end]
            else c
            for c in found
        ]
    return found
