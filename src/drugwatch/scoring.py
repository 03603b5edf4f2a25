"""Score events with saved detectors: the one core behind ``drugwatch scan`` and the REST API.

An :class:`EventScorer` loads detectors once (model directories written by
:meth:`drugwatch.models.base.Detector.save`) and turns a batch of
:class:`~drugwatch.records.Event` into :class:`EventResult` records: the
selling probability and label, the 10 drug-type probabilities and labels,
the contacts (caption and, with OCR, images), lexicon hits, hashtags and the
normalized text, and which models (name, version, training fingerprint)
produced the numbers.

>>> scorer = EventScorer.from_directories(["runs/demo/models/selling"])  # doctest: +SKIP
>>> [r.selling for r in scorer.score(events)]                            # doctest: +SKIP

The default detectors live in ``$DRUGWATCH_HOME/models/`` (``selling/`` with
``drugwatch.selling.v4`` and ``drugtype/`` with ``drugwatch.drugtype.v3``);
:func:`train_default_detectors` writes them, :meth:`EventScorer.default`
reads them.

A result depends only on its own event and the models, never on the other
events of the batch, so scoring in any batch size or on any worker gives the
same numbers (the scan's Ray engine relies on it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from drugwatch.labels import LABELS
from drugwatch.models.base import CONFIG_FILE, Detector, ModelLoadError
from drugwatch.paths import data_home
from drugwatch.records import Event, ImageRef, Provenance
from drugwatch.text.analyze import TextView, analyze_many
from drugwatch.text.hashtags import analyze_hashtag
from drugwatch.vision.image_scoring import VisionResult, image_scorer_for

if TYPE_CHECKING:
    from drugwatch.vision.ocr import OcrEngine

__all__ = [
    "DEFAULT_DETECTORS",
    "ContactHit",
    "EventResult",
    "EventScorer",
    "HashtagHit",
    "LexiconMatch",
    "ModelInfo",
    "buy_intent",
    "default_models_dir",
    "lexicon_fingerprint",
    "train_default_detectors",
]

#: The default fast detectors and the sub-directory each is saved in.
DEFAULT_DETECTORS: dict[str, str] = {
    "selling": "drugwatch.selling.v4",
    "drugtype": "drugwatch.drugtype.v3",
}

#: Parameters :func:`train_default_detectors` gives a default detector: it learns from the
#: events it is given only (``drugwatch.selling.v4``'s v3 part would otherwise add the bench
#: kit's darknet listings, which a demo or a user's own corpus does not have beside it).
TRAINING_PARAMS: dict[str, dict[str, Any]] = {"drugwatch.selling.v4": {"pool": "none"}}

#: Tasks a scan applies (``drug_image``: an image model, see :mod:`drugwatch.vision.image_scoring`).
SCAN_TASKS = frozenset({"selling", "drugtype", "drug_image"})

#: Version of the :class:`EventResult` layout; bump when fields change meaning.
RESULT_FORMAT = 1

#: Which events get a ``language`` (:func:`drugwatch.text.language.detect_language`,
#: about 0.3 ms per text after loading py3langid's model once per process, about 0.9 s):
#: ``"flagged"`` the events the selling detector marks or sends to review, ``"all"`` every
#: event, ``"none"`` no event.
LANGUAGE_POLICIES = ("flagged", "all", "none")


def lexicon_fingerprint() -> str:
    """The fingerprint of the lexicon the text layer reads (built-in files and any user lexicon), as
    :meth:`drugwatch.lexicon.Lexicon.fingerprint` gives it: scan results record it beside the models."""
    from drugwatch.lexicon import load_lexicon

    return load_lexicon().fingerprint()


def default_models_dir() -> Path:
    """``$DRUGWATCH_HOME/models`` (see :func:`drugwatch.paths.data_home`)."""
    return data_home() / "models"


# ---------------------------------------------------------------------------
# Result records


def _ordered(value: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """``value`` with the record's field order first, then any other keys sorted (stable JSON bytes)."""
    known = [name for name in fields if name in value]
    return {**{name: value[name] for name in known}, **{k: value[k] for k in sorted(value) if k not in known}}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_M = TypeVar("_M", bound=BaseModel)


