"""The text layer's pre-filters and fast paths change nothing.

Every shortcut taken for speed in ``normalize``, ``contacts`` and the lexicon
matcher is checked here against the slow computation it stands in for:
``stage(text) == stage_without_prefilter(text)`` on texts built from the
pieces the stages look for, and on arbitrary text.
"""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drugwatch.lexicon import matcher
from drugwatch.text import contacts, hashtags, normalize

# Pieces that wake up the stages: separators, leetspeak, masks, look-alikes,
# contacts, shipping words, digits, spaced letters, hashtags.
_PIECES = st.sampled_from(
    [
        "wickr",
        "w.i.c.k.r",
        "w1ckr",
        "wickr me",
        "telegram",
        "t e l e g r a m",
        "te1egram",
        "kik",
        "snap",
        "snapchat",
        "sc",
        "signal",
        "line",
        "session",
        "venmo",
        "zelle",
        "paypal",
        "pay pal",
        "cash app",
        "c@sh app",
        "$",
        "crypto",
        "btc",
        "whats app",
        "wa",
        "tg",
        "ig",
        "insta",
        "👻",
        "stealth",
        "overnight",
        "next-day delivery",
        "next day",
        "discreet",
        "shipping",
        "meet ups",
        "vac sealed",
        "usps",
        "at",
        "[at]",
        "(at)",
        "dot",
        "(dot)",
        "com",
        "org",
        "me/",
        "t.me/x",
        "www.",
        "https://",
        "example",
        "name@mail.com",
        ".shop",
        ".co",
        "five",
        "one",
        "zero",
        "oh",
        "o",
        "440",
        "555",
        "0142",
        "+1",
        "(",
        ")",
        "*",
        ".",
        "_",
        "-",
        "/",
        "|",
        "·",
        "•",
        "~",
        "+",
        ":",
        " ",
        "  ",
        "\t",
        "\n",
        "\x00",
        "\u00a0",
        "\u2003",
        "\u2028",
        "!",
        "?",
        "@",
        "#",
        "&",
        "x4n4x",
        "xanax",
        "x a n a x",
        "co-caine",
        "co caine",
        "xan ax",
        "m-d-m-a",
        "m.d.m.a",
        "md□ma",
        "C*ke",
        "c0ke",
        "CΘKE",
        "сoke",
        "СОКЕ",
        "кокаин",
        "кокаина",
        "大麻",
        "出售大麻",
        "코카인",
        "กัญชา",
        "كوكايين",
        "ᴄᴏᴋᴇ",
        "ｘａｎａｘ",
        "🍄",
        "❄️",
        "2mg",
        "10 mg",
        "x2",
        "bars",
        "pills",
        "lit",
        "high",
        "tabs",
        "weeeeed",
        "aaa",
        "ooo",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "abcdefghijklmn",
        "é",
        "ø",
        "٣",
        "a",
        "b",
        "c",
        "1",
        "3",
        "0",
        "9",
        "ab",
        "xyz",
        "#xanax",
        "#2mgxanax",
        "＃plug",
        "&#35;",
        "&#x23;",
        "x.com/#tag",
        "A",
        "Q",
        "shrooms",
        "\ud800",
        "🇺🇸🇨🇦",
        "e\u0301",
        "\u200d",
        "İ",
        ".io",
        "plug.io/menu",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "@demo_plug",
        "$demo_cash",
        "a@",
        "$$",
        "w\u2003i",
        "t\u3000e",
        "...",
        "!!!",
        "zzz",
    ]
)
_TEXTS = st.one_of(
    st.lists(_PIECES, max_size=24).map("".join),
    st.lists(_PIECES, max_size=24).map(" ".join),
    st.text(max_size=60),
)
_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _match_key(m: re.Match[str]) -> tuple[tuple[int, int], dict[str, str]]:
    return m.span(), {k: v for k, v in m.groupdict().items() if v is not None}


# ---------------------------------------------------------------------------
# contacts
# ---------------------------------------------------------------------------


@_SETTINGS
@given(_TEXTS)
def test_fold_table_matches_per_character_fold(text):
    assert contacts.fold(text) == "".join(contacts._fold_char(c) for c in text)


