"""Yang & Luo's late fusion of the image and text detectors (``drugwatch.yang_luo_fusion.v1``).

``p = w * p_image + (1 - w) * p_text`` where ``p_image`` is the ``drug`` head
of :class:`~drugwatch.models.multitask_image.MultitaskImageDetector` on the
event's first image and ``p_text`` the positive column of a text detector
(default ``drugwatch.yang_luo_text.v1``, tf-idf + naive Bayes). The paper
uses ``w = 0.5``; with ``image_weight=None`` the weight is tuned *inside the
training data*: out-of-fold probabilities of both detectors on
``inner_folds`` stratified group folds, and the ``w`` of ``weight_grid``
with the best out-of-fold F1 at 0.5 is kept (ties: closest to 0.5). Both
detectors are then refitted on all training events.

An event without an image has nothing for the image detector to see: its
probability is the text detector's alone (``w`` applies only where there is
an image). If no training event has an image, the image detector is not fitted.

Binary task (``task="selling"`` columns ``("not_selling", "selling")``): as for
``drugwatch.yang_luo_text.v1``, column 1 is the probability of the positive
class of ``y`` (for Yang & Luo, a drug-related post).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from drugwatch.models.base import Detector, InstanceOf, Interval, ModelLoadError, Task
from drugwatch.models.multitask_image import MultitaskImageDetector, targets_from_labels
from drugwatch.models.registry import create_detector, register
from drugwatch.records import Event

TEXT_DIR = "text-detector"
IMAGE_DIR = "image-detector"
FUSION_FILE = "fusion.json"
DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def image_training_targets(events: list[Event], y: np.ndarray) -> np.ndarray:
    """``(n, 4)`` head targets for the image detector: ``drug`` = ``y``; children from the labels (NaN unknown)."""
    out = np.full((len(events), 4), np.nan)
    for i, (event, target) in enumerate(zip(events, y)):
        out[i, 0] = float(target)
        if event.labels is not None and target:
            heads = targets_from_labels(event.labels)
            out[i, 1:] = [heads["weed"], heads["pills"], heads["syrup"]]
    return out


def fuse(p_text: np.ndarray, p_image: np.ndarray, has_image: np.ndarray, weight: float) -> np.ndarray:
    """The weighted average where there is an image, the text probability elsewhere."""
    return np.where(has_image, weight * p_image + (1.0 - weight) * p_text, p_text)


@register("drugwatch.yang_luo_fusion.v1")
class YangLuoFusion(Detector):
    """Late fusion (weighted average) of the multitask image detector and a text detector."""

    task: ClassVar[Task] = "selling"
    description = (
        "Yang & Luo 2017 late fusion: weighted average of the multitask image classifier's drug probability and "
        "the text classifier's (tf-idf + naive Bayes by default); 50/50 by default, or a weight tuned on "
        "out-of-fold predictions inside the training data. Events without images use the text probability."
    )
    _parameter_constraints = {
        "text_detector": [InstanceOf((str,))],
        "text_params": [InstanceOf((dict, type(None)))],
        "image_params": [InstanceOf((dict, type(None)))],
        "image_weight": [Interval(float, 0, 1), InstanceOf((type(None),))],
        "weight_grid": [InstanceOf((tuple, list))],
        "inner_folds": [Interval(int, 2, 20)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        text_detector: str = "drugwatch.yang_luo_text.v1",
        text_params: dict | None = None,
        image_params: dict | None = None,
        image_weight: float | None = 0.5,
        weight_grid: tuple[float, ...] = DEFAULT_GRID,
        inner_folds: int = 3,
        seed: int = 0,
    ):
        self.text_detector = text_detector
        self.text_params = text_params
        self.image_params = image_params
        self.image_weight = image_weight
        self.weight_grid = weight_grid
        self.inner_folds = inner_folds
        self.seed = seed

    def _fit_parts(self, events: list[Event], y: np.ndarray) -> tuple[Detector, MultitaskImageDetector | None]:
        text = create_detector(self.text_detector, **dict(self.text_params or {})).fit(events, y)
        with_image = [i for i, e in enumerate(events) if e.images]
        image = None
        if with_image and len(np.unique(y[with_image])) == 2:
            params = {"seed": self.seed, **dict(self.image_params or {})}
            image = MultitaskImageDetector(**params)
            subset = [events[i] for i in with_image]
            image.fit(subset, image_training_targets(subset, y[with_image]))
        return text, image

    @staticmethod
    def _parts_proba(
        text: Detector, image: MultitaskImageDetector | None, events: list[Event]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p_text = text.predict_proba(events)[:, 1]
        has_image = np.array([bool(e.images) for e in events], dtype=bool)
        p_image = np.zeros(len(events))
        if image is not None and has_image.any():
            idx = np.flatnonzero(has_image)
            p_image[idx] = image.predict_proba([events[i] for i in idx])[:, 0]
        else:
            has_image[:] = False
        return p_text, p_image, has_image

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        if self.image_weight is None:
            self.weight_, self.weight_scores_ = self._tune_weight(events, y)
        else:
            self.weight_, self.weight_scores_ = float(self.image_weight), {}
        self.text_, self.image_ = self._fit_parts(events, y)

    def _tune_weight(self, events: list[Event], y: np.ndarray) -> tuple[float, dict[str, float]]:
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedGroupKFold

        from drugwatch.evaluation.splits import group_of

        n_splits = min(self.inner_folds, int(np.bincount(y, minlength=2).min()))
        groups = [group_of(e) for e in events]
        if n_splits < 2 or len(set(groups)) < n_splits:
            return 0.5, {}
        p_text, p_image, has_image = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y), dtype=bool)
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        for train, test in splitter.split(np.zeros(len(y)), y, groups):
            if len(np.unique(y[train])) < 2:
                continue
            text, image = self._fit_parts([events[i] for i in train], y[train])
            a, b, c = self._parts_proba(text, image, [events[i] for i in test])
            p_text[test], p_image[test], has_image[test] = a, b, c
        scores = {
            f"{w:.2f}": float(f1_score(y, fuse(p_text, p_image, has_image, w) >= 0.5, zero_division=0))
            for w in self.weight_grid
        }
        best = max(self.weight_grid, key=lambda w: (scores[f"{w:.2f}"], -abs(w - 0.5)))
        return float(best), scores

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        p_text, p_image, has_image = self._parts_proba(self.text_, self.image_, events)
        return fuse(p_text, p_image, has_image, self.weight_)

    def _save_weights(self, directory: Path) -> list[str]:
        self.text_.save(directory / TEXT_DIR)
        files = [TEXT_DIR + "/", FUSION_FILE]
        if self.image_ is not None:
            self.image_.save(directory / IMAGE_DIR)
            files.append(IMAGE_DIR + "/")
        (directory / FUSION_FILE).write_text(
            json.dumps(
                {
                    "weight": self.weight_,
                    "weight_scores": self.weight_scores_,
                    "has_image_detector": self.image_ is not None,
                }
            ),
            encoding="utf-8",
        )
        return files

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / FUSION_FILE).read_text(encoding="utf-8"))
        self.weight_ = float(saved["weight"])
        self.weight_scores_ = saved.get("weight_scores", {})
        self.text_ = Detector.load(directory / TEXT_DIR)
        image = Detector.load(directory / IMAGE_DIR) if saved.get("has_image_detector") else None
        if image is not None and not isinstance(image, MultitaskImageDetector):
            raise ModelLoadError(f"{directory / IMAGE_DIR} holds {image.name!r}, not the multitask image detector")
        self.image_ = image

    def _extra_config(self) -> dict[str, Any]:
        return {
            "image_weight": self.weight_,
            "weight_scores": self.weight_scores_,
            "image_detector": self.image_ is not None,
        }


__all__ = ["YangLuoFusion", "fuse", "image_training_targets"]