def trusted_model(cls: type[_M], fields: dict[str, Any], fields_set: set[str] | None = None) -> _M:
    """A ``cls`` holding ``fields`` as they are: every field, in declaration order, already of its type.

    For records built from values that are already valid (the scorer's
    results from the text layer's typed objects, the scan's plain events):
    no validation and none of ``model_construct``'s per-field default lookup.
    ``fields_set`` is what validation would record as given (default: all).
    Building the ~2.6 models of an event this way instead of with
    ``model_construct`` cut the scan's result building by a third (0.67 to
    0.46 CPU-s per 6,000 events, same-process A/B).
    ``tests/test_scan_fast_paths.py`` holds the results equal to validated ones.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields) if fields_set is None else fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class ModelInfo(_Frozen):
    """Which saved model produced a score."""

    name: str  #: registry name, e.g. ``drugwatch.selling.v1``
    version: int
    task: str
    #: SHA-256 fingerprint of the training data (ids, texts, targets), from config.json.
    fingerprint: str | None = None
    saved_at: str | None = None
    threshold: float | None = None
    #: Lower end of the model's "needs review" band (``[review_threshold, threshold)``), for
    #: detectors that have one (``drugwatch.selling.v3`` and ``v4``); left out of dumps when ``None``.
    review_threshold: float | None = None

    def dump(self) -> dict[str, Any]:
        """``model_dump()`` without ``review_threshold`` when it is ``None`` (the bytes of models without a band)."""
        data = self.model_dump()
        if data["review_threshold"] is None:
            del data["review_threshold"]
        return data


#: A contact card's phone number is read up to this many characters (a
#: number is at most about 20; the rest of an oversized field is not a phone).
_CARD_PHONE_CHARS = 64


class ContactHit(_Frozen):
    """A contact found in the caption (``source="text"``), in an image's OCR text, or in a shared contact card.

    ``source="contact_card"``: the phone number of a contact card the event
    shares (Telegram keeps it in ``meta["contact"]["phone_number"]``, outside
    the text); its span is in that number.
    """

    kind: str
    app: str | None
    value: str
    source: Literal["text", "image", "contact_card"] = "text"
    start: int  #: span in the raw caption, in that image's OCR text, or in the card's phone number
    end: int
    obfuscated: bool = False
    image_index: int | None = None
    image_sha256: str | None = None


class LexiconMatch(_Frozen):
    """A lexicon term in the text; ``label`` is ``None`` for sale/transaction/shipping terms."""

    term: str
    label: str | None
    kind: str
    start: int  #: span in the raw text (what an analyst sees highlighted)
    end: int
    in_hashtag: bool = False


class HashtagHit(_Frozen):
    """A hashtag with its JMIR category (``drug_name``, ``codeword``, ``sale``, ``other``)."""

    tag: str
    kind: str
    labels: tuple[str, ...] = ()
    start: int | None = None  #: span in the raw text; ``None`` for a tag listed only in ``event.hashtags``
    end: int | None = None


class EventResult(_Frozen):
    """Everything the scan knows about one event. JSON-serializable (``model_dump(mode="json")``)."""

    format: int = RESULT_FORMAT
    key: str
    id: str
    platform: str
    kind: str
    parent_id: str | None = None
    post_id: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    text: str
    normalized_text: str
    ocr_text: str | None = None
    #: Probability that the event offers drugs for sale (JMIR's dealer post), if a selling model ran.
    selling_probability: float | None = None
    selling: bool | None = None
    #: One probability per label of :data:`drugwatch.labels.LABELS`, if a drug-type model ran.
    drug_probabilities: dict[str, float] | None = None
    drug_labels: tuple[str, ...] | None = None
    #: Drug labels named in the text by the lexicon or drug hashtags (no model needed).
    lexicon_labels: tuple[str, ...] = ()
    lexicon_hits: tuple[LexiconMatch, ...] = ()
    hashtags: tuple[HashtagHit, ...] = ()
    contacts: tuple[ContactHit, ...] = ()
    #: The text asks to buy (JMIR's "offer to buy" in a thread).
    buy_intent: bool = False
    images: tuple[dict[str, Any], ...] = ()
    provenance: dict[str, Any] | None = None
    #: Labels the input already carried (annotation or generator truth), for comparison.
    annotated_labels: tuple[str, ...] | None = None
    annotated_selling: bool | None = None
    models: tuple[ModelInfo, ...] = ()
    #: Per-image probabilities and the fused text + image decision, when a loaded model reads images
    #: (:mod:`drugwatch.vision.image_scoring`); left out of the JSON when ``None``.
    vision: VisionResult | None = None
    #: The selling probability lies in the model's "needs review" band (at least its review
    #: threshold, below its threshold): a person should look. ``None`` (left out of the JSON)
    #: when no selling model ran or the model has no band.
    selling_review: bool | None = None
    #: ISO 639-1 code of the text's language (:func:`drugwatch.text.language.detect_language`), for
    #: the events the scorer's ``language`` policy covers; ``None`` (left out of the JSON) otherwise
    #: or when the text has too few letters to tell.
    language: str | None = None

    @field_validator("drug_probabilities")
    @classmethod
    def _label_order(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        # Stores may hand JSON objects back in another key order (PostgreSQL JSONB does).
        if value is None:
            return None
        if set(value) != set(LABELS):
            raise ValueError(f"drug_probabilities must have exactly the labels {', '.join(LABELS)}")
        return {label: float(value[label]) for label in LABELS}

    @field_validator("provenance")
    @classmethod
    def _provenance_order(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _ordered(value, Provenance.model_fields)

    @field_validator("images")
    @classmethod
    def _image_order(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        return tuple(_ordered(image, ImageRef.model_fields) for image in value)

    def to_json(self, *, models: bool = True) -> str:
        """One compact JSON line (key order fixed, so equal results give equal bytes).

        ``models=False`` leaves out :attr:`models`, for files that record them
        once in a header line (:class:`drugwatch.scan.sinks.JsonlSink`).
        """
        exclude = set() if models else {"models"}
        # fields added to the layout are left out while unset, so earlier results keep their bytes
        for name in _OPTIONAL_FIELDS:
            if getattr(self, name) is None:
                exclude.add(name)
        data = self.model_dump(mode="json", exclude=exclude or None)
        for info in data.get("models", ()):
            if info.get("review_threshold", 0.0) is None:
                del info["review_threshold"]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str | bytes) -> EventResult:
        return cls.model_validate_json(line)


#: :class:`EventResult` fields left out of its JSON while ``None``.
_OPTIONAL_FIELDS = ("vision", "selling_review", "language")


# ---------------------------------------------------------------------------
# Buy intent (JMIR: a thread with an offer to sell and an offer to buy)

_BUY = re.compile(
    r"\b(?:wtb|want(?:ing)? to (?:buy|get|cop)|looking (?:for|to (?:buy|get|cop))|where (?:can|do) i "
    r"(?:get|buy|find|cop)|(?:can|could) i (?:get|buy|order|cop)|how (?:can|do) i (?:order|buy|get)|"
    r"how much (?:for|is|are)|price\s*\?|anyone (?:selling|got|have)|who(?:'s| is)? (?:selling|got)|"
    r"need (?:some|a plug|a connect)|hook me up|do you (?:ship|deliver|have)|u (?:ship|deliver)|"
    r"(?:still )?available\s*\?|in stock\s*\?|plug\s*\?|dm me (?:the )?price)",
    re.IGNORECASE,
)


def buy_intent(text: str) -> bool:
    """Whether ``text`` asks to buy ("where can I get", "wtb", "how much for", "do you ship?")."""
    return bool(_BUY.search(text))


# ---------------------------------------------------------------------------
# Scorer


@dataclass(frozen=True)
class _Loaded:
    detector: Detector
    info: ModelInfo
    path: Path | None


def _model_info(detector: Detector, config: dict[str, Any] | None) -> ModelInfo:
    config = config or {}
    training = config.get("training_data") or getattr(detector, "training_data_", None) or {}
    return ModelInfo(
        name=detector.name,
        version=int(detector.version),
        task=detector.task,
        fingerprint=training.get("fingerprint"),
        saved_at=config.get("saved_at"),
        threshold=float(detector.threshold_) if hasattr(detector, "threshold_") else None,
        review_threshold=_review_threshold(detector),
    )


def _review_threshold(detector: Detector) -> float | None:
    """The lower end of ``detector``'s review band, when it has one (``needs_review`` and ``threshold_review_``)."""
    if not callable(getattr(detector, "needs_review", None)):
        return None
    value = getattr(detector, "threshold_review_", None)
    return None if value is None else float(value)


