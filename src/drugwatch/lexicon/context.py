"""The context model: does an ambiguous drug word ("coke", "molly", "bars",
"ice", "❄️") name a drug here?

The matcher's hand rule accepts an ambiguous word when the text holds an
unambiguous drug word, a dose, or dealer vocabulary worth 2 points. Weaker
sale context ("got coke for sale, dm me", "selling molly", "blow for sale")
is judged by this model instead: a logistic regression over a few features
of the text and of a window around the word (the trade words of the
lexicon by strength, a trade word next to it, doses, prices, phone numbers
and handles, other ambiguous drug words, length, whether the word was an
emoji) plus the word itself. It is trained by ``scripts/train_context_model.py``
on the bench kit's development data: drug listings and drug-selling posts
against non-drug listings and the negative posts (airline tweets, SMS,
captions of verified accounts …); the weights and the decision threshold
live in ``data/context_model.json``. ``docs/lexicon.md`` gives the measured
false-positive rate on each negative sub-source.

Inference is a dot product over at most ``len(FEATURES) + 1`` numbers, done
only for an ambiguous word the hand rule did not accept.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

__all__ = [
    "FEATURES",
    "MODEL_FILE",
    "ContextModel",
    "Cue",
    "TextContext",
    "context_features",
    "has_context",
    "load_context_model",
    "read_context_model",
]

MODEL_FILE: Final[Path] = Path(__file__).with_name("data") / "context_model.json"

#: Names of the numeric features, in the order of the model's weights. The
#: word's own feature ("term=<word>") comes on top of these.
FEATURES: Final[tuple[str, ...]] = (
    "trade_strong",  # unambiguous trade terms ("wickr", "dm to order"), at most 2
    "trade_dealer",  # dealer words ("hmu", "dm me", "plug", "oz"), at most 2
    "trade_weak",  # other trade words ("for sale", "selling", "price"), at most 3
    "trade_near",  # a trade word within WINDOW characters of the word
    "dose",  # "2mg", "1oz", "x10"
    "pharma_dose",  # "2mg", "30mcg"
    "pill_word",  # "pills", "tabs", "high", "plug"
    "same_drug",  # other ambiguous words naming the same drug, at most 2
    "other_drug",  # ambiguous words naming other drugs, at most 2
    "price",  # "$20", "20€", "20 each"
    "contact",  # a phone number or an @handle
    "log_words",  # log(1 + words in the text)
    "emoji",  # the word was written as an emoji (❄️ -> "snow")
    "hashtag",  # the text has a hashtag
)

#: How far (characters of the normalized text) a trade word may sit from
#: the ambiguous word to count as next to it ("selling molly", "blow for sale").
WINDOW: Final[int] = 24

#: A price ("$20", "20€", "20 each"); the matcher's hand rule counts it too.
PRICE = re.compile(
    r"[$£€¥₿]\s?\d|\d\s?(?:[$£€¥]|usd|eur|gbp|dollars?|bucks|euros?)(?![a-z])"
    r"|(?<![a-z0-9])\d+\s?(?:each|ea|per|a piece)(?![a-z])"
)
_CONTACT = re.compile(r"(?<![0-9])(?:\+?\d[\d\s().-]{8,}\d)(?![0-9])|(?<![a-z0-9])@[a-z0-9_.]{3,}")


@dataclass(frozen=True, slots=True)
class Cue:
    """One other lexicon hit of the text, as the features see it: its span
    and its class (``strong`` / ``dealer`` / ``weak`` trade word, or an
    ambiguous drug word with its ``labels``)."""

    start: int
    end: int
    cls: str
    labels: frozenset[str] = frozenset()


class TextContext:
    """What the features need from one text, read once: the per-word
    features then cost a binary search (a text with thousands of ambiguous
    words stays linear)."""

    __slots__ = ("_drug_total", "_per_label", "_text_feats", "_trade_ends", "_trade_starts", "_trade_totals")

    def __init__(self, text: str, cues: list[Cue], *, dose: bool, pharma_dose: bool, pill_word: bool) -> None:
        strong = dealer = weak = 0
        starts: list[int] = []
        ends: list[int] = []
        per_label: dict[str, int] = {}
        drug_total = 0
        for c in cues:
            if c.cls == "drug":
                drug_total += 1
                for lab in c.labels:
                    per_label[lab] = per_label.get(lab, 0) + 1
                continue
            if c.cls == "strong":
                strong += 1
            elif c.cls == "dealer":
                dealer += 1
            else:
                weak += 1
            starts.append(c.start)
            ends.append(c.end)
        order = sorted(range(len(starts)), key=starts.__getitem__)
        self._trade_starts = [starts[i] for i in order]
        # the running maximum of the ends: "a cue that starts before x ends after y"
        run: list[int] = []
        best = -1
        for i in order:
            best = max(best, ends[i])
            run.append(best)
        self._trade_ends = run
        self._trade_totals = (float(min(strong, 2)), float(min(dealer, 2)), float(min(weak, 3)))
        self._per_label = per_label
        self._drug_total = drug_total
        n_words = text.count(" ") + 1 if text.strip() else 0
        self._text_feats = (
            float(dose),
            float(pharma_dose),
            float(pill_word),
            float(PRICE.search(text) is not None),
            float(_CONTACT.search(text) is not None),
            math.log1p(n_words),
            float("#" in text),
        )

    def features(self, start: int, end: int, labels: frozenset[str], emoji: bool) -> list[float]:
        """The feature vector (in :data:`FEATURES` order) of the ambiguous
        word at ``text[start:end]`` naming ``labels`` (itself one of the
        text's drug cues)."""
        # a trade cue overlapping [start - WINDOW, end + WINDOW): among the
        # cues starting before end + WINDOW, the one ending last
        k = bisect_left(self._trade_starts, end + WINDOW)
        near = 1.0 if k and self._trade_ends[k - 1] > start - WINDOW else 0.0
        same = max((self._per_label.get(lab, 0) for lab in labels), default=1) - 1
        same = max(same, 0)
        other = max(self._drug_total - 1 - same, 0)
        dose, pharma, pill, price, contact, log_words, hashtag = self._text_feats
        strong, dealer, weak = self._trade_totals
        return [
            strong,
            dealer,
            weak,
            near,
            dose,
            pharma,
            pill,
            float(min(same, 2)),
            float(min(other, 2)),
            price,
            contact,
            log_words,
            float(emoji),
            hashtag,
        ]


def context_features(
    text: str,
    start: int,
    end: int,
    labels: frozenset[str],
    cues: list[Cue],
    *,
    dose: bool,
    pharma_dose: bool,
    pill_word: bool,
    emoji: bool,
) -> list[float]:
    """The feature vector of one ambiguous word (see :class:`TextContext`,
    which reads the text once for all its words)."""
    ctx = TextContext(text, cues, dose=dose, pharma_dose=pharma_dose, pill_word=pill_word)
    return ctx.features(start, end, labels, emoji)


@dataclass(frozen=True, slots=True)
class ContextModel:
    """Weights of the logistic regression and its threshold."""

    weights: tuple[float, ...]
    term_weights: dict[str, float]
    bias: float
    threshold: float
    version: str

    def probability(self, features: list[float], term: str) -> float:
        z = self.bias + self.term_weights.get(term, 0.0)
        for w, x in zip(self.weights, features):
            z += w * x
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def accepts(self, features: list[float], term: str) -> bool:
        return has_context(features) and self.probability(features, term) >= self.threshold


# Features that are context: a word with none of them ("Snow!", "I love
# blues") is never accepted, whatever the model says. (A bare "Ice" is a
# whole listing title on a drug market, so a model fitted on listings would
# accept it.)
_CONTEXT_INDEX: Final[tuple[int, ...]] = tuple(
    FEATURES.index(name)
    for name in ("trade_strong", "trade_dealer", "trade_weak", "dose", "same_drug", "other_drug", "price", "contact")
)


def has_context(features: list[float]) -> bool:
    """Whether the text gives the word any sale or drug context at all."""
    return any(features[i] for i in _CONTEXT_INDEX)


def read_context_model(path: str | Path) -> ContextModel:
    """Read a model file written by ``scripts/train_context_model.py``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    names = tuple(data["features"])
    if names != FEATURES:
        raise ValueError(
            f"{path}: the model's features {names} are not this code's {FEATURES}; "
            "retrain it with scripts/train_context_model.py"
        )
    weights = tuple(float(w) for w in data["weights"])
    if len(weights) != len(FEATURES):
        raise ValueError(f"{path}: {len(weights)} weights for {len(FEATURES)} features")
    return ContextModel(
        weights,
        {str(k): float(v) for k, v in data.get("term_weights", {}).items()},
        float(data["bias"]),
        float(data["threshold"]),
        str(data.get("version", "")),
    )


@lru_cache(maxsize=1)
def load_context_model() -> ContextModel | None:
    """The packaged model, or ``None`` when the file is absent (the matcher
    then uses its hand rule alone)."""
    if not MODEL_FILE.exists():
        return None
    return read_context_model(MODEL_FILE)
