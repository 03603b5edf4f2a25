"""Multi-label drug-type detectors (DMML's 10 labels) and the decoding they share.

Detectors (``task = "drugtype"``; ``predict_proba`` has the 10 columns of
:data:`drugwatch.labels.LABELS`, each an independent probability):

* ``drugwatch.tfidf_ovr.v1``: word uni+bigram tf-idf of the raw text,
  one-vs-rest logistic regression. ``tune_thresholds=False`` is the plain
  "tf-idf + logistic regression at 0.5" reference.
* ``drugwatch.drugtype.v1``: ours. It reads the text layer's *normalized*
  view (look-alike letters, fancy alphabets, separators, leetspeak, masks
  and stretched letters undone), so an attack that a reader sees through
  is also seen through by the model:

  - character 1-5-gram tf-idf (``char_wb``) of the normalized text: spelling
    variants, dosages and codes ("2mg", "m30", "1p-lsd") and words glued
    together;
  - word uni+bigram tf-idf of the normalized text;
  - lexicon evidence: per drug label, whether the lexicon
    (:func:`drugwatch.lexicon.matcher.find_terms`) names it, plus the
    number of labels named and "no drug term";
  - one-vs-rest linear SVM per label;
  - a second level (``combiner="stacker"``): per label a logistic
    regression over the out-of-fold SVM scores of an inner grouped k-fold,
    the labels of the ``knn_k`` most similar training events (cosine on
    n-grams seen in at most ``knn_max_df`` of them) and the lexicon block;
    its outputs are what ``predict_proba`` returns. With
    ``combiner="platt"`` (or fewer than :data:`STACKER_MIN_EVENTS` training
    events) each SVM score is Platt-calibrated instead, as before.
* ``drugwatch.drugtype.v2``: v1 plus the lexicon union (the text layer's
  confident drugs of a sale join the model's labels;
  :mod:`drugwatch.models.lexicon_union`).
* ``drugwatch.drugtype.v3``: v2 made cheap to score, with the same reduced
  grouped-CV quality: character 2-4-grams (``char_ngram_min``), a neighbour
  index that keeps each training event's ``knn_terms`` heaviest n-grams
  among those in at most ``knn_max_df`` = 0.5 % of the events (the top k
  chosen for a whole batch at once), and a lexicon block read from the
  text layer's views (``lexicon_source="views"``) instead of a second match
  of every text. Saved v1 and v2 models keep their features and scores: the
  new parameters default to the old behaviour there, and a neighbour index
  saved without ``terms`` keeps the per-event selection.

Mask robustness (every drug-type detector of ours, off by default):
``augment_masks`` is the share of training events that get one attacked copy
at fit time (:func:`masked_copies`: seeded, the attack harness's families
that are not held out, the same labels and group, so a copy stays in its
original's inner fold); ``mask_wildcard`` reads every symbol glued to a
letter as one mask symbol (:func:`wildcard_masks`) before the repaired and
character views, so an unseen mask alphabet reads like a seen one. The
wildcard is a fitted attribute (``mask_wildcard_``): directories saved
without it read texts as before. ``augment_copies`` is the number of
attacked copies each chosen event gets (families drawn apart).
``consonant_view`` (a weight; 0 is off) adds a character n-gram block of
the *consonant view* (:func:`consonant_text`: vowels and mask symbols read
as one placeholder), taken from the text before the mask resolver: a word
reads the same whatever hides or fills its vowels, so what the model learns
from clean words carries to masked ones. Both are fitted attributes
(``consonant_view_``; the copies exist at fit time only): directories saved
before them read and predict as they did.

``lexicon_evidence`` 2 splits the lexicon block into labels *read* (every
letter of the term shown in the raw text) and labels *guessed* (letters
filled in behind mask symbols or separators by the text layer, with the
share of letters shown, or found only by the model's own mask resolver):
:class:`LexiconEvidence`, :data:`LEXICON_FEATURES_V2`. The SVMs and the
stacker then learn how far to trust a guess ("H■MP" read as "hemp") apart
from a reading. Version 1 is one block of labels, whatever read them. A
fitted attribute (``lexicon_evidence_``): directories saved before it read
version 1.

Decoding (:func:`decode`, used by every drug-type detector's ``predict``):
per-label thresholds (``thresholds_``) learned inside the training data;
``non_drug`` is exclusive: when any drug label fires it is dropped; when
nothing fires the argmax label is predicted. Thresholds come from
out-of-fold probabilities of an inner grouped k-fold on the training data
(:func:`fit_thresholds`), so nothing about the test data is used. Ours
also decides ``non_drug`` first (``non_drug_wins``): an event whose
``non_drug`` probability is at least every drug label's is ``non_drug``.
"""

from __future__ import annotations

import bisect
import re
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast

import numpy as np
import scipy.sparse as sp

from drugwatch.labels import DRUG_LABELS, LABELS
from drugwatch.models.base import Detector, InstanceOf, Interval, ModelLoadError, Options, Task, saved_state
from drugwatch.models.registry import register
from drugwatch.models.tfidf_fast import freeze_linear, freeze_vectorizer, vectorizer_transform
from drugwatch.records import Event

if TYPE_CHECKING:
    from drugwatch.lexicon.matcher import LexiconHit
    from drugwatch.text.analyze import TextView
    from drugwatch.text.normalize import NormalizedText

N_LABELS = len(LABELS)
#: Fewest training events for which :class:`DrugTypeDetector` fits its
#: stacker; with fewer, the inner folds are too small for a second level and
#: it calibrates the SVM scores per label (Platt) instead.
STACKER_MIN_EVENTS = 200
#: Threshold grid searched per label.
THRESHOLD_GRID: np.ndarray = np.round(np.concatenate([np.arange(0.05, 0.951, 0.025), [0.97, 0.98, 0.99]]), 4)

# ---------------------------------------------------------------------------
# Decoding and thresholds (shared by every multi-label detector)


def decode(proba: np.ndarray, thresholds: np.ndarray | float = 0.5, *, non_drug_wins: bool = False) -> np.ndarray:
    """Label indicator ``(n, 10)`` from probabilities.

    A label fires when its probability reaches its threshold; ``non_drug``
    (column 0) is dropped when any drug label fires; an event where nothing
    fires gets its argmax label. Every row therefore has at least one label
    and never ``non_drug`` together with a drug.

    With ``non_drug_wins``, ``non_drug`` is decided first: an event whose
    ``non_drug`` probability is at least every drug label's gets
    ``non_drug`` alone, whatever fires (a drug book: "Psilocybin Mushrooms
    of the World" names a drug, and a weak drug label would otherwise
    override a confident ``non_drug``).
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != N_LABELS:
        raise ValueError(f"proba must have shape (n, {N_LABELS}); got {proba.shape}")
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (N_LABELS,))
    pred = proba >= thresholds
    drug = pred[:, 1:].any(axis=1)
    pred[drug, 0] = False
    empty = ~pred.any(axis=1)
    if empty.any():
        pred[np.flatnonzero(empty), proba[empty].argmax(axis=1)] = True
    if non_drug_wins:
        wins = proba[:, 0] >= proba[:, 1:].max(axis=1)
        pred[wins] = False
        pred[wins, 0] = True
    return pred.astype(np.int64)


def fit_thresholds(y: np.ndarray, proba: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per-label thresholds maximizing each label's F1 on (out-of-fold) ``proba``.

    The labels are tuned one at a time, each through :func:`decode` with the
    others held at their current values (two sweeps), so the exclusivity of
    ``non_drug`` and the argmax fallback are part of what is tuned. A label
    with no positive in ``y`` keeps 0.5.
    """
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    thresholds = np.full(N_LABELS, 0.5)
    for _ in range(2):
        for j in range(N_LABELS):
            if y[:, j].sum() == 0:
                continue
            best, best_f1 = thresholds[j], -1.0
            for t in grid:
                thresholds[j] = t
                pred = decode(proba, thresholds)[:, j]
                tp = int((pred & y[:, j]).sum())
                denom = int(pred.sum() + y[:, j].sum())
                f1 = 2 * tp / denom if denom else 0.0
                if f1 > best_f1 + 1e-12:
                    best, best_f1 = t, f1
            thresholds[j] = best
    return thresholds


def inner_folds(events: Sequence[Event], n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped inner folds of training events (``[]`` when there are too few groups)."""
    from sklearn.model_selection import GroupKFold

    from drugwatch.evaluation.splits import group_of

    groups = np.array([group_of(e) for e in events])
    n = min(n_splits, len(set(groups)))
    if n < 2:
        return []
    return list(GroupKFold(n_splits=n).split(np.zeros(len(groups)), groups=groups))


def validation_split(events: Sequence[Event], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)``: a seeded share of the *groups* held out for early stopping and thresholds."""
    from drugwatch.evaluation.splits import group_of

    groups = np.array([group_of(e) for e in events])
    unique = np.unique(groups)
    if fraction <= 0 or len(unique) < 4:
        return np.arange(len(events)), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(fraction * len(unique))))
    held = set(rng.choice(unique, size=n_val, replace=False).tolist())
    mask = np.array([g in held for g in groups])
    return np.flatnonzero(~mask), np.flatnonzero(mask)


class MultiLabelDetector(Detector):
    """Base of the drug-type detectors: 10 probability columns, per-label thresholds, :func:`decode`."""

    task: ClassVar[Task] = "drugtype"

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """``(n, 10)`` label indicator by :func:`decode` at ``thresholds_``."""
        self._check_fitted()
        return decode(proba, self.thresholds_)

    def _set_thresholds(self, y: np.ndarray, proba: np.ndarray | None, source: str) -> None:
        if proba is None:
            self.thresholds_ = np.full(N_LABELS, 0.5)
            self.threshold_source_ = source
        else:
            self.thresholds_ = fit_thresholds(y, proba)
            self.threshold_source_ = source
        self.threshold_ = 0.5  # nominal; the per-label thresholds_ decide

    def label_thresholds(self) -> dict[str, float]:
        return {name: float(t) for name, t in zip(LABELS, self.thresholds_)}

    def _extra_config(self) -> dict[str, Any]:
        return {
            "decoding": "per-label thresholds; non_drug exclusive; argmax when nothing fires",
            "thresholds": ", ".join(f"{k} {v:.3f}" for k, v in self.label_thresholds().items()),
            "threshold_source": getattr(self, "threshold_source_", "?"),
        }


# ---------------------------------------------------------------------------
# Text views


