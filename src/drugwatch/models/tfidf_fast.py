"""A fast ``transform`` for fitted tf-idf vocabularies.

scikit-learn's :meth:`~sklearn.feature_extraction.text.TfidfVectorizer.transform`
validates its input and builds a count matrix through several generic steps;
for a single event (the scoring API) that overhead is most of the cost, and
for a batch its per-term dictionary handling of unknown n-grams is. The
functions here compute the same matrix (sublinear tf, idf, l2 rows) from a
fitted vocabulary with one dictionary lookup per term, optionally caching a
word's vocabulary ids when the analyzer works word by word (``char_wb``),
and analysing plain word n-grams without scikit-learn's no-op steps
(:func:`plain_word_analyzer`).

Fitting stays with scikit-learn; only the transform is replaced, and the
tests check it against scikit-learn's output.
"""

from __future__ import annotations

import re
import weakref
from array import array
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["WordIdCache", "plain_word_analyzer", "tfidf_transform", "vectorizer_transform"]

Analyzer = Callable[[str], list[str]]


class WordIdCache:
    """Vocabulary ids of each word's terms, for analyzers that work word by word.

    Bounded: emptied when it holds more than ``max_size`` words, and words
    longer than ``max_word`` characters (never repeated in practice) are
    analysed without being kept, so the cache holds at most about
    ``max_size * max_word`` characters.
    """

    def __init__(self, analyzer: Analyzer, vocabulary: Mapping[str, int], max_size: int = 200_000, max_word: int = 64):
        self.analyzer = analyzer
        self.vocabulary = vocabulary
        self.max_size = max_size
        self.max_word = max_word
        self._ids: dict[str, tuple[int, ...]] = {}

    def ids(self, doc: str) -> list[int]:
        """The vocabulary ids of ``doc``'s terms, word by word (unknown terms left out)."""
        out: list[int] = []
        self.extend_ids(doc, out)
        return out

    def extend_ids(self, doc: str, out: MutableSequence[int]) -> None:
        """:meth:`ids` of ``doc`` appended to ``out`` (a list or an ``array``)."""
        cache = self._ids
        if len(cache) > self.max_size:
            cache.clear()
        get = self.vocabulary.get
        for word in doc.split():
            found = cache.get(word)
            if found is None:
                found = tuple(i for i in map(get, self.analyzer(word)) if i is not None)
                if len(word) <= self.max_word:
                    cache[word] = found
            out.extend(found)


def tfidf_transform(
    docs: Sequence[str],
    analyzer: Analyzer,
    vocabulary: Mapping[str, int],
    idf: np.ndarray,
    *,
    sublinear_tf: bool = True,
    word_cache: WordIdCache | None = None,
) -> sp.csr_matrix:
    """The l2-normalized tf-idf rows of ``docs`` (float32 CSR), as scikit-learn computes them."""
    n_features = len(vocabulary)
    if not n_features:
        return sp.csr_matrix((len(docs), 0), dtype=np.float32)
    get = vocabulary.get
    missing = repeat(-1)
    # -1 for a term outside the vocabulary; a typed array, which numpy reads
    # without converting a Python int per term
    looked_up = array("q")
    lengths = np.empty(len(docs), dtype=np.int64)
    for row, doc in enumerate(docs):
        before = len(looked_up)
        if word_cache is not None:
            word_cache.extend_ids(doc, looked_up)
        else:
            looked_up.extend(map(get, analyzer(doc), missing))
        lengths[row] = len(looked_up) - before
    ids = np.frombuffer(looked_up, dtype=np.int64)
    known = ids >= 0
    rows = np.repeat(np.arange(len(docs)), lengths)[known]
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(docs)), out=indptr[1:])
    X = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), ids[known].astype(np.int32), indptr),
        shape=(len(docs), n_features),
    )
    X.sum_duplicates()
    if sublinear_tf:
        np.log(X.data, out=X.data)
        X.data += 1.0
    X.data *= np.asarray(idf, dtype=np.float32)[X.indices]
    row_of = np.repeat(np.arange(len(docs)), np.diff(X.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=X.data.astype(np.float64) ** 2, minlength=len(docs)))
    norms[norms == 0] = 1.0
    X.data /= norms.astype(np.float32)[row_of]
    return X


def plain_word_analyzer(vectorizer: Any) -> Analyzer | None:
    """The analyzer of a word uni- or uni+bigram :class:`TfidfVectorizer` without
    preprocessing (no lower-casing, accent stripping, stop words or custom
    steps), as one ``findall`` and one list of pairs; ``None`` for other
    settings.

    It gives the terms scikit-learn's analyzer gives, in the same order
    (unigrams, then bigrams): its decoder, preprocessor and n-gram steps do
    nothing else for such settings, and they cost as much as the tokenizer.
    """
    if (
        vectorizer.analyzer != "word"
        or vectorizer.input != "content"
        or vectorizer.lowercase
        or vectorizer.strip_accents is not None
        or vectorizer.stop_words is not None
        or vectorizer.tokenizer is not None
        or vectorizer.preprocessor is not None
        or tuple(vectorizer.ngram_range) not in ((1, 1), (1, 2))
    ):
        return None
    pattern = re.compile(vectorizer.token_pattern)
    if pattern.groups > 1:
        return None  # scikit-learn refuses such a pattern; let it say so
    findall = pattern.findall
    if tuple(vectorizer.ngram_range) == (1, 1):
        return findall

    def analyze(doc: str) -> list[str]:
        tokens = findall(doc)
        return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]

    return analyze


_ANALYZERS: weakref.WeakKeyDictionary[Any, tuple[Analyzer, WordIdCache | None]] = weakref.WeakKeyDictionary()


def vectorizer_transform(vectorizer: Any, docs: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(docs)`` for a fitted :class:`TfidfVectorizer`
    (``norm="l2"``, ``use_idf=True``), without scikit-learn's per-call overhead.

    Falls back to ``vectorizer.transform`` for other settings.
    """
    if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
        return vectorizer.transform(docs)
    entry = _ANALYZERS.get(vectorizer)
    if entry is None:
        analyzer = plain_word_analyzer(vectorizer) or vectorizer.build_analyzer()
        per_word = vectorizer.analyzer == "char_wb"
        entry = (analyzer, WordIdCache(analyzer, vectorizer.vocabulary_) if per_word else None)
        _ANALYZERS[vectorizer] = entry
    analyzer, cache = entry
    return tfidf_transform(
        docs, analyzer, vectorizer.vocabulary_, vectorizer.idf_, sublinear_tf=vectorizer.sublinear_tf, word_cache=cache
    )
