"""One call that reads a text the way every detector needs it.

``analyze(raw)`` normalizes the text, extracts and categorizes its hashtags,
finds contacts and lexicon terms, and collects the drug labels the text
names. The result is frozen; spans point into the raw text so evidence can be
highlighted.

>>> view = analyze("x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax")
>>> view.labels
('xanax',)
>>> [c.app for c in view.contacts]
['wickr']
"""

from __future__ import annotations

import gc
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drugwatch.labels import DRUG_LABELS
from drugwatch.lexicon.matcher import LexiconHit, find_terms
from drugwatch.text.contacts import Contact, find_contacts
from drugwatch.text.hashtags import HashtagAnalysis, analyze_hashtag, hashtag_spans
from drugwatch.text.normalize import GC_PAUSE_MIN_CHARS, NormalizedText, normalize

__all__ = ["HashtagSpan", "TextView", "analyze", "analyze_many", "cached_view"]


@dataclass(frozen=True, slots=True)
class HashtagSpan:
    """One hashtag occurrence: its analysis and where it sits in the raw text."""

    analysis: HashtagAnalysis
    raw_start: int
    raw_end: int

    @property
    def tag(self) -> str:
        return self.analysis.tag


@dataclass(frozen=True, slots=True)
class TextView:
    """Everything the text layer knows about one raw text."""

    raw: str
    normalized: NormalizedText
    hashtags: tuple[HashtagSpan, ...]
    contacts: tuple[Contact, ...]
    hits: tuple[LexiconHit, ...]
    #: Drug labels named by lexicon hits or unambiguous drug hashtags, in the
    #: fixed label order.
    labels: tuple[str, ...]

    @property
    def text(self) -> str:
        """The normalized view."""
        return self.normalized.text

    @property
    def drug_hits(self) -> tuple[LexiconHit, ...]:
        return tuple(h for h in self.hits if h.label is not None)

    @property
    def sale_hits(self) -> tuple[LexiconHit, ...]:
        return tuple(h for h in self.hits if h.label is None)

    @property
    def has_contact(self) -> bool:
        return any(c.kind != "shipping" for c in self.contacts)


def analyze(text: str) -> TextView:
    """Normalize ``text`` and find its hashtags, contacts, lexicon hits and labels.

    Raises ``TypeError`` for anything but ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"analyze() expects str, got {type(text).__name__}")
    return _analyze_cached(text)


#: Views remembered by :func:`analyze`: dealers repost the same advert, and a
#: :class:`TextView` is immutable, so a repeated text is not read again. The
#: cache holds at most this many views ...
ANALYZE_CACHE_SIZE = 4096
#: ... of at most this many bytes in all (an estimate, see ``_view_bytes``:
#: a view costs a few bytes per character of a text normalize leaves as it
#: is, about 80 once it keeps offsets, and 200 for emoji, which it turns
#: into words whose letters each keep an offset), so distinct long texts
#: cannot grow the process without bound.
ANALYZE_CACHE_BYTES = 64 * 1024 * 1024
#: Texts longer than this are not put in the cache: reposted adverts are
#: short, and one long text would push out hundreds of them. The view of the
#: last such text (or of a text whose view alone is over the byte budget) is
#: kept on its own, so that a text read twice in a row is read once: the
#: scorer reads an event's text in its detectors and again for its result.
ANALYZE_CACHE_MAX_CHARS = 20_000

# What ``_view_bytes`` counts: two tuple slots per character of the
# normalized text (its offsets), two int objects per character of the raw
# text (the offsets' values: the characters an emoji turns into share them),
# and per hit, contact or hashtag the object and its strings.
_SLOT_BYTES = 16
_RAW_OFFSET_BYTES = 64
_ITEM_BYTES = 200


def _view_bytes(view: TextView) -> int:
    """About how many bytes ``view`` keeps alive (within a factor of two of
    what ``tracemalloc`` measures; a test holds it)."""
    nt = view.normalized
    size = sys.getsizeof(view.raw) + sys.getsizeof(nt.text)
    if nt.starts is not None:
        size += _SLOT_BYTES * len(nt.text) + _RAW_OFFSET_BYTES * len(view.raw)
    return size + _ITEM_BYTES * (len(view.hits) + len(view.contacts) + len(view.hashtags))


def _read(text: str) -> TextView:
    # long texts: see GC_PAUSE_MIN_CHARS
    paused = len(text) >= GC_PAUSE_MIN_CHARS and gc.isenabled()
    if paused:
        gc.disable()
    try:
        nt = normalize(text)
        return _assemble(text, nt, tuple(find_terms(nt)), tuple(find_contacts(text)))
    finally:
        if paused:
            gc.enable()


class _ViewCache:
    """A thread-safe LRU cache of views by text, bounded by count and bytes.

    ``__wrapped__`` reads a text without the cache (as ``functools`` names it).
    A text is read outside the lock: two threads reading the same new text
    both read it, and one view is kept.
    """

    def __init__(self, read: Callable[[str], TextView], max_views: int, max_bytes: int, max_chars: int) -> None:
        self.__wrapped__ = read
        self.max_views = max_views
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self._views: OrderedDict[str, tuple[TextView, int]] = OrderedDict()
        self._bytes = 0
        self._last: TextView | None = None  # the last view too large for the cache
        self._lock = threading.Lock()

    def __call__(self, text: str) -> TextView:
        with self._lock:
            last = self._last
            if last is not None and last.raw == text:
                return last
            entry = self._views.get(text)
            if entry is not None:
                self._views.move_to_end(text)
                return entry[0]
        view = self.__wrapped__(text)
        size = _view_bytes(view) if len(text) <= self.max_chars else self.max_bytes + 1
        if size > self.max_bytes:
            with self._lock:
                self._last = view
            return view
        with self._lock:
            if text not in self._views:
                self._views[text] = (view, size)
                self._bytes += size
                while len(self._views) > self.max_views or self._bytes > self.max_bytes:
                    _, (_, dropped) = self._views.popitem(last=False)
                    self._bytes -= dropped
        return view

    def peek(self, text: str) -> TextView | None:
        """The view of ``text`` if it is held, without reading it or
        refreshing its place."""
        with self._lock:
            last = self._last
            if last is not None and last.raw == text:
                return last
            entry = self._views.get(text)
            return None if entry is None else entry[0]

    def cache_clear(self) -> None:
        with self._lock:
            self._views.clear()
            self._bytes = 0
            self._last = None

    def cache_info(self) -> tuple[int, int]:
        """``(views, estimated bytes)`` held now."""
        with self._lock:
            return len(self._views), self._bytes


_analyze_cached = _ViewCache(_read, ANALYZE_CACHE_SIZE, ANALYZE_CACHE_BYTES, ANALYZE_CACHE_MAX_CHARS)


def cached_view(text: str) -> TextView | None:
    """The view :func:`analyze` holds for ``text``, or ``None``; reads nothing.

    For a caller that needs only part of a view (the normalized text) and
    reads the text itself when no view is held.
    """
    return _analyze_cached.peek(text)


def _assemble(text: str, nt: NormalizedText, hits: tuple[LexiconHit, ...], contacts: tuple[Contact, ...]) -> TextView:
    """The view of one text from its stages' results (hashtags are read here)."""
    found = {h.label for h in hits if h.label is not None} if hits else set()
    tags: tuple[HashtagSpan, ...] = ()
    if "#" in text or "＃" in text:
        spans: list[HashtagSpan] = []
        for tag, start, end in hashtag_spans(text):
            analysis = analyze_hashtag(tag)
            spans.append(HashtagSpan(analysis, start, end))
            if not analysis.ambiguous and analysis.kind in ("drug_name", "codeword"):
                found.update(analysis.labels)
        tags = tuple(spans)
    labels = tuple(lab for lab in DRUG_LABELS if lab in found) if found else ()
    return TextView(text, nt, tags, contacts, hits, labels)