# Upper-case Greek and Cyrillic look-alikes of Latin capitals. Mapped before
# normalize() in words that also hold ASCII letters: normalize() lower-cases
# first, and a lower-cased Greek capital is no longer a look-alike ("ΜDMA" ->
# "μdma" -> "udma").
_UPPER_LOOKALIKES = str.maketrans(
    {
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        "Θ": "O",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
    }
)
# A run of non-space characters holding a Latin letter, taken whole. Written
# as ``\S*[A-Za-z]\S*`` it was tried from every character of a long run
# without one (CJK, emoji), each try reading to the run's end: 8 s at 30,000
# characters. Here a try starts only where a run starts and reads it once.
_MIXED_TOKEN = re.compile(r"(?<!\S)[^\sA-Za-z]*+[A-Za-z]\S*")


def _latin_capitals(text: str) -> str:
    if text.isascii():
        return text
    return _MIXED_TOKEN.sub(lambda m: m.group(0).translate(_UPPER_LOOKALIKES), text)


# Letters split by one repeated separator ("R-o-y-a-l", "p|i|l|l|s") are joined
# before normalize(). normalize() once glued a neighbouring word on
# ("piguet - R-o-y-a-l" -> "piguetr oyal"); it no longer does, and this
# pre-pass stays so that saved models read texts the way they were trained.
_SPLIT_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z](?P<sep>[.\-_*·|~])[A-Za-z](?:(?P=sep)[A-Za-z])+(?![A-Za-z0-9])")


def _join_split_letters(text: str) -> str:
    return _SPLIT_WORD.sub(lambda m: m.group(0).replace(m.group("sep"), ""), text)


def read_texts(
    texts: Sequence[str], views: Sequence[TextView | None] | None = None, *, with_labels: bool = False
) -> tuple[list[str], list[tuple[str, ...]] | None]:
    """:func:`normalized_text` of each text and, with ``with_labels``, the
    drug labels of its lexicon hits as the text layer reads it.

    The labels are those of :func:`~drugwatch.text.analyze.analyze` of the
    repaired text (the pre-passes of :func:`normalized_text` applied): taken
    from ``views[i]`` when it is the view of that text (nearly always), else
    read, so that they do not depend on whether the caller had the views.
    """
    from drugwatch.lexicon.matcher import hit_labels

    normalized: list[str] = []
    labels: list[tuple[str, ...]] | None = [] if with_labels else None
    for text, _nt, hits in _readings(texts, views, with_hits=with_labels):
        normalized.append(text)
        if labels is not None:
            labels.append(hit_labels(hits))
    return normalized, labels


def _readings(
    texts: Sequence[str], views: Sequence[TextView | None] | None, *, with_hits: bool = True
) -> Iterator[tuple[str, Any, Sequence[Any]]]:
    """Each text's normalized text, its ``NormalizedText`` and (``with_hits``) its lexicon hits,
    as the text layer reads the repaired text (the pre-passes of :func:`normalized_text`):
    from ``views[i]`` when it is the view of that text, else a cached view, else read."""
    from drugwatch.lexicon.matcher import find_terms
    from drugwatch.text.analyze import cached_view
    from drugwatch.text.normalize import normalize

    for i, text in enumerate(texts):
        view = None if views is None else views[i]
        repaired = _join_split_letters(_latin_capitals(text))
        if view is None or view.raw != repaired:
            view = cached_view(repaired)
        if view is not None:
            yield view.text, view.normalized, view.hits
            continue
        nt = normalize(repaired)
        yield nt.text, nt, find_terms(nt) if with_hits else ()


class LexiconEvidence(NamedTuple):
    """A text's drug labels split by how the text layer read its words
    (the lexicon block of ``lexicon_evidence=2``).

    ``read``: labels of hits whose every letter the raw text shows (after
    the ordinary normalization: look-alikes, styled letters, leetspeak,
    separators). ``guessed``: ``(label, shown)`` for each label named only by
    hits with letters filled in behind mask symbols or separators ("c*c**n*",
    "H■MP" read as "hemp"), ``shown`` the largest share of its letters that
    one of those hits shows (:func:`~drugwatch.models.lexicon_union.hidden_letters`).
    """

    read: tuple[str, ...]
    guessed: tuple[tuple[str, float], ...]


def lexicon_evidence(normalized: NormalizedText, hits: Iterable[LexiconHit]) -> LexiconEvidence:
    """:class:`LexiconEvidence` of the lexicon ``hits`` of one normalized text
    (linear in the hits' spans)."""
    from drugwatch.models.lexicon_union import hidden_letters

    read: set[str] = set()
    shown: dict[str, float] = {}
    for h in hits:
        if h.label is None:
            continue
        letters, hidden = hidden_letters(normalized, h.start, h.end)
        if hidden == 0:
            read.add(h.label)
        else:
            shown[h.label] = max(shown.get(h.label, 0.0), 1.0 - hidden / letters)
    return LexiconEvidence(
        tuple(lab for lab in DRUG_LABELS if lab in read),
        tuple((lab, shown[lab]) for lab in DRUG_LABELS if lab in shown and lab not in read),
    )


def read_evidence(
    texts: Sequence[str], views: Sequence[TextView | None] | None = None
) -> tuple[list[str], list[LexiconEvidence]]:
    """:func:`read_texts` with each text's labels split into read and guessed
    ones (:func:`lexicon_evidence`), from the same reading of the repaired text."""
    normalized: list[str] = []
    evidence: list[LexiconEvidence] = []
    for text, nt, hits in _readings(texts, views):
        normalized.append(text)
        evidence.append(lexicon_evidence(nt, hits))
    return normalized, evidence


def normalized_text(text: str, view: TextView | None = None) -> str:
    """The text layer's normalized view (lower-cased, de-obfuscated), after two pre-passes of ours.

    ``view`` is the text layer's reading of ``text`` if the caller has it:
    when the pre-passes leave the text as it is (nearly always), its
    normalized text is the answer and nothing is read again.
    """
    from drugwatch.text.analyze import cached_view
    from drugwatch.text.normalize import normalize

    repaired = _join_split_letters(_latin_capitals(text))
    if view is None or view.raw != repaired:
        view = cached_view(repaired)
    return view.text if view is not None else normalize(repaired).text


