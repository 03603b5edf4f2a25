"""Hashtags: extraction, segmentation and the JMIR hashtag categories.

Extraction (:func:`extract_hashtags`, :func:`hashtag_spans`)
    A tag is '#' (or the full-width '＃') followed by letters, combining marks,
    digits or underscores of any script, starting with a letter, digit or
    underscore and holding at least one letter or digit. It ends at the first
    other character (space, punctuation, emoji, another '#': "#xanax#oxy" is
    two tags). Numbers-only tags ("#420") are tags. A '#' inside a URL
    ("example.com/#menu", "https://x.example/#a") or in an HTML character
    reference ("&#39;", "&#x27;") is not a tag.

Segmentation (:func:`segment_hashtag`)
    ``wordsegment``'s unigram model (Norvig's web counts; its bigram back-off
    is left out for speed) with drug and sale vocabulary added: every one-word
    lexicon term that is not of kind "hashtag" (of a multi-word term, its
    words), the sale words in ``SALE_WORDS`` and Instagram words ("instagram",
    "stagram", "insta"). A number with an optional unit ("2mg", "80s", "420")
    scores like a common word, so "#2mgxanax" -> ["2mg", "xanax"] and
    "#oxy80s" -> ["oxy", "80s"]. A lexicon word of another kind than
    "hashtag" ("percocert", "xanax") and a near-miss of a drug name
    ("adderrall") stay whole; lexicon hashtags ("shroomsforsale") are split.
    Underscores split ("xanax_bars" -> ["xanax", "bars"]); pieces with
    characters outside a-z/0-9 (other scripts) and pieces of more than
    ``MAX_SEGMENTED_CHARS`` (200) characters are not split. Results are
    cached (``functools.lru_cache``, per analyzer) for tags of up to
    ``CACHED_TAG_MAX_CHARS`` (100) characters.

Categories (:func:`categorize_hashtag`), after Li et al. (JMIR 2019)
    ``drug_name``
        the whole tag is a lexicon term of kind ``name`` or ``brand``
        ("#xanax", "#oxycodone", "#adderall").
    ``codeword``
        the whole tag is a ``street``, ``misspelling``, ``hashtag`` or
        ``form`` term ("#percocert", "#weed", "#xans"), or a name written in
        leetspeak or look-alikes ("#x4n4x"), or is one spelling
        mistake away from a drug name or brand of 6+ letters ("#adderrall",
        two for 10+ letters), or its segments contain a drug term: an
        *extended name* ("#2mgxanax", "#xanaxbars", "#xanaxfamily",
        "#shroomsforsale", "#420friendly"). Drug words in a tag take precedence
        over sale words. An ambiguous term ("snow", "lean", "bars") inside a
        longer tag counts only when another drug term, a dosage ("2mg") or a
        sale word is in the same tag ("#barsforsale", not "#snowday"); as a
        whole tag it counts ("#molly") and the analysis is flagged
        ``ambiguous`` (``HashtagAnalyzer(ambiguous_tags="other")`` makes such
        tags ``other``).
    ``sale``
        no drug term, but the tag or one of its segments is a sale, shipping or
        transaction word ("#forsale", "#plug", "#plugsofinstagram", "#delivery",
        "#shipping", "#dmtoorder").
    ``other``
        everything else.

    Lexicon look-ups try the tag as written, its :func:`normalize`-d form
    (leetspeak, look-alikes: "#x4n4x") and the small supplement
    ``HASHTAG_TERMS`` (hashtag vocabulary the shared lexicon may not carry).
"""

from __future__ import annotations

import math
import re
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

import regex

if TYPE_CHECKING:
    from drugwatch.lexicon import Lexicon

HashtagKind = Literal["drug_name", "codeword", "sale", "other"]

# ---------------------------------------------------------------------------
# Extraction.

