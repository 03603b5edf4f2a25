"""Our selling detector (``drugwatch.selling.v1``) and the plain tf-idf reference.

``drugwatch.selling.v1`` reads an event through the text layer and asks the
question the labels ask (JMIR's definition: *a drug is offered AND there is
a way to buy it*), then lets a linear model weigh the evidence:

* **text features**: word uni- and bigram tf-idf of the text view, and
  character 2-5-gram tf-idf of the hashtags (``#orlandoweed``,
  ``#weedfactory``, ``#코카인``: dealers coin compound tags that a word
  vocabulary never sees twice);
* **evidence features** (dense, from the text layer): drug terms found by
  the lexicon in the normalized text and as parts of hashtags, the contact
  kinds of :func:`drugwatch.text.contacts.find_contacts` (messaging apps,
  phones, e-mails, payment, shipping), selling / transaction / shipping
  terms, prices, quantities and unit words, and the *conjunctions* "drug
  AND contact", "drug AND price", "drug AND sale term" ... A seller that
  the model has never seen still writes a drug and a way to buy it, which
  is what lets this detector generalize across sellers;
* **model**: class-balanced logistic regression;
* **calibration and threshold**: an inner stratified *group* k-fold inside
  the training data gives out-of-fold scores; a sigmoid (Platt) calibrator
  is fitted on them, and the decision threshold is the one maximizing F1
  on the calibrated out-of-fold probabilities. The final model is then
  refitted on all training data. Nothing about the test data is used.

Speed: the expensive parts of the text layer (``normalize``, contacts) run
only on events whose cheap view (lower-cased raw text) has a drug cue or
signs of obfuscation (see :func:`needs_text_layer`); every other event is
read from its lower-cased raw text, which for plain text *is* the
normalized view. ``predict_proba`` keeps ≥ 10,000 events/s on one core on
the bench's social posts (``benchmarks/bench_detectors.py``).

``drugwatch.tfidf_lr.v1`` is the bench README's reference point: word
tf-idf + logistic regression on the raw text, threshold 0.5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from drugwatch.models.base import Detector, Interval, Options, Task, saved_state
from drugwatch.models.registry import register
from drugwatch.models.tfidf_fast import WordIdCache, char_wb_analyzer, freeze_linear, tfidf_transform
from drugwatch.records import Event
from drugwatch.text.analyze import TextView, analyze

VIEWS: tuple[str, ...] = ("with_hashtags", "hashtags_only", "without_hashtags")

# ---------------------------------------------------------------------------
# Vocabulary beyond the packaged lexicon. Drug words in the scripts the
# bench's foreign-language adverts use, and trade words. They belong in the
# lexicon; until it carries them they live here (and are versioned with
# this detector, so a saved model never changes meaning under it).

_EXTRA_DRUG_TERMS: dict[str, str] = {
    # Korean
    "코카인": "cocaine",
    "필로폰": "other_drugs",
    "빙두": "other_drugs",
    "아이스": "other_drugs",
    "떨": "marijuana",
    "대마": "marijuana",
    "엑스터시": "mdma",
    "엑스터": "mdma",
    "케타민": "other_drugs",
    "원석": "other_drugs",
    "사끼": "other_drugs",
    "후리": "other_drugs",
    "캔디": "mdma",
    # Thai, Chinese, Japanese
    "กัญชา": "marijuana",
    "大麻": "marijuana",
    "冰毒": "other_drugs",
    "可卡因": "cocaine",
    "摇头丸": "mdma",
    "麻古": "other_drugs",
    "覚醒剤": "other_drugs",
    # European slang
    "beuh": "marijuana",
    "shit": "marijuana",
    "hachis": "marijuana",
    "cannabis": "marijuana",
    # common strain / product words
    "sativa": "marijuana",
    "indica": "marijuana",
    "hybrid strain": "marijuana",
    "strain": "marijuana",
    "strains": "marijuana",
    "ogkush": "marijuana",
    "carts": "marijuana",
    "moonrocks": "marijuana",
    "shatter": "marijuana",
    "dabs": "marijuana",
    "edibles": "marijuana",
    "prerolls": "marijuana",
    "shrooms": "mushroom",
    "psilocybin": "mushroom",
}

_SALE_TERMS: tuple[str, ...] = (
    "in stock",
    "for sale",
    "dm",
    "dm me",
    "dm for",
    "hmu",
    "hit me up",
    "order",
    "orders",
    "minimum order",
    "delivery",
    "deliver",
    "ship",
    "shipping",
    "shipped",
    "discreet",
    "stealth",
    "available",
    "menu",
    "plug",
    "tap in",
    "contact me",
    "contact",
    "text me",
    "promo",
    "deal",
    "deals",
    "price",
    "prices",
    "prix",
    "livraison",
    "expédition",
    "expedition",
    "telegram channel",
    "wickr",
    "whatsapp",
    "snap",
    "telegram",
    "kik",
    "signal",
    "구입",
    "텔레",
    "상담",
    "판매",
    "딜러",
    "전문딜러",
    "worldwide",
    "overnight",
    "cashapp",
    "bitcoin",
    "btc",
    "wholesale",
    "bulk",
    "restock",
    "restocked",
    "dropping",
    "drop",
    "lb",
    "qp",
    "hp",
    "zip",
    "zips",
    "oz",
    "ounce",
    "pound",
    "gram",
    "grams",
)

_PRICE = re.compile(
    r"(?:[$£€💲]\s?\d)|(?:\d\s?(?:\$|usd|dollars?|bucks|€|£|eur)\b)|(?:\b\d+\s?k\b)|(?:\bprice[sd]?\b)",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:g|gr|grams?|oz|ounces?|lbs?|pounds?|qp|hp|mg|ml|pills?|tabs?|bars?|carts?|"
    r"packs?|zips?|kg|kilos?|units?)\b|\b(?:ounce|quarter|half|8th|eighth|pound|zip|qp|hp|lb|per)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#[^\W_][\w]*|#_[\w]+", re.UNICODE)
# Signs that a word is disguised: letters split by separators ("x.a.n.a.x"),
# digits or symbols inside letters ("x4n4x", "md□ma"), Latin letters glued to
# letters of another script ("СОКЕ" mixed), fancy alphabets (math, fullwidth,
# circled, squared). Such texts, and texts with a drug cue or drug emoji, go
# through normalize(); plain texts are read lower-cased (their normalized view).
_SPLIT_LETTERS = re.compile(r"\b\w[.\-_*|/\\ ]\w[.\-_*|/\\ ]\w[.\-_*|/\\ ]\w\b")
_LEETY = re.compile(r"[a-z][0-9@$][a-z0-9]|[a-z0-9][0-9@$][a-z]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_LEET_BYTES = bytes.maketrans(b"0134578@$", b"oieastbas")


def _unleet(text: str) -> str:
    """``text.translate(_LEET)``; through bytes for ASCII text (several times faster)."""
    if text.isascii():
        return text.encode("ascii").translate(_LEET_BYTES).decode("ascii")
    return text.translate(_LEET)


# Look-alike attacks mix Latin with Cyrillic, Greek or accented Latin letters,
# or use masking symbols and fancy alphabets (math, fullwidth letters,
# circled, squared). CJK, Hangul or Thai next to Latin is ordinary text.
_OBFUSCATION_UNICODE = re.compile(
    r"[a-z][□■●○▪▫◆◇·•][a-z]"
    r"|[a-z][\u00C0-\u024F]|[\u00C0-\u024F][a-z]|[\u0370-\u03FF\u0400-\u04FF]"
    r"|[\U0001D400-\U0001D7FF\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u24B6-\u24E9\U0001F130-\U0001F189]",
)


def _obfuscated(text: str) -> bool:
    """Signs of a disguised word in a lower-cased text (URLs and @handles removed)."""
    if _LEETY.search(text) is not None and _matcher().has_cue(_unleet(text)):
        return True  # "x4n4x", "c0ke": a drug term once digits are read as letters
    if _SPLIT_LETTERS.search(text) is not None:
        return True
    return not text.isascii() and _OBFUSCATION_UNICODE.search(text) is not None


DENSE_FEATURES: tuple[str, ...] = (
    "drug_word",
    "drug_word_count",
    "drug_hashtag",
    "drug_any",
    "drug_labels",
    "ambiguous_drug_word",
    "contact_any",
    "contact_app",
    "contact_phone",
    "contact_email",
    "contact_url",
    "contact_payment",
    "contact_crypto",
    "contact_handle",
    "contact_shipping",
    "sale_term",
    "sale_term_count",
    "url",
    "n_hashtags",
    "drug_and_contact",
    "drug_and_app_or_phone",
    "drug_and_price",
    "drug_and_quantity",
    "drug_and_sale_term",
    "drug_and_url",
    "drug_and_offer",
    "drug_offer_score",
)
_INDEX = {name: i for i, name in enumerate(DENSE_FEATURES)}
_CONTACT_FEATURE = {
    "app_handle": "contact_app",
    "app_mention": "contact_app",
    "phone": "contact_phone",
    "email": "contact_email",
    "url": "contact_url",
    "payment": "contact_payment",
    "crypto_address": "contact_crypto",
    "instagram_handle": "contact_handle",
    "shipping": "contact_shipping",
}


def mark_offer(
    dense: np.ndarray, contacts: Sequence[Any], *, price: bool, quantity: bool, sale: bool, url: bool
) -> None:
    """Set the offer evidence next to a drug in ``dense`` (its first entries in :data:`DENSE_FEATURES`
    order): each kind of the text layer's ``contacts``, and the drug-and-contact, -messenger, -price,
    -quantity, -sale-term and -link features with the count of offer kinds."""
    contact_any = app_or_phone = False
    for contact in contacts:
        name = _CONTACT_FEATURE.get(contact.kind)
        if name is None:
            continue
        dense[_INDEX[name]] = 1.0
        if contact.kind != "url":
            contact_any = True
        if contact.kind in ("app_handle", "app_mention", "phone", "email", "instagram_handle"):
            app_or_phone = True
    dense[_INDEX["contact_any"]] = contact_any
    dense[_INDEX["drug_and_contact"]] = contact_any
    dense[_INDEX["drug_and_app_or_phone"]] = app_or_phone
    dense[_INDEX["drug_and_price"]] = price
    dense[_INDEX["drug_and_quantity"]] = quantity
    dense[_INDEX["drug_and_sale_term"]] = sale
    dense[_INDEX["drug_and_url"]] = url
    offers = int(contact_any) + int(price) + int(quantity) + int(sale)
    dense[_INDEX["drug_and_offer"]] = offers > 0
    dense[_INDEX["drug_offer_score"]] = offers / 4.0


class _Matcher:
    """Aho-Corasick over drug terms and sale terms, with word-boundary checks."""

    def __init__(self) -> None:
        import ahocorasick

        from drugwatch.lexicon import DRUG_KINDS, SALE_KINDS, load_lexicon

        self.drug = ahocorasick.Automaton()
        self.stems = ahocorasick.Automaton()  # for compound hashtags: substring match
        self.sale = ahocorasick.Automaton()
        drug_terms: dict[str, tuple[str, bool]] = {}
        sale_terms: set[str] = set(_SALE_TERMS)
        for entry in load_lexicon():
            if entry.kind in DRUG_KINDS and entry.label:
                drug_terms.setdefault(entry.term, (entry.label, entry.ambiguous))
            elif entry.kind in SALE_KINDS:
                sale_terms.add(entry.term)
        for term, label in _EXTRA_DRUG_TERMS.items():
            drug_terms.setdefault(term, (label, False))
        for term, (label, ambiguous) in drug_terms.items():
            self.drug.add_word(term, (term, label, ambiguous))
            # A stem inside a compound tag must be long and unambiguous ("weed" in
            # #orlandoweed); non-Latin terms are always whole tokens of their script.
            if not ambiguous and (len(term) >= 4 or not term.isascii()):
                self.stems.add_word(term, label)
        for term in sale_terms:
            self.sale.add_word(term, term)
        self.drug.make_automaton()
        self.emoji = _drug_emoji_pattern(set(drug_terms))
        self.stems.make_automaton()
        self.sale.make_automaton()

    @staticmethod
    def _bounded(text: str, end: int, term: str) -> bool:
        start = end - len(term) + 1
        before = text[start - 1] if start > 0 else " "
        after = text[end + 1] if end + 1 < len(text) else " "
        if not term.isascii():  # CJK/Hangul/Thai attach particles; accept inside words
            return True
        return not before.isalnum() and not after.isalnum()

    def drug_hits(self, text: str) -> list[tuple[str, str, bool]]:
        return [hit for end, hit in self.drug.iter(text) if self._bounded(text, end, hit[0])]

    def stem_labels(self, tag: str) -> set[str]:
        return {label for _, label in self.stems.iter(tag)}

    def sale_hits(self, text: str) -> int:
        return sum(1 for end, term in self.sale.iter(text) if self._bounded(text, end, term))

    def has_cue(self, text: str) -> bool:
        for end, hit in self.drug.iter(text):
            if self._bounded(text, end, hit[0]):
                return True
        if "#" in text:  # stems only count inside compound hashtags
            for _ in self.stems.iter(text):
                return True
        return False


def _drug_emoji_pattern(drug_terms: set[str]) -> re.Pattern[str] | None:
    """Emoji that normalize() turns into a drug word (🍄, ❄️, 💊 ...)."""
    try:
        from drugwatch.text.normalize import EMOJI_WORDS
    except ImportError:  # pragma: no cover
        return None
    chars = [e for e, word in EMOJI_WORDS.items() if any(w in drug_terms for w in (word, *word.split()))]
    return re.compile("|".join(re.escape(c) for c in sorted(chars, key=len, reverse=True))) if chars else None


@lru_cache(maxsize=1)
def _matcher() -> _Matcher:
    return _Matcher()


def _view(text: str, view: str) -> str:
    if view == "hashtags_only":
        return " ".join(_HASHTAG.findall(text))
    if view == "without_hashtags":
        return _HASHTAG.sub(" ", text)
    return text


def needs_text_layer(lowered: str) -> bool:
    """Whether a lower-cased text must go through ``normalize``: a drug cue, drug emoji or obfuscation."""
    matcher = _matcher()
    return (
        matcher.has_cue(lowered)
        or _obfuscated(_MENTION.sub(" ", _URL.sub(" ", lowered)) if ("@" in lowered or "/" in lowered) else lowered)
        or (matcher.emoji is not None and matcher.emoji.search(lowered) is not None)
    )


def _repair(text: str, masks: dict[str, str] | None) -> str:
    """The repaired reading of a lower-cased or normalized text (``drugwatch.selling.v2``).

    :func:`drugwatch.models.multilabel.folded_text`: leetspeak and symbols
    inside letter runs read as letters ("73l39r@m" -> "telegram"; doses and
    codes such as "2mg", "m30" kept), masked letters filled from the
    training vocabulary ("gol#en" -> "golden"), runs of spaced single
    letters joined; pill codes ("m30", "k2") and handles ("plug_7") are
    kept. ``normalize`` undoes these only for lexicon words; a classifier's
    word features need every word read back.
    """
    from drugwatch.models.multilabel import folded_text

    if _MAY_NEED_REPAIR.search(text) is None:  # no digit or symbol touching a letter, no spaced letters
        return text
    return folded_text(text, masks, keep=_keep_token)


#: What every change of :func:`_repair` needs (a cheap superset test): a digit,
#: leet symbol or mask next to a letter (any script), or three spaced single letters.
_MAY_NEED_REPAIR = re.compile(r"[^\W\d_][0-9@$!|□■●○▪◆*_#?]|[0-9@$!|□■●○▪◆*_#?][^\W\d_]|(?<!\S)[a-z] [a-z] [a-z](?!\S)")


#: Zero-width, joiner, soft-hyphen and combining characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u0300-\u036f]"
)

#: Pill and product codes ("m30", "k2", "a215") and handles ("plug_7") are not leetspeak.
_SHORT_CODE = re.compile(r"[a-z]{1,3}\d{1,4}|.*_.*")


def _keep_token(token: str) -> bool:
    return _SHORT_CODE.fullmatch(token) is not None


def text_features(
    text: str,
    view: str = "with_hashtags",
    *,
    repair: bool = False,
    masks: dict[str, str] | None = None,
    text_view: TextView | None = None,
) -> tuple[str, str, np.ndarray]:
    """``(word view, hashtag string, dense evidence vector)`` of one text.

    With ``repair`` (``drugwatch.selling.v2``) the words, hashtags and drug
    cues are read from the repaired view (:func:`_repair`); contacts are
    always read from the raw text. ``text_view`` is the text layer's reading
    of ``text`` if the caller has it; otherwise the text is read here when
    it needs the text layer.
    """
    given = text_view
    raw = _view(text, view)
    lowered = raw.lower()
    dense = np.zeros(len(DENSE_FEATURES), dtype=np.float32)
    matcher = _matcher()
    tags = [t[1:] for t in _HASHTAG.findall(lowered)] if "#" in lowered else []
    gated = needs_text_layer(lowered)
    repaired: str | None = None
    if repair and not gated:
        # invisible characters split words ("we\u200bed"): only normalize() removes them
        gated = not lowered.isascii() and _INVISIBLE.search(lowered) is not None
        if not gated:
            repaired = _repair(lowered, masks)
            gated = repaired != lowered and matcher.has_cue(repaired)
    text_view = None
    if gated:
        text_view = given if given is not None and given.raw == raw else analyze(raw)
    normalized = text_view.text if text_view is not None else lowered
    if repair:
        if text_view is not None and "#" in normalized:
            # the hashtags as normalize() reads them (invisible characters cut raw tags short)
            tags = [t[1:] for t in _HASHTAG.findall(normalized)]
        if tags:
            tags = _repair(" ".join(tags), masks).split()
        normalized = repaired if (repaired is not None and text_view is None) else _repair(normalized, masks)
    if "http" in normalized or "www." in normalized:
        without_urls = _URL.sub(" ", normalized)
    else:
        without_urls = normalized
    if not gated:  # no drug cue in a plain text: only the cheap features
        sale = matcher.sale_hits(without_urls)
        dense[_INDEX["sale_term"]] = sale > 0
        dense[_INDEX["sale_term_count"]] = np.log1p(sale)
        dense[_INDEX["url"]] = without_urls is not normalized
        dense[_INDEX["n_hashtags"]] = np.log1p(len(tags)) / 3.0
        return without_urls, " ".join(tags), dense
    hits = matcher.drug_hits(without_urls)
    firm = [h for h in hits if not h[2]]
    tag_labels: set[str] = set()
    for tag in tags:
        tag_labels |= matcher.stem_labels(tag)
    labels = {h[1] for h in firm} | tag_labels
    drug_word = bool(firm)
    drug_any = drug_word or bool(tag_labels)
    dense[_INDEX["drug_word"]] = drug_word
    dense[_INDEX["drug_word_count"]] = np.log1p(len(firm))
    dense[_INDEX["drug_hashtag"]] = bool(tag_labels)
    dense[_INDEX["drug_any"]] = drug_any
    dense[_INDEX["drug_labels"]] = np.log1p(len(labels))
    dense[_INDEX["ambiguous_drug_word"]] = any(h[2] for h in hits)
    sale = matcher.sale_hits(without_urls)
    url = "http" in lowered or "www." in lowered
    dense[_INDEX["sale_term"]] = sale > 0
    dense[_INDEX["sale_term_count"]] = np.log1p(sale)
    dense[_INDEX["url"]] = url
    dense[_INDEX["n_hashtags"]] = np.log1p(len(tags)) / 3.0
    if not drug_any:
        # Without a drug there is no offer of one: the offer evidence (prices,
        # quantities, contacts) is only read next to a drug. This also keeps the
        # slow part of the text layer (contacts) off most events.
        return without_urls, " ".join(tags), dense
    price = _PRICE.search(normalized) is not None
    quantity = _QUANTITY.search(without_urls) is not None
    # a drug cue implies the text layer read the text (gated)
    mark_offer(dense, text_view.contacts, price=price, quantity=quantity, sale=sale > 0, url=url)  # type: ignore[union-attr]
    return without_urls, " ".join(tags), dense


_WORD = re.compile(r"(?u)\b\w\w+\b|[$💲]")


@saved_state
def _words_and_bigrams(doc: str) -> list[str]:
    tokens = _WORD.findall(doc)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


@saved_state
class _FastTfidf:
    """tf-idf with scikit-learn's fit and a faster transform for one fixed analyzer.

    ``fit`` is :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
    (sublinear tf, smooth idf, l2 rows); ``transform`` computes the same
    matrix with dictionary lookups instead of exceptions for unknown terms
    (most bigrams of a new text are unknown), which roughly halves the cost.
    """

    def __init__(self, analyzer, min_df: int, *, per_word: bool = False):
        self.analyzer = analyzer
        self.min_df = min_df
        #: The analyzer's terms of a document are the concatenation of its
        #: words' terms (``char_wb``): ``transform`` then caches each word's
        #: vocabulary ids instead of looking its n-grams up every time.
        self.per_word = per_word

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_word_ids", None)  # a cache, rebuilt on use
        return state

    def fit_transform(self, docs: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=self.analyzer, min_df=self.min_df, sublinear_tf=True, dtype=np.float32)
        try:
            X = vectorizer.fit_transform(docs)
        except ValueError:  # empty vocabulary (e.g. a tiny corpus without hashtags)
            self.vocabulary_ = {}
            self.idf_ = np.zeros(0, dtype=np.float32)
            return sp.csr_matrix((len(docs), 0), dtype=np.float32)
        self.vocabulary_ = dict(vectorizer.vocabulary_)
        self.idf_ = vectorizer.idf_.astype(np.float32)
        return X

    def transform(self, docs: list[str]):
        cache = None
        if getattr(self, "per_word", False):  # models saved before the option read per document
            cache = self.__dict__.get("_word_ids")
            if cache is None:
                cache = self.__dict__["_word_ids"] = WordIdCache(self.analyzer, self.vocabulary_)
        return tfidf_transform(docs, self.analyzer, self.vocabulary_, self.idf_, word_cache=cache)


#: scikit-learn's ``char_wb`` 2-5-grams (``lowercase=False``), written out: the same terms
#: without importing scikit-learn to predict.
_CHAR_WB = char_wb_analyzer((2, 5))


@lru_cache(maxsize=65536)
def _word_char_ngrams(word: str) -> tuple[str, ...]:
    return tuple(_CHAR_WB(word))


#: Words longer than this get their n-grams computed every time: the cache
#: keeps 65,536 words with four n-grams per character each, and a few long
#: words must not fill memory (real hashtags are far shorter).
_CACHED_WORD_MAX_CHARS = 64


@saved_state
def _tag_ngrams(doc: str) -> list[str]:
    """scikit-learn's ``char_wb`` 2-5-grams of ``doc``: they are taken word by
    word, so each hashtag's n-grams are computed once (tags repeat)."""
    out: list[str] = []
    for word in doc.split():
        if len(word) <= _CACHED_WORD_MAX_CHARS:
            out.extend(_word_char_ngrams(word))
        else:
            out.extend(_CHAR_WB(word))
    return out