# Repairs of the normalized view, for the disguises normalize() only undoes
# for lexicon words (our detector reads the repaired view; training and
# test texts go through the same functions):
#
# * runs of three or more single letters split by single spaces are joined
#   ("g e n e r i c" -> "generic");
# * a word with one masked letter ("mesca●ine", "hacki#g") is read back
#   against the training vocabulary (the most frequent training word that
#   fits), then (``mask_vocabulary="training+lexicon+english"``, the
#   default) against the lexicon's words and general English
#   (:func:`lexicon_mask_index`, :func:`general_mask_index`); a symbol
#   between two known words is a separator (view version 2); else the mask
#   symbol is dropped;
# * digits and symbols inside letter runs read as letters ("huckl383rry" ->
#   "huckleberry"); doses and ordinals ("2mg", "113g", "3rd") are kept.
#
# The *skeleton* (character n-gram view) also collapses letter runs
# ("pills" -> "pils", "weeeed" -> "wed").
_LEET_FOLD = str.maketrans(
    {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t", "8": "b", "9": "g"}
)
# A run of word characters and leet symbols holding a letter a-z, taken whole
# (``[\w@$!]*[a-z][\w@$!]*``, tried only where a run starts, so that a long
# run without such a letter, digits or CJK, is read once, not once per
# character). folded_text reads these tokens through _LEET_TOKEN_FOLDABLE
# below, which leaves out those the folding would not change.
_LEET_TOKEN = re.compile(r"(?<![\w@$!])(?:(?![a-z])[\w@$!])*+[a-z][\w@$!]*")
_UNITS = (
    r"mg|g|gr|grams?|ug|mcg|ml|oz|kg|lbs?|st|nd|rd|th|x|k|pcs?|p|c|d|h|ct|tabs?|pills?|mm|cm|"
    r"gb|tb|mb|am|pm|s|m|ft|in|pack|hr|hrs|days?|weeks?|months?|years?|usd|eur|gbp"
)
_DOSE = re.compile(rf"\d+(?:[.,]\d+)?(?:{_UNITS})")
# View version 2 also keeps number expressions: "10x30mg", "9x19", "2k17", "20in1", "190mg!"
_NUMBER_EXPR = re.compile(rf"(?:\d+(?:[.,]\d+)?(?:x|k|in))*\d+(?:[.,]\d+)?(?:{_UNITS}|iu|each)?")
_CODE = re.compile(r"\d+[a-z]+")
# The characters _LEET_FOLD changes: a text without any of them leaves the
# leetspeak pass unchanged (plain words, doses and number expressions fold to
# themselves), so the pass is skipped.
_FOLDABLE_CHARS = re.escape("".join(chr(c) for c in _LEET_FOLD))
_FOLDABLE = re.compile(f"[{_FOLDABLE_CHARS}]")
# _LEET_TOKEN's tokens that hold such a character (the lookahead reads only
# the token: its class stops where the token does); the others fold to
# themselves and are not handed to the folding function at all.
_LEET_TOKEN_FOLDABLE = re.compile(rf"(?<![\w@$!])(?=[\w@$!]*[{_FOLDABLE_CHARS}])(?:(?![a-z])[\w@$!])*+[a-z][\w@$!]*")
_MASK_CHARS = "□■●○▪◆*_#?"
_ANY_MASK = re.compile(f"[{re.escape(_MASK_CHARS)}]")
_MASKED = re.compile(f"(?<=[a-z])[{re.escape(_MASK_CHARS)}](?=[a-z])")
_MASKED_WORD = re.compile(f"(?<![a-z0-9])([a-z]+)[{re.escape(_MASK_CHARS)}]([a-z]+)(?![a-z0-9])")
_SPACED = re.compile(r"(?<!\S)(?:[a-z] ){2,}[a-z](?!\S)")
_VOCAB_WORD = re.compile(r"(?<![a-z0-9])[a-z]{3,}(?![a-z0-9])")
_RUNS = re.compile(r"([a-z])\1+")
_WORD = r"(?u)\b\w\w+\b"


def _fold_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if _DOSE.fullmatch(token) or _CODE.fullmatch(token):  # "2mg", "3rd", "3mmc", "4fa": not leetspeak
        return token
    core = token.rstrip("!")  # "usa!" is punctuation, not "usai"
    return core.translate(_LEET_FOLD) + token[len(core) :]


def _masked_keys(words: Iterable[str]) -> dict[str, str]:
    """``{"mesca\x00ine": "mescaline", ...}``: each inner letter of each word masked; the first word wins a key."""
    best: dict[str, str] = {}
    for word in words:
        for i in range(1, len(word) - 1):
            best.setdefault(word[:i] + "\x00" + word[i + 1 :], word)
    return best


def mask_index(texts: Sequence[str], min_count: int = 2) -> dict[str, str]:
    """``{"mesca\x00ine": "mescaline", ...}``: each inner letter of each frequent word masked.

    A key goes to the most frequent word that fits (the first seen among
    equally frequent ones).
    """
    from collections import Counter

    counts = Counter(w for t in texts for w in _VOCAB_WORD.findall(t))
    # sorted() is stable: equally frequent words keep their first-seen order
    return _masked_keys(w for w, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_count)


class _WordMasks:
    """Mask keys of a ranked word list, answered from sorted word lists instead of a key table.

    ``masks["progra\x00ming"]`` is the best-ranked word of the list that fits
    (raises ``KeyError`` when none does), like :func:`mask_index`'s dict,
    at a fraction of its memory (a key table of 100,000 English words holds
    about 475,000 keys, some 200 MB in a process). A key is answered by
    scanning the words of its length that share its longer side (its prefix
    in the words sorted forwards, its suffix in the words sorted backwards).
    Supports ``in``, ``[]`` and ``get``: what :class:`~collections.ChainMap`
    and :func:`folded_text` use.
    """

    def __init__(self, ranked: Sequence[str]):
        by_length: dict[int, list[tuple[str, int]]] = {}
        for rank, word in enumerate(ranked):
            by_length.setdefault(len(word), []).append((word, rank))
        self._forward: dict[int, tuple[list[str], list[int]]] = {}
        self._backward: dict[int, tuple[list[str], list[int]]] = {}
        for length, entries in by_length.items():
            forward = sorted(entries)
            self._forward[length] = ([w for w, _ in forward], [r for _, r in forward])
            backward = sorted((w[::-1], r) for w, r in entries)
            self._backward[length] = ([w for w, _ in backward], [r for _, r in backward])
        self.words: frozenset[str] = frozenset(ranked)
        self._longest = max(by_length, default=0)

    def _lookup(self, key: str) -> str | None:
        # a key longer than every word fits none; checked before the cache,
        # which would keep it
        return None if len(key) > self._longest else self._lookup_cached(key)

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per process, kept for its lifetime
    def _lookup_cached(self, key: str) -> str | None:
        left, sep, right = key.partition("\x00")
        if not sep or not left or not right:
            return None
        length = len(left) + 1 + len(right)
        if len(left) >= len(right):
            table, side, reverse = self._forward.get(length), left, False
        else:
            table, side, reverse = self._backward.get(length), right[::-1], True
        if table is None:
            return None
        words, ranks = table
        best, best_rank = None, None
        other = right if not reverse else left[::-1]
        i = bisect.bisect_left(words, side)
        while i < len(words) and words[i].startswith(side):
            if words[i].endswith(other) and (best_rank is None or ranks[i] < best_rank):
                best, best_rank = words[i], ranks[i]
            i += 1
        if best is None:
            return None
        return best[::-1] if reverse else best

    def __getitem__(self, key: str) -> str:
        word = self._lookup(key)
        if word is None:
            raise KeyError(key)
        return word

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        word = self._lookup(key)
        return default if word is None else word


#: How many of the most frequent English words (wordsegment's web counts)
#: :func:`general_mask_index` covers.
GENERAL_MASK_WORDS = 100_000
_GENERAL_MASKS: _WordMasks | None = None


def general_mask_index() -> _WordMasks:
    """Mask keys of general English: each key to the most frequent word that fits.

    Built once per process from the :data:`GENERAL_MASK_WORDS` most frequent
    words (ASCII, alphabetic, three letters or more) of ``wordsegment``'s
    unigram counts (the hashtag segmenter's model). A detector consults it
    after its own training vocabulary, for masked words ("progra●ming",
    "gho□ts") too rare in the training texts to be read back from them.
    """
    global _GENERAL_MASKS
    if _GENERAL_MASKS is None:
        from drugwatch.text.hashtags import _base_log_probs

        probs = _base_log_probs()
        values = np.fromiter(probs.values(), dtype=np.float64, count=len(probs))
        cutoff = (
            np.partition(values, -GENERAL_MASK_WORDS)[-GENERAL_MASK_WORDS]
            if len(values) > GENERAL_MASK_WORDS
            else -np.inf
        )
        top = sorted(((p, w) for w, p in probs.items() if p >= cutoff), key=lambda t: (-t[0], t[1]))
        _GENERAL_MASKS = _WordMasks(
            [w for _, w in top[:GENERAL_MASK_WORDS] if len(w) >= 3 and w.isascii() and w.isalpha()]
        )
    return _GENERAL_MASKS


class _LazyGeneralMasks:
    """:func:`general_mask_index`, built on the first question asked of it.

    Building it reads the segmenter's word counts (about a second and a half
    of CPU); only a text with a mask symbol asks, so a scan or a request
    whose texts carry none never pays for it.
    """

    def __bool__(self) -> bool:
        return True

    def __contains__(self, key: object) -> bool:
        return key in general_mask_index()

    def __getitem__(self, key: str) -> str:
        return general_mask_index()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return general_mask_index().get(key, default)

    def has_word(self, word: str) -> bool:
        return word in general_mask_index().words


_LEXICON_MASKS: tuple[dict[str, str], frozenset[str]] | None = None


def lexicon_mask_index() -> tuple[dict[str, str], frozenset[str]]:
    """:func:`mask_index` of the lexicon's one-word terms ("codamol", "alprazolam"), and those words.

    Built once per process. A detector consults it after its training
    vocabulary and before general English.
    """
    global _LEXICON_MASKS
    if _LEXICON_MASKS is None:
        from drugwatch.lexicon import load_lexicon

        words = sorted(
            {t for t in load_lexicon().vocabulary() if len(t) >= 3 and t.isascii() and t.isalpha() and t.islower()}
        )
        _LEXICON_MASKS = _masked_keys(words), frozenset(words)
    return _LEXICON_MASKS


# Where a mask symbol is not a mask (view version 2): a handle ("@plug_uk"),
# an e-mail address, a URL ("t.me/candy_shop", "x.com/a?b#c") or a hashtag
# ("#weed_factory"). Their "_", "#" and "?" are the names' own characters, and
# reading them against general English would build its mask index (a second
# and more of CPU) for nearly every social-media post.
# Each alternative starts only where its run of characters starts (the
# lookbehinds) and reads it once (possessive), so a long run is read in linear time.
_NOT_MASKED_SPAN = re.compile(
    r"(?<!\S)(?:https?://|www\.)\S++"
    r"|(?<![\w.-])[\w-]++(?:\.[\w-]++)++/\S*+"
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++"
    r"|(?<![\w@])@\w++"
    r"|(?<!\w)(?P<tag>#\w++)"
)


def _not_masked_spans(text: str) -> tuple[list[int], list[int], list[bool]]:
    """Starts, ends and whether a hashtag, of the spans of ``text`` whose symbols are not masks."""
    starts: list[int] = []
    ends: list[int] = []
    tags: list[bool] = []
    for m in _NOT_MASKED_SPAN.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
        tags.append(m.group("tag") is not None)
    return starts, ends, tags


def folded_text(
    normalized: str,
    masks: Mapping[str, str] | None = None,
    keep: Callable[[str], bool] | None = None,
    *,
    is_word: Callable[[str], bool] | None = None,
    tag_is_word: Callable[[str], bool] | None = None,
    version: int = 1,
) -> str:
    """The repaired view of a normalized text (see the comment above).

    ``keep(token)`` names tokens to leave as they are (besides doses and codes).
    ``version`` 2 (what :class:`DrugTypeDetector` fits since the mask
    resolver was widened) also reads a symbol between two words that
    ``is_word`` knows as a separator ("sale*codeine" -> "sale codeine"),
    runs the masked-word pass twice (a word read back can free its
    neighbour: "s□le*codei?e"), and leaves number expressions ("10x30mg",
    "9x19", "2k17", "190mg!") out of the leetspeak folding; version 1 is the
    view that directories saved before read. Version 2 reads no mask in a
    handle, e-mail address or URL (their symbols are left to the final pass,
    which drops a symbol between letters, as for an unread mask), and reads
    a symbol between two words of a hashtag that ``tag_is_word`` (default
    ``is_word``) knows as a separator ("#weed_factory" -> "weed factory"):
    so that ``masks`` and ``is_word`` are asked about masks only.
    """
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), normalized)
    masked = _ANY_MASK.search(text) is not None  # the mask passes below change nothing without a mask symbol
    if masked and masks and version >= 2:
        tag_word = tag_is_word if tag_is_word is not None else is_word
        spans: tuple[list[int], list[int], list[bool]] = ([], [], [])

        def unmask(m: re.Match[str]) -> str:
            left, right = m.group(1), m.group(2)
            at = bisect.bisect_right(spans[0], m.end(1)) - 1  # the span that may hold the symbol
            if at >= 0 and m.end(1) < spans[1][at]:
                if spans[2][at] and tag_word is not None and len(left) >= 3 and len(right) >= 3:
                    if tag_word(left) and tag_word(right):
                        return left + " " + right
                return m.group(0)
            word = masks.get(left + "\x00" + right)
            if word is not None:
                return word
            if is_word is not None and len(left) >= 3 and len(right) >= 3 and is_word(left) and is_word(right):
                return left + " " + right  # a separator between two words, not a masked letter
            return m.group(0)

        for _ in range(2):
            spans = _not_masked_spans(text) if ("@" in text or "/" in text or "#" in text) else ([], [], [])
            repaired = _MASKED_WORD.sub(unmask, text)
            if repaired == text:
                break
            text = repaired
    elif masked and masks:
        text = _MASKED_WORD.sub(lambda m: masks.get(m.group(1) + "\x00" + m.group(2), m.group(0)), text)
    if masked:
        text = _MASKED.sub("", text)

    def fold(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.isalpha() or (keep is not None and keep(token)):  # plain words fold to themselves
            return token
        if version >= 2 and token[0].isdigit() and _NUMBER_EXPR.fullmatch(token.rstrip("!")):
            return token
        return _fold_token(match)

    if not _FOLDABLE.search(text):  # nothing _LEET_FOLD maps: every token folds to itself
        return text
    return _LEET_TOKEN_FOLDABLE.sub(fold, text)


def skeleton_text(normalized: str, masks: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    """:func:`folded_text` (same arguments) with letter runs collapsed to one letter."""
    return _RUNS.sub(r"\1", folded_text(normalized, masks, **kwargs))


# A run of symbols glued to a letter of a word ("h░ckl░b░rry", "c⊠⊠p⊠r",
# "▢nd▢▢r"): non-ASCII characters of the Basic Multilingual Plane that are
# neither word characters nor spaces (geometric shapes, math operators, box
# drawing, dingbats). Emoji (outside the BMP) and ASCII punctuation ("e-mail",
# "u.s.a", "1p-lsd") are left alone; the ASCII masks "*_#?" are masks already.
_WILDCARD_SYMBOL = "[^\x00-\x7f\\w\\s\U00010000-\U0010ffff]"
_WILDCARD_RUN = re.compile(f"(?<=[a-z\u25a1]){_WILDCARD_SYMBOL}+|{_WILDCARD_SYMBOL}+(?=[a-z])")
#: The one mask symbol every glued symbol is read as (one of the masks folded_text knows).
WILDCARD = "\u25a1"


def wildcard_masks(normalized: str) -> str:
    """Every symbol glued to a letter read as the one mask :data:`WILDCARD`.

    A mask alphabet never seen in training ("h◩ckl◩b◩rry") then reads like
    the ones that were ("h░ckl░b░rry" -> "h□ckl□b□rry"): the mask resolver
    of :func:`folded_text` treats it as a mask, and the character n-grams of
    a masked word are those of the same word under any other symbol.
    """
    if normalized.isascii():
        return normalized
    return _WILDCARD_RUN.sub(lambda m: WILDCARD * len(m.group(0)), normalized)


# The consonant view: every vowel and every mask symbol read as one
# placeholder, then runs of a character collapsed. A word reads the same
# whatever fills its vowels, so a clean "cocaine", a masked "c*c**n*", a
# wildcard "c□c□□n□" and a resolver's wrong guess at its vowels all give
# "c_c_n_"; a masked consonant costs only the n-grams around it. "." and "-"
# count as masks only between two letters or placeholders ("w...r",
# "b--g"), so a sentence's full stop and a dose's dash stay what they are.
CONSONANT_PLACEHOLDER = "_"
_CONSONANT_FOLD = str.maketrans({ch: CONSONANT_PLACEHOLDER for ch in "aeiou" + _MASK_CHARS + WILDCARD})
_INNER_DOTS = re.compile(r"(?<=[a-z_])[.\-]+(?=[a-z_])")
_CHAR_RUNS = re.compile(r"(.)\1+")
#: Character n-gram range of the consonant view (its alphabet is small, so
#: longer n-grams than the character view's stay informative).
CONSONANT_NGRAMS = (2, 5)


def consonant_text(normalized: str) -> str:
    """The consonant view of a normalized (and wildcard-read) text; see the comment above."""
    text = normalized.translate(_CONSONANT_FOLD)
    if "." in text or "-" in text:
        text = _INNER_DOTS.sub(lambda m: CONSONANT_PLACEHOLDER * len(m.group(0)), text)
    return _CHAR_RUNS.sub(r"\1", text)


def _augment_families() -> tuple[str, ...]:
    from drugwatch.evaluation.attacks import FAMILIES, HELDOUT_FAMILIES

    return tuple(f for f in FAMILIES if f not in HELDOUT_FAMILIES)


def masked_copies(events: Sequence[Event], share: float, seed: int, copies: int = 1) -> tuple[list[Event], np.ndarray]:
    """Attacked copies of a seeded ``share`` of ``events``, and the index of each copy's original.

    Each chosen event gets ``copies`` copies, each text attacked at heavy
    strength by a family drawn (seeded) from the harness's families that are *not* held
    out (:data:`~drugwatch.evaluation.attacks.HELDOUT_FAMILIES` are never
    used: their rows measure generalization). A copy is the event with
    another text: the same id, author and ``meta``, so the same
    :func:`~drugwatch.evaluation.splits.group_of` (it stays in its
    original's inner fold) and the same labels. A copy whose text the
    attack left unchanged is not made. The first copy of each event is the
    one a single copy would be; each further copy ``k`` draws its families
    after those (seeded) and attacks with ``seed + k``.
    """
    from drugwatch.evaluation.attacks import attack

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"augment share must be in [0, 1]; got {share}")
    if copies < 1:
        raise ValueError(f"copies must be at least 1; got {copies}")
    n = len(events)
    size = int(round(share * n))
    if size == 0:
        return [], np.zeros(0, dtype=np.int64)
    families = _augment_families()
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n, size=size, replace=False))
    out: list[Event] = []
    index: list[int] = []
    for k in range(copies):
        drawn = rng.integers(len(families), size=size)
        for i, f in zip(chosen.tolist(), drawn.tolist()):
            text = attack(events[i].text, families[f], "heavy", seed=seed + k)
            if text != events[i].text:
                out.append(events[i].model_copy(update={"text": text}))
                index.append(i)
    return out, np.asarray(index, dtype=np.int64)