# '#' then a letter/digit/underscore, then letters, marks, digits, underscores.
_TAG: Final = regex.compile(r"[#＃](?P<tag>[\p{L}\p{N}_][\p{L}\p{M}\p{N}_]*)")
# Places where a '#' is not a hashtag: URLs and HTML character references.
_NOT_TAG: Final = regex.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![\w@.\-])[\w\-]+(?:\.[\w\-]+)+/[^\s<>\"']*"
    r"|&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});?",
)
_HAS_ALNUM: Final = regex.compile(r"[\p{L}\p{N}]")


_SPACE: Final = regex.compile(r"\s")
_SPACE_BEFORE: Final = regex.compile(r"\s", flags=regex.REVERSE)


def _skipped_around(text: str, tags: list[regex.Match[str]]) -> list[tuple[int, int]]:
    """The spans of ``_NOT_TAG.finditer(text)`` in the words that hold a tag.

    No ``_NOT_TAG`` match holds white space, so each word (a run between
    white space) is matched on its own exactly as in a scan of the whole
    text; a tag is skipped only by a span that holds its '#', so the other
    words need no scan. Their scan was most of ``hashtag_spans``' time on
    posts with links (the pattern is tried at every word start). Each word
    is read once, so this stays linear in the text.
    """
    spans: list[tuple[int, int]] = []
    word_end = -1
    for tag in tags:
        at = tag.start()
        if at < word_end:
            continue
        before = _SPACE_BEFORE.search(text, 0, at)
        after = _SPACE.search(text, at)
        word_start = 0 if before is None else before.end()
        word_end = len(text) if after is None else after.start()
        # every match holds "://" or "www." (first alternative), "/" (second) or "&#" (third)
        if (
            text.find("/", word_start, word_end) >= 0
            or text.find("www.", word_start, word_end) >= 0
            or text.find("&#", word_start, word_end) >= 0
        ):
            spans.extend(m.span() for m in _NOT_TAG.finditer(text, word_start, word_end))
    return spans


def hashtag_spans(text: str) -> list[tuple[str, int, int]]:
    """Every hashtag occurrence in ``text``: (tag, start, end), in text order.

    ``tag`` is lower-cased without '#'; ``text[start:end]`` is the tag as
    written, '#' included. Repeated tags are all listed.

    >>> hashtag_spans("hmu #Xanax#oxy 🔌 #2mgXanax!")
    [('xanax', 4, 10), ('oxy', 10, 14), ('2mgxanax', 17, 26)]
    """
    if "#" not in text and "＃" not in text:
        return []
    matches = list(_TAG.finditer(text))
    if not matches:
        return []
    skip = _skipped_around(text, matches) if ("/" in text or "&" in text or "www" in text) else []
    # the skipped spans are disjoint and in order: one binary search per tag
    skip_ends = [b for _, b in skip]
    out: list[tuple[str, int, int]] = []
    for match in matches:
        start, end = match.span()
        k = bisect_right(skip_ends, start)
        if k < len(skip) and skip[k][0] <= start:
            continue
        tag = match.group("tag")
        if not _HAS_ALNUM.search(tag):
            continue
        out.append((tag.lower(), start, end))
    return out


def extract_hashtags(text: str) -> list[str]:
    """Return the hashtags in ``text``, lower-cased, without '#', first-seen order, unique.

    >>> extract_hashtags("hmu #Xanax#oxy #2mgXanax #xanax, #шишки")
    ['xanax', 'oxy', '2mgxanax', 'шишки']
    """
    seen: dict[str, None] = {}
    for tag, _start, _end in hashtag_spans(text):
        seen.setdefault(tag, None)
    return list(seen)


# ---------------------------------------------------------------------------
# Vocabulary the hashtag analyzer adds to the lexicon.

#: Sale, shipping and contact words that mark a selling hashtag.
SALE_WORDS: Final[frozenset[str]] = frozenset(
    {
        "sale",
        "sell",
        "selling",
        "seller",
        "sells",
        "order",
        "orders",
        "plug",
        "plugs",
        "connect",
        "dealer",
        "dealers",
        "delivery",
        "deliver",
        "delivering",
        "shipping",
        "ship",
        "ships",
        "shipped",
        "discreet",
        "stealth",
        "overnight",
        "worldwide",
        "dm",
        "hmu",
        "menu",
        "instock",
        "price",
        "prices",
        "wholesale",
        "vendor",
        "supplier",
        "cashapp",
        "wickr",
        "kik",
        "telegram",
        "whatsapp",
        "bitcoin",
        "btc",
    }
)

