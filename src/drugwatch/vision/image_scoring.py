"""Image evidence in a scan: per-image probabilities and the fused text + image decision.

:class:`drugwatch.scoring.EventScorer` hands the detectors it loaded to
:func:`image_scorer_for`; when one of them reads images, every scan result
gets a :class:`VisionResult` (``EventResult.vision``):

* **per-image probabilities** (``images``): the probability that each image
  of the event shows drugs, from one *image model*, scored image by image
  (the detectors themselves read only an event's first image). The image
  model is, in order: a ``drug_image`` detector (Yang & Luo's multitask
  network, ``drugwatch.yang_luo_image.v1``: its ``drug`` head, and every
  head in ``heads``); the image part of a Yang & Luo late fusion; else a
  DMML drug-type detector that reads images (image-only, concat, FBC,
  MMBT), given the image with an empty text, as ``1 - p(non_drug)``.
  ``image_probability`` is the largest over the event's readable images.
* **the fused decision** (``fused``, ``fused_probability``, ``fused_by``,
  ``rule``):

  - ``"model"``: a loaded model fuses text and image itself. A Yang & Luo
    late fusion (selling task: its probability and decision, with its text
    part's probability and its weight), else a DMML drug-type model that
    reads images (``1 - p(non_drug)``; decision: ``non_drug`` not
    predicted);
  - ``"late_fusion_average"``: an image model beside text-only detectors:
    Yang & Luo's rule, ``weight * p_image + (1 - weight) * p_text`` with
    weight 0.5 where the event has a readable image, ``p_text`` alone
    elsewhere; ``p_text`` is the drug-type model's ``1 - p(non_drug)``, else
    the selling probability; decided at 0.5;
  - ``"image_only"``: an image model and no text model: the image
    probability at 0.5 (``None`` for events without a readable image).

* ``agreement``: the image decision (``image_probability >= 0.5``) against
  the text decision (the drug-type model's labels without ``non_drug``,
  else the selling decision): ``"both"``, ``"image_only"``,
  ``"text_only"`` or ``"neither"``; ``None`` when either side is missing.
  The report counts these (``image-text-agreement``).

A result depends only on its event and the models (images are scored one
event at a time in a batch, features come from the SHA-256-keyed cache), so
batch size and workers do not change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from drugwatch.labels import LABELS
from drugwatch.models.base import Detector
from drugwatch.records import Event, ImageRef

__all__ = [
    "FUSION_MODELS",
    "IMAGE_MODELS",
    "ImageScore",
    "ImageScorer",
    "VisionResult",
    "image_scorer_for",
    "reads_images",
]

#: Detectors that fuse text and image themselves.
FUSION_MODELS = frozenset(
    {
        "drugwatch.yang_luo_fusion.v1",
        "drugwatch.fusion_concat.v1",
        "drugwatch.fusion_fbc.v1",
        "drugwatch.mmbt.v1",
    }
)
#: Detectors that read images only.
IMAGE_MODELS = frozenset({"drugwatch.yang_luo_image.v1", "drugwatch.image_only.v1"})
#: Yang & Luo's late-fusion weight of the image when no fusion model is loaded.
DEFAULT_WEIGHT = 0.5
_NON_DRUG = LABELS.index("non_drug")


def reads_images(detector: Detector) -> bool:
    """Whether a detector's output depends on the event's images."""
    return detector.name in FUSION_MODELS or detector.name in IMAGE_MODELS or detector.task == "drug_image"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImageScore(_Frozen):
    """One image of an event as the image model saw it."""

    index: int  #: position in the event's ``images``
    sha256: str | None = None
    probability: float | None = None  #: P(the image shows drugs); ``None`` when the image could not be read
    heads: dict[str, float] | None = None  #: Yang & Luo's heads (drug, weed, pills, syrup), for that model
    error: str | None = None


class VisionResult(_Frozen):
    """Image evidence and the fused decision of one event (see the module docstring)."""

    image_model: str | None = None  #: registry name of the model behind ``images``
    images: tuple[ImageScore, ...] = ()
    image_probability: float | None = None
    text_probability: float | None = None
    fused_probability: float | None = None
    fused: bool | None = None
    fused_by: str | None = None  #: registry name(s) of the model(s) behind the fused decision
    rule: Literal["model", "late_fusion_average", "image_only"] | None = None
    weight: float | None = None  #: the image's weight in a weighted-average fusion
    agreement: Literal["both", "image_only", "text_only", "neither"] | None = None


def _drug_probability(detector: Detector, proba: np.ndarray) -> np.ndarray:
    """P(drug) from a detector's ``predict_proba`` output, whatever its task."""
    if detector.task == "drug_image":
        return proba[:, 0]
    if detector.task == "drugtype":
        return 1.0 - proba[:, _NON_DRUG]
    return proba[:, 1]


