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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from drugwatch._frozen import fast_frozen_init
from drugwatch.labels import DRUG_LABELS
from drugwatch.lexicon.matcher import LexiconHit, find_terms
from drugwatch.text.contacts import Contact, find_contacts
from drugwatch.text.hashtags import HashtagAnalysis, analyze_hashtag, hashtag_spans
from drugwatch.text.normalize import NormalizedText, normalize

__all__ = ["HashtagSpan", "TextView", "analyze", "analyze_many"]


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class HashtagSpan:
    """One hashtag occurrence: its analysis and where it sits in the raw text."""

    analysis: HashtagAnalysis
    raw_start: int
    raw_end: int

    @property
    def tag(self) -> str:
        return self.analysis.tag


@fast_frozen_init
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


#: Texts remembered by :func:`analyze`: dealers repost the same advert, and a
#: :class:`TextView` is immutable, so a repeated text is not read again.
ANALYZE_CACHE_SIZE = 4096


@lru_cache(maxsize=ANALYZE_CACHE_SIZE)
def _analyze_cached(text: str) -> TextView:
    nt = normalize(text)
    return _assemble(text, nt, tuple(find_terms(nt)), tuple(find_contacts(text)))


def _assemble(text: str, nt: NormalizedText, hits: tuple[LexiconHit, ...],
              contacts: tuple[Contact, ...]) -> TextView:
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
    # generations (about 4 % of the time when the caller keeps the views,
    # session 16). Cyclic garbage made by the stages (exceptions caught
    # inside libraries, say) is still collected: the youngest generation is
    # collected every ``_COLLECT_EVERY`` chunks, and as usual once the
    # collector is switched back on.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        for number, start in enumerate(range(0, len(items), batch_size), 1):
            chunk = list(dict.fromkeys(items[start:start + batch_size]))
            normalized = [normalize(text) for text in chunk]
            hits = [tuple(find_terms(nt)) for nt in normalized]
            contacts = [tuple(find_contacts(text)) for text in chunk]
            views = {text: _assemble(text, nt, h, c) for text, nt, h, c in zip(chunk, normalized, hits, contacts)}
            out.extend(views[text] for text in items[start:start + batch_size])
            if paused and number % _COLLECT_EVERY == 0:
                gc.collect(0)
    finally:
        if paused:
            gc.enable()
    return out