#: Instagram words, added so that "plugsofinstagram" -> plugs of instagram.
_SOCIAL_WORDS: Final[dict[str, float]] = {
    "instagram": 5e6,
    "insta": 1e6,
    "stagram": 2e5,
    "gram": 5e6,
    "igers": 1e5,
    "ig": 1e6,
    "hmu": 1e6,
    "dm": 1e7,
    "plug": 3e7,
    "plugs": 5e6,
}


@dataclass(frozen=True, slots=True)
class HashtagTerm:
    """A supplementary hashtag term: ``kind`` as in the lexicon."""

    term: str
    label: str | None
    kind: str
    ambiguous: bool = False


#: Hashtag vocabulary used when the shared lexicon has no entry for the term.
HASHTAG_TERMS: Final[tuple[HashtagTerm, ...]] = (
    HashtagTerm("420", "marijuana", "street"),
    HashtagTerm("weedstagram", "marijuana", "hashtag"),
    HashtagTerm("stonernation", "marijuana", "hashtag"),
    HashtagTerm("oxy", "painkiller", "street"),
    HashtagTerm("oxys", "painkiller", "street"),
    HashtagTerm("roxies", "painkiller", "street"),
    HashtagTerm("perc", "painkiller", "street"),
    HashtagTerm("xanaxbars", "xanax", "form"),
    HashtagTerm("whitebar", "xanax", "street"),
    HashtagTerm("whitebars", "xanax", "street"),
    HashtagTerm("greenbar", "xanax", "street"),
    HashtagTerm("greenbars", "xanax", "street"),
    HashtagTerm("yellowbar", "xanax", "street"),
    HashtagTerm("hulk", "xanax", "street", True),
    HashtagTerm("xanny", "xanax", "street"),
    HashtagTerm("xannies", "xanax", "street"),
    HashtagTerm("pills", None, "form", True),
    HashtagTerm("pill", None, "form", True),
)

_DRUG_KINDS: Final[frozenset[str]] = frozenset({"name", "brand", "street", "misspelling", "hashtag", "form"})
_NAME_KINDS: Final[frozenset[str]] = frozenset({"name", "brand"})
_SALE_KINDS: Final[frozenset[str]] = frozenset({"transaction", "selling", "shipping"})

#: A number, optionally with a unit or plural 's': one segmentation token.
_NUMBER_TOKEN: Final = re.compile(
    r"^[0-9]+(?:mg|mcg|ug|g|gr|gram|grams|ml|oz|lb|lbs|kg|k|s|x|pcs|pc|ct|mm|th|st|nd|rd)?$"
)
_DOSAGE: Final = re.compile(r"^[0-9]+(?:mg|mcg|ug|g|gr|gram|grams|ml|oz|lb|lbs|kg|k|pcs|ct)$")
_ASCII_ALNUM: Final = re.compile(r"^[a-z0-9]+$")


#: Pieces of a tag (between underscores) longer than this are not segmented
#: but kept whole: segmentation tries every word of up to 24 letters ending
#: at each letter, some 25 look-ups per letter (6 s for a tag of 100,000
#: letters), and a tag this long is no phrase to split. Drug words inside it
#: are still found by the lexicon matcher, which reads inside hashtags.
MAX_SEGMENTED_CHARS: Final = 200
#: Tags longer than this are segmented and analyzed every time, never cached:
#: the caches hold up to ``cache_size`` tags each, and a few long ones must
#: not fill memory (real tags are far shorter).
CACHED_TAG_MAX_CHARS: Final = 100

# ---------------------------------------------------------------------------
# Segmentation model.

_TOTAL: Final = 1024908267229.0  # words in wordsegment's corpus
_LOG_TOTAL: Final = math.log10(_TOTAL)
_BASE_LOCK = threading.Lock()