@saved_state
def _split_words(doc: str) -> list[str]:
    return doc.split()


@register("drugwatch.selling.v1")
class SellingDetector(Detector):
    """Our selling detector: text layer evidence + tf-idf, calibrated logistic regression."""

    task: ClassVar[Task] = "selling"
    reads_views = True
    weights_format = "npz"
    description = (
        "drugwatch selling detector: word tf-idf + hashtag character n-grams + text-layer evidence "
        "(drug terms, contacts, prices, quantities, sale terms and their conjunctions), class-balanced "
        "logistic regression, sigmoid calibration and an F1-optimal threshold chosen by grouped CV "
        "inside the training data."
    )
    _parameter_constraints = {
        "variant": [Options(VIEWS)],
        "C": [Interval(float, 0, None, closed="neither")],
        "dense_weight": [Interval(float, 0, None)],
        "word_weight": [Interval(float, 0, None)],
        "tag_weight": [Interval(float, 0, None)],
        "min_df": [Interval(int, 1, None)],
        "inner_folds": [Interval(int, 2, None)],
        "repair": [Options((False, True))],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        variant: str = "with_hashtags",
        C: float = 1.0,
        dense_weight: float = 2.0,
        word_weight: float = 1.0,
        tag_weight: float = 1.0,
        min_df: int = 2,
        inner_folds: int = 3,
        repair: bool = False,
        seed: int = 0,
    ):
        self.variant = variant
        self.C = C
        self.dense_weight = dense_weight
        self.word_weight = word_weight
        self.tag_weight = tag_weight
        self.min_df = min_df
        self.inner_folds = inner_folds
        self.repair = repair
        self.seed = seed

    # -- features ---------------------------------------------------------------

    def _views(
        self, events: Sequence[Event], views: Sequence[TextView] | None = None
    ) -> tuple[list[str], list[str], np.ndarray]:
        words, tags, dense = [], [], np.zeros((len(events), len(DENSE_FEATURES)), dtype=np.float32)
        repair = getattr(self, "repair", False)  # models saved before the option did not repair
        masks = getattr(self, "masks_", None) if repair else None
        for i, event in enumerate(events):
            w, t, d = text_features(
                event.text, self.variant, repair=repair, masks=masks, text_view=None if views is None else views[i]
            )
            words.append(w)
            tags.append(t)
            dense[i] = d
        return words, tags, dense

    def _vectorizers(self, n_docs: int) -> tuple[_FastTfidf, _FastTfidf]:
        min_df = self.min_df if n_docs >= 10 * self.min_df else 1
        return _FastTfidf(_words_and_bigrams, min_df), _FastTfidf(_tag_ngrams, min_df, per_word=True)

    def _stack(self, word_X, tag_X, dense: np.ndarray):
        return sp.hstack(
            [word_X * self.word_weight, tag_X * self.tag_weight, sp.csr_matrix(dense * self.dense_weight)],
            format="csr",
        )

    def _fit_linear(self, words, tags, dense, y) -> tuple[_FastTfidf, _FastTfidf, Any]:
        from sklearn.linear_model import LogisticRegression

        word_vec, tag_vec = self._vectorizers(len(words))
        word_X = word_vec.fit_transform(words)
        tag_X = tag_vec.fit_transform(tags)
        model = LogisticRegression(
            C=self.C, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=self.seed
        )
        model.fit(self._stack(word_X, tag_X, dense), y)
        return word_vec, tag_vec, model

    def _scores(self, word_vec, tag_vec, model, words, tags, dense) -> np.ndarray:
        return model.decision_function(self._stack(word_vec.transform(words), tag_vec.transform(tags), dense))

    # -- fit / predict ------------------------------------------------------------

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedGroupKFold

        from drugwatch.evaluation.metrics import best_f1_threshold
        from drugwatch.evaluation.splits import group_of

        if self.repair:
            # masked letters are filled from the training texts' own words
            from drugwatch.models.multilabel import mask_index

            self.masks_ = mask_index([_view(e.text, self.variant).lower() for e in events])
        words, tags, dense = self._views(events)
        groups = np.array([group_of(e) for e in events])
        oof = np.full(len(events), np.nan)
        n_pos_groups = len(set(groups[y == 1]))
        n_folds = min(self.inner_folds, n_pos_groups, int(np.bincount(y).min()))
        if n_folds >= 2:
            splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=self.seed)
            for train_idx, test_idx in splitter.split(np.zeros(len(y)), y, groups):
                if len(np.unique(y[train_idx])) < 2:
                    continue
                sub = [words[i] for i in train_idx], [tags[i] for i in train_idx], dense[train_idx]
                fitted = self._fit_linear(*sub, y[train_idx])
                oof[test_idx] = self._scores(
                    *fitted, [words[i] for i in test_idx], [tags[i] for i in test_idx], dense[test_idx]
                )
        self.word_vectorizer_, self.tag_vectorizer_, self.model_ = self._fit_linear(words, tags, dense, y)
        known = ~np.isnan(oof)
        if known.sum() and len(np.unique(y[known])) == 2:
            scores, targets = oof[known], y[known]
            self.calibration_source_ = "inner grouped CV"
        else:  # too few groups to cross-validate: calibrate on the training scores
            scores = self._scores(self.word_vectorizer_, self.tag_vectorizer_, self.model_, words, tags, dense)
            targets = y
            self.calibration_source_ = "training scores (too few groups for inner CV)"
        self.calibrator_ = LogisticRegression(C=1e4, solver="lbfgs").fit(scores.reshape(-1, 1), targets)
        calibrated = self.calibrator_.predict_proba(scores.reshape(-1, 1))[:, 1]
        threshold, f1 = best_f1_threshold(targets, calibrated)
        self.threshold_ = float(threshold)
        self.inner_f1_ = float(f1)
        self.inner_folds_used_ = int(n_folds if known.any() else 0)

    def _predict_proba(self, events: list[Event], views: Sequence[TextView] | None = None) -> np.ndarray:
        words, tags, dense = self._views(events, views)
        X = self._stack(self.word_vectorizer_.transform(words), self.tag_vectorizer_.transform(tags), dense)
        # LogisticRegression.decision_function and the calibrator's
        # predict_proba, written out: the same numbers without two rounds of
        # scikit-learn input checks per call (most of the cost of one event).
        scores = np.asarray(X @ self.model_.coef_.ravel()).ravel() + self.model_.intercept_[0]
        z = scores * self.calibrator_.coef_[0, 0] + self.calibrator_.intercept_[0]
        return 1.0 / (1.0 + np.exp(-z))

    def _learned_state(self) -> dict[str, Any]:
        """The learned state with the two logistic regressions kept as their coefficients and intercepts
        (:class:`~drugwatch.models.tfidf_fast.LinearModel`: what prediction reads)."""
        state = super()._learned_state()
        for key in ("model_", "calibrator_"):
            if key in state:
                state[key] = freeze_linear(state[key])
        return state

    @property
    def vocabulary_(self) -> dict[str, int]:
        """Word and hashtag n-gram vocabularies (hashtag n-grams prefixed ``tag:``)."""
        vocab = dict(getattr(self.word_vectorizer_, "vocabulary_", {}))
        vocab.update({f"tag:{k}": v for k, v in getattr(self.tag_vectorizer_, "vocabulary_", {}).items()})
        return vocab

    def evidence_weights(self) -> dict[str, float]:
        """Learned weight of each dense evidence feature (for the model card and error analysis)."""
        coef = self.model_.coef_.ravel()[-len(DENSE_FEATURES) :] * self.dense_weight
        return {name: float(w) for name, w in zip(DENSE_FEATURES, coef)}

    def _extra_config(self) -> dict[str, Any]:
        weights = self.evidence_weights()
        top = sorted(weights.items(), key=lambda kv: -abs(kv[1]))[:8]
        return {
            "word_vocabulary_size": len(getattr(self.word_vectorizer_, "vocabulary_", {})),
            "hashtag_ngram_vocabulary_size": len(getattr(self.tag_vectorizer_, "vocabulary_", {})),
            "calibration": f"sigmoid on {self.calibration_source_}",
            "inner_cv_f1_at_threshold": self.inner_f1_,
            "top_evidence_weights": ", ".join(f"{k} {v:+.2f}" for k, v in top),
        }