class EventScorer:
    """Detectors loaded once, applied to batches of events.

    At most one detector per task: ``selling`` (binary), ``drugtype``
    (10 labels) and ``drug_image`` (an image model); a detector of another
    task is refused. When a detector reads images, each result also gets
    :class:`~drugwatch.vision.image_scoring.VisionResult` (``vision``).
    With an ``ocr`` engine the images' text is read too: its contacts join
    the caption's (``source="image"``) and ``ocr_text`` is set.
    Scoring is pure: the same event and models give the same result in any
    batch.
    """

    def __init__(
        self,
        detectors: Sequence[Detector] = (),
        *,
        ocr: OcrEngine | None = None,
        language: str = "flagged",
        _paths: Sequence[Path | None] | None = None,
        _configs: Sequence[dict[str, Any] | None] | None = None,
    ):
        if language not in LANGUAGE_POLICIES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGE_POLICIES)}; got {language!r}")
        loaded: list[_Loaded] = []
        tasks: set[str] = set()
        paths = list(_paths) if _paths is not None else [None] * len(detectors)
        configs = list(_configs) if _configs is not None else [None] * len(detectors)
        for detector, path, config in zip(detectors, paths, configs):
            if not isinstance(detector, Detector):
                raise TypeError(f"EventScorer expects fitted Detector objects, got {type(detector).__name__}")
            if detector.task not in SCAN_TASKS:
                raise ValueError(
                    f"a scan cannot apply {detector.name} (task {detector.task!r}): it applies selling, drugtype "
                    "and drug_image models"
                )
            if detector.task in tasks:
                raise ValueError(
                    f"two {detector.task!r} detectors given ({detector.name}); a scan runs at most one "
                    "selling, one drugtype and one drug_image detector"
                )
            tasks.add(detector.task)
            loaded.append(_Loaded(detector, _model_info(detector, config), path))
        self._loaded = loaded
        self.ocr = ocr
        self.language = language
        self.vision = image_scorer_for([item.detector for item in loaded])

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_directories(
        cls, directories: Iterable[str | Path], *, ocr: OcrEngine | None = None, language: str = "flagged"
    ) -> EventScorer:
        """Load each model directory with :meth:`Detector.load`."""
        detectors, paths, configs = [], [], []
        for directory in directories:
            path = Path(directory)
            detectors.append(Detector.load(path))
            paths.append(path)
            configs.append(json.loads((path / CONFIG_FILE).read_text(encoding="utf-8")))
        if not detectors:
            raise ValueError("no model directory given")
        return cls(detectors, ocr=ocr, language=language, _paths=paths, _configs=configs)

    @classmethod
    def default(
        cls, models_dir: str | Path | None = None, *, ocr: OcrEngine | None = None, language: str = "flagged"
    ) -> EventScorer:
        """The default fast detectors from ``models_dir`` (default ``$DRUGWATCH_HOME/models``)."""
        root = Path(models_dir) if models_dir else default_models_dir()
        found = [root / sub for sub in DEFAULT_DETECTORS if (root / sub / CONFIG_FILE).is_file()]
        if not found:
            raise ModelLoadError(
                f"no default detectors in {root} (expected {', '.join(DEFAULT_DETECTORS)}/config.json); "
                "run `drugwatch demo` to train them on the demo corpus, or pass --model DIR"
            )
        return cls.from_directories(found, ocr=ocr, language=language)

    # -- facts ------------------------------------------------------------------

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return tuple(item.info for item in self._loaded)

    @property
    def model_paths(self) -> tuple[Path | None, ...]:
        return tuple(item.path for item in self._loaded)

    def identity(self) -> dict[str, Any]:
        """What decides the results (for checkpoints): models, the lexicon, whether OCR runs, the language policy."""
        return {
            "models": [m.dump() for m in self.models],
            "lexicon": lexicon_fingerprint(),
            "ocr": None if self.ocr is None else self.ocr.ocr_id,
            "language": self.language,
        }

    def _detector(self, task: str) -> _Loaded | None:
        for item in self._loaded:
            if item.detector.task == task:
                return item
        return None

    # -- scoring ----------------------------------------------------------------

    def score(self, events: Sequence[Event]) -> list[EventResult]:
        """One :class:`EventResult` per event, in order."""
        events = list(events)
        if not events:
            return []
        for event in events:
            if not isinstance(event, Event):
                raise TypeError(f"EventScorer.score expects Event objects, got {type(event).__name__}")
        # The text layer reads each event once, in batches; the detectors that
        # read text consume these views, and the results are built from them.
        views = analyze_many([event.text for event in events])
        selling = self._detector("selling")
        drugtype = self._detector("drugtype")
        sell_p = sell_y = review = None
        if selling is not None:
            sell_proba = selling.detector.predict_proba(events, views=views)
            sell_p = sell_proba[:, 1]
            sell_y = selling.detector.decide(sell_proba).astype(bool)
            if selling.info.review_threshold is not None:
                review = selling.detector.needs_review(sell_proba).astype(bool)  # type: ignore[attr-defined]
        drug_p = drug_y = None
        if drugtype is not None:
            drug_p = drugtype.detector.predict_proba(events, views=views)
            drug_y = drugtype.detector.decide(drug_p)
        vision: Sequence[VisionResult | None] = [None] * len(events)
        if self.vision is not None:
            vision = self.vision.score(
                events, selling_proba=sell_p, selling_decision=sell_y, drug_proba=drug_p, drug_decision=drug_y
            )
        models = self.models
        # Plain Python numbers, converted once per batch (``tolist`` gives the same floats as ``float()``).
        sell_ps = [None] * len(events) if sell_p is None else sell_p.tolist()
        sell_ys = [None] * len(events) if sell_y is None else sell_y.tolist()
        drug_ps = [None] * len(events) if drug_p is None else drug_p.tolist()
        drug_ys = [None] * len(events) if drug_y is None else drug_y.tolist()
        reviews = [None] * len(events) if review is None else review.tolist()
        languages = self._languages(events, sell_ys, reviews)
        return [
            self._result(
                event,
                views[i],
                models,
                sell_ps[i],
                sell_ys[i],
                drug_ps[i],
                drug_ys[i],
                vision[i],
                reviews[i],
                languages[i],
            )
            for i, event in enumerate(events)
        ]

    def _languages(
        self, events: Sequence[Event], selling: Sequence[bool | None], review: Sequence[bool | None]
    ) -> list[str | None]:
        """Each event's language under :attr:`language` (``None`` where the policy does not cover it)."""
        if self.language == "none":
            return [None] * len(events)
        if self.language == "all":
            chosen = list(range(len(events)))
        else:
            chosen = [i for i in range(len(events)) if selling[i] or review[i]]
        out: list[str | None] = [None] * len(events)
        if chosen:
            from drugwatch.text.language import detect_languages

            for i, code in zip(chosen, detect_languages(events[i].text for i in chosen)):
                out[i] = code
        return out

    def _result(
        self,
        event: Event,
        view: TextView,
        models: tuple[ModelInfo, ...],
        sell_p: float | None,
        sell_y: bool | None,
        drug_p: list[float] | None,
        drug_y: list[Any] | None,
        vision: VisionResult | None = None,
        review: bool | None = None,
        language: str | None = None,
    ) -> EventResult:
        # Results are built from the text layer's typed objects and the event's
        # validated fields, so the models are built without validation
        # (:func:`trusted_model`, every field in declaration order). The field
        # validators' orderings are applied here instead (see EventResult).
        contacts = [
            trusted_model(
                ContactHit,
                {
                    "kind": c.kind,
                    "app": c.app,
                    "value": c.value,
                    "source": "text",
                    "start": c.raw_start,
                    "end": c.raw_end,
                    "obfuscated": c.obfuscated,
                    "image_index": None,
                    "image_sha256": None,
                },
            )
            for c in view.contacts
        ]
        card = event.meta.get("contact")
        if isinstance(card, dict) and isinstance(card.get("phone_number"), str):
            from drugwatch.text.contacts import find_contacts

            contacts.extend(
                ContactHit(
                    kind=c.kind,
                    app=c.app,
                    value=c.value,
                    source="contact_card",
                    start=c.raw_start,
                    end=c.raw_end,
                    obfuscated=c.obfuscated,
                )
                for c in find_contacts(card["phone_number"][:_CARD_PHONE_CHARS])
                if c.kind == "phone"
            )
        ocr_text = None
        if self.ocr is not None and event.images:
            from drugwatch.text.contacts import find_contacts
            from drugwatch.vision.ocr import event_ocr_results, join_ocr_texts

            results = event_ocr_results(event, self.ocr)
            ocr_text = join_ocr_texts(results)
            for index, ocr in enumerate(results):
                if ocr.text:
                    contacts.extend(
                        ContactHit(
                            kind=c.kind,
                            app=c.app,
                            value=c.value,
                            source="image",
                            start=c.raw_start,
                            end=c.raw_end,
                            obfuscated=c.obfuscated,
                            image_index=index,
                            image_sha256=ocr.sha256,
                        )
                        for c in find_contacts(ocr.text)
                    )
        tags = [
            trusted_model(
                HashtagHit,
                {
                    "tag": h.tag,
                    "kind": h.analysis.kind,
                    "labels": tuple(sorted(h.analysis.labels)),
                    "start": h.raw_start,
                    "end": h.raw_end,
                },
            )
            for h in view.hashtags
        ]
        if event.hashtags:
            seen = {t.tag for t in tags}
            for tag in event.hashtags:
                if tag not in seen:
                    analysis = analyze_hashtag(tag)
                    tags.append(HashtagHit(tag=tag, kind=analysis.kind, labels=tuple(sorted(analysis.labels))))
                    seen.add(tag)
        provenance = event.provenance
        return trusted_model(
            EventResult,
            {
                "format": RESULT_FORMAT,
                "key": event.key,
                "id": event.id,
                "platform": event.platform,
                "kind": event.kind,
                "parent_id": event.parent_id,
                "post_id": event.post_id,
                "author": event.author,
                "created_at": event.created_at,
                "text": event.text,
                "normalized_text": view.text,
                "ocr_text": ocr_text,
                "selling_probability": sell_p,
                "selling": sell_y,
                "drug_probabilities": None if drug_p is None else dict(zip(LABELS, drug_p)),
                "drug_labels": None if drug_y is None else tuple(lab for lab, on in zip(LABELS, drug_y) if on),
                "lexicon_labels": view.labels,
                "lexicon_hits": tuple(
                    trusted_model(
                        LexiconMatch,
                        {
                            "term": h.term,
                            "label": h.label,
                            "kind": h.kind,
                            "start": h.raw_start,
                            "end": h.raw_end,
                            "in_hashtag": h.in_hashtag,
                        },
                    )
                    for h in view.hits
                ),
                "hashtags": tuple(tags),
                "contacts": tuple(contacts),
                "buy_intent": buy_intent(event.text),
                "images": tuple(
                    _ordered(image.model_dump(mode="json"), ImageRef.model_fields) for image in event.images
                ),
                "provenance": None
                if provenance is None
                else _ordered(provenance.model_dump(mode="json"), Provenance.model_fields),
                "annotated_labels": event.labels,
                "annotated_selling": event.selling,
                "models": models,
                "vision": vision,
                "selling_review": review,
                "language": language,
            },
        )


