"""``drugwatch.selling.v4``: an event is ``selling`` where v3 flags it or v1 flags it.

v3 (:mod:`drugwatch.models.selling_v3`) carries to registers and languages
the bench kit never saw; on the kit's own registers it finds fewer sellers
than v1 (:mod:`drugwatch.models.selling`), which in turn flags almost nothing
out of register. Flagging what either flags keeps v3's reach and v1's recall
on the kit (``docs/models.md`` has the numbers).

**The two parts.** ``fit`` fits a v3 and a v1, each exactly as it would be
fitted alone on the same events: v3 on the events given plus its own training
pool (``pool``), v1 on the events given (``v1_events="all"``, the default).
With ``pool="kit"`` the kit's darknet listings reach v3 through its pool and v1
never sees them. ``v1_events="posts"`` fits v1 on the given events that are
not darknet-market listings: for an evaluation that turns the pool off and
hands v3 the listings as events, it keeps v1 as it is with the pool (it needs
both classes among those posts).

**One probability.** Column 1 of :meth:`UnionSellingDetector.predict_proba`
is ``max(p3, m(p1))``: ``p3`` is v3's probability, ``p1`` v1's, and ``m``
(:func:`map_to_threshold`) maps v1's probability monotonically and
piecewise-linearly so that v1's threshold ``t1`` lands on v3's threshold
``t3`` (``[0, t1)`` onto ``[0, t3)``, ``[t1, 1]`` onto ``[t3, 1]``). So
``decide`` (the probability at least ``threshold_ = t3``) is exactly "v3 flags
or v1 flags", ties at either threshold included. The number is a calibrated
probability only where it is v3's (``p3 >= m(p1)``); where v1's mapped score
is the larger, it is a rank on v3's scale, not a frequency.

**Review band.** v3's: ``[threshold_review_, threshold_)`` applied to that
number (:meth:`needs_review`, :meth:`triage`). A text v3 would send to review
still goes there unless v1 flags it; a v1 probability at least
``t1 * threshold_review_ / t3`` also reaches the band.

**Parameters.** ``pool`` and ``seed`` are v4's own and are given to the parts
(``seed`` to both; the leave-one-family-out evaluation sets ``pool="none"``
as it does for v3); every other parameter of a part goes in ``v3_params`` /
``v1_params``, mappings of that part's parameter names, checked against the
part's own constraints when ``fit`` starts.

**Model directory.** ``config.json`` and the card for v4, and each part's own
model directory inside it (``v3/``, ``v1/``), written and read by the part's
``save`` / ``load``: prediction reads what the parts read (no scikit-learn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from drugwatch.models.base import (
    WEIGHTS_FILE,
    WEIGHTS_NPZ,
    Detector,
    InstanceOf,
    Interval,
    ModelLoadError,
    Options,
    Task,
    check_parameters,
)
from drugwatch.models.registry import register
from drugwatch.models.selling import SellingDetector
from drugwatch.models.selling_v3 import GeneralSellingDetector, ReviewBand
from drugwatch.records import Event

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

D = TypeVar("D", bound=Detector)

#: Sub-directories of a v4 model directory holding each part's own model directory.
V3_DIR = "v3"
V1_DIR = "v1"

#: Where the card sends a reader for this detector's measured results (the numbers depend on the
#: data a model was fitted on; this directory's own inner-fold results are in the parts' cards).
MEASURED = "the bench kit's grouped CV, leave-one-family-out and challenge suite: docs/models.md, drugwatch.selling.v4"


def map_to_threshold(p1: np.ndarray, t1: float, t3: float) -> np.ndarray:
    """v1's probabilities mapped monotonically so that ``t1`` lands on ``t3``.

    ``[0, t1)`` goes linearly onto ``[0, t3)`` and ``[t1, 1]`` onto ``[t3, 1]``.
    Exact at the thresholds in floating point: ``m(p) >= t3`` if and only if
    ``p >= t1`` (a product that rounds up to ``t3`` below ``t1`` is held just
    under it). A ``t3`` above 1 (a v3 that flags nothing) is kept as the lowest
    value of the upper branch, so the rule still holds.
    """
    p1 = np.asarray(p1, dtype=np.float64)
    t1, t3 = float(t1), float(t3)
    below_t3 = np.nextafter(t3, -np.inf)
    lower = np.clip(p1 * (t3 / t1), 0.0, below_t3) if t1 > 0 else np.zeros_like(p1)
    slope = (1.0 - t3) / (1.0 - t1) if t1 < 1 else 0.0
    upper = np.maximum(np.minimum(t3 + (p1 - t1) * max(slope, 0.0), 1.0), t3)
    return np.where(p1 >= t1, upper, lower)


def _is_listing(event: Event) -> bool:
    """A darknet-market listing (v3's ``darknet_offer`` / ``darknet_other_goods`` roles)."""
    return event.platform == "darknet_market"


@register("drugwatch.selling.v4")
class UnionSellingDetector(ReviewBand, Detector):
    """v3 or v1: the union of two fitted selling detectors (see the module docstring)."""

    task: ClassVar[Task] = "selling"
    # the scorer's reading of the texts goes to both parts, which read views
    reads_views = True
    description = (
        "drugwatch selling detector v4: selling where drugwatch.selling.v3 (character n-grams and text-layer "
        "evidence for unseen registers and languages, calibrated, FPR-target threshold, review band) flags or "
        "drugwatch.selling.v1 (word tf-idf and evidence fitted to the kit's posts, F1-optimal threshold) flags. "
        "Probability max(p3, m(p1)), m mapping v1's threshold onto v3's piecewise-linearly: calibrated only "
        "where it is v3's. Each part is saved as its own model directory (v3/, v1/) beside this card."
    )
    _parameter_constraints = {
        "pool": [InstanceOf((str,))],  # v3's: "kit", "none" or a path
        "v1_events": [Options(("posts", "all"))],
        "v3_params": [InstanceOf((Mapping, type(None)))],
        "v1_params": [InstanceOf((Mapping, type(None)))],
        "seed": [Interval(int, 0, None)],
    }
    #: Parameters of a part set through v4's own (they would otherwise be given twice).
    _OWN: ClassVar[dict[str, tuple[str, ...]]] = {"v3_params": ("pool", "seed"), "v1_params": ("seed",)}

    v3_: GeneralSellingDetector
    v1_: SellingDetector

    def __init__(
        self,
        *,
        pool: str = "kit",
        v1_events: str = "all",
        v3_params: Mapping[str, Any] | None = None,
        v1_params: Mapping[str, Any] | None = None,
        seed: int = 0,
    ):
        self.pool = pool
        self.v1_events = v1_events
        self.v3_params = v3_params
        self.v1_params = v1_params
        self.seed = seed

    # -- parameters ---------------------------------------------------------------

    def _part(self, which: str, cls: type[D]) -> D:
        """The unfitted part of class ``cls`` set by ``which`` (``"v3_params"`` / ``"v1_params"``), checked."""
        given = dict(getattr(self, which) or {})
        owner = f"{type(self).__name__}.{which}"
        unknown = sorted(str(k) for k in given if k not in cls._param_names())
        if unknown:
            valid = ", ".join(n for n in cls._param_names() if n not in self._OWN[which])
            raise ValueError(f"{owner}: {cls.name} has no parameter(s) {', '.join(unknown)}; valid: {valid}")
        own = sorted(k for k in given if k in self._OWN[which])
        if own:
            raise ValueError(
                f"{owner}: set {', '.join(own)} as {type(self).__name__}'s own parameter(s), not in {which}"
            )
        own_values = {"pool": self.pool, "seed": self.seed}
        params = {**given, **{k: own_values[k] for k in self._OWN[which]}}
        part = cls(**params)
        check_parameters(owner, part.get_params(), cls._parameter_constraints)
        return part

    def _validate_params(self) -> None:
        super()._validate_params()
        self._part("v3_params", GeneralSellingDetector)
        self._part("v1_params", SellingDetector)

    # -- fit / predict ---------------------------------------------------------------

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        v3 = self._part("v3_params", GeneralSellingDetector)
        v1 = self._part("v1_params", SellingDetector)
        if self.v1_events == "posts":
            keep = np.array([not _is_listing(e) for e in events], dtype=bool)
            v1_events = [e for e, k in zip(events, keep) if k]
            v1_y = y[keep]
        else:
            v1_events, v1_y = events, y
        if len(np.unique(v1_y)) < 2:  # checked before v3's fit, the longer of the two
            held = "both" if not len(v1_y) else f"only class {int(v1_y[0])}"
            raise ValueError(
                f"{type(self).__name__}.fit: the {len(v1_events)} events that are not darknet listings hold {held}; "
                "v1 needs both classes: pass v1_events='all' to fit it on every event"
            )
        v3.fit(events, y)
        v1.fit(v1_events, v1_y)
        self.v3_, self.v1_ = v3, v1
        self._set_thresholds()

    def _set_thresholds(self) -> None:
        """The decision and review thresholds are v3's (``decide`` of the union needs no other)."""
        self.threshold_ = float(self.v3_.threshold_)
        self.threshold_review_ = float(self.v3_.threshold_review_)
        self.v1_threshold_ = float(self.v1_.threshold_)

    def _predict_proba(self, events: list[Event], views: Sequence[TextView] | None = None) -> np.ndarray:
        p3 = self.v3_.predict_proba(events, views=views)[:, 1]
        p1 = self.v1_.predict_proba(events, views=views)[:, 1]
        return np.maximum(p3, map_to_threshold(p1, self.v1_.threshold_, self.v3_.threshold_))

    def part_probabilities(
        self, events: Sequence[Event] | Sequence[str], *, views: Sequence[TextView] | None = None
    ) -> dict[str, np.ndarray]:
        """Each part's own selling probability (``"v3"``, ``"v1"``), for error analysis."""
        self._check_fitted()
        return {
            "v3": self.v3_.predict_proba(events, views=views)[:, 1],
            "v1": self.v1_.predict_proba(events, views=views)[:, 1],
        }

    # -- persistence -------------------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        """Each part's model directory (``v3/``, ``v1/``), through its own ``save``."""
        self.v3_.save(directory / V3_DIR)
        self.v1_.save(directory / V1_DIR)
        # a directory saved over another model's must not keep that model's weights
        (directory / WEIGHTS_NPZ).unlink(missing_ok=True)
        (directory / WEIGHTS_FILE).unlink(missing_ok=True)
        return [f"{V3_DIR}/", f"{V1_DIR}/"]

    def _load_weights(self, directory: Path) -> None:
        for sub in (V3_DIR, V1_DIR):
            if not (directory / sub).is_dir():
                raise ModelLoadError(f"{directory}: no {sub}/ part; a drugwatch.selling.v4 directory holds v3/ and v1/")
        self.v3_ = GeneralSellingDetector.load(directory / V3_DIR)
        self.v1_ = SellingDetector.load(directory / V1_DIR)
        self._set_thresholds()

    def _v1_training(self) -> str:
        data = self.v1_.training_data_
        which = "the events that are not darknet listings" if self.v1_events == "posts" else "all events"
        return f"{which} ({data.get('n_events')} events, {data.get('n_positive')} positive)"

    # -- description -------------------------------------------------------------------

    def _extra_config(self) -> dict[str, Any]:
        t1, t3, review = self.v1_.threshold_, self.v3_.threshold_, self.threshold_review_
        v3 = self.v3_._extra_config()
        v1 = self.v1_._extra_config()
        return {
            "union_rule": f"selling where v3's probability >= {t3:.4f} or v1's probability >= {t1:.4f}",
            "probability": (
                f"max(p3, m(p1)); m maps v1's [0, {t1:.4f}) onto [0, {t3:.4f}) and [{t1:.4f}, 1] onto [{t3:.4f}, 1] "
                "linearly; calibrated (sigmoid on out-of-fold scores) where it is v3's, a rank on v3's scale where "
                "v1's mapped score is the larger"
            ),
            "threshold_review": float(review),
            "review_band": f"[{review:.4f}, {t3:.4f}) of that probability (v3's band; v1 reaches it from "
            f"p1 >= {t1 * review / t3 if t3 > 0 else 0.0:.4f})",
            "v3_part": f"{self.v3_.name} in {V3_DIR}/: threshold {t3:.4f}, review {self.v3_.threshold_review_:.4f}; "
            f"pool {v3['training_pool']}; {v3['threshold_target']}",
            "v1_part": f"{self.v1_.name} in {V1_DIR}/: threshold {t1:.4f} ({v1['calibration']}, inner CV F1 "
            f"{v1['inner_cv_f1_at_threshold']:.3f}); trained on {self._v1_training()}",
            "measured": MEASURED,
        }


__all__ = ["UnionSellingDetector", "map_to_threshold"]