@register("drugwatch.selling.v2")
class RobustSellingDetector(SellingDetector):
    """``drugwatch.selling.v1`` reading words, hashtags and drug cues through the repaired view."""

    description = SellingDetector.description + (
        " Words, hashtags and drug cues are read through a repaired view (leetspeak and symbols inside "
        "words read as letters, masked letters filled from the training vocabulary), so disguised "
        "adverts keep their features."
    )

    def __init__(
        self,
        *,
        variant: str = "with_hashtags",
        C: float = 1.0,
        dense_weight: float = 2.0,
        word_weight: float = 1.0,
        tag_weight: float = 1.0,
        min_df: int = 2,
        inner_folds: int = 3,
        repair: bool = True,
        seed: int = 0,
    ):
        super().__init__(
            variant=variant,
            C=C,
            dense_weight=dense_weight,
            word_weight=word_weight,
            tag_weight=tag_weight,
            min_df=min_df,
            inner_folds=inner_folds,
            repair=repair,
            seed=seed,
        )


@register("drugwatch.tfidf_lr.v1")
class TfidfLogReg(Detector):
    """Reference: word tf-idf (1-2 grams) on the raw text + logistic regression, threshold 0.5."""

    task: ClassVar[Task] = "selling"
    description = "Reference baseline: word tf-idf (uni+bigrams) on raw text, logistic regression."
    _parameter_constraints = {
        "C": [Interval(float, 0, None, closed="neither")],
        "min_df": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(self, *, C: float = 1.0, min_df: int = 1, seed: int = 0):
        self.C = C
        self.min_df = min_df
        self.seed = seed

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), min_df=self.min_df, sublinear_tf=True, dtype=np.float32)
        X = self.vectorizer_.fit_transform([e.text for e in events])
        self.model_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed).fit(X, y)

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        return self.model_.predict_proba(self.vectorizer_.transform([e.text for e in events]))[:, 1]

    @property
    def vocabulary_(self) -> dict[str, int]:
        return self.vectorizer_.vocabulary_


__all__ = ["DENSE_FEATURES", "SellingDetector", "TfidfLogReg", "needs_text_layer", "text_features"]