@_SETTINGS
@given(_TEXTS)
def test_alias_matches_equal_the_full_alias_pattern(text):
    low = contacts.fold(text)
    expected = []
    for m in contacts._ALIAS_RE.finditer(low):
        alias = next(
            contacts._ALIAS_GROUPS[k] for k, v in m.groupdict().items() if v is not None and k in contacts._ALIAS_GROUPS
        )
        expected.append((_match_key(m), alias))
    assert [(_match_key(m), a) for m, a in contacts._alias_matches(low)] == expected


@_SETTINGS
@given(_TEXTS)
def test_ascii_fast_paths_match_the_general_ones(text):
    low = contacts.fold(text)
    assert contacts._leet_i(low) == low.translate(contacts._LEET_I)
    assert contacts._leet_l(low) == low.translate(contacts._LEET_L)
    assert contacts._squeeze(low) == contacts._SEPARATORS.sub("", low)
    assert contacts._count_digits(low) == sum(map(low.count, "0123456789"))
    assert contacts._has_long_token(text) == bool(contacts._LONG_ALNUM.search(text))


def test_whitespace_table_is_what_backslash_s_matches():
    """``_alias_prefixes`` spells ``\\s`` out as ``_WHITESPACE`` (all of Unicode)."""
    spaces = "".join(chr(i) for i in range(sys.maxunicode + 1) if re.match(r"\s", chr(i)))
    assert spaces == contacts._WHITESPACE


# The patterns as first written, with the look-behind in front.
_LOOKBEHIND_FIRST = {
    "_BTC_LEGACY_RE": r"(?<![0-9A-Za-z])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z])",
    "_IG_HANDLE_RE": r"(?<![a-z0-9_.@/])@(?P<h>[a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?)"
    r"(?![a-z0-9_@])",
    "_CASHTAG_RE": r"(?<![a-z0-9_$])\$(?P<h>[a-z][a-z0-9_]{1,19})(?![a-z0-9_])",
}


@_SETTINGS
@given(_TEXTS)
def test_look_behind_after_the_first_character_matches_the_same(text):
    for s in (text, contacts.fold(text)):
        for name, pattern in _LOOKBEHIND_FIRST.items():
            assert [_match_key(m) for m in getattr(contacts, name).finditer(s)] == [
                _match_key(m) for m in re.finditer(pattern, s)
            ]


def _crypto_reference(raw: str, low: str) -> list[contacts.Contact]:
    out = []
    for m in contacts._BTC_LEGACY_RE.finditer(raw):
        if contacts.btc_legacy_checksum_ok(m.group()) or contacts._CRYPTO_CUE.search(
            low, max(0, m.start() - 30), m.start()
        ):
            out.append(("bitcoin", m.group(), m.span()))
    for m in contacts._BTC_BECH32_RE.finditer(raw):
        if contacts.btc_bech32_checksum_ok(m.group()) or contacts._CRYPTO_CUE.search(
            low, max(0, m.start() - 30), m.start()
        ):
            out.append(("bitcoin", m.group().lower(), m.span()))
    out += [("ethereum", m.group().lower(), m.span()) for m in contacts._ETH_RE.finditer(raw)]
    out += [("monero", m.group(), m.span()) for m in contacts._XMR_RE.finditer(raw)]
    return out


@_SETTINGS
@given(_TEXTS)
def test_crypto_and_handle_pre_filters_drop_nothing(text):
    low = contacts.fold(text)
    assert [(c.app, c.value, (c.raw_start, c.raw_end)) for c in contacts._crypto(text, low)] == _crypto_reference(
        text, low
    )
    # the unfiltered scans with the same rules for what a match is
    expected = [
        m.group("h")
        for m in contacts._IG_HANDLE_RE.finditer(low)
        if re.search("[a-z]", m.group("h")) and not contacts._DOMAIN_LIKE.fullmatch(m.group("h"))
    ]
    cash_cue = "cash" in low or "ca$h" in low
    expected += [
        m.group("h")
        for m in contacts._CASHTAG_RE.finditer(low)
        if m.group("h") not in contacts._CURRENCY_CODES
        and (cash_cue or (contacts._TICKER.match(text, m.start()) is None and not contacts._leet_s_word(m.group("h"))))
    ]
    assert [c.value for c in contacts._handles(text, low)] == expected