#: Columns of the lexicon evidence block, in order.
LEXICON_FEATURES: tuple[str, ...] = (*(f"lex_{name}" for name in DRUG_LABELS), "lex_n_labels", "lex_none")


#: Columns of the lexicon block of ``lexicon_evidence=2``, in order: labels
#: read (as :data:`LEXICON_FEATURES`, counting read labels only), then per
#: label the share of letters shown by the text layer's best guess
#: (``guess_``), and whether only the model's own mask resolver
#: (:func:`folded_text`) found it (``resolved_``), and the number of labels
#: guessed or resolved and not read.
LEXICON_FEATURES_V2: tuple[str, ...] = (
    *LEXICON_FEATURES,
    *(f"guess_{name}" for name in DRUG_LABELS),
    *(f"resolved_{name}" for name in DRUG_LABELS),
    "guess_n_labels",
)


def split_lexicon_features(
    normalized: Sequence[str],
    folded: Sequence[str],
    evidence: Sequence[LexiconEvidence] | None = None,
) -> np.ndarray:
    """Lexicon evidence of normalized texts with read and guessed labels apart
    (see :data:`LEXICON_FEATURES_V2`), so the model learns how far to trust each.

    A label the folded view (:func:`folded_text`) adds counts as read when
    the normalized text holds no mask symbol (the folding then only read
    leetspeak), else as resolved: the folded view filled the mask in.
    Without ``evidence`` the normalized texts are matched as they are
    (normalize() is idempotent, so every hit there is read).
    """
    from drugwatch.lexicon.matcher import find_terms, hit_labels
    from drugwatch.text.normalize import NormalizedText

    if evidence is None:
        evidence = [LexiconEvidence(hit_labels(find_terms(NormalizedText(t, t))), ()) for t in normalized]

    n_labels = len(DRUG_LABELS)
    guess0 = len(LEXICON_FEATURES)
    resolved0 = guess0 + n_labels
    out = np.zeros((len(normalized), len(LEXICON_FEATURES_V2)), dtype=np.float32)
    for row, text in enumerate(normalized):
        read = set(evidence[row].read)
        guessed = dict(evidence[row].guessed)
        resolved: set[str] = set()
        if folded[row] != text:
            extra = set(hit_labels(find_terms(folded[row]))) - read - set(guessed)
            if _ANY_MASK.search(text) is None:
                read |= extra
            else:
                resolved = extra
        for j, name in enumerate(DRUG_LABELS):
            if name in read:
                out[row, j] = 1.0
                continue
            out[row, guess0 + j] = guessed.get(name, 0.0)
            out[row, resolved0 + j] = float(name in resolved)
        out[row, n_labels] = np.log1p(len(read))
        out[row, n_labels + 1] = float(not read)
        out[row, -1] = np.log1p(len((set(guessed) | resolved) - read))
    return out


def lexicon_features(
    normalized: Sequence[str],
    folded: Sequence[str] | None = None,
    labels_read: Sequence[tuple[str, ...]] | None = None,
) -> np.ndarray:
    """Per-label lexicon evidence of normalized texts (see :data:`LEXICON_FEATURES`).

    With ``folded`` (:func:`folded_text` of each text), the labels found in
    either view count. ``labels_read`` gives each text's labels as the text
    layer read it (:func:`read_texts`) instead of matching the normalized
    text again.
    """
    from drugwatch.lexicon.matcher import find_terms, hit_labels
    from drugwatch.text.normalize import NormalizedText

    index = {name: i for i, name in enumerate(DRUG_LABELS)}
    out = np.zeros((len(normalized), len(LEXICON_FEATURES)), dtype=np.float32)
    for row, text in enumerate(normalized):
        # ``text`` is normalize()'s output and normalize() is idempotent, so
        # the matcher reads it as already normalized instead of normalizing
        # it a second time (same hits; the folded view below is not a fixed
        # point and goes through normalize()).
        labels = hit_labels(find_terms(NormalizedText(text, text))) if labels_read is None else labels_read[row]
        if folded is not None and folded[row] != text:
            labels = tuple(sorted(set(labels) | set(hit_labels(find_terms(folded[row]))), key=DRUG_LABELS.index))
        for name in labels:
            out[row, index[name]] = 1.0
        out[row, -2] = np.log1p(len(labels))
        out[row, -1] = float(not labels)
    return out


# ---------------------------------------------------------------------------
# Linear one-vs-rest machinery


def _ovr_scores(models: list[Any], X) -> np.ndarray:
    out = np.zeros((X.shape[0], N_LABELS))
    for j, model in enumerate(models):
        if isinstance(model, float):  # a label never or always seen in training
            out[:, j] = model
        else:
            out[:, j] = model.decision_function(X)
    return out


class _StackedLinear:
    """The decision values of one-vs-rest *linear* models as one product.

    ``scores(X)`` equals :func:`_ovr_scores` (``X @ coef_.T + intercept_``
    per label, constants for labels seen with one value only) but costs one
    sparse-dense product instead of one scikit-learn call, with its input
    checks, per label: what a single event scored by the API pays for.
    """

    def __init__(self, models: list[Any], n_features: int):
        self.W = np.zeros((n_features, N_LABELS))
        self.b = np.zeros(N_LABELS)
        for j, model in enumerate(models):
            if isinstance(model, float):
                self.b[j] = model
            else:
                self.W[:, j] = np.asarray(model.coef_, dtype=np.float64).ravel()
                self.b[j] = float(np.ravel(model.intercept_)[0])

    @staticmethod
    def supports(models: list[Any]) -> bool:
        return all(isinstance(m, float) or (hasattr(m, "coef_") and np.shape(m.coef_)[0] == 1) for m in models)

    def scores(self, X) -> np.ndarray:
        return np.asarray(X @ self.W) + self.b