def _read_counts(path: str) -> dict[str, str]:
    """The ``word<TAB>count`` lines of ``path`` as ``wordsegment.Segmenter.parse``
    reads them (a repeated word keeps its last count), counts left as text.

    One split of the whole file; a file whose words hold whitespace would
    misalign the fields, so it is read line by line instead.
    """
    with open(path, encoding="utf-8") as reader:
        text = reader.read()
    fields = text.split()
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if len(fields) == 2 * lines:
        return dict(zip(fields[0::2], fields[1::2], strict=True))
    counts: dict[str, str] = {}
    for line in text.splitlines():
        word, number = line.split("\t")
        counts[word] = number
    return counts


def _log_prob(count: str | float) -> float:
    return math.log10(float(count)) - _LOG_TOTAL


def _base_log_probs() -> dict[str, float]:
    """log10 unigram probabilities of every word of wordsegment's counts (one dict per process, shared
    with the segmenter)."""
    return _count_lookup().log_probs()


#: Look-ups after which :class:`_CountLookup` builds a dict of every word's
#: log-probability (about 0.2 s): by then the bisections have cost about as much.
_DICT_AFTER_LOOKUPS: Final = 30_000
_SORTED_COUNTS_FORMAT: Final = 2


def _sorted_counts(path: str) -> tuple[str, bytes, bytes]:
    """The words of ``path`` (as :func:`_read_counts` reads them) sorted and
    each followed by a newline, the offset of each word in that text (and
    the text's length) as native unsigned ints, and the counts as native
    doubles in the same order."""
    counts = _read_counts(path)
    words = sorted(counts)
    if any("\n" in w for w in words):  # the file is split at lines: never
        raise ValueError(f"a word holding a newline in {path}")
    offsets = array("I", [0])
    for w in words:
        offsets.append(offsets[-1] + len(w) + 1)
    joined = "".join(w + "\n" for w in words)
    return joined, offsets.tobytes(), array("d", [float(counts[w]) for w in words]).tobytes()


class _CountLookup:
    """wordsegment's unigram counts, looked up without a dict of all of them.

    A process that segments a few hashtags ("#420") looks up a few hundred
    words; building a dict of all 333,000 took most of its start-up (about
    0.3 s). The counts are kept instead as one text of the sorted words, the
    words' offsets and an array of counts, read from the table cache
    (:mod:`drugwatch.text.tablecache`, derived from wordsegment's file once
    per installation), and a word is found by bisection. A process that
    looks up many words (a scan) gets a dict after ``_DICT_AFTER_LOOKUPS``
    look-ups. Either way ``log_prob`` returns the log10 probability of the
    count the file holds, or ``None``; :meth:`log_probs` is that dict, the
    one table of English word probabilities of the process (the segmenter,
    normalize's English skeletons and the drug-type detector's general mask
    index read it).
    """

    def __init__(self, path: str) -> None:
        from drugwatch.text.tablecache import cached_table

        joined, offsets, counts = cached_table(
            "unigrams", _SORTED_COUNTS_FORMAT, [path, __file__], lambda: _sorted_counts(path)
        )
        self._joined: str = joined
        self._offsets = array("I")
        self._offsets.frombytes(offsets)
        self._counts = array("d")
        self._counts.frombytes(counts)
        if len(self._offsets) != len(self._counts) + 1 or self._offsets[-1] != len(joined):
            raise ValueError("the cached unigram table is inconsistent")
        self._log_probs: dict[str, float] | None = None
        self._lookups = 0

    def _word(self, i: int) -> str:
        return self._joined[self._offsets[i] : self._offsets[i + 1] - 1]

    def log_prob(self, word: str) -> float | None:
        """log10 unigram probability of ``word`` (``None`` if the counts do not hold it)."""
        table = self._log_probs
        if table is not None:
            return table.get(word)
        self._lookups += 1
        if self._lookups > _DICT_AFTER_LOOKUPS:
            return self.log_probs().get(word)
        lo, hi = 0, len(self._counts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._word(mid) < word:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self._counts) and self._word(lo) == word:
            return _log_prob(self._counts[lo])
        return None

    def log_probs(self) -> dict[str, float]:
        """Every word's log10 probability as one dict (built on first call, about 0.2 s)."""
        with _BASE_LOCK:
            if self._log_probs is None:
                words = self._joined.split("\n")[:-1]
                log10, total = math.log10, _LOG_TOTAL
                self._log_probs = dict(zip(words, [log10(c) - total for c in self._counts], strict=True))
            return self._log_probs


