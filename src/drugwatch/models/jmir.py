"""JMIR (Li et al. 2019) baselines: decision tree, random forest, SVM on tf-idf.

Each detector reads one *variant* of the post, as in the paper's table 1:
``"with_hashtags"`` (the cleaned text, hashtags kept), ``"hashtags_only"``,
``"without_hashtags"``. Cleaning is the paper's: hyperlinks, special
characters and stop words removed, ``#`` kept (:mod:`drugwatch.text.jmir`).

Unlike the paper's public code, the tf-idf vocabulary is fitted in
``fit``, i.e. on the training fold only, so no test word reaches training.

The paper gives no hyperparameters for these three; we use scikit-learn's
defaults with a fixed seed. The SVM is a linear SVM (``LinearSVC``) whose
scores become probabilities by sigmoid calibration (``CalibratedClassifierCV``,
3-fold inside the training data).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from drugwatch.models.base import Detector, InstanceOf, Interval, Options, Task
from drugwatch.models.registry import register
from drugwatch.records import Event

#: The three text variants of JMIR table 1.
VARIANTS: tuple[str, ...] = ("with_hashtags", "hashtags_only", "without_hashtags")

# ---------------------------------------------------------------------------
# JMIR cleaning. drugwatch.text.jmir is the reference; the private fallback
# below (same rules) is only used if that module is missing from an install.

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TOKEN = re.compile(r"#?[^\W_]+", re.UNICODE)


def _fallback_tokens(text: str) -> tuple[list[str], list[str]]:
    text = _URL.sub(" ", text.lower())
    words, tags = [], []
    for tok in _TOKEN.findall(text):
        if tok.startswith("#"):
            if len(tok) > 1:
                words.append(tok)
                tags.append(tok)
        elif tok not in ENGLISH_STOP_WORDS:
            words.append(tok)
    return words, tags


def _fallback_variant(text: str, variant: str) -> str:
    words, tags = _fallback_tokens(text)
    if variant == "hashtags_only":
        return " ".join(tags)
    if variant == "without_hashtags":
        return " ".join(w for w in words if not w.startswith("#"))
    return " ".join(words)


def jmir_text(text: str, variant: str) -> str:
    """The cleaned ``variant`` of ``text`` (space-separated tokens)."""
    try:
        from drugwatch.text.jmir import jmir_variant
    except ImportError:  # text layer not installed: same rules, private copy
        return _fallback_variant(text, variant)
    return jmir_variant(text, variant)


def jmir_token_pair(text: str) -> tuple[list[str], list[str]]:
    """``(text_tokens, hashtag_tokens)`` of the JMIR cleaning."""
    try:
        from drugwatch.text.jmir import jmir_tokens
    except ImportError:
        return _fallback_tokens(text)
    text_tokens, tag_tokens = jmir_tokens(text)
    return list(text_tokens), list(tag_tokens)


def cleaning_source() -> str:
    try:
        import drugwatch.text.jmir  # noqa: F401
    except ImportError:
        return "drugwatch.models.jmir fallback"
    return "drugwatch.text.jmir"


def _split_tokens(doc: str) -> list[str]:
    return doc.split()


# ---------------------------------------------------------------------------


class _JmirTfidf(Detector):
    """tf-idf over the JMIR-cleaned variant, then a scikit-learn classifier."""

    task: ClassVar[Task] = "selling"
    # Hyperparameters every subclass's constructor stores.
    variant: str
    min_df: int
    seed: int
    _common_constraints: ClassVar[dict[str, list[Any]]] = {
        "variant": [Options(VARIANTS)],
        "min_df": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }

    def _documents(self, events: list[Event]) -> list[str]:
        return [jmir_text(e.text, self.variant) for e in events]

    def _vectorizer(self) -> TfidfVectorizer:
        return TfidfVectorizer(analyzer=_split_tokens, min_df=self.min_df, sublinear_tf=False, dtype=np.float32)

    def _classifier(self, y: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        self.vectorizer_ = self._vectorizer()
        X = self.vectorizer_.fit_transform(self._documents(events))
        self.classifier_ = self._classifier(y)
        self.classifier_.fit(X, y)

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        X = self.vectorizer_.transform(self._documents(events))
        return self.classifier_.predict_proba(X)[:, 1]

    @property
    def vocabulary_(self) -> dict[str, int]:
        return self.vectorizer_.vocabulary_

    def _extra_config(self) -> dict[str, Any]:
        return {"vocabulary_size": len(self.vectorizer_.vocabulary_), "cleaning": cleaning_source()}


@register("drugwatch.jmir_dt.v1")
class JmirDecisionTree(_JmirTfidf):
    """JMIR decision tree on tf-idf; probabilities are leaf class fractions."""

    description = "JMIR 2019 baseline: decision tree on tf-idf of the JMIR-cleaned text variant."
    _parameter_constraints = {
        **_JmirTfidf._common_constraints,
        "max_depth": [Interval(int, 1, None), InstanceOf((type(None),))],
    }

    def __init__(self, *, variant: str = "with_hashtags", min_df: int = 1, max_depth: int | None = None, seed: int = 0):
        self.variant = variant
        self.min_df = min_df
        self.max_depth = max_depth
        self.seed = seed

    def _classifier(self, y: np.ndarray):
        return DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.seed)


@register("drugwatch.jmir_rf.v1")
class JmirRandomForest(_JmirTfidf):
    """JMIR random forest on tf-idf; probabilities are mean tree votes."""

    description = "JMIR 2019 baseline: random forest on tf-idf of the JMIR-cleaned text variant."
    _parameter_constraints = {
        **_JmirTfidf._common_constraints,
        "n_estimators": [Interval(int, 1, None)],
        "n_jobs": [Interval(int, -1, None)],
    }

    def __init__(
        self,
        *,
        variant: str = "with_hashtags",
        min_df: int = 1,
        n_estimators: int = 100,
        n_jobs: int = 1,
        seed: int = 0,
    ):
        self.variant = variant
        self.min_df = min_df
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.seed = seed

    def _classifier(self, y: np.ndarray):
        return RandomForestClassifier(n_estimators=self.n_estimators, n_jobs=self.n_jobs, random_state=self.seed)


@register("drugwatch.jmir_svm.v1")
class JmirSVM(_JmirTfidf):
    """JMIR SVM: a linear SVM on tf-idf with sigmoid-calibrated probabilities."""

    description = (
        "JMIR 2019 baseline: linear SVM on tf-idf of the JMIR-cleaned text variant; "
        "probabilities by sigmoid calibration (3-fold, inside the training data)."
    )
    _parameter_constraints = {
        **_JmirTfidf._common_constraints,
        "C": [Interval(float, 0, None, closed="neither")],
        "calibration_folds": [Interval(int, 2, None)],
    }

    def __init__(
        self,
        *,
        variant: str = "with_hashtags",
        min_df: int = 1,
        C: float = 1.0,
        calibration_folds: int = 3,
        seed: int = 0,
    ):
        self.variant = variant
        self.min_df = min_df
        self.C = C
        self.calibration_folds = calibration_folds
        self.seed = seed

    def _classifier(self, y: np.ndarray):
        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise ValueError(
                "JmirSVM needs at least 2 examples of each class to calibrate its probabilities; "
                f"the smaller class has {smallest}"
            )
        folds = min(self.calibration_folds, smallest)
        return CalibratedClassifierCV(LinearSVC(C=self.C, random_state=self.seed), method="sigmoid", cv=folds)


__all__ = ["JmirDecisionTree", "JmirRandomForest", "JmirSVM", "VARIANTS", "jmir_text", "jmir_token_pair"]
