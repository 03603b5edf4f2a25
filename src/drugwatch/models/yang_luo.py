"""Yang & Luo (2017) text classifier: tf-idf on tags and captions, naive Bayes.

Tags use unigrams, captions unigrams and bigrams; each keeps its top
``max_features`` (1,000) terms by frequency over the *training* data, so
the combined model sees 2,000 dimensions. A multinomial naive Bayes reads
the tf-idf weights. ``fields`` picks the paper's rows: ``"tags"`` (tags
only), ``"caption"`` (caption only) or ``"both"`` (combined).

The caption is the text with hashtags and links removed; tags are the
event's hashtags (extracted from the text when the record has none).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB

from drugwatch.models.base import Detector, Interval, Options, Task
from drugwatch.models.registry import register
from drugwatch.records import Event

FIELDS: tuple[str, ...] = ("tags", "caption", "both")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#[^\W_][\w]*|#_[\w]+", re.UNICODE)


def caption_text(event: Event) -> str:
    """The caption without links and hashtags."""
    return _HASHTAG.sub(" ", _URL.sub(" ", event.text))


def tags_text(event: Event) -> str:
    return " ".join(event.hashtags)


def _split(doc: str) -> list[str]:
    return doc.split()


@register("drugwatch.yang_luo_text.v1")
class YangLuoText(Detector):
    """Yang & Luo's text classifier (tf-idf tags + captions, naive Bayes)."""

    task: ClassVar[Task] = "selling"
    description = (
        "Yang & Luo 2017 text classifier: tf-idf (tags: unigrams; captions: unigrams + bigrams; "
        "top 1,000 of each by training-corpus frequency), multinomial naive Bayes."
    )
    _parameter_constraints = {
        "fields": [Options(FIELDS)],
        "max_features": [Interval(int, 1, None)],
        "alpha": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, fields: str = "both", max_features: int = 1000, alpha: float = 1.0):
        self.fields = fields
        self.max_features = max_features
        self.alpha = alpha

    def _matrix(self, events: list[Event], fit: bool):
        blocks = []
        if self.fields in ("tags", "both"):
            docs = [tags_text(e) for e in events]
            blocks.append(self.tag_vectorizer_.fit_transform(docs) if fit else self.tag_vectorizer_.transform(docs))
        if self.fields in ("caption", "both"):
            docs = [caption_text(e) for e in events]
            blocks.append(
                self.caption_vectorizer_.fit_transform(docs) if fit else self.caption_vectorizer_.transform(docs)
            )
        return blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr")

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        self.tag_vectorizer_ = TfidfVectorizer(analyzer=_split, max_features=self.max_features, dtype=np.float32)
        self.caption_vectorizer_ = TfidfVectorizer(
            ngram_range=(1, 2), max_features=self.max_features, lowercase=True, dtype=np.float32
        )
        X = self._matrix(events, fit=True)
        self.classifier_ = MultinomialNB(alpha=self.alpha).fit(X, y)

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        return self.classifier_.predict_proba(self._matrix(events, fit=False))[:, 1]

    @property
    def vocabulary_(self) -> dict[str, int]:
        """Tag and caption vocabularies merged (tags prefixed ``tag:``, caption terms ``cap:``)."""
        vocab: dict[str, int] = {}
        if self.fields in ("tags", "both") and hasattr(self.tag_vectorizer_, "vocabulary_"):
            vocab.update({f"tag:{k}": v for k, v in self.tag_vectorizer_.vocabulary_.items()})
        if self.fields in ("caption", "both") and hasattr(self.caption_vectorizer_, "vocabulary_"):
            vocab.update({f"cap:{k}": v for k, v in self.caption_vectorizer_.vocabulary_.items()})
        return vocab

    def _extra_config(self) -> dict[str, Any]:
        return {"n_features": len(self.vocabulary_)}


__all__ = ["FIELDS", "YangLuoText", "caption_text", "tags_text"]