@_SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                contacts.Contact("phone", None, "+14405550142", 3, 17),
                contacts.Contact("app_handle", "whatsapp", "+14405550142", 0, 17),
                contacts.Contact("payment", "cashapp", "cashapp", 20, 27),
                contacts.Contact("shipping", None, "stealth", 22, 29),
            ]
        ),
        max_size=3,
    )
)
def test_resolve_keeps_a_lone_candidate_as_the_full_resolution_does(candidates):
    resolved = contacts._resolve(candidates)
    if len(candidates) == 1:
        assert resolved == candidates
    assert resolved == sorted(resolved, key=lambda c: (c.raw_start, c.raw_end, c.kind))


def _cues_reference(raw: str, low: str) -> contacts._Cues:
    """The pre-filter as first written: every scan, no shortcut."""
    keyword, digit_words = contacts._keyword_scan(low)
    if not keyword and "👻" in low:
        keyword = True
    if not keyword and contacts._LEET_CHARS.search(low):
        leet = low.translate(contacts._LEET_I)
        keyword = contacts._keyword_scan(leet)[0] or contacts._keyword_scan(low.translate(contacts._LEET_L))[0]
    if not keyword and contacts._SPLIT_WORD_HINT.search(low):
        squeezed = contacts._SEPARATORS.sub("", low.translate(contacts._LEET_I))
        keyword = any(True for _ in contacts._SQUEEZED_AUTOMATON.iter(squeezed))
    return contacts._Cues(
        keyword=keyword,
        digit_words=digit_words,
        digits=sum(map(low.count, "0123456789")) if contacts._ANY_DIGIT.search(low) else 0,
        at="@" in low,
        dollar="$" in low,
        long_token=bool(contacts._LONG_ALNUM.search(raw)),
    )


@_SETTINGS
@given(_TEXTS)
def test_cues_equal_the_reference_pre_filter(text):
    low = contacts.fold(text)
    assert contacts._cues(text, low) == _cues_reference(text, low)


@_SETTINGS
@given(_TEXTS)
def test_email_url_and_shipping_pre_filters_drop_nothing(text):
    low = contacts.fold(text)
    assert contacts._emails(low) == contacts._emails_unfiltered(low)
    assert contacts._urls(text, low, "US") == contacts._urls_unfiltered(text, low, "US")
    assert [_match_key(m) for m in contacts._shipping_matches(low)] == [
        _match_key(m) for m in contacts._SHIPPING_RE.finditer(low)
    ]


@_SETTINGS
@given(_TEXTS)
def test_phone_pre_filters_drop_nothing(text):
    """The digit-run hint and the spelled-number gate of find_contacts change no phone found."""
    low = contacts.fold(text)
    cues = contacts._cues(text, low)
    run_digits = cues.digits >= 6
    spelled = cues.keyword or cues.digit_words > 0 or contacts._O_WORD_HINT.search(low) is not None
    if contacts._RUN_HINT.search(low) is None:
        assert list(contacts._RUN_RE.finditer(low)) == []
    # the ungated call always scans for spelled numbers
    assert contacts._phones(low, "US", run_digits, spelled) == contacts._phones(low, "US", run_digits), text


@pytest.mark.parametrize(
    "text",
    [
        "oh 1 2 3 4 5 6 oh",
        "o-4-4-0-5-5-5-o",
        "four four zero five five five one two three four",
        "call 440 555 0199",
        "+1(440) *** -3147",
        "wickr or call four four zero 5 5 5 0 1 9 9",
    ],
)
def test_phone_pre_filters_let_real_phones_through(text):
    assert [c for c in contacts.find_contacts(text) if c.kind == "phone"]


@pytest.mark.parametrize(
    "text",
    [
        "name at protonmail dot com",
        "mail me: x (at) y [dot] org",
        "a@b.co",
        "www.plug.shop",
        "t.me/demo_x",
        "paypal.me/x",
        "https://x.io/a",
        "next-day delivery, vac sealed",
        "meet ups only",
    ],
)
def test_pre_filters_let_real_contacts_through(text):
    low = contacts.fold(text)
    assert contacts._emails(low) or contacts._urls(text, low, "US") or contacts._shipping_matches(low)


# ---------------------------------------------------------------------------
# normalize
# ---------------------------------------------------------------------------


def test_printable_strings_have_no_odd_whitespace():
    """``_whitespace_edits`` skips ``_ODD_WS`` for printable strings: every
    character that pattern matches must be unprintable (all of Unicode)."""
    odd = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isprintable() and normalize._ODD_WS.match(chr(i))]
    assert odd == []