_LOOKUP: _CountLookup | None = None


def _count_lookup() -> _CountLookup:
    """The process's :class:`_CountLookup` over wordsegment's counts."""
    global _LOOKUP
    with _BASE_LOCK:
        if _LOOKUP is None:
            import wordsegment

            _LOOKUP = _CountLookup(wordsegment.Segmenter.UNIGRAMS_FILENAME)
        return _LOOKUP


def word_count(word: str) -> float:
    """How often ``word`` (lower-case) occurs in wordsegment's web counts (0 if never)."""
    log_prob = _count_lookup().log_prob(word)
    return 0.0 if log_prob is None else 10 ** (log_prob + _LOG_TOTAL)


class _Segmenter:
    """wordsegment's unigram model with our additions and number tokens.

    The additions' scores (each the higher of its own and wordsegment's) are
    worked out on first look-up, so that building a segmenter looks up no
    counts."""

    LIMIT: Final = 24  # longest word considered, as in wordsegment

    def __init__(self, extra: dict[str, float]) -> None:
        self._counts: _CountLookup | None = None
        self._extra_counts = extra
        self._extra: dict[str, float] = {}

    def _lookup(self) -> _CountLookup:
        if self._counts is None:
            self._counts = _count_lookup()
        return self._counts

    def _extra_score(self, word: str) -> float | None:
        score = self._extra.get(word)
        if score is None:
            c = self._extra_counts.get(word)
            if c is None:
                return None
            base = self._lookup().log_prob(word)
            score = self._extra[word] = max(-math.inf if base is None else base, math.log10(c) - _LOG_TOTAL)
        return score

    def _log_score(self, word: str) -> float:
        score = self._extra_score(word)
        if score is not None:
            return score
        score = self._lookup().log_prob(word)
        if score is not None:
            return score
        if word[0].isdigit() and _NUMBER_TOKEN.match(word):
            return 6.0 - _LOG_TOTAL  # scores like a word seen a million times
        # wordsegment's length penalty for unknown words: 10 / (total * 10**len)
        return 1.0 - _LOG_TOTAL - len(word)

    def segment(self, text: str) -> list[str]:
        """Best split of ``text`` under the unigram model (Viterbi over positions).

        wordsegment also backs off to bigram counts; unigrams alone give the
        same splits on our hashtag tests and are many times faster.
        """
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back = [0] * (n + 1)
        for end in range(1, n + 1):
            for start in range(max(0, end - self.LIMIT), end):
                if best[start] == -math.inf:
                    continue
                score = best[start] + self._log_score(text[start:end])
                if score > best[end]:
                    best[end] = score
                    back[end] = start
        words: list[str] = []
        end = n
        while end > 0:
            words.append(text[back[end] : end])
            end = back[end]
        return words[::-1]


# ---------------------------------------------------------------------------
# Analysis.


@dataclass(frozen=True, slots=True)
class HashtagAnalysis:
    """What a hashtag is made of and which JMIR category it falls in.

    ``terms`` are the lexicon (or ``HASHTAG_TERMS``) terms that decided the
    category; ``labels`` the drug labels they name; ``ambiguous`` is true when
    the only drug evidence is an ambiguous term.
    """

    tag: str
    segments: tuple[str, ...]
    kind: HashtagKind
    labels: frozenset[str]
    terms: tuple[str, ...]
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    term: str
    label: str | None
    kind: str
    ambiguous: bool


def _max_edits(word: str) -> int:
    """Spelling mistakes tolerated: one for 6-9 letters, two for 10 or more."""
    return 2 if len(word) >= 10 else 1


