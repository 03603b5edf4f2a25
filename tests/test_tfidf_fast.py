"""The fast tf-idf transform equals scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from drugwatch.models.tfidf_fast import WordIdCache, tfidf_transform, vectorizer_transform

TRAIN = [
    "xanax 2mg bars for sale dm me",
    "pressed m30 blues in stock",
    "weed weed weed kush 3.5g",
    "lovely sunset at the beach",
    "bars bars bars",
    "shrooms and lsd tabs, discreet shipping",
    "the beach was lovely today",
    "coke 1g 80 uncut",
    "#weedstagram #420 good vibes",
]
TEST = [
    "xanax bars and kush",
    "nothing known here qqq",
    "",
    "   ",
    "bars bars bars bars",
    "sunset sunset at the beach 2mg",
    "Mixed CASE words Xanax",
    "#weedstagram",
]


@pytest.mark.parametrize(
    "params",
    [
        {"analyzer": "char_wb", "ngram_range": (1, 5), "sublinear_tf": True, "lowercase": False},
        {"analyzer": "char_wb", "ngram_range": (2, 4), "sublinear_tf": False},
        {"ngram_range": (1, 2), "sublinear_tf": True, "lowercase": False},
        {"ngram_range": (1, 1), "sublinear_tf": False, "min_df": 2},
    ],
)
def test_vectorizer_transform_equals_scikit_learn(params) -> None:
    vectorizer = TfidfVectorizer(dtype=np.float32, **params).fit(TRAIN)
    expected = vectorizer.transform(TEST).toarray()
    got = vectorizer_transform(vectorizer, TEST)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-5, atol=1e-6)
    # a second call goes through the cached analyzer and word ids
    np.testing.assert_allclose(vectorizer_transform(vectorizer, TEST).toarray(), expected, rtol=1e-5, atol=1e-6)


def test_rows_are_unit_length_or_empty() -> None:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)).fit(TRAIN)
    X = vectorizer_transform(vectorizer, TEST).toarray()
    norms = np.linalg.norm(X, axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-6)
    assert norms[TEST.index("")] == 0


def test_word_cache_gives_the_per_document_result() -> None:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(TRAIN)
    analyzer = vectorizer.build_analyzer()
    plain = tfidf_transform(TEST, analyzer, vectorizer.vocabulary_, vectorizer.idf_)
    cached = tfidf_transform(
        TEST,
        analyzer,
        vectorizer.vocabulary_,
        vectorizer.idf_,
        word_cache=WordIdCache(analyzer, vectorizer.vocabulary_, max_size=3),
    )
    np.testing.assert_array_equal(plain.toarray(), cached.toarray())


def test_empty_vocabulary_gives_zero_columns() -> None:
    X = tfidf_transform(["a b"], str.split, {}, np.zeros(0))
    assert X.shape == (1, 0)


def test_word_cache_keeps_no_long_words():
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)).fit(["abc def", "ghi abc"])
    cache = WordIdCache(vectorizer.build_analyzer(), vectorizer.vocabulary_, max_word=8)
    long_word = "abc" * 10
    ids = cache.ids(f"abc {long_word}")
    assert ids and "abc" in cache._ids and long_word not in cache._ids
    assert cache.ids(long_word) == ids[len(cache.ids("abc")) :]


@pytest.mark.parametrize(
    "params",
    [
        {"ngram_range": (1, 2), "lowercase": False, "token_pattern": r"(?u)\b\w\w+\b"},
        {"ngram_range": (1, 1), "lowercase": False},
        {"ngram_range": (1, 2), "lowercase": False, "token_pattern": r"(\w+)"},
    ],
)
def test_plain_word_analyzer_gives_scikit_learns_terms_in_order(params) -> None:
    from drugwatch.models.tfidf_fast import plain_word_analyzer

    vectorizer = TfidfVectorizer(**params).fit(TRAIN)
    fast = plain_word_analyzer(vectorizer)
    assert fast is not None
    reference = vectorizer.build_analyzer()
    for doc in [*TRAIN, *TEST, "one", "a b", "Ünïcode wörds und 2mg 10x30mg"]:
        assert fast(doc) == reference(doc)


@pytest.mark.parametrize(
    "params",
    [
        {"ngram_range": (1, 2)},  # lower-cases: not plain
        {"ngram_range": (1, 3), "lowercase": False},
        {"ngram_range": (1, 2), "lowercase": False, "stop_words": ["the"]},
        {"analyzer": "char_wb", "ngram_range": (1, 3), "lowercase": False},
    ],
)
def test_plain_word_analyzer_refuses_other_settings(params) -> None:
    from drugwatch.models.tfidf_fast import plain_word_analyzer

    assert plain_word_analyzer(TfidfVectorizer(**params).fit(TRAIN)) is None