@_SETTINGS
@given(_TEXTS)
def test_single_char_run_hints_drop_nothing(text):
    cur = normalize.normalize(text).text
    for s in (cur, text.lower()):
        assert [m.span() for m in normalize._punct_runs(s)] == [m.span() for m in normalize._PUNCT_RUN.finditer(s)]
        assert [m.span() for m in normalize._space_runs(s)] == [m.span() for m in normalize._SPACE_RUN.finditer(s)]


def _core_run(s: str, i: int) -> tuple[int, int]:
    a = b = i
    while a > 0 and s[a - 1] in normalize._CORE_CHARS:
        a -= 1
    while b < len(s) and s[b] in normalize._CORE_CHARS:
        b += 1
    return a, b


@_SETTINGS
@given(_TEXTS)
def test_suspect_starts_mark_the_same_words(text):
    for s in (text.lower(), normalize.normalize(text).text):
        starts = normalize._suspect_starts(s)
        assert starts == sorted(starts)
        found = list(dict.fromkeys(_core_run(s, i) for i in starts))
        expected = list(dict.fromkeys(_core_run(s, m.start()) for m in normalize._SUSPECT.finditer(s)))
        assert found == expected


def _decode_words_reference(cur: str) -> list:
    """Stage 3 without the per-run cache: ``_SUSPECT`` hints widened char by
    char, each run's edges trimmed and read in place."""
    prot = normalize._Protected(cur)
    edits = []
    done = -1
    n = len(cur)
    for hint in normalize._SUSPECT.finditer(cur):
        if hint.start() < done:
            continue
        a = hint.start()
        while a > 0 and cur[a - 1] in normalize._CORE_CHARS:
            a -= 1
        b = hint.end()
        while b < n and cur[b] in normalize._CORE_CHARS:
            b += 1
        done = b
        a0, b0 = a, b
        while a < b and cur[a] in normalize._EDGE_TRIM_LEAD:
            a += 1
        while b > a and cur[b - 1] in normalize._EDGE_TRIM_TAIL:
            b -= 1
        if b - a < 2 or (a > 0 and cur[a - 1] == "@"):
            continue
        new = None
        if (a, b) != (a0, b0) and b0 - a0 <= normalize.MAX_DECODED_WORD and normalize._edge_masks(cur, a0, a, b, b0):
            whole = normalize._decode_word(cur[a0:b0])
            if whole is not None and normalize._in_vocab(whole):
                a, b, new = a0, b0, whole
        if new is None and cur[b:b0] == "@" and b0 - a <= normalize.MAX_DECODED_WORD:
            whole = normalize._decode_word(cur[a:b0])
            if whole is not None and normalize._is_drug_word(whole):
                b, new = b0, whole
        core = cur[a:b]
        if new is None:
            new = normalize._decode_word(core) if len(core) <= normalize.MAX_DECODED_WORD else None
        if new is None or normalize._is_protected(prot, a, b):
            continue
        if len(new) == len(core):
            edits.append((a, b, new, None))
        else:
            edits.append((a, b, new, normalize._align(core, new, a)))
    return edits


@pytest.mark.parametrize(
    "text",
    [
        "x4n4x and c*c**n* and mdm@ here",
        "see www.c0caine.com or c0caine",
        "c0caine then www.c0caine.com",
        "@c0caine c0caine c0caine!",
        "!!c0c4ine?? shroooooms 2mg",
        "a " * 30 + "sh" + "o" * 90 + "ms x4n4x",
    ],
)
def test_decode_words_reads_each_run_alone(text):
    """A run's reading is cached by its characters: the same run is read the
    same wherever it sits, and a protected place (a URL, a handle) still
    keeps it as it is, whichever order the cache met them in."""
    for _ in range(2):
        normalize._run_reading.cache_clear()
        assert normalize._decode_words(text, normalize._Protected(text)) == _decode_words_reference(text)


@_SETTINGS
@given(_TEXTS)
def test_decode_words_equals_the_reference(text):
    for s in (text.lower(), normalize.normalize(text).text):
        assert normalize._decode_words(s, normalize._Protected(s)) == _decode_words_reference(s)


@_SETTINGS
@given(_TEXTS)
def test_homoglyph_pre_filter_drops_nothing(text):
    cur = normalize._stage1_unicode(text)[0] if text else text
    assert normalize._fix_homoglyphs(cur) == normalize._fix_homoglyphs_unfiltered(cur)