def _deletions(word: str, k: int) -> set[str]:
    """``word`` and every string made from it by deleting up to ``k`` characters."""
    out = {word}
    frontier = {word}
    for _ in range(k):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein (optimal string alignment) distance <= ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2: list[int] | None = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= limit


class HashtagAnalyzer:
    """Segments and categorizes hashtags against a lexicon.

    ``lexicon`` is a :class:`drugwatch.lexicon.Lexicon` (default: the packaged
    one). ``ambiguous_tags``: whether a tag that is exactly an ambiguous drug
    term ("#molly", "#ice", "#lean") is a ``codeword`` (default, flagged
    ``ambiguous``; right for tags of posts already known to be drug-related)
    or ``other`` (for tags seen out of context). Results are cached per
    analyzer.
    """

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        *,
        ambiguous_tags: Literal["codeword", "other"] = "codeword",
        cache_size: int = 65536,
    ) -> None:
        if ambiguous_tags not in ("codeword", "other"):
            raise ValueError(f"ambiguous_tags must be 'codeword' or 'other', got {ambiguous_tags!r}")
        self.lexicon = lexicon
        self.ambiguous_tags = ambiguous_tags
        self.cache_size = cache_size
        self._ready = False
        self._lock = threading.Lock()
        self._deletes: dict[str, tuple[str, ...]] | None = None
        self._deletes_lock = threading.Lock()
        self._segment_cached = lru_cache(maxsize=cache_size)(self._segment_uncached)
        self._analyze_cached = lru_cache(maxsize=cache_size)(self._analyze_uncached)
        self._misspelling_cached = lru_cache(maxsize=cache_size)(self._misspelling_of_uncached)

    # lazy set-up: the lexicon and wordsegment are only read on first use
    def _setup(self) -> None:
        with self._lock:
            if self._ready:
                return
            lexicon = self.lexicon
            if lexicon is None:
                from drugwatch.lexicon import load_lexicon

                lexicon = load_lexicon()
            index: dict[str, list[_Entry]] = {}
            for term in sorted(lexicon.vocabulary()):
                for e in lexicon.lookup(term):
                    index.setdefault(term, []).append(_Entry(e.term, e.label, e.kind, bool(e.ambiguous)))
            for t in HASHTAG_TERMS:
                if t.term not in index:
                    index[t.term] = [_Entry(t.term, t.label, t.kind, t.ambiguous)]
            for word in SALE_WORDS:
                if not any(e.kind in _SALE_KINDS for e in index.get(word, [])):
                    index.setdefault(word, []).append(_Entry(word, None, "selling", False))
            self._index = {k: tuple(v) for k, v in index.items()}
            extra: dict[str, float] = dict(_SOCIAL_WORDS)
            for term, entries in self._index.items():
                glued = re.sub(r"[^a-z0-9]", "", term)
                words = [w for w in re.split(r"[^a-z0-9]+", term) if w]
                if all(e.kind == "hashtag" for e in entries):
                    continue  # compound tags are split, not learnt as words
                if len(words) == 1 and len(glued) >= 3:
                    ambiguous = all(e.ambiguous for e in entries)
                    extra[glued] = max(extra.get(glued, 0.0), 2e5 if ambiguous else 2e6)
                elif len(words) > 1:
                    for w in words:
                        if len(w) >= 3:
                            extra.setdefault(w, 1e5)
            self._segmenter = _Segmenter(extra)
            from drugwatch.text.normalize import normalize

            self._normalize = normalize
            self._ready = True

    def _deletes_index(self) -> dict[str, tuple[str, ...]]:
        """The misspelling index, built on the first tag that needs it (most
        tags are found whole or are too short to be a misspelling)."""
        if self._deletes is not None:
            return self._deletes
        with self._deletes_lock:
            if self._deletes is None:
                # fuzzy targets for misspellings: unambiguous names and brands
                names = sorted(
                    {
                        t
                        for t, es in self._index.items()
                        if _ASCII_ALNUM.match(t)
                        and len(t) >= 6
                        and any(e.kind in _NAME_KINDS and not e.ambiguous for e in es)
                    }
                )
                # symmetric-delete index (SymSpell): a word within k edits of a
                # name shares a string with it after at most k deletions each
                deletes: dict[str, set[str]] = {}
                for name in names:
                    for d in _deletions(name, _max_edits(name)):
                        deletes.setdefault(d, set()).add(name)
                self._deletes = {k: tuple(sorted(v)) for k, v in deletes.items()}
            return self._deletes

    # -- segmentation ------------------------------------------------------
    def segment(self, tag: str) -> list[str]:
        """Split a hashtag into words: "shroomsforsale" -> ["shrooms", "for", "sale"]."""
        if not self._ready:
            self._setup()
        return list(self._segments(_clean_tag(tag)))

    def _segments(self, tag: str) -> tuple[str, ...]:
        if len(tag) > CACHED_TAG_MAX_CHARS:
            return self._segment_uncached(tag)
        return self._segment_cached(tag)

    def _segment_uncached(self, tag: str) -> tuple[str, ...]:
        if not tag:
            return ()
        if self._keep_whole(tag):
            return (tag,)
        parts: list[str] = []
        for piece in re.split(r"_+", tag):
            if not piece:
                continue
            if not _ASCII_ALNUM.match(piece) or len(piece) > MAX_SEGMENTED_CHARS:
                parts.append(piece)
            elif piece != tag and self._keep_whole(piece):
                parts.append(piece)
            else:
                parts += self._segmenter.segment(piece)
        return tuple(parts)

    def _keep_whole(self, word: str) -> bool:
        """A lexicon word that is not itself a hashtag ("percocert", "xanax"), or
        a misspelling of a drug name ("adderrall"), is not split. Lexicon
        entries of kind "hashtag" ("shroomsforsale") are split into words."""
        entries = self._index.get(word)
        if entries:
            return any(e.kind != "hashtag" for e in entries)
        return bool(self._misspelling_of(word))

    # -- categorization ----------------------------------------------------
    def analyze(self, tag: str) -> HashtagAnalysis:
        """Segments, category, labels and deciding terms of one hashtag."""
        if not self._ready:
            self._setup()
        tag = _clean_tag(tag)
        if len(tag) > CACHED_TAG_MAX_CHARS:
            return self._analyze_uncached(tag)
        return self._analyze_cached(tag)

    def categorize(self, tag: str) -> HashtagKind:
        """The JMIR category of a hashtag (see the module docstring for the rules)."""
        return self.analyze(tag).kind

    def _lookup(self, term: str, normalize: bool = False) -> tuple[_Entry, ...]:
        """Entries of ``term``; with ``normalize``, of its de-obfuscated form too.

        A term found only after de-obfuscation ("x4n4x") is a deliberate
        misspelling: its drug entries come back with kind "misspelling".
        """
        entries = self._index.get(term)
        if entries:
            return entries
        if normalize:
            norm = self._normalize(term).text.replace(" ", "")
            if norm != term:
                return tuple(
                    _Entry(e.term, e.label, "misspelling", e.ambiguous) if e.kind in _DRUG_KINDS else e
                    for e in self._index.get(norm, ())
                )
        return ()

    def _misspelling_of(self, term: str) -> tuple[_Entry, ...]:
        if not 6 <= len(term) <= 32:  # checked before the cache: long keys are not kept
            return ()
        return self._misspelling_cached(term)

    def _misspelling_of_uncached(self, term: str) -> tuple[_Entry, ...]:
        if not 6 <= len(term) <= 32 or not _ASCII_ALNUM.match(term):
            return ()
        limit = _max_edits(term)
        deletes = self._deletes_index()
        candidates = sorted({n for d in _deletions(term, limit) for n in deletes.get(d, ())})
        for name in candidates:
            if name != term and _edit_distance_at_most(term, name, limit):
                return tuple(
                    _Entry(name, e.label, "misspelling", False) for e in self._index[name] if e.kind in _NAME_KINDS
                )
        return ()

    def _analyze_uncached(self, tag: str) -> HashtagAnalysis:
        segments = self._segments(tag)
        whole = self._lookup(tag, normalize=True) or self._lookup(tag.replace("_", ""))
        drug = [e for e in whole if e.kind in _DRUG_KINDS and e.label]
        if drug and self.ambiguous_tags == "other" and all(e.ambiguous for e in drug):
            drug = []
        if drug:
            kind: HashtagKind = "drug_name" if any(e.kind in _NAME_KINDS for e in drug) else "codeword"
            return HashtagAnalysis(
                tag,
                segments,
                kind,
                frozenset(e.label for e in drug if e.label),
                (tag,),
                all(e.ambiguous for e in drug),
            )
        fuzzy = self._misspelling_of(tag)
        if fuzzy:
            return HashtagAnalysis(
                tag,
                segments,
                "codeword",
                frozenset(e.label for e in fuzzy if e.label),
                tuple(sorted({e.term for e in fuzzy})),
            )
        if any(e.kind in _SALE_KINDS for e in whole):
            return HashtagAnalysis(tag, segments, "sale", frozenset(), (tag,))
        # n-grams of segments: "white bar", "dm to order", "magic mushrooms"
        strong: dict[str, _Entry] = {}
        weak: dict[str, _Entry] = {}
        sale: list[str] = []
        dosage = False
        for n in (3, 2, 1):
            for i in range(len(segments) - n + 1):
                words = segments[i : i + n]
                for term in {" ".join(words), "".join(words)}:
                    entries = self._lookup(term) if n > 1 or len(term) >= 2 else ()
                    for e in entries:
                        if e.kind in _DRUG_KINDS and e.label:
                            (weak if e.ambiguous else strong).setdefault(term, e)
                        elif e.kind in _SALE_KINDS and term not in sale:
                            sale.append(term)
                if n == 1 and _DOSAGE.match(words[0]):
                    dosage = True
        if not strong and weak and (len(weak) > 1 or sale or dosage):
            strong, weak = weak, {}
            ambiguous = True
        else:
            ambiguous = False
        if strong:
            return HashtagAnalysis(
                tag,
                segments,
                "codeword",
                frozenset(e.label for e in strong.values() if e.label),
                tuple(strong),
                ambiguous,
            )
        if sale:
            return HashtagAnalysis(tag, segments, "sale", frozenset(), tuple(sale))
        return HashtagAnalysis(tag, segments, "other", frozenset(), ())