def _image_events(event: Event) -> list[Event]:
    """One single-image, text-free event per image (what an image model sees of each)."""
    return [
        Event(id=f"{event.id}#image{index}", platform=event.platform, images=(image,))
        for index, image in enumerate(event.images)
    ]


class ImageScorer:
    """Per-image probabilities and the fused decision for batches of events."""

    def __init__(
        self,
        *,
        image_model: Detector | None,
        fusion_model: Detector | None,
        text_drugtype: Detector | None,
        text_selling: Detector | None,
    ):
        if image_model is None and fusion_model is None:
            raise ValueError("ImageScorer needs an image model or a fusion model")
        self.image_model = image_model
        self.fusion_model = fusion_model
        self.text_drugtype = text_drugtype
        self.text_selling = text_selling

    # -- per image ----------------------------------------------------------------

    def _image_probe(self) -> tuple[str, Any]:
        """(name, detector) scoring single images: the image model, a fusion's image part, or the fusion."""
        if self.image_model is not None:
            return self.image_model.name, self.image_model
        assert self.fusion_model is not None
        part = getattr(self.fusion_model, "image_", None)
        if part is not None:
            return f"{self.fusion_model.name}/{part.name}", part
        return self.fusion_model.name, self.fusion_model

    def score_images(self, events: Sequence[Event]) -> list[tuple[ImageScore, ...]]:
        probe = self._image_probe()[1]
        flat: list[Event] = []
        owners: list[tuple[int, int, ImageRef]] = []
        for row, event in enumerate(events):
            for index, single in enumerate(_image_events(event)):
                flat.append(single)
                owners.append((row, index, event.images[index]))
        out: list[list[ImageScore]] = [[] for _ in events]
        if not flat:
            return [tuple(x) for x in out]
        from drugwatch.models.image_only import _encoder

        # Which images the encoder can read (features are cached, so the model's own pass is a cache hit).
        features = _encoder(32, 0).encode([ref for _, _, ref in owners])
        if hasattr(probe, "proba_from_features"):  # Yang & Luo's network reads the pooled vector: no second pass
            proba = probe.proba_from_features(features.pooled, features.mask)
        else:
            proba = probe.predict_proba(flat)
        p_drug = _drug_probability(probe, proba)
        for k, (row, index, ref) in enumerate(owners):
            readable = bool(features.mask[k])
            heads = None
            if readable and probe.task == "drug_image":
                from drugwatch.models.multitask_image import HEADS

                heads = {head: float(proba[k, j]) for j, head in enumerate(HEADS)}
            error = None if readable else (features.errors[k] or "unreadable")
            out[row].append(
                ImageScore(
                    index=index,
                    sha256=ref.sha256 or features.sha256[k] or None,
                    probability=float(p_drug[k]) if readable else None,
                    heads=heads,
                    error=error,
                )
            )
        return [tuple(x) for x in out]

    # -- fused ------------------------------------------------------------------------

    def score(
        self,
        events: Sequence[Event],
        *,
        selling_proba: np.ndarray | None,
        selling_decision: np.ndarray | None,
        drug_proba: np.ndarray | None,
        drug_decision: np.ndarray | None,
    ) -> list[VisionResult]:
        """One :class:`VisionResult` per event; the text detectors' outputs are passed in, not recomputed."""
        events = list(events)
        per_image = self.score_images(events)
        image_name = self._image_probe()[0]
        # Text side: what the text models say about "drugs here".
        text_p = text_y = None
        text_name = None
        if self.text_drugtype is not None and drug_proba is not None:
            text_p = 1.0 - drug_proba[:, _NON_DRUG]
            text_y = drug_decision[:, _NON_DRUG] == 0 if drug_decision is not None else text_p >= 0.5
            text_name = self.text_drugtype.name
        elif self.text_selling is not None and selling_proba is not None:
            text_p = selling_proba
            text_y = selling_decision if selling_decision is not None else selling_proba >= 0.5
            text_name = self.text_selling.name
        # Fusion model outputs.
        fused_p: Any = None
        fused_y: Any = None
        fusion_text_p: Any = None
        weight: float | None = None
        if self.fusion_model is not None:
            fused_p, fused_y, fusion_text_p, weight = self._fusion_outputs(
                events, selling_proba, selling_decision, drug_proba, drug_decision
            )
        out = []
        for i, images in enumerate(per_image):
            readable = [s.probability for s in images if s.probability is not None]
            p_image = max(readable) if readable else None
            t_p = None if text_p is None else float(text_p[i])
            t_y = None if text_y is None else bool(text_y[i])
            rule: Any
            f_p: float | None
            f_y: bool | None
            if fused_p is not None and self.fusion_model is not None:
                rule, by = "model", self.fusion_model.name
                f_p, f_y = float(fused_p[i]), bool(fused_y[i])
                if fusion_text_p is not None:
                    t_p = float(fusion_text_p[i])
                w = weight
            elif t_p is not None:
                rule, by, w = "late_fusion_average", f"{image_name} + {text_name}", DEFAULT_WEIGHT
                f_p = t_p if p_image is None else DEFAULT_WEIGHT * p_image + (1 - DEFAULT_WEIGHT) * t_p
                f_y = f_p >= 0.5
            else:
                rule, by, w = "image_only", image_name, None
                f_p = p_image
                f_y = None if p_image is None else p_image >= 0.5
            agreement: Any = None
            if p_image is not None and t_y is not None:
                i_y = p_image >= 0.5
                agreement = "both" if i_y and t_y else "image_only" if i_y else "text_only" if t_y else "neither"
            out.append(
                VisionResult(
                    image_model=image_name,
                    images=images,
                    image_probability=p_image,
                    text_probability=t_p,
                    fused_probability=f_p,
                    fused=f_y,
                    fused_by=by,
                    rule=rule,
                    weight=w,
                    agreement=agreement,
                )
            )
        return out

    def _fusion_outputs(self, events: list[Event], selling_proba, selling_decision, drug_proba, drug_decision):
        model = self.fusion_model
        assert model is not None
        if model.task == "selling":
            fused_p = selling_proba
            fused_y = selling_decision
            text_p = weight = None
            parts = getattr(model, "_parts_proba", None)
            if parts is not None and hasattr(model, "text_"):  # Yang & Luo's fusion: report its text part too
                text_p, _, _ = parts(model.text_, model.image_, events)  # type: ignore[attr-defined]
                weight = float(model.weight_)  # type: ignore[attr-defined]
            return fused_p, fused_y, text_p, weight
        fused_p = 1.0 - drug_proba[:, _NON_DRUG]
        fused_y = drug_decision[:, _NON_DRUG] == 0
        return fused_p, fused_y, None, None


def image_scorer_for(detectors: Sequence[Detector]) -> ImageScorer | None:
    """The :class:`ImageScorer` for a scan's detectors, or ``None`` when none of them reads images.

    ``detectors``: at most one per task (``selling``, ``drugtype``, ``drug_image``), as the scorer holds them.
    """
    by_task: dict[str, Detector] = {str(d.task): d for d in detectors}
    image_model = by_task.get("drug_image")
    fusion = None
    for task in ("selling", "drugtype"):
        d = by_task.get(task)
        if d is not None and d.name in FUSION_MODELS:
            fusion = fusion or d
    drug = by_task.get("drugtype")
    if image_model is None and drug is not None and drug.name in IMAGE_MODELS:
        image_model = drug
    if image_model is None and fusion is None:
        return None
    text_drugtype = drug if drug is not None and not reads_images(drug) else None
    selling = by_task.get("selling")
    text_selling = selling if selling is not None and not reads_images(selling) else None
    return ImageScorer(
        image_model=image_model, fusion_model=fusion, text_drugtype=text_drugtype, text_selling=text_selling
    )