@_SETTINGS
@given(_TEXTS)
def test_piece_separator_fast_paths_match_the_str_table(text):
    cur = text.lower()
    expected = cur.translate(normalize._TO_SPACE)
    if cur.isascii():
        assert cur.encode("ascii").translate(normalize._TO_SPACE_BYTES).decode("ascii") == expected
    assert normalize._ANY_PIECE_SEP.sub(" ", cur) == expected


@_SETTINGS
@given(_TEXTS)
def test_protected_spans_pre_filter_drops_nothing(text):
    for s in (text.lower(), normalize.normalize(text).text):
        assert normalize._protected_spans(s) == [m.span() for m in normalize._PROTECTED.finditer(s)]


@_SETTINGS
@given(_TEXTS)
def test_stage1_character_table_matches_map_char(text):
    for ch in text:
        mapped = normalize._MAP_TABLE[ord(ch)]
        assert mapped == normalize._map_char(ch)
        assert (len(mapped) != 1) == (ch in normalize._IRREGULAR)


def _stage1_unicode_reference(raw: str) -> tuple[str, list[int], list[int]]:
    """Stage 1 as first written: every non-ASCII character mapped on its own."""
    ri = {i for m in normalize._RI_RUN.finditer(raw) for i in range(*m.span())}
    out, starts, ends = [], [], []
    for i, ch in enumerate(raw):
        if ch.isascii():
            mapped = ch.lower()
        elif i in ri:
            mapped = chr(ord("a") + ord(ch) - 0x1F1E6)
        else:
            mapped = normalize._map_char(ch)
        if mapped:
            out.append(mapped)
            starts.extend([i] * len(mapped))
            ends.extend([i + 1] * len(mapped))
        elif ends:
            ends[-1] = i + 1
    cur = "".join(out)
    edits = _whitespace_edits_reference(cur)
    if edits:
        return normalize._apply(cur, starts, ends, edits)
    return cur, starts, ends


_WS_REFERENCE = re.compile(r"[\s\x00-\x1f\x7f]*(?:[^\S ]|[\x00-\x1f\x7f]|  )[\s\x00-\x1f\x7f]*|^ +| +$")


def _whitespace_edits_reference(cur: str) -> list:
    """Whitespace runs that are not a single inner space, as first written."""
    edits = []
    for m in _WS_REFERENCE.finditer(cur):
        a, b = m.span()
        if m.group() == " " and 0 < a and b < len(cur):
            continue
        if a == 0 or b == len(cur) or not any(c.isspace() for c in m.group()):
            edits.append((a, b, "", None))
        else:
            edits.append((a, b, " ", [a]))
    return edits


_WHITESPACE_TEXTS = st.text(
    alphabet=st.sampled_from(
        [
            " ",
            "\n",
            "\t",
            "\r",
            "\x00",
            "\x1f",
            "\x7f",
            "\x85",
            "\xa0",
            "\u2028",
            "\u3000",
            "\u200b",
            "a",
            "B",
            "é",
            "🍄",
        ]
    ),
    max_size=24,
)


@_SETTINGS
@given(st.one_of(_TEXTS, _WHITESPACE_TEXTS))
def test_stage1_fast_paths_match_the_reference(text):
    assert normalize._whitespace_edits(text) == _whitespace_edits_reference(text)
    assert normalize._whitespace_edits(text.lower()) == _whitespace_edits_reference(text.lower())
    if text and not text.isascii():
        assert normalize._stage1_unicode(text) == _stage1_unicode_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f1f8\U0001f1ed\U0001f1f7\U0001f1f4\U0001f1f4\U0001f1f2\U0001f1f8 now",
        "x\U0001f1fa\U0001f1f8y \U0001f1e6\U0001f1e7\U0001f1e8 é",
        "🍄 \U0001f1e6\U0001f1e7 then \U0001f1e6\U0001f1e7\U0001f1e8🍄\ufe0f\U0001f1e9\U0001f1ea\U0001f1eb",
        "\u200b\U0001f1e6\U0001f1e7\U0001f1e8\u200bé",
    ],
)
def test_stage1_reads_regional_indicators_run_by_run(text):
    """Regional-indicator letters are looked for in each non-ASCII run, not
    over the whole text: the same reading as the whole-text search."""
    assert normalize._stage1_unicode(text) == _stage1_unicode_reference(text)


# ---------------------------------------------------------------------------
# hashtags
# ---------------------------------------------------------------------------