def _clean_tag(tag: str) -> str:
    return tag.strip().lstrip("#＃").lower()


_DEFAULT: HashtagAnalyzer | None = None
_DEFAULT_LOCK = threading.Lock()


def _default() -> HashtagAnalyzer:
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = HashtagAnalyzer()
    return _DEFAULT


def segment_hashtag(tag: str) -> list[str]:
    """Split a hashtag (with or without '#') into words, using the packaged lexicon.

    >>> segment_hashtag("#shroomsforsale")
    ['shrooms', 'for', 'sale']
    >>> segment_hashtag("2mgxanax")
    ['2mg', 'xanax']
    """
    return _default().segment(tag)


def categorize_hashtag(tag: str) -> HashtagKind:
    """The JMIR category of a hashtag: "drug_name", "codeword", "sale" or "other".

    >>> [categorize_hashtag(t) for t in ("xanax", "2mgxanax", "forsale", "sunset")]
    ['drug_name', 'codeword', 'sale', 'other']
    """
    return _default().categorize(tag)


def analyze_hashtag(tag: str) -> HashtagAnalysis:
    """Segments, category, drug labels and deciding terms of a hashtag."""
    return _default().analyze(tag)


def categorize_hashtags(tags: Iterable[str]) -> dict[str, HashtagKind]:
    """Category of each distinct tag, in first-seen order."""
    return {t: categorize_hashtag(t) for t in dict.fromkeys(_clean_tag(t) for t in tags)}


__all__ = [
    "HASHTAG_TERMS",
    "SALE_WORDS",
    "HashtagAnalysis",
    "HashtagAnalyzer",
    "HashtagKind",
    "analyze_hashtag",
    "categorize_hashtag",
    "categorize_hashtags",
    "extract_hashtags",
    "hashtag_spans",
    "segment_hashtag",
    "word_count",
]