def _fast_ovr_scores(owner: Any, models: list[Any], X) -> np.ndarray:
    """:func:`_ovr_scores` through a :class:`_StackedLinear` cached on ``owner``
    (not saved: attributes without a trailing ``_`` stay out of the weights)."""
    stacked = owner.__dict__.get("_stacked")
    if stacked is None or stacked[0] is not models:
        if not _StackedLinear.supports(models):
            return _ovr_scores(models, X)
        stacked = owner.__dict__["_stacked"] = (models, _StackedLinear(models, X.shape[1]))
    return stacked[1].scores(X)


def _fit_ovr(X, y: np.ndarray, make) -> list[Any]:
    models: list[Any] = []
    for j in range(N_LABELS):
        col = y[:, j]
        if col.min() == col.max():
            models.append(20.0 if col[0] else -20.0)
        else:
            models.append(make().fit(X, col))
    return models


@saved_state
class _Platt:
    """Per-label sigmoid calibration of decision values (fitted on out-of-fold scores)."""

    def __init__(self, scores: np.ndarray, y: np.ndarray):
        from sklearn.linear_model import LogisticRegression

        self.a_ = np.ones(N_LABELS)
        self.b_ = np.zeros(N_LABELS)
        for j in range(N_LABELS):
            col = y[:, j]
            if col.min() == col.max():
                continue
            lr = LogisticRegression(C=1e4, solver="lbfgs").fit(scores[:, [j]], col)
            self.a_[j] = lr.coef_[0, 0]
            self.b_[j] = lr.intercept_[0]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(scores * self.a_ + self.b_)))