def _hashtag_spans_reference(text: str) -> list[tuple[str, int, int]]:
    """``hashtag_spans`` with the URL and character-reference spans found by
    one scan of the whole text (it scans only the words that hold a tag)."""
    skip = [m.span() for m in hashtags._NOT_TAG.finditer(text)]
    out = []
    for match in hashtags._TAG.finditer(text):
        start, end = match.span()
        if any(a <= start < b for a, b in skip):
            continue
        tag = match.group("tag")
        if hashtags._HAS_ALNUM.search(tag):
            out.append((tag.lower(), start, end))
    return out


@_SETTINGS
@given(_TEXTS)
def test_hashtag_skip_scan_of_tagged_words_drops_nothing(text):
    assert hashtags.hashtag_spans(text) == _hashtag_spans_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "see https://x.com/a#frag and #tag",
        "x.com/p#q #real",
        "&#35;x #y&#35;",
        "#a#b www.x.com/#c\u00a0#d",
        "#t\u2003http://u/#v",
    ],
)
def test_hashtag_skip_scan_examples(text):
    assert hashtags.hashtag_spans(text) == _hashtag_spans_reference(text)


# ---------------------------------------------------------------------------
# lexicon matcher
# ---------------------------------------------------------------------------


@_SETTINGS
@given(_TEXTS)
def test_matcher_fast_paths_match_the_regexes(text):
    for s in (text.lower(), normalize.normalize(text).text):
        assert matcher._words_view(s) == matcher._NON_WORD.sub(" ", s)
        assert matcher._has_pill_word(s) == bool(matcher._PILL_WORDS.search(s))
        if not matcher._ANY_DIGIT.search(s):
            assert matcher._DOSE.search(s) is None
        words = matcher._words_view(s)
        for start, end in ((0, 0), (len(s) // 3, len(s) // 2), (len(s), len(s)), (5, 60)):
            assert matcher.Matcher._neighbours(s, start, end, words) == matcher.Matcher._neighbours(s, start, end)


# The dose patterns as first written, with the look-behind in front.
_DOSE_REFERENCE = re.compile(
    r"(?<![a-z0-9])\d+(?:[.,]\d+)?\s?(?:mg|mgs|mcg|ug|µg|ml|gr|grams?|g|oz|kg|kilos?|lbs?|qp|"
    r"tabs?|pills?|caps?|capsules?|tablets?|hits?|pcs|x)(?![a-z0-9])"
    r"|(?<![a-z0-9])(?:x\s?\d+|\d+\s?x)(?![a-z0-9])"
)
_PHARMA_DOSE_REFERENCE = re.compile(r"(?<![a-z0-9])\d+(?:[.,]\d+)?\s?(?:mg|mgs|mcg|ug|µg)(?![a-z0-9])")

_DOSE_TEXTS = st.lists(
    st.sampled_from(["x", "5", "10", "٣", "mg", "g", " ", ".", ",", "a", "mgs", "µg", "tabs", "pills", "1.5", "x 10"]),
    max_size=12,
).map("".join)


@_SETTINGS
@given(st.one_of(_TEXTS, _DOSE_TEXTS))
def test_dose_patterns_match_the_look_behind_first_ones(text):
    for s in (text.lower(), normalize.normalize(text).text):
        for fast, reference in ((matcher._DOSE, _DOSE_REFERENCE), (matcher._PHARMA_DOSE, _PHARMA_DOSE_REFERENCE)):
            assert [m.span() for m in fast.finditer(s)] == [m.span() for m in reference.finditer(s)]


def _script_candidates_reference(m: matcher.Matcher, text: str) -> list[tuple[int, int, str]]:
    """``_script_candidates`` without its first-letter gate: the whole text scanned."""
    if text.isascii() or not len(m._script):
        return []
    out = []
    for last, (key, _entries) in m._script.iter(text):
        start, end = last - len(key) + 1, last + 1
        if not matcher._UNSPACED.match(key):
            if start > 0 and text[start - 1].isalpha():
                continue
            if len(key) < 4 and end < len(text) and text[end].isalpha():
                continue
        out.append((start, end, key))
    return out


@_SETTINGS
@given(_TEXTS)
def test_script_candidates_gate_drops_nothing(text):
    m = matcher.get_matcher()
    for s in (text.lower(), normalize.normalize(text).text):
        found = [(c.start, c.end, c.term) for c in m._script_candidates(s)]
        assert found == _script_candidates_reference(m, s)


def test_script_candidates_gate_finds_terms_after_other_scripts() -> None:
    """A term late in a long text of its own script is still found (the scan
    starts at the first possible first letter)."""
    m = matcher.get_matcher()
    text = "今天天气很好" * 50 + "出售大麻" + " кокаин"
    terms = [c.term for c in m._script_candidates(text)]
    assert "大麻" in terms and "кокаин" in terms
    assert [(c.start, c.end, c.term) for c in m._script_candidates(text)] == _script_candidates_reference(m, text)


# ---------------------------------------------------------------------------
# analyze: the per-text cache
# ---------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_analyze_cache_returns_what_a_fresh_analysis_gives(text):
    from drugwatch.text.analyze import _analyze_cached, analyze

    first = analyze(text)
    fresh = _analyze_cached.__wrapped__(text)
    assert analyze(text) is first
    assert repr(first) == repr(fresh)
    assert (first.normalized.starts, first.normalized.ends) == (fresh.normalized.starts, fresh.normalized.ends)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 256])