#: Texts per chunk of :func:`analyze_many`.
BATCH_SIZE = 256
#: Chunks of :func:`analyze_many` between two collections of the youngest
#: generation (16,384 texts with the default chunk size).
_COLLECT_EVERY = 64


def analyze_many(texts: Iterable[str], *, batch_size: int = BATCH_SIZE) -> list[TextView]:
    """``analyze`` over many texts, in order; the same views, computed stage by stage.

    Texts are taken in chunks of ``batch_size``; each stage (normalize, the
    lexicon, contacts) runs over the whole chunk before the next one starts,
    so each stage's code and tables stay in the CPU caches instead of being
    evicted by the other stages after every text (about a quarter faster than
    one :func:`analyze` call per text on the bench texts; see
    ``benchmarks/bench_text.py``). A text repeated inside a chunk is read
    once. The per-text cache of :func:`analyze` is neither read nor filled.

    Raises ``TypeError`` for anything but ``str``, before any work is done.
    """
    items = list(texts)
    for text in items:
        if not isinstance(text, str):
            raise TypeError(f"analyze_many() expects str items, got {type(text).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    out: list[TextView] = []
    # The cyclic garbage collector is paused for the whole call. The views
    # are kept and hold no reference cycles, but with the collector running,
    # every few hundred texts would start a collection that walks the young
    # objects, and the growing result is walked again and again by the older
    # generations (about 4 % of the time when the caller keeps the views;
    # benchmarks/bench_text.py). Cyclic garbage made by the stages (exceptions caught
    # inside libraries, say) is still collected: the youngest generation is
    # collected every ``_COLLECT_EVERY`` chunks, and as usual once the
    # collector is switched back on.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        for number, start in enumerate(range(0, len(items), batch_size), 1):
            chunk = list(dict.fromkeys(items[start : start + batch_size]))
            normalized = [normalize(text) for text in chunk]
            hits = [tuple(find_terms(nt)) for nt in normalized]
            contacts = [tuple(find_contacts(text)) for text in chunk]
            views = {text: _assemble(text, nt, h, c) for text, nt, h, c in zip(chunk, normalized, hits, contacts)}
            out.extend(views[text] for text in items[start : start + batch_size])
            if paused and number % _COLLECT_EVERY == 0:
                gc.collect(0)
    finally:
        if paused:
            gc.enable()
    return out