# ---------------------------------------------------------------------------
# Training the defaults


def train_default_detectors(
    events: Iterable[Event],
    out_dir: str | Path | None = None,
    *,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Fit the default detectors (:data:`DEFAULT_DETECTORS`) on labelled ``events``; save both.

    The selling detector learns from events whose ``selling`` is known, the
    drug-type detector from events whose ``labels`` are known; a task with
    no labelled events (or a single class for selling) is skipped. Returns
    ``{"selling": dir, "drugtype": dir}`` for the directories written under
    ``out_dir`` (default ``$DRUGWATCH_HOME/models``).
    """
    from drugwatch.models.registry import create_detector

    step = on_step or (lambda _message: None)
    root = Path(out_dir) if out_dir else default_models_dir()
    events = list(events)
    written: dict[str, Path] = {}
    for task, name in DEFAULT_DETECTORS.items():
        if task == "selling":
            subset = [e for e in events if e.selling is not None]
            if len({e.selling for e in subset}) < 2:
                step(f"skipping {name}: needs selling and non-selling events")
                continue
        else:
            subset = [e for e in events if e.labels is not None]
            if not subset:
                step(f"skipping {name}: no events with drug labels")
                continue
        step(f"training {name} on {len(subset)} events")
        detector = create_detector(name, seed=seed, **TRAINING_PARAMS.get(name, {})).fit(subset)
        written[task] = detector.save(root / task)
    if not written:
        raise ValueError("no detector could be trained: the events carry no selling or drug labels")
    return written
