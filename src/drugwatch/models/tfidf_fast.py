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
tests check it against scikit-learn's output. :class:`FrozenTfidf` and
:class:`LinearModel` hold what a fitted vectorizer and a fitted linear model
keep for prediction (vocabulary, idf; coefficients, intercept) and nothing
of scikit-learn: a model directory saved with them loads and predicts
without importing scikit-learn (whose import pulls in scipy.stats and
pandas, most of a short command's start-up).
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

from drugwatch.models.base import saved_state

__all__ = [
    "FrozenTfidf",
    "LinearModel",
    "WordIdCache",
    "char_wb_analyzer",
    "freeze_linear",
    "freeze_vectorizer",
    "plain_word_analyzer",
    "tfidf_transform",
    "vectorizer_transform",
    "word_ngram_analyzer",
]

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


def word_ngram_analyzer(token_pattern: str, ngram_range: tuple[int, int]) -> Analyzer:
    """Word uni- (``(1, 1)``) or uni+bigrams (``(1, 2)``) of ``token_pattern``'s tokens, as
    scikit-learn's ``analyzer="word"`` gives them without preprocessing (see :func:`plain_word_analyzer`)."""
    if tuple(ngram_range) not in ((1, 1), (1, 2)):
        raise ValueError(f"word n-grams (1, 1) or (1, 2) supported; got {tuple(ngram_range)}")
    findall = re.compile(token_pattern).findall
    if tuple(ngram_range) == (1, 1):
        return findall

    def analyze(doc: str) -> list[str]:
        tokens = findall(doc)
        return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]

    return analyze


_WHITE_SPACES = re.compile(r"\s\s+")


def char_wb_analyzer(ngram_range: tuple[int, int]) -> Analyzer:
    """scikit-learn's ``analyzer="char_wb"`` n-grams without preprocessing (``lowercase=False``, no
    accent stripping): each whitespace-separated word padded with one space, its n-grams of every
    length in ``ngram_range`` in order of length then position, a word shorter than n counted once."""
    min_n, max_n = (int(n) for n in ngram_range)

    def analyze(doc: str) -> list[str]:
        ngrams: list[str] = []
        append = ngrams.append
        for w in _WHITE_SPACES.sub(" ", doc).split():
            w = " " + w + " "
            w_len = len(w)
            for n in range(min_n, max_n + 1):
                offset = 0
                append(w[offset : offset + n])
                while offset + n < w_len:
                    offset += 1
                    append(w[offset : offset + n])
                if offset == 0:  # a word shorter than n: counted once
                    break
        return ngrams

    return analyze


@saved_state
class FrozenTfidf:
    """A fitted :class:`~sklearn.feature_extraction.text.TfidfVectorizer`'s prediction state.

    ``transform`` gives the matrix :func:`vectorizer_transform` gives for the
    vectorizer it was taken from (:func:`freeze_vectorizer`): the same
    terms, vocabulary ids, idf and float32 arithmetic. Only the settings
    the fast transform supports are taken (word uni/bigrams or ``char_wb``
    n-grams, no preprocessing, l2 rows with idf).
    """

    def __init__(
        self,
        *,
        analyzer: str,
        ngram_range: tuple[int, int],
        token_pattern: str | None,
        sublinear_tf: bool,
        vocabulary: dict[str, int],
        idf: np.ndarray,
    ):
        self.analyzer = analyzer
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.token_pattern = token_pattern
        self.sublinear_tf = bool(sublinear_tf)
        self.vocabulary_ = vocabulary
        self.idf_ = idf

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_cache")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.ngram_range = (int(self.ngram_range[0]), int(self.ngram_range[1]))

    def build_analyzer(self) -> Analyzer:
        if self.analyzer == "char_wb":
            return char_wb_analyzer(self.ngram_range)
        return word_ngram_analyzer(self.token_pattern or r"(?u)\b\w\w+\b", self.ngram_range)

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        entry = self.__dict__.get("_cache")
        if entry is None:
            analyzer = self.build_analyzer()
            cache = WordIdCache(analyzer, self.vocabulary_) if self.analyzer == "char_wb" else None
            entry = self.__dict__["_cache"] = (analyzer, cache)
        analyzer, cache = entry
        return tfidf_transform(
            docs, analyzer, self.vocabulary_, self.idf_, sublinear_tf=self.sublinear_tf, word_cache=cache
        )


def freeze_vectorizer(vectorizer: Any) -> Any:
    """:class:`FrozenTfidf` of a fitted ``TfidfVectorizer`` whose transform :func:`vectorizer_transform`
    computes itself; any other object (or setting) is returned as it is."""
    if isinstance(vectorizer, FrozenTfidf) or type(vectorizer).__name__ != "TfidfVectorizer":
        return vectorizer
    if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
        return vectorizer
    if vectorizer.analyzer == "char_wb":
        plain = (
            vectorizer.input == "content"
            and not vectorizer.lowercase
            and vectorizer.strip_accents is None
            and vectorizer.preprocessor is None
        )
        if not plain:
            return vectorizer
    elif plain_word_analyzer(vectorizer) is None:
        return vectorizer
    return FrozenTfidf(
        analyzer=vectorizer.analyzer,
        ngram_range=tuple(vectorizer.ngram_range),
        token_pattern=vectorizer.token_pattern if vectorizer.analyzer == "word" else None,
        sublinear_tf=vectorizer.sublinear_tf,
        vocabulary={term: int(i) for term, i in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_),
    )


@saved_state
class LinearModel:
    """A fitted binary linear model's ``coef_`` (1, n) and ``intercept_`` (1,): what prediction reads."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray):
        self.coef_ = np.asarray(coef)
        self.intercept_ = np.asarray(intercept)

    def decision_function(self, X: Any) -> np.ndarray:
        """``X @ coef_.T + intercept_`` (raveled for one row of coefficients), as scikit-learn computes it."""
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores


def freeze_linear(model: Any) -> Any:
    """:class:`LinearModel` of a fitted scikit-learn linear classifier (``coef_`` / ``intercept_``);
    anything else (a constant score, an already frozen model) as it is."""
    if isinstance(model, LinearModel) or not hasattr(model, "coef_") or not hasattr(model, "intercept_"):
        return model
    return LinearModel(np.array(model.coef_), np.array(np.atleast_1d(model.intercept_)))


_ANALYZERS: weakref.WeakKeyDictionary[Any, tuple[Analyzer, WordIdCache | None]] = weakref.WeakKeyDictionary()


def vectorizer_transform(vectorizer: Any, docs: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(docs)`` for a fitted :class:`TfidfVectorizer`
    (``norm="l2"``, ``use_idf=True``), without scikit-learn's per-call overhead.

    Falls back to ``vectorizer.transform`` for other settings. A
    :class:`FrozenTfidf` computes its own.
    """
    if isinstance(vectorizer, FrozenTfidf):
        return vectorizer.transform(docs)
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