def test_analyze_many_equals_analyze_one_by_one(batch_size: int) -> None:
    """The stage-by-stage batch path gives exactly the per-text views, in order, repeats included."""
    from drugwatch.text.analyze import _analyze_cached, analyze_many

    texts = [
        "x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax",
        "",
        "s.H.r.ø.o.M.s and CΘKE, text +1 (440) 555-0147",
        "just a sunny day at the beach",
        "x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax",
        "#weed#kush#420 dm for menu, cash app $demo_cash",
        "Md□ma + 🍄 + ❄️ available, hmu on the 👻 demo.plug",
    ]
    expected = [_analyze_cached.__wrapped__(t) for t in texts]
    got = analyze_many(iter(texts), batch_size=batch_size)
    assert got == expected
    assert got[0] is got[4] or batch_size < 5  # a repeat inside one chunk is read once


def test_analyze_many_checks_its_input() -> None:
    from drugwatch.text.analyze import analyze_many

    with pytest.raises(TypeError, match="expects str items, got int"):
        analyze_many(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        analyze_many(["ok"], batch_size=0)
    assert analyze_many([]) == []


def test_analyze_many_restores_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector paused inside a chunk is on again afterwards, also after an error; off stays off."""
    import gc

    from drugwatch.text import analyze as analyze_module

    assert gc.isenabled()
    seen: list[bool] = []
    real = analyze_module.find_contacts

    def spy(text: str):
        seen.append(gc.isenabled())
        return real(text)

    monkeypatch.setattr(analyze_module, "find_contacts", spy)
    analyze_module.analyze_many(["wickr: demo_plug7", "x4n4x 2mg"], batch_size=1)
    assert seen == [False, False] and gc.isenabled()

    def boom(text: str):
        raise RuntimeError("stage failed")

    monkeypatch.setattr(analyze_module, "find_contacts", boom)
    with pytest.raises(RuntimeError):
        analyze_module.analyze_many(["wickr: demo_plug7"])
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(analyze_module, "find_contacts", real)
        analyze_module.analyze_many(["wickr: demo_plug7"])
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_analyze_many_collects_cyclic_garbage_while_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector stays paused for the whole call, but the youngest
    generation is collected every few chunks: a reference cycle made by a
    stage is freed before the call ends."""
    import gc
    import weakref

    from drugwatch.text import analyze as analyze_module

    class Node:
        pass

    refs: list[weakref.ref] = []
    alive_later: list[bool] = []
    real = analyze_module.find_contacts

    def cyclic(text: str):
        assert not gc.isenabled()
        if refs:
            alive_later.append(refs[0]() is not None)
        else:
            node = Node()
            node.me = node  # a cycle: only the cyclic collector frees it
            refs.append(weakref.ref(node))
        return real(text)

    monkeypatch.setattr(analyze_module, "find_contacts", cyclic)
    monkeypatch.setattr(analyze_module, "_COLLECT_EVERY", 2)
    views = analyze_module.analyze_many(["a", "b", "c", "d"], batch_size=1)
    assert [v.raw for v in views] == ["a", "b", "c", "d"]
    # chunk 1 made the cycle; after chunk 2 the youngest generation was collected
    assert alive_later == [True, False, False]
    assert gc.isenabled()