@saved_state
class _NeighbourVotes:
    """Label votes of the ``k`` most similar training events (cosine on rare n-grams).

    The vectors are the char + word tf-idf rows restricted to the columns
    whose training document frequency is at most ``max_df`` (frequent
    n-grams such as single letters say little about which listing this is
    and make every event a neighbour of every other), L2-normalised again.
    ``votes(blocks)`` gives per event the similarity-weighted mean label vector
    of its neighbours (10 columns), then the largest and the mean of their
    similarities: :data:`NEIGHBOUR_FEATURES`.

    With ``terms`` (``knn_terms`` of the detector), each training event keeps
    only its ``terms`` heaviest n-grams in the index (L2-normalised again),
    and the top ``k`` are chosen for a whole batch at once
    (:func:`_batch_top_k_votes`): the similarity product has a fifth of the
    entries or fewer, and no event is handled in Python. An index saved
    without ``terms`` keeps the full index and the per-event selection it was
    fitted with.
    """

    def __init__(self, X, y: np.ndarray, k: int, max_df: float, terms: int = 0):
        X = sp.csr_matrix(X, dtype=np.float32)
        df = np.bincount(X.indices, minlength=X.shape[1]) / max(X.shape[0], 1)
        keep = np.flatnonzero(df <= max_df)
        self.columns = np.full(X.shape[1], -1, dtype=np.int64)
        self.columns[keep] = np.arange(len(keep))
        self.k = int(k)
        self.terms = int(terms)
        # (kept features x training events): a query row times this is its similarity row
        rows = self.project(X)
        self.index = (_top_terms(rows, self.terms) if self.terms else rows).T.tocsr()
        self.y = np.asarray(y, dtype=np.float32)

    def project(self, X) -> sp.csr_matrix:
        """Rows restricted to the kept columns (renumbered) and L2-normalised (float64)."""
        indptr, cols, data = self._project((X,))
        return sp.csr_matrix((data, cols, indptr), shape=(len(indptr) - 1, int((self.columns >= 0).sum())))

    def indexed_rows(self) -> sp.csr_matrix:
        """The training events' rows as the index holds them (pruned to ``terms`` where fitted so)."""
        return self.index.T.tocsr()

    def neighbour_votes(self, queries: sp.csr_matrix, rows: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
        """Votes of projected ``queries`` among the training ``rows`` (of :meth:`indexed_rows`) labelled ``y``."""
        S = queries @ rows.T
        return _batch_top_k_votes(S, y, self.k) if getattr(self, "terms", 0) else _top_k_votes(S, y, self.k)

    def _project(self, blocks: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR arrays ``(indptr, cols, data)`` of :meth:`project` of the column blocks side by side."""
        blocks = [sp.csr_matrix(b) for b in blocks]
        n = blocks[0].shape[0]
        offsets = np.cumsum([0] + [b.shape[1] for b in blocks[:-1]])
        row_of = np.concatenate([np.repeat(np.arange(n), np.diff(b.indptr)) for b in blocks])
        cols = self.columns[np.concatenate([b.indices + o for b, o in zip(blocks, offsets)])]
        data = np.concatenate([b.data for b in blocks]).astype(np.float64)
        if len(blocks) > 1 and n > 1:  # group the entries by row, each block's in their order
            order = np.argsort(row_of, kind="stable")
            row_of, cols, data = row_of[order], cols[order], data[order]
        kept = cols >= 0
        row_of, cols, data = row_of[kept], cols[kept], data[kept]
        norms = np.sqrt(np.bincount(row_of, weights=data**2, minlength=n))
        norms[norms == 0] = 1.0
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=n))])
        return indptr, cols, data / norms[row_of]

    def votes(self, blocks: Sequence[Any]) -> np.ndarray:
        """Votes of the rows of the column blocks ``blocks`` side by side (the char, then the word tf-idf).

        A batch goes through one sparse product; one event (what a single
        scored event pays for) through its posting lists directly. Both add
        the same float64 products in the same order (query entries, then
        posting lists), and :func:`_vote` does not depend on the order of the
        candidates, so an event gets the same votes, to the last bit, alone
        or in any batch.
        """
        indptr, cols, data = self._project(blocks)
        n = len(indptr) - 1
        batch = getattr(self, "terms", 0) > 0  # the vectorized selection (fitted with terms), alone or in a batch
        if n != 1:
            S = sp.csr_matrix((data, cols, indptr), shape=(n, self.index.shape[0])) @ self.index
            return _batch_top_k_votes(S, self.y, self.k) if batch else _top_k_votes(S, self.y, self.k)
        out = np.zeros((1, N_LABELS + 2))
        starts = self.index.indptr[cols]
        lengths = self.index.indptr[cols + 1] - starts
        total = int(lengths.sum())
        if total:
            positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
            sims = np.bincount(
                self.index.indices[positions],
                weights=np.repeat(data, lengths) * self.index.data[positions],
                minlength=len(self.y),
            )
            hit = np.flatnonzero(sims)
            if batch:
                return _row_votes(np.array([0, len(hit)]), hit, sims[hit], self.y, self.k)
            _vote(out[0], sims[hit], hit, self.y, self.k)
        return out


def _vote(out: np.ndarray, sims: np.ndarray, neighbours: np.ndarray, y: np.ndarray, k: int) -> None:
    """Fill one row of :data:`NEIGHBOUR_FEATURES` from the similarities to ``neighbours`` (no-op when none).

    The result does not depend on the order in which the candidates come:
    ties at the k-th similarity go to the lower training index, and the
    chosen neighbours are summed in training order.
    """
    if len(sims) == 0:
        return
    if len(sims) > k:
        kth = np.partition(sims, len(sims) - k)[len(sims) - k]  # the k-th largest similarity
        above = np.flatnonzero(sims > kth)
        tied = np.flatnonzero(sims == kth)
        tied = tied[np.argsort(neighbours[tied], kind="stable")][: k - len(above)]
        top = np.concatenate([above, tied])
    else:
        top = np.arange(len(sims))
    top = top[np.argsort(neighbours[top], kind="stable")]
    w = sims[top].astype(np.float64)
    out[:N_LABELS] = w @ y[neighbours[top]] / (w.sum() + 1e-9)
    out[N_LABELS] = w.max()
    out[N_LABELS + 1] = w.mean()


def _top_k_votes(S: sp.csr_matrix, y: np.ndarray, k: int) -> np.ndarray:
    S = sp.csr_matrix(S)
    out = np.zeros((S.shape[0], N_LABELS + 2))
    for i in range(S.shape[0]):
        lo, hi = S.indptr[i], S.indptr[i + 1]
        _vote(out[i], S.data[lo:hi], S.indices[lo:hi], y, k)
    return out


def _top_k_mask(indptr: np.ndarray, data: np.ndarray, k: int, chunk: int = 256) -> np.ndarray:
    """Which entries of CSR rows ``(indptr, data)`` are among the ``k`` largest of their row.

    Ties at the k-th value go to the earlier entries of the row (the lower
    columns when the indices are sorted), as :func:`_vote` breaks them. The
    k-th value of every longer row comes from one :func:`numpy.partition`
    per chunk of rows of similar length (padded with ``-inf``), so a row's
    choice depends on its own entries only, never on the batch around it.
    """
    n = len(indptr) - 1
    if n == 1:  # one event (the scoring API): the same choice without the chunk machinery
        if len(data) <= k:
            return np.ones(len(data), dtype=bool)
        kth1 = np.partition(data, len(data) - k)[len(data) - k]
        tied1 = data == kth1
        return (data > kth1) | (tied1 & (np.cumsum(tied1) <= k - np.count_nonzero(data > kth1)))
    lengths = np.diff(indptr)
    row_of = np.repeat(np.arange(n), lengths)
    kth = np.full(n, -np.inf, dtype=data.dtype)  # rows of k entries or fewer keep them all
    long = np.flatnonzero(lengths > k)
    long = long[np.argsort(lengths[long], kind="stable")]
    for start in range(0, len(long), chunk):
        rows = long[start : start + chunk]
        lens = lengths[rows]
        width = int(lens[-1])
        offsets = np.cumsum(lens) - lens
        within = np.arange(int(lens.sum())) - np.repeat(offsets, lens)
        padded = np.full((len(rows), width), -np.inf, dtype=data.dtype)
        padded[np.repeat(np.arange(len(rows)), lens), within] = data[np.repeat(indptr[rows], lens) + within]
        kth[rows] = np.partition(padded, width - k, axis=1)[:, width - k]
    threshold = kth[row_of]
    above = data > threshold
    tied = data == threshold
    room = k - np.bincount(row_of[above], minlength=n)
    tied_seen = np.cumsum(tied)
    tied_rank = tied_seen - np.concatenate([[0], tied_seen])[indptr[:-1]][row_of]  # 1 for a row's first tie
    return above | (tied & (tied_rank <= room[row_of]))


def _batch_top_k_votes(S, y: np.ndarray, k: int) -> np.ndarray:
    """:data:`NEIGHBOUR_FEATURES` of each row of similarities ``S`` (events x training events), vectorized.

    The same choice of neighbours as :func:`_top_k_votes` (ties to the lower
    training index); the sums run over each row's neighbours in training
    order, so an event gets the same bits alone or in any batch.
    """
    S = sp.csr_matrix(S)
    S.sort_indices()
    return _row_votes(S.indptr, S.indices, S.data, y, k)


def _row_votes(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """:func:`_batch_top_k_votes` of the CSR rows ``(indptr, indices, data)`` (indices sorted in each row)."""
    n = len(indptr) - 1
    keep = _top_k_mask(indptr, data, k)
    rows = np.repeat(np.arange(n), np.diff(indptr))[keep]
    w = data[keep].astype(np.float64)
    labels = np.asarray(y)[indices[keep]].astype(np.float64)
    out = np.zeros((n, N_LABELS + 2))
    total = np.bincount(rows, weights=w, minlength=n)
    for j in range(N_LABELS):
        out[:, j] = np.bincount(rows, weights=w * labels[:, j], minlength=n) / (total + 1e-9)
    if len(rows):
        firsts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
        out[rows[firsts], N_LABELS] = np.maximum.reduceat(w, firsts)
        counts = np.bincount(rows, minlength=n)
        chosen = counts > 0
        out[chosen, N_LABELS + 1] = total[chosen] / counts[chosen]
    return out


def _top_terms(X: sp.csr_matrix, terms: int) -> sp.csr_matrix:
    """Each row's ``terms`` largest entries (ties to the lower column), L2-normalised again."""
    X = sp.csr_matrix(X, dtype=np.float64)
    X.sort_indices()
    keep = _top_k_mask(X.indptr, X.data, terms)
    n = X.shape[0]
    rows = np.repeat(np.arange(n), np.diff(X.indptr))[keep]
    data = X.data[keep]
    norms = np.sqrt(np.bincount(rows, weights=data**2, minlength=n))
    norms[norms == 0] = 1.0
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return sp.csr_matrix((data / norms[rows], X.indices[keep], indptr), shape=X.shape)


#: Columns of the neighbour block of the stacker's input, in order.
NEIGHBOUR_FEATURES: tuple[str, ...] = (*(f"knn_{name}" for name in LABELS), "knn_max_sim", "knn_mean_sim")


@saved_state
class _Stacker:
    """Per-label logistic regression on the first-level outputs (the second level).

    Fitted on *out-of-fold* first-level outputs of the training data, so it
    learns how far to trust each of them; kept as plain arrays so that
    scoring one event is one small product.
    """

    def __init__(self, Z: np.ndarray, y: np.ndarray, C: float):
        from sklearn.linear_model import LogisticRegression

        self.coef = np.zeros((Z.shape[1], N_LABELS))
        self.intercept = np.zeros(N_LABELS)
        for j in range(N_LABELS):
            col = y[:, j]
            if col.min() == col.max():  # a label never or always seen: a constant
                self.intercept[j] = 20.0 if col[0] else -20.0
                continue
            lr = LogisticRegression(C=C, solver="lbfgs", max_iter=3000).fit(Z, col)
            self.coef[:, j] = lr.coef_[0]
            self.intercept[j] = lr.intercept_[0]

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        # an explicit sum instead of a BLAS product: the same bits for an event alone or in a batch
        return _sigmoid((Z[:, :, None] * self.coef[None]).sum(axis=1) + self.intercept)


# ---------------------------------------------------------------------------
# tf-idf one-vs-rest (the plain reference)


@register("drugwatch.tfidf_ovr.v1")
class TfidfOvR(MultiLabelDetector):
    """Word tf-idf (1-2 grams) of the raw text, one-vs-rest logistic regression."""

    description = (
        "Reference: word uni+bigram tf-idf of the raw text, one-vs-rest logistic regression over the "
        "10 labels; per-label thresholds from inner grouped CV (or 0.5 with tune_thresholds=false)."
    )
    _parameter_constraints = {
        "C": [Interval(float, 0, None, closed="neither")],
        "min_df": [Interval(int, 1, None)],
        "tune_thresholds": [InstanceOf((bool,))],
        "inner_folds": [Interval(int, 2, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self, *, C: float = 10.0, min_df: int = 1, tune_thresholds: bool = True, inner_folds: int = 3, seed: int = 0
    ):
        self.C = C
        self.min_df = min_df
        self.tune_thresholds = tune_thresholds
        self.inner_folds = inner_folds
        self.seed = seed

    def _make(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, solver="liblinear", max_iter=1000, random_state=self.seed)

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [e.text for e in events]
        min_df = self.min_df if len(texts) >= 10 * self.min_df else 1
        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True, dtype=np.float32)
        X = self.vectorizer_.fit_transform(texts)
        oof = None
        if self.tune_thresholds:
            folds = inner_folds(events, self.inner_folds)
            if folds:
                oof = np.zeros(y.shape)
                for tr, te in folds:
                    oof[te] = _sigmoid(_ovr_scores(_fit_ovr(X[tr], y[tr], self._make), X[te]))
        self.models_ = _fit_ovr(X, y, self._make)
        self._set_thresholds(y, oof, "inner grouped CV" if oof is not None else "fixed 0.5")

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        return _sigmoid(_ovr_scores(self.models_, self.vectorizer_.transform([e.text for e in events])))

    @property
    def vocabulary_(self) -> dict[str, int]:
        return self.vectorizer_.vocabulary_


def lexicon_fingerprint() -> str:
    """The packaged lexicon's digest, recorded in the model card: the text
    layer's evidence (features and union) depends on it."""
    from drugwatch.lexicon import load_lexicon

    return load_lexicon().fingerprint()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------
# Ours


@register("drugwatch.drugtype.v1")
class DrugTypeDetector(MultiLabelDetector):
    """Ours: char + word tf-idf of the normalized text and lexicon evidence, calibrated OvR linear SVM."""

    reads_views = True
    weights_format = "npz"

    # Learned by fit: the stacked combiner sets ``stacker_`` and ``neighbours_``
    # (None when ``knn_k`` is 0) with ``calibrator_ = None``; the Platt
    # combiner sets ``calibrator_`` with ``stacker_ = None``.
    stacker_: _Stacker | None
    calibrator_: _Platt | None
    neighbours_: _NeighbourVotes | None
    # a fitted TfidfVectorizer, or its frozen form in a loaded directory (only with consonant_view_ > 0)
    consonant_vectorizer_: Any

    description = (
        "drugwatch drug-type detector: character 1-5-gram and word 1-2-gram tf-idf of the text layer's "
        "normalized (de-obfuscated) view plus per-label lexicon evidence; one-vs-rest linear SVM; a stacked "
        "per-label logistic regression over its out-of-fold scores, nearest-neighbour label votes and the "
        "lexicon evidence, with per-label thresholds from out-of-fold probabilities of an inner grouped "
        "k-fold; non_drug first when it is the most probable label, else non_drug exclusive, argmax when "
        "nothing fires."
    )
    _parameter_constraints = {
        "C": [Interval(float, 0, None, closed="neither")],
        "char_view": [Options(("skeleton", "normalized"))],
        "char_ngram_min": [Interval(int, 1, 8)],
        "char_ngram_max": [Interval(int, 2, 8)],
        "char_weight": [Interval(float, 0, None)],
        "word_weight": [Interval(float, 0, None)],
        "lexicon_weight": [Interval(float, 0, None)],
        "min_df": [Interval(int, 1, None)],
        "max_features": [Interval(int, 1000, None), InstanceOf((type(None),))],
        "inner_folds": [Interval(int, 2, None)],
        "combiner": [Options(("stacker", "platt"))],
        "knn_k": [Interval(int, 0, None)],
        "knn_max_df": [Interval(float, 0, 1, closed="right")],
        "knn_terms": [Interval(int, 0, None)],
        "stacker_C": [Interval(float, 0, None, closed="neither")],
        "non_drug_wins": [InstanceOf((bool,))],
        "mask_vocabulary": [Options(("training", "training+lexicon+english"))],
        "lexicon_union": [InstanceOf((bool,))],
        "lexicon_source": [Options(("normalized", "views"))],
        "augment_masks": [Interval(float, 0, 1, closed="both")],
        "mask_wildcard": [InstanceOf((bool,))],
        "consonant_view": [Interval(float, 0, None)],
        "augment_copies": [Interval(int, 1, None)],
        # lexicon_union.UNION_VERSIONS (that module imports this one; a test keeps them equal)
        "union_version": [Options((1, 2))],
        "lexicon_evidence": [Options((1, 2))],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        C: float = 0.5,
        char_view: str = "skeleton",
        char_ngram_min: int = 1,
        char_ngram_max: int = 5,
        char_weight: float = 1.0,
        word_weight: float = 1.0,
        lexicon_weight: float = 1.0,
        min_df: int = 2,
        max_features: int | None = 300_000,
        inner_folds: int = 3,
        combiner: str = "stacker",
        knn_k: int = 10,
        knn_max_df: float = 0.02,
        knn_terms: int = 0,
        stacker_C: float = 1.0,
        non_drug_wins: bool = True,
        mask_vocabulary: str = "training+lexicon+english",
        lexicon_union: bool = False,
        lexicon_source: str = "normalized",
        augment_masks: float = 0.0,
        mask_wildcard: bool = False,
        union_version: int = 1,
        consonant_view: float = 0.0,
        augment_copies: int = 1,
        lexicon_evidence: int = 1,
        seed: int = 0,
    ):
        self.C = C
        self.char_view = char_view
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.char_weight = char_weight
        self.word_weight = word_weight
        self.lexicon_weight = lexicon_weight
        self.min_df = min_df
        self.max_features = max_features
        self.inner_folds = inner_folds
        self.combiner = combiner
        self.knn_k = knn_k
        self.knn_max_df = knn_max_df
        self.knn_terms = knn_terms
        self.stacker_C = stacker_C
        self.non_drug_wins = non_drug_wins
        self.mask_vocabulary = mask_vocabulary
        self.lexicon_union = lexicon_union
        self.lexicon_source = lexicon_source
        self.augment_masks = augment_masks
        self.mask_wildcard = mask_wildcard
        self.union_version = union_version
        self.consonant_view = consonant_view
        self.augment_copies = augment_copies
        self.lexicon_evidence = lexicon_evidence
        self.seed = seed

    def _make(self):
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, loss="squared_hinge", dual=True, max_iter=5000, random_state=self.seed)

    def _read(self, events: Sequence[Event], views: Sequence[TextView] | None) -> tuple[list[str], Any]:
        """The normalized texts and, where the lexicon block reads the text layer's hits, their labels
        (with ``lexicon_evidence_`` 2, their :class:`LexiconEvidence`)."""
        # directories saved before lexicon_evidence have no lexicon_evidence_ and read labels as before
        if getattr(self, "lexicon_evidence_", 1) == 2:
            return read_evidence([e.text for e in events], views)
        if getattr(self, "lexicon_source", "normalized") == "views":
            return read_texts([e.text for e in events], views, with_labels=True)
        return [normalized_text(e.text, None if views is None else views[i]) for i, e in enumerate(events)], None

    def _features(
        self,
        normalized: list[str],
        fit: bool,
        labels_read: Sequence[tuple[str, ...]] | Sequence[LexiconEvidence] | None = None,
        n_original: int | None = None,
    ) -> tuple[sp.csr_matrix, tuple[Any, Any], np.ndarray]:
        """``(X, (char, word), lex)``: the SVMs' input, its two tf-idf blocks and the lexicon block.

        When fitting, the mask vocabulary comes from the first ``n_original``
        texts (the training events; attacked copies after them would add the
        fragments of masked words to it).
        """
        if fit:
            self.mask_wildcard_ = bool(getattr(self, "mask_wildcard", False))
            self.consonant_view_ = float(getattr(self, "consonant_view", 0.0))
        # directories saved before the wildcard have no mask_wildcard_ and read texts as they were trained
        if getattr(self, "mask_wildcard_", False):
            normalized = [wildcard_masks(t) for t in normalized]
        if fit:
            self.view_version_ = 2
            self.mask_general_ = self.mask_vocabulary == "training+lexicon+english"
            plain = [folded_text(t, version=2) for t in normalized[:n_original]]
            self.mask_index_ = mask_index(plain, min_count=1 if self.mask_general_ else 2)
            self.mask_words_ = frozenset(w for t in plain for w in _VOCAB_WORD.findall(t))
        folded = [folded_text(t, **self._view_arguments()) for t in normalized]
        chars = [_RUNS.sub(r"\1", t) for t in folded] if self.char_view == "skeleton" else normalized
        if fit:
            from sklearn.feature_extraction.text import TfidfVectorizer

            min_df = self.min_df if len(normalized) >= 10 * self.min_df else 1
            self.char_vectorizer_ = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(getattr(self, "char_ngram_min", 1), self.char_ngram_max),
                min_df=min_df,
                sublinear_tf=True,
                lowercase=False,
                max_features=self.max_features,
                dtype=np.float32,
            )
            self.word_vectorizer_ = TfidfVectorizer(
                ngram_range=(1, 2),
                min_df=min_df,
                sublinear_tf=True,
                lowercase=False,
                token_pattern=_WORD,
                dtype=np.float32,
            )
            char = self.char_vectorizer_.fit_transform(chars)
            word = self.word_vectorizer_.fit_transform(folded)
        else:
            char = vectorizer_transform(self.char_vectorizer_, chars)
            word = vectorizer_transform(self.word_vectorizer_, folded)
        if getattr(self, "lexicon_evidence_", 1) == 2:
            # what _read gives this detector: each text's evidence, read and guessed labels apart
            lex = split_lexicon_features(normalized, folded, cast("Sequence[LexiconEvidence] | None", labels_read))
        else:
            lex = lexicon_features(normalized, folded, cast("Sequence[tuple[str, ...]] | None", labels_read))
        blocks = [char * self.char_weight, word * self.word_weight]
        # directories saved before the consonant view have no consonant_view_ and read no such block
        consonant_weight = getattr(self, "consonant_view_", 0.0)
        if consonant_weight > 0:
            blocks.append(self._consonant_block([consonant_text(t) for t in normalized], fit) * consonant_weight)
        blocks.append(sp.csr_matrix(lex * self.lexicon_weight))
        X = sp.hstack(blocks, format="csr")
        return X, (char, word), lex

    def _consonant_block(self, consonants: list[str], fit: bool) -> sp.csr_matrix:
        """Character n-gram tf-idf of the consonant view (:func:`consonant_text`), read from the
        text before the mask resolver, so that its guesses at a masked word's letters do not enter it."""
        if not fit:
            return vectorizer_transform(self.consonant_vectorizer_, consonants)
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.consonant_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=CONSONANT_NGRAMS,
            min_df=self.min_df if len(consonants) >= 10 * self.min_df else 1,
            sublinear_tf=True,
            lowercase=False,
            max_features=self.max_features,
            dtype=np.float32,
        )
        return self.consonant_vectorizer_.fit_transform(consonants)

    def _view_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`folded_text` for this fitted detector.

        Directories saved before the view's version 2 (no ``view_version_``)
        read texts with the training mask index alone, as they were trained.
        """
        version = getattr(self, "view_version_", 1)
        if version < 2:
            return {"masks": self.mask_index_}
        training_words = self.mask_words_
        if not self.mask_general_:
            return {"masks": self.mask_index_, "is_word": training_words.__contains__, "version": version}
        lexicon_masks, lexicon_words = lexicon_mask_index()
        english = _LazyGeneralMasks()
        return {
            # ChainMap writes only to its first map (a dict) and only looks keys up in the others
            # (``in``, ``[]``, what _WordMasks answers); typeshed asks every map to be a MutableMapping
            "masks": ChainMap(self.mask_index_, lexicon_masks, english),  # type: ignore[arg-type]
            "is_word": lambda w: w in training_words or w in lexicon_words or english.has_word(w),
            # a hashtag's words: known without general English (whose index costs a second and more)
            "tag_is_word": lambda w: w in training_words or w in lexicon_words,
            "version": version,
        }

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        n_original = len(events)
        self.lexicon_evidence_ = int(self.lexicon_evidence)
        if getattr(self, "augment_masks", 0.0) > 0:
            # Attacked copies (same labels, same group) after the originals: they
            # join the SVMs', the neighbour index's and the stacker's training
            # rows; the mask vocabulary and the thresholds come from the originals.
            copies, index = masked_copies(
                events, self.augment_masks, self.seed, copies=getattr(self, "augment_copies", 1)
            )
            events = [*events, *copies]
            y = np.vstack([y, y[index]])
        views = None
        if self.lexicon_source == "views":
            from drugwatch.text.analyze import analyze_many

            views = analyze_many([e.text for e in events])
        normalized, labels_read = self._read(events, views)
        # Vocabularies and idf come from the training data only; the inner
        # folds reuse them (unsupervised statistics of the same training set).
        X, text, lex = self._features(normalized, fit=True, labels_read=labels_read, n_original=n_original)
        # grouped: a copy has its original's group, so it is in its original's inner fold
        folds = inner_folds(events, self.inner_folds)
        oof: np.ndarray | None = None
        if folds:
            oof = np.zeros(y.shape)
            for tr, te in folds:
                oof[te] = _ovr_scores(_fit_ovr(X[tr], y[tr], self._make), X[te])
        self.models_ = _fit_ovr(X, y, self._make)
        self.non_drug_wins_ = bool(self.non_drug_wins)
        self.union_version_ = int(self.union_version)
        if self.combiner == "stacker" and oof is not None and n_original >= STACKER_MIN_EVENTS:
            self._fit_stacker(text, lex, y, oof, folds, n_original)
            return
        self.stacker_ = None
        if oof is not None:
            self.calibrator_ = _Platt(oof, y)
            self._set_thresholds(
                y[:n_original], self.calibrator_(oof[:n_original]), "inner grouped CV (out-of-fold, calibrated)"
            )
        else:
            self.calibrator_ = _Platt(_ovr_scores(self.models_, X), y)
            self._set_thresholds(y, None, "fixed 0.5 (too few groups for inner CV)")

    def _fit_stacker(
        self,
        text,
        lex: np.ndarray,
        y: np.ndarray,
        oof: np.ndarray,
        folds: list[tuple[np.ndarray, np.ndarray]],
        n_original: int | None = None,
    ) -> None:
        """Second level: neighbour votes and a per-label LR over SVM scores, votes and lexicon.

        Every input of the stacker is out-of-fold (the SVM scores and the
        neighbour votes of each training event come from the inner fold
        that did not see it), and the thresholds come from the stacker's
        own out-of-fold probabilities over the same inner folds.
        """
        blocks = [oof]
        if self.knn_k > 0:
            text = sp.hstack(text, format="csr")
            neighbours = self.neighbours_ = _NeighbourVotes(
                text, y, self.knn_k, self.knn_max_df, terms=getattr(self, "knn_terms", 0)
            )
            projected = neighbours.project(text)
            votes = np.zeros((len(y), len(NEIGHBOUR_FEATURES)))
            if neighbours.terms:
                indexed = neighbours.indexed_rows()
                for tr, te in folds:
                    votes[te] = neighbours.neighbour_votes(projected[te], indexed[tr], neighbours.y[tr])
            else:
                for tr, te in folds:
                    votes[te] = _top_k_votes(projected[te] @ projected[tr].T, neighbours.y[tr], self.knn_k)
            blocks.append(votes)
        else:
            self.neighbours_ = None
        blocks.append(lex)
        Z = np.hstack(blocks)
        stacked_oof = np.zeros(y.shape)
        for tr, te in folds:
            stacked_oof[te] = _Stacker(Z[tr], y[tr], self.stacker_C)(Z[te])
        self.stacker_ = _Stacker(Z, y, self.stacker_C)
        self.calibrator_ = None
        # thresholds for the events as they come (the first n_original rows; attacked copies follow)
        self._set_thresholds(y[:n_original], stacked_oof[:n_original], "inner grouped CV (out-of-fold, stacked)")

    def _predict_proba(self, events: list[Event], views: Sequence[TextView] | None = None) -> np.ndarray:
        normalized, labels_read = self._read(events, views)
        X, text, lex = self._features(normalized, fit=False, labels_read=labels_read)
        scores = _fast_ovr_scores(self, self.models_, X)
        stacker = getattr(self, "stacker_", None)  # absent in directories saved before the stacker
        if stacker is None:
            if self.calibrator_ is None:
                raise ModelLoadError("this drug-type model has neither a stacker nor a calibrator; retrain it")
            return self._with_lexicon(self.calibrator_(scores), events, views)
        blocks = [scores]
        if self.neighbours_ is not None:
            blocks.append(self.neighbours_.votes(text))
        blocks.append(lex)
        return self._with_lexicon(stacker(np.hstack(blocks)), events, views)

    def _with_lexicon(
        self, proba: np.ndarray, events: list[Event], views: Sequence[TextView] | None = None
    ) -> np.ndarray:
        """With ``lexicon_union``: every drug a sale names by the text layer's
        confident evidence gets its label (see :func:`lexicon_union`)."""
        if not getattr(self, "lexicon_union", False):
            return proba
        from drugwatch.models.lexicon_union import lexicon_union

        return lexicon_union(
            proba,
            [e.text for e in events],
            self.thresholds_,
            non_drug_wins=getattr(self, "non_drug_wins_", False),
            views=views,
            # directories saved before union version 2 have no union_version_ and predict as saved
            version=getattr(self, "union_version_", 1),
        )

    def _learned_state(self) -> dict[str, Any]:
        """The learned state with the vectorizers and linear SVMs kept as what prediction reads
        (:func:`~drugwatch.models.tfidf_fast.freeze_vectorizer`, :func:`~drugwatch.models.tfidf_fast.freeze_linear`):
        vocabularies, idf, coefficients and intercepts, no scikit-learn object."""
        state = super()._learned_state()
        for key in ("char_vectorizer_", "word_vectorizer_", "consonant_vectorizer_"):
            if key in state:
                state[key] = freeze_vectorizer(state[key])
        if "models_" in state:
            state["models_"] = [freeze_linear(m) for m in state["models_"]]
        return state

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """``(n, 10)`` label indicator by :func:`decode` at ``thresholds_`` (``non_drug`` first where fitted so)."""
        self._check_fitted()
        return decode(proba, self.thresholds_, non_drug_wins=getattr(self, "non_drug_wins_", False))

    @property
    def vocabulary_(self) -> dict[str, int]:
        vocab = {f"char:{k}": v for k, v in self.char_vectorizer_.vocabulary_.items()}
        vocab.update({f"word:{k}": v for k, v in self.word_vectorizer_.vocabulary_.items()})
        return vocab

    def _extra_config(self) -> dict[str, Any]:
        terms = getattr(getattr(self, "neighbours_", None), "terms", 0)
        return {
            **super()._extra_config(),
            "char_ngram_range": list(self.char_vectorizer_.ngram_range),
            "char_vocabulary_size": len(self.char_vectorizer_.vocabulary_),
            "word_vocabulary_size": len(self.word_vectorizer_.vocabulary_),
            "text_view": "drugwatch.text.normalize.normalize(text).text",
            "combiner": (
                "per-label Platt calibration"
                if getattr(self, "stacker_", None) is None
                else "stacker: per-label LR over out-of-fold SVM scores"
                + (f", {self.knn_k}-NN label votes" if getattr(self, "neighbours_", None) else "")
                + (f" (index of each event's {terms} heaviest n-grams)" if terms else "")
                + " and lexicon evidence"
            ),
            "non_drug_wins": bool(getattr(self, "non_drug_wins_", False)),
            "lexicon_union": bool(getattr(self, "lexicon_union", False)),
            "union_version": int(getattr(self, "union_version_", 1)),
            "lexicon_source": getattr(self, "lexicon_source", "normalized"),
            "augment_masks": float(getattr(self, "augment_masks", 0.0)),
            "augment_copies": int(getattr(self, "augment_copies", 1)),
            "mask_wildcard": bool(getattr(self, "mask_wildcard_", False)),
            "consonant_view": float(getattr(self, "consonant_view_", 0.0)),
            "lexicon_evidence": int(getattr(self, "lexicon_evidence_", 1)),
            "lexicon": lexicon_fingerprint(),
        }


@register("drugwatch.drugtype.v2")
class DrugTypeDetectorV2(DrugTypeDetector):
    """drugtype.v1 with the lexicon union on (:func:`lexicon_union`): every
    drug the text layer names with confident evidence gets its label, where
    the model decides a drug or the text reads as a sale of several drugs."""

    description = DrugTypeDetector.description + (
        " Lexicon union: where the model decides a drug, every confident drug label of the text layer is "
        "added; where it decides non_drug, only a text that reads as a sale of several drugs gets them "
        "(drugwatch.models.lexicon_union)."
    )

    def __init__(
        self,
        *,
        C: float = 0.5,
        char_view: str = "skeleton",
        char_ngram_min: int = 1,
        char_ngram_max: int = 5,
        char_weight: float = 1.0,
        word_weight: float = 1.0,
        lexicon_weight: float = 1.0,
        min_df: int = 2,
        max_features: int | None = 300_000,
        inner_folds: int = 3,
        combiner: str = "stacker",
        knn_k: int = 10,
        knn_max_df: float = 0.02,
        knn_terms: int = 0,
        stacker_C: float = 1.0,
        non_drug_wins: bool = True,
        mask_vocabulary: str = "training+lexicon+english",
        lexicon_union: bool = True,
        lexicon_source: str = "normalized",
        augment_masks: float = 0.0,
        mask_wildcard: bool = False,
        union_version: int = 1,
        consonant_view: float = 0.0,
        augment_copies: int = 1,
        lexicon_evidence: int = 1,
        seed: int = 0,
    ):
        super().__init__(
            C=C,
            char_view=char_view,
            char_ngram_min=char_ngram_min,
            char_ngram_max=char_ngram_max,
            char_weight=char_weight,
            word_weight=word_weight,
            lexicon_weight=lexicon_weight,
            min_df=min_df,
            max_features=max_features,
            inner_folds=inner_folds,
            combiner=combiner,
            knn_k=knn_k,
            knn_max_df=knn_max_df,
            knn_terms=knn_terms,
            stacker_C=stacker_C,
            non_drug_wins=non_drug_wins,
            mask_vocabulary=mask_vocabulary,
            lexicon_union=lexicon_union,
            lexicon_source=lexicon_source,
            augment_masks=augment_masks,
            mask_wildcard=mask_wildcard,
            union_version=union_version,
            consonant_view=consonant_view,
            augment_copies=augment_copies,
            lexicon_evidence=lexicon_evidence,
            seed=seed,
        )


@register("drugwatch.drugtype.v3")
class DrugTypeDetectorV3(DrugTypeDetectorV2):
    """drugtype.v2, cheap to score: character 2-4-grams instead of 1-5, a
    pruned neighbour index, and the lexicon block read from the text
    layer's views instead of a second match of each text; trained with
    attacked copies (``augment_masks``, two per event: ``augment_copies``),
    reading mask symbols as one wildcard (``mask_wildcard``) and words by
    their consonants (``consonant_view``). A v3 directory saved before
    those parameters has no ``mask_wildcard_`` or ``consonant_view_`` and
    reads texts as it was trained."""

    description = DrugTypeDetectorV2.description + (
        " Scoring cost: character 2-4-grams; the neighbour index keeps each training event's heaviest n-grams "
        "(knn_terms) among those in at most knn_max_df of the events, and the top k are chosen "
        "for a batch at once; the lexicon block reads the text layer's hits (lexicon_source='views'). "
        "Masks: trained with attacked copies of a share of its events (augment_masks; the attack harness's "
        "families that are not held out; augment_copies per event), every symbol glued to a letter read as one "
        "mask (mask_wildcard), and a character n-gram block of the consonant view, vowels and masks read as one "
        "placeholder (consonant_view)."
    )

    def __init__(
        self,
        *,
        C: float = 0.5,
        char_view: str = "skeleton",
        char_ngram_min: int = 2,
        char_ngram_max: int = 4,
        char_weight: float = 1.0,
        word_weight: float = 1.0,
        lexicon_weight: float = 1.0,
        min_df: int = 2,
        max_features: int | None = 300_000,
        inner_folds: int = 3,
        combiner: str = "stacker",
        knn_k: int = 10,
        knn_max_df: float = 0.005,
        knn_terms: int = 12,
        stacker_C: float = 1.0,
        non_drug_wins: bool = True,
        mask_vocabulary: str = "training+lexicon+english",
        lexicon_union: bool = True,
        lexicon_source: str = "views",
        augment_masks: float = 1.0,
        mask_wildcard: bool = True,
        union_version: int = 2,
        consonant_view: float = 1.0,
        augment_copies: int = 2,
        lexicon_evidence: int = 1,
        seed: int = 0,
    ):
        super().__init__(
            C=C,
            char_view=char_view,
            char_ngram_min=char_ngram_min,
            char_ngram_max=char_ngram_max,
            char_weight=char_weight,
            word_weight=word_weight,
            lexicon_weight=lexicon_weight,
            min_df=min_df,
            max_features=max_features,
            inner_folds=inner_folds,
            combiner=combiner,
            knn_k=knn_k,
            knn_max_df=knn_max_df,
            knn_terms=knn_terms,
            stacker_C=stacker_C,
            non_drug_wins=non_drug_wins,
            mask_vocabulary=mask_vocabulary,
            lexicon_union=lexicon_union,
            lexicon_source=lexicon_source,
            augment_masks=augment_masks,
            mask_wildcard=mask_wildcard,
            union_version=union_version,
            consonant_view=consonant_view,
            augment_copies=augment_copies,
            lexicon_evidence=lexicon_evidence,
            seed=seed,
        )


__all__ = [
    "LEXICON_FEATURES",
    "LEXICON_FEATURES_V2",
    "LexiconEvidence",
    "NEIGHBOUR_FEATURES",
    "STACKER_MIN_EVENTS",
    "DrugTypeDetector",
    "DrugTypeDetectorV2",
    "DrugTypeDetectorV3",
    "MultiLabelDetector",
    "TfidfOvR",
    "decode",
    "fit_thresholds",
    "folded_text",
    "inner_folds",
    "lexicon_evidence",
    "lexicon_features",
    "read_evidence",
    "split_lexicon_features",
    "general_mask_index",
    "masked_copies",
    "wildcard_masks",
    "consonant_text",
    "lexicon_mask_index",
    "mask_index",
    "normalized_text",
    "skeleton_text",
    "validation_split",
]
