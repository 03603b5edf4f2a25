"""The lexicon union of ``drugwatch.drugtype.v2``: the text layer's
confident drug labels added to a drug-type model's probabilities.

A drug-type model reads a multi-drug advert ("LSD, MDMA, shrooms, coke,
wickr me") as one or two drugs; the text layer names every one. Where the
model decides a drug, or the text reads as a sale of several drugs by
itself, each confident lexicon label is raised just over its decision point
(:func:`lexicon_union`), so :func:`~drugwatch.models.multilabel.decode`
gives it.

Union versions (:data:`UNION_VERSIONS`; a model records the one it uses,
and 1 is what every model saved before version 2 uses):

1. every hit of the text layer that its context rules accept.
2. hits the text layer read through a disguise count only as far as the
   disguise leaves evidence (:func:`trusted_drug_hits`): a word whose
   letters were guessed behind mask symbols ("P*R*" read as "perc",
   "H●●h" as "hash") counts when as many of its letters are shown as are
   hidden and at least :data:`READ_MIN_SHOWN`, or when it is one item of a
   list of other drugs read so; an ambiguous word written in disguise
   ("SP□□D", "$P33D") counts when the disguise sets it apart from the
   rest of the text (at most :data:`DISGUISE_MAX_SHARE` of the text's words
   disguised) or beside other drugs read so. The text layer takes a
   disguised ambiguous word as a drug word, since hiding it is a sign; when
   every word of a text is disguised, that sign says nothing of the word.
   On the attack harness's kit listings (families not held out), of the
   labels beyond the model's own that version 1 took from words read
   behind masks alone, 314 of 343 were wrong.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drugwatch.labels import LABELS
from drugwatch.models.multilabel import N_LABELS, decode

if TYPE_CHECKING:
    from drugwatch.lexicon.matcher import LexiconHit
    from drugwatch.text.analyze import TextView
    from drugwatch.text.normalize import NormalizedText

#: The union's versions (see the module doc); 1 is the default, so that a
#: model that does not record a version predicts as it was saved.
UNION_VERSIONS: tuple[int, ...] = (1, 2)

#: Prices ("$20", "20€", "20 each", "8000円", "R$40") make a text read as a sale.
_PRICE = re.compile(
    r"(?:[$£€¥₿₩₽฿]|r\$)\s?\d|\d\s?(?:[$£€¥₩₽฿円元원]|usd|eur|gbp|rub|руб|บาท)(?![a-z])"
    r"|(?<![a-z0-9])\d+\s?(?:each|ea)(?![a-z])"
)
#: Where one item of a list ends and the next begins (in the raw text):
#: punctuation, line breaks, a spaced dash or plus, a conjunction, and the
#: start of an emoji or a hashtag ("❄️ Colombian 🌿 Cali", "#hasch #koks").
_LIST_BREAK = re.compile(
    r"[,;|·•/\n\r\t、。・]+|[.:](?:\s|$)|\s[-–—+&*]\s|\s(?:and|or|plus|y|e|et|und|oder|ou|и|или|dan|và)\s"
    r"|(?=#)|(?=[\u2600-\u27bf\U0001f000-\U0001faff])",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w")
#: List breaks and spaces: where a menu's words begin (one pass, ascending).
_UNIT_BREAK = re.compile(_LIST_BREAK.pattern + r"|\s+", re.IGNORECASE)
#: An excluded term standing alone as a list item counts when the rest of the
#: text names this many drugs. On the kit's drug listings, a term alone in a
#: list beside one other drug adds 368 labels, none right ("10 tabs | 2C-B"); beside
#: two or more it adds 9, all wrong by the kit's labels (7 are "Koks" in one
#: vendor's "we have all" list, a cocaine word the kit's labels miss).
_LIST_MIN_OTHER_LABELS = 2
#: A text whose list items name this many drugs reads as a menu even without a
#: trade word: "#magicmushrooms #lsd #dmt", "shrooms, acid, ket".
_MENU_MIN_LABELS = 3
#: Margin above the decision point given to a label the lexicon confirms.
_UNION_MARGIN = 1e-3
#: Version 2: a word read behind masks counts when at least this many of its
#: letters are shown and no more are hidden than shown ("x*n*x", "p*rc*c*t"
#: count; "P*R*", "BL░░", "F□n□" do not). On the attack harness's kit
#: listings (families not held out), labels from readings with two letters
#: hidden were wrong in 239 of 244: mostly English words read as drug words
#: ("pure" as "perc", "blue" as "blow", "fine" as "fent").
READ_MIN_SHOWN = 3
#: Version 2: a word that does not count by itself counts as an item of a
#: list naming this many other drugs by words that do ("x*n*x, p*rc*c*t,
#: c*c**n*, m*lly": the masked "c*c**n*" is one of four drugs).
LIST_MIN_OTHER_LABELS = 2
#: Version 2: a disguised ambiguous word counts by itself only where at most
#: this share of the text's words (three letters or more) is disguised.
DISGUISE_MAX_SHARE = 0.5
#: Letters the text layer reads in a raw character besides those it maps to
#: (leetspeak symbols: "@" a, "$" s, "!" i).
_LEET_SYMBOLS = frozenset("@$!")
_TEXT_WORD = re.compile(r"[^\W\d_]{3,}")


#: Terms whose label often disagrees with the kit's (written by
#: ``scripts/build_union_exclusions.py``): not confident evidence.
UNION_EXCLUSIONS_FILE = Path(__file__).resolve().parents[1] / "lexicon" / "data" / "union_exclusions.tsv"


@lru_cache(maxsize=1)
def union_exclusions() -> frozenset[tuple[str, str]]:
    """(term, label) pairs left out of :func:`lexicon_union`."""
    if not UNION_EXCLUSIONS_FILE.exists():
        return frozenset()
    out = set()
    for line in UNION_EXCLUSIONS_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("term\t"):
            continue
        term, label = line.split("\t")[:2]
        out.add((term, label))
    return frozenset(out)


def _item_bounds(raw: str) -> list[int]:
    """Where each list item of ``raw`` after the first begins (ascending)."""
    return [m.end() for m in _LIST_BREAK.finditer(raw)]


def _shown_letters(raw: str, term: str) -> int:
    """How many of ``term``'s letters ``raw`` (the text behind a hit) shows:
    its characters that the text layer maps to a letter or digit (look-alikes,
    styled letters, leetspeak, emoji words), and its O-shaped masks where the
    term has an "o" ("∅xy"). Mask symbols and separators show none."""
    from drugwatch.text.normalize import _O_MASKS, _map_char

    shown = o_masks = 0
    for ch in raw:
        if ch in _O_MASKS:
            o_masks += 1
            continue
        shown += sum(1 for c in _map_char(ch) if c.isalnum() or c in _LEET_SYMBOLS)
    return shown + min(o_masks, term.count("o"))


def _disguised(view: TextView, start: int, end: int) -> bool:
    """Whether ``view.text[start:end]`` is written otherwise in the raw text
    (look-alikes, styled letters, masks, separators, leetspeak); emoji
    words are no disguise (as the matcher's own rule has it)."""
    from drugwatch.text.normalize import EMOJI_WORDS

    raw = view.normalized.raw_slice(start, end)
    if any(ch in EMOJI_WORDS for ch in raw):
        return False
    return " ".join(raw.lower().split()) != view.text[start:end]


def _disguise_share(view: TextView) -> float:
    """The share of ``view``'s words (three letters or more, in the
    normalized text) written in disguise. One pass over the text."""
    words = disguised = 0
    for m in _TEXT_WORD.finditer(view.text):
        words += 1
        disguised += _disguised(view, m.start(), m.end())
    return disguised / words if words else 0.0


@lru_cache(maxsize=1)
def _hiding_chars() -> frozenset[str]:
    """Raw characters that show no letter: the text layer's mask symbols and
    the separators it reads as a hidden letter ("c.c..n.")."""
    from drugwatch.text.normalize import _MASK_SEPS, _MASKS

    return frozenset(_MASKS) | frozenset(_MASK_SEPS)


def hidden_letters(normalized: NormalizedText, start: int, end: int) -> tuple[int, int]:
    """``(letters, hidden)`` of the normalized span ``[start, end)``: how many
    letters and digits it has, and how many of them the text layer filled in
    where the raw text shows only mask symbols or separators ("c*c**n*" has
    7 and 4; "H■MP" read as "hemp" 4 and 1). A letter written any other way
    is shown: look-alikes, styled letters, leetspeak ("c0caine"), currency
    signs ("k€tamine"), emoji words, and an O-shaped mask read as an "o"
    ("∅xy"). A separator between shown letters ("sh_r_o_o_m_s") hides none.
    Linear in the span: each character's raw source once (``raw_span``)."""
    if normalized.starts is None:  # a plain lower-casing: every letter is shown
        return sum(1 for c in normalized.text[start:end] if c.isalnum()), 0
    from drugwatch.text.normalize import _O_MASKS

    hiding = _hiding_chars()
    raw = normalized.raw
    letters = hidden = 0
    for i in range(start, min(end, len(normalized.text))):
        c = normalized.text[i]
        if not c.isalnum():
            continue
        letters += 1
        a, b = normalized.raw_span(i, i + 1)
        source = raw[a:b]
        if source and all(ch in hiding and not (c == "o" and ch in _O_MASKS) for ch in source):
            hidden += 1
    return letters, hidden


def trusted_drug_hits(view: TextView) -> tuple[LexiconHit, ...]:
    """The drug hits of ``view`` that the union's version 2 counts (see the
    module doc).

    A hit is *read* when every letter of its term is shown in the raw text,
    or at least :data:`READ_MIN_SHOWN` are and no more are hidden behind
    masks than shown. It counts when it is read, or when the text's other
    read hits name :data:`LIST_MIN_OTHER_LABELS` drugs or more (an item of
    a list); an ambiguous hit written in disguise counts by itself only
    where at most :data:`DISGUISE_MAX_SHARE` of the text's words are
    disguised. Linear in the text: each hit's raw span once, and the text's
    words once when a disguised ambiguous hit needs it.
    """
    hits = view.drug_hits
    read: list[bool] = []
    for h in hits:
        letters = sum(1 for c in h.term if c.isalnum())
        shown = min(letters, _shown_letters(view.raw[h.raw_start : h.raw_end], h.term))
        read.append(shown == letters or (shown >= READ_MIN_SHOWN and letters - shown <= shown))
    read_labels = {h.label for h, ok in zip(hits, read) if ok}
    share: float | None = None
    out = []
    for h, ok in zip(hits, read):
        listed = len(read_labels) - (h.label in read_labels) >= LIST_MIN_OTHER_LABELS
        if not (ok or listed):
            continue
        if not listed and h.ambiguous and _disguised(view, h.start, h.end):
            if share is None:
                share = _disguise_share(view)
            if share > DISGUISE_MAX_SHARE:
                continue
        out.append(h)
    return tuple(out)


def confident_lexicon_labels(
    text: str, view: TextView | None = None, *, version: int = 1
) -> tuple[tuple[str, ...], bool]:
    """The drug labels of ``text``'s confident lexicon evidence, and whether
    the text reads as a sale.

    Confident: a hit of the text layer (unambiguous, or ambiguous and
    accepted by the matcher's context rules or context model) whose term is
    not in :func:`union_exclusions`. An excluded term counts where it is an
    item of a multi-drug list by itself: the text's other confident evidence
    names ``_LIST_MIN_OTHER_LABELS`` drugs or more, and no drug of another
    label shares the term's list item (items split at commas, bars, line
    breaks, conjunctions, emoji, hashtags): in "lean, percs, bars and gas",
    ``bars`` is Xanax; in "mushroom chocolate bars, 3.5g" it is the form of
    the mushrooms. A sale: a trade word ("for sale", "hmu",
    "wickr"), a contact or a price, or a menu: list items naming
    ``_MENU_MIN_LABELS`` drugs or more, at least half the text's items
    ("#magicmushrooms #lsd #dmt #mescaline"). ``view`` is the text layer's
    reading of ``text`` if the caller has it. ``version`` 2 counts only the
    hits of :func:`trusted_drug_hits`. Linear in the text: one regex pass for
    the list items (two for a menu) and a binary search per hit.
    """
    from drugwatch.labels import DRUG_LABELS
    from drugwatch.text.analyze import analyze

    _check_version(version)
    if view is None or view.raw != text:
        view = analyze(text)
    hits = view.drug_hits if version == 1 else trusted_drug_hits(view)
    if not hits:
        return (), False
    excluded = union_exclusions()
    found = {h.label for h in hits if (h.term, h.label) not in excluded}
    bounds = _item_bounds(view.raw)
    item_of = [bisect_right(bounds, h.raw_start) for h in hits]
    item_labels: dict[int, set[str]] = {}
    for item, h in zip(item_of, hits):
        item_labels.setdefault(item, set()).add(str(h.label))
    if len(found) >= _LIST_MIN_OTHER_LABELS:
        for item, h in zip(item_of, hits):
            if (h.term, h.label) in excluded and item_labels[item] == {h.label}:
                found.add(str(h.label))
    labels = tuple(lab for lab in DRUG_LABELS if lab in found)
    if not labels:
        return (), False
    sale = bool(view.sale_hits) or view.has_contact or _PRICE.search(view.text) is not None
    if not sale and len(labels) >= _MENU_MIN_LABELS:
        sale = _reads_as_menu(view.raw, [h.raw_start for h in hits])
    return labels, sale


def _reads_as_menu(raw: str, hit_starts: Sequence[int]) -> bool:
    """Whether ``raw``'s words (split at spaces and list breaks) name drugs in
    three of them or more, and in at least half of those holding a letter,
    digit or drug: a list of products, not a sentence about drugs."""
    bounds = [m.end() for m in _UNIT_BREAK.finditer(raw)]
    drug_units = {bisect_right(bounds, start) for start in hit_starts}
    if len(drug_units) < _MENU_MIN_LABELS:
        return False
    starts = [0, *bounds]
    ends = [*bounds, len(raw)]
    content = sum(1 for i, (a, b) in enumerate(zip(starts, ends)) if i in drug_units or _WORD.search(raw, a, b))
    return 2 * len(drug_units) >= content


def _check_version(version: int) -> None:
    if version not in UNION_VERSIONS:
        raise ValueError(f"lexicon union version must be one of {UNION_VERSIONS}; got {version!r}")


def sale_lexicon_labels(text: str, *, version: int = 1) -> tuple[str, ...]:
    """The confident lexicon labels of ``text`` when it reads as a sale of
    drugs by itself (a trade word, contact or price, and two drugs or more
    named: a menu); ``()`` otherwise."""
    labels, sale = confident_lexicon_labels(text, version=version)
    return labels if sale and len(labels) >= 2 else ()


def lexicon_union(
    proba: np.ndarray,
    texts: Sequence[str],
    thresholds: np.ndarray,
    *,
    non_drug_wins: bool = False,
    views: Sequence[TextView] | None = None,
    version: int = 1,
) -> np.ndarray:
    """``proba`` with the text layer's confident drug labels added.

    Where the model already decides a drug label (by :func:`decode` at
    ``thresholds``), every confident lexicon label of the text is added;
    where it decides ``non_drug``, only a text that reads as a sale of
    several drugs by itself (:func:`sale_lexicon_labels`) gets its labels,
    so a guide naming drugs stays ``non_drug``. A label is added by raising
    its probability just over its decision point (at least its threshold
    and 0.5, plus a margin) and lowering ``non_drug`` to at most one minus
    that, so that :func:`decode` (``non_drug`` first included) gives it.
    Other rows and the model's own labels are unchanged. ``views``: the
    text layer's reading of each text, if the caller has it. ``version``:
    which evidence counts (see the module doc; a model passes the version
    it records).
    """
    _check_version(version)
    index = {name: j for j, name in enumerate(LABELS)}
    out = np.array(proba, dtype=np.float64, copy=True)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (N_LABELS,))
    model_drug: np.ndarray = np.any(decode(out, thresholds, non_drug_wins=non_drug_wins)[:, 1:], axis=1)
    for i, text in enumerate(texts):
        labels, sale = confident_lexicon_labels(text, None if views is None else views[i], version=version)
        if not labels or not (model_drug[i] or (sale and len(labels) >= 2)):
            continue
        top = 0.0
        for name in labels:
            j = index[name]
            floor = min(1.0, max(thresholds[j], 0.5) + _UNION_MARGIN)
            out[i, j] = max(out[i, j], floor)
            top = max(top, out[i, j])
        out[i, 0] = min(out[i, 0], 1.0 - top, top - _UNION_MARGIN)
    return out


__all__ = [
    "DISGUISE_MAX_SHARE",
    "LIST_MIN_OTHER_LABELS",
    "READ_MIN_SHOWN",
    "UNION_EXCLUSIONS_FILE",
    "UNION_VERSIONS",
    "confident_lexicon_labels",
    "hidden_letters",
    "lexicon_union",
    "sale_lexicon_labels",
    "trusted_drug_hits",
    "union_exclusions",
]
