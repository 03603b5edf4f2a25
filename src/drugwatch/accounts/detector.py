"""The dealer-account detector (``drugwatch.accounts.v1``).

It is a saved model (:class:`~drugwatch.models.base.SavedModel`: parameters,
constraints, model directory, card) that reads
:class:`~drugwatch.records.Account` objects instead of events:

* the constructor stores its keyword arguments; :meth:`AccountDetector.fit`
  does the work and returns ``self``; parameters are checked in ``fit``;
* ``predict_proba(accounts)`` has shape ``(n_accounts, 2)``, columns
  ``("not_dealer", "dealer")``;
* ``save(dir)`` / ``AccountDetector.load(dir)`` (or ``SavedModel.load``) write and read a model directory
  (``config.json``, ``weights.pkl``, ``README.md`` and the event detector's
  own model directory under ``event-detector/``).

How it works:

1. An *event detector* (any registered binary detector, default
   ``drugwatch.yang_luo_text.v1``) gives each timeline event a probability of
   being drug-related. It is fitted on the training accounts' events only
   (target ``event_target``: ``is_drug`` = the event's drug labels,
   ``selling`` = the dealer-post label, ``mentions`` = the demo generator's
   "mentions a drug" truth, Yang & Luo's drug-related post).
2. The training accounts' own event probabilities are *cross-fitted*: with
   ``inner_folds`` > 1 each training account is scored by an event detector
   that never saw its events, so the account model learns how informative an
   out-of-sample probability is (otherwise ``P`` looks perfect in training
   and is over-trusted). Accounts to score get the detector fitted on all
   training events.
3. Account features (:mod:`drugwatch.accounts.features`), the ``yang_luo``
   set or ``ours``.
4. ``model="logreg"``: median imputation, standardization, an
   L1-regularized logistic regression that selects features (non-zero
   coefficients; all are kept if it selects none), then a class-balanced
   logistic regression, as Yang & Luo. ``model="forest"``: a class-balanced
   random forest on the imputed features (our stronger model).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from drugwatch.accounts.features import (
    FEATURE_SETS,
    AccountFeatures,
    Timezone,
    account_features,
    feature_matrix,
)
from drugwatch.models.base import (
    Detector,
    InstanceOf,
    Interval,
    Options,
    SavedModel,
)
from drugwatch.models.registry import register
from drugwatch.records import Account, Event

DEALER_COLUMNS: tuple[str, str] = ("not_dealer", "dealer")
EVENT_TARGETS: tuple[str, ...] = ("is_drug", "selling", "mentions")
EVENT_DIR = "event-detector"


# ---------------------------------------------------------------------------
# Inputs


def as_accounts(accounts: Any, *, what: str = "accounts") -> list[Account]:
    """Validate an iterable of :class:`Account` (a bare string or one account is refused)."""
    if isinstance(accounts, (str, bytes)):
        raise TypeError(
            f"Iterable over Account objects expected for {what}, {type(accounts).__name__} object received."
        )
    if isinstance(accounts, Account):
        raise TypeError(
            f"Iterable over Account objects expected for {what}, a single Account received. "
            "Wrap it in a list: detector.predict_proba([account])."
        )
    if not isinstance(accounts, Iterable):
        raise TypeError(f"Iterable over Account objects expected for {what}, {type(accounts).__name__} received.")
    out = list(accounts)
    for i, item in enumerate(out):
        if not isinstance(item, Account):
            raise TypeError(f"{what}[{i}] is a {type(item).__name__}; expected an Account")
    return out


def dealer_targets(accounts: Sequence[Account], y: Any | None) -> np.ndarray:
    if y is None:
        missing = [a.username for a in accounts if a.dealer is None]
        if missing:
            raise ValueError(f"{len(missing)} account(s) have dealer=None (first: {missing[0]!r}); pass y or drop them")
        return np.array([int(bool(a.dealer)) for a in accounts], dtype=np.int64)
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != len(accounts):
        raise ValueError(f"y must be 1-D with one entry per account ({len(accounts)}); got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("y must hold only 0/1 (or False/True)")
    return arr.astype(np.int64)


def event_target(event: Event, target: str) -> int | None:
    """The event detector's training target of ``event`` (``None``: unknown, not used)."""
    if target == "is_drug":
        return None if event.is_drug is None else int(event.is_drug)
    if target == "selling":
        return None if event.selling is None else int(event.selling)
    if target == "mentions":
        if "mentions" not in event.meta:
            return None
        return int(bool(event.meta["mentions"]))
    raise ValueError(f"event_target must be one of {EVENT_TARGETS}; got {target!r}")


def comments_by_post(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Comments grouped by the key of the post at the root of their thread."""
    out: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.kind == "comment" and event.post_key:
            out[event.post_key].append(event)
    return dict(out)


# ---------------------------------------------------------------------------
# Event probabilities


def fit_event_detector(
    accounts: Sequence[Account], name: str, params: Mapping[str, Any] | None, target: str
) -> Detector:
    """Fit the registered event detector ``name`` on the accounts' labelled timeline events."""
    from drugwatch.models.registry import create_detector

    events, y = [], []
    for account in accounts:
        for event in account.timeline:
            t = event_target(event, target)
            if t is not None:
                events.append(event)
                y.append(t)
    if len(set(y)) < 2:
        raise ValueError(
            f"the event detector needs drug-related and other events with a known {target!r} target "
            f"in the training accounts; found {len(y)} labelled event(s) of {len(set(y))} class(es)"
        )
    detector = create_detector(name, **dict(params or {}))
    return detector.fit(events, np.asarray(y, dtype=np.int64))


def timeline_proba(detector: Detector, accounts: Sequence[Account]) -> list[np.ndarray]:
    """Column-1 probability of every timeline event, one array per account."""
    events = [e for a in accounts for e in a.timeline]
    proba = detector.predict_proba(events)[:, 1] if events else np.zeros(0)
    out, start = [], 0
    for account in accounts:
        out.append(proba[start : start + len(account.timeline)])
        start += len(account.timeline)
    return out


def cross_fit_proba(
    accounts: Sequence[Account],
    y: np.ndarray,
    *,
    name: str,
    params: Mapping[str, Any] | None,
    target: str,
    folds: int,
    seed: int,
    groups: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Out-of-fold event probabilities of the accounts' timelines (accounts split in ``folds``).

    With ``groups`` (e.g. link components) the split keeps each group on one
    side, so a network's shared adverts cannot make its members look easier
    in training than they will at prediction time.
    """
    n_splits = min(folds, int(np.bincount(y, minlength=2).min()))
    if groups is not None:
        n_splits = min(n_splits, len(set(groups)))
    if n_splits < 2:
        detector = fit_event_detector(accounts, name, params, target)
        return timeline_proba(detector, accounts)
    out: list[np.ndarray | None] = [None] * len(accounts)
    if groups is None:
        splits = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    else:
        splits = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y, list(groups)
        )
    for train, test in splits:
        if len(np.unique(y[train])) < 2:
            continue  # a degenerate split; those accounts are scored below

        detector = fit_event_detector([accounts[i] for i in train], name, params, target)
        for i, proba in zip(test, timeline_proba(detector, [accounts[i] for i in test])):
            out[i] = proba
    missing = [i for i, p in enumerate(out) if p is None]
    if missing:
        detector = fit_event_detector(accounts, name, params, target)
        for i, proba in zip(missing, timeline_proba(detector, [accounts[i] for i in missing])):
            out[i] = proba
    return [p if p is not None else np.zeros(0) for p in out]


# ---------------------------------------------------------------------------
# Account classifiers


class L1Selector(BaseEstimator, TransformerMixin):
    """Keep the features with a non-zero coefficient in an L1 logistic regression.

    If the penalty zeroes every coefficient, all features are kept (a model
    with no input would predict the prior for everyone).
    """

    def __init__(self, C: float = 0.5, random_state: int = 0):
        self.C = C
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> L1Selector:
        model = LogisticRegression(
            l1_ratio=1.0,
            solver="liblinear",
            C=self.C,
            class_weight="balanced",
            random_state=self.random_state,
            max_iter=1000,
        )
        model.fit(X, y)
        support = np.abs(model.coef_[0]) > 1e-8
        self.support_ = support if support.any() else np.ones(X.shape[1], dtype=bool)
        self.l1_coef_ = model.coef_[0].copy()
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, self.support_]


def make_account_model(
    model: str, *, C: float = 1.0, l1_C: float = 0.5, select: bool = True, n_estimators: int = 300, seed: int = 0
) -> Pipeline:
    """The scikit-learn pipeline of ``model`` (``logreg`` or ``forest``)."""
    if model == "logreg":
        steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
        if select:
            steps.append(("select", L1Selector(C=l1_C, random_state=seed)))
        steps.append(("classify", LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)))
        return Pipeline(steps)
    if model == "forest":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                (
                    "classify",
                    RandomForestClassifier(
                        n_estimators=n_estimators,
                        min_samples_leaf=2,
                        class_weight="balanced_subsample",
                        random_state=seed,
                        n_jobs=1,
                    ),
                ),
            ]
        )
    raise ValueError(f"model must be 'logreg' or 'forest'; got {model!r}")


# ---------------------------------------------------------------------------
# The detector


@register("drugwatch.accounts.v1")
class AccountDetector(SavedModel):
    """Dealer accounts from event probabilities plus account features (see the module docstring)."""

    task: ClassVar[str] = "dealer"
    description = (
        "Dealer-account detector after Yang & Luo 2017: event probabilities from a registered event detector "
        "(fitted on the training accounts, cross-fitted for the training features), account features "
        "(P, H1-H4, R1-R3, E, plus ours: contacts, drugs, contact reuse, repeated adverts, regularity...), "
        "standardized; L1 logistic regression selects features for a logistic regression, or a random forest."
    )
    _parameter_constraints = {
        "features": [Options(tuple(FEATURE_SETS))],
        "model": [Options(("logreg", "forest"))],
        "event_detector": [InstanceOf((str,))],
        "event_params": [InstanceOf((dict, type(None)))],
        "event_target": [Options(EVENT_TARGETS)],
        "event_threshold": [Interval(float, 0, 1, closed="neither")],
        "inner_folds": [Interval(int, 0, 20)],
        "timezone": [Options(("account", "utc"))],
        "C": [Interval(float, 0, None, closed="neither")],
        "l1_C": [Interval(float, 0, None, closed="neither")],
        "select": [InstanceOf((bool,))],
        "n_estimators": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        features: str = "ours",
        model: str = "logreg",
        event_detector: str = "drugwatch.yang_luo_text.v1",
        event_params: dict | None = None,
        event_target: str = "is_drug",
        event_threshold: float = 0.5,
        inner_folds: int = 3,
        timezone: Timezone = "account",
        C: float = 1.0,
        l1_C: float = 0.5,
        select: bool = True,
        n_estimators: int = 300,
        seed: int = 0,
    ):
        self.features = features
        self.model = model
        self.event_detector = event_detector
        self.event_params = event_params
        self.event_target = event_target
        self.event_threshold = event_threshold
        self.inner_folds = inner_folds
        self.timezone = timezone
        self.C = C
        self.l1_C = l1_C
        self.select = select
        self.n_estimators = n_estimators
        self.seed = seed

    @property
    def columns(self) -> tuple[str, ...]:
        return DEALER_COLUMNS

    @property
    def feature_names_(self) -> tuple[str, ...]:
        return FEATURE_SETS[self.features]

    # -- features ---------------------------------------------------------------

    def account_features(
        self,
        accounts: Sequence[Account],
        event_proba: Sequence[np.ndarray],
        *,
        comments: Mapping[str, Sequence[Event]] | None = None,
    ) -> list[AccountFeatures]:
        """Features of ``accounts`` given their timeline event probabilities."""
        if len(event_proba) != len(accounts):
            raise ValueError(f"event_proba needs one array per account ({len(accounts)}); got {len(event_proba)}")
        return [
            account_features(a, p, comments_on=comments, threshold=self.event_threshold, timezone=self.timezone)
            for a, p in zip(accounts, event_proba)
        ]

    # -- fitting ------------------------------------------------------------------

    def fit(
        self,
        accounts: Iterable[Account],
        y: Any | None = None,
        *,
        comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None = None,
        event_proba: Sequence[np.ndarray] | None = None,
        groups: Sequence[str] | None = None,
    ) -> AccountDetector:
        """Fit on ``accounts`` (with timelines); ``y`` defaults to ``account.dealer``.

        ``comments``: other users' comments (an iterable of events, or a
        mapping post key -> comments) for the ``E`` feature. ``event_proba``:
        precomputed *out-of-sample* event probabilities of the training
        timelines (one array per account); when given, the event detector is
        still fitted on all training events (for later predictions), but no
        cross-fitting runs. ``groups`` (one per account, e.g. link
        components) keeps groups together in the cross-fitting split.
        """
        self._validate_params()
        accounts = as_accounts(accounts)
        if not accounts:
            raise ValueError("AccountDetector.fit needs at least one account; got none")
        targets = dealer_targets(accounts, y)
        if len(np.unique(targets)) < 2:
            raise ValueError(f"AccountDetector.fit needs dealers and other accounts in y; got only class {targets[0]}")
        grouped = _comment_map(comments)
        self.event_detector_ = fit_event_detector(accounts, self.event_detector, self.event_params, self.event_target)
        if event_proba is None:
            if self.inner_folds >= 2:
                event_proba = cross_fit_proba(
                    accounts,
                    targets,
                    name=self.event_detector,
                    params=self.event_params,
                    target=self.event_target,
                    folds=self.inner_folds,
                    seed=self.seed,
                    groups=groups,
                )
            else:
                event_proba = timeline_proba(self.event_detector_, accounts)
        feats = self.account_features(accounts, event_proba, comments=grouped)
        self.fit_features(feats, targets)
        self.training_data_ = _account_statistics(accounts, targets)
        return self

    def fit_features(self, features: Sequence[AccountFeatures], y: np.ndarray) -> AccountDetector:
        """Fit only the account model on precomputed features (used by cross-validation)."""
        self._validate_params()
        X = feature_matrix(features, self.feature_names_)
        y = np.asarray(y, dtype=np.int64)
        self.model_ = make_account_model(
            self.model, C=self.C, l1_C=self.l1_C, select=self.select, n_estimators=self.n_estimators, seed=self.seed
        ).fit(X, y)
        self.threshold_ = 0.5
        self.n_features_in_ = X.shape[1]
        self.training_data_ = {"n_accounts": int(len(y)), "n_dealers": int(y.sum())}
        self.is_fitted_ = True
        return self

    # -- predicting ---------------------------------------------------------------

    def event_probabilities(self, accounts: Sequence[Account]) -> list[np.ndarray]:
        """The fitted event detector's probabilities of each account's timeline events."""
        self._check_fitted()
        if not hasattr(self, "event_detector_"):
            raise RuntimeError("this AccountDetector was fitted on features only; pass event_proba")
        return timeline_proba(self.event_detector_, accounts)

    def features_of(
        self,
        accounts: Iterable[Account],
        *,
        comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None = None,
        event_proba: Sequence[np.ndarray] | None = None,
    ) -> list[AccountFeatures]:
        accounts = as_accounts(accounts)
        if event_proba is None:
            event_proba = self.event_probabilities(accounts)
        return self.account_features(accounts, event_proba, comments=_comment_map(comments))

    def predict_proba(
        self,
        accounts: Iterable[Account],
        *,
        comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None = None,
        event_proba: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """``(n_accounts, 2)``: columns ``("not_dealer", "dealer")``."""
        self._check_fitted()
        feats = self.features_of(accounts, comments=comments, event_proba=event_proba)
        return self.predict_proba_features(feats)

    def predict_proba_features(self, features: Sequence[AccountFeatures]) -> np.ndarray:
        self._check_fitted()
        if not features:
            return np.zeros((0, 2))
        proba = self.model_.predict_proba(feature_matrix(features, self.feature_names_))[:, 1]
        return np.column_stack([1.0 - proba, proba])

    def predict(
        self,
        accounts: Iterable[Account],
        *,
        comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None = None,
        event_proba: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """0/1 per account: ``decide(predict_proba(accounts))``."""
        return self.decide(self.predict_proba(accounts, comments=comments, event_proba=event_proba))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Dealer (1) or not (0) at ``threshold_``, from ``(n, 2)`` probabilities."""
        self._check_fitted()
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] != 2:
            raise ValueError(f"account probabilities must have shape (n, 2); got {proba.shape}")
        return (proba[:, 1] >= self.threshold_).astype(np.int64)

    # -- introspection and persistence ---------------------------------------------

    @property
    def selected_features_(self) -> tuple[str, ...]:
        """Features the L1 step kept (all of them for the forest or ``select=False``)."""
        self._check_fitted()
        select = self.model_.named_steps.get("select")
        names = self.feature_names_
        if select is None:
            return names
        return tuple(n for n, keep in zip(names, select.support_) if keep)

    def coefficients(self) -> dict[str, float]:
        """Standardized logistic-regression coefficients (logreg) or impurity importances (forest)."""
        self._check_fitted()
        classify = self.model_.named_steps["classify"]
        values = classify.coef_[0] if hasattr(classify, "coef_") else classify.feature_importances_
        return {n: float(v) for n, v in zip(self.selected_features_, values)}

    def _extra_config(self) -> dict[str, Any]:
        return {
            "features": list(self.feature_names_),
            "selected_features": list(self.selected_features_),
            "coefficients": self.coefficients(),
        }

    def _learned_state(self) -> dict[str, Any]:
        # The event detector is saved as its own model directory, not pickled with the account model.
        return {k: v for k, v in super()._learned_state().items() if k != "event_detector_"}

    def _save_weights(self, directory: Path) -> list[str]:
        files = super()._save_weights(directory)
        if hasattr(self, "event_detector_"):
            self.event_detector_.save(directory / EVENT_DIR)
            files.append(EVENT_DIR + "/")
        return files

    def _load_weights(self, directory: Path) -> None:
        super()._load_weights(directory)
        if (directory / EVENT_DIR).is_dir():
            self.event_detector_ = Detector.load(directory / EVENT_DIR)


def _comment_map(comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None) -> Mapping[str, Sequence[Event]]:
    if comments is None:
        return {}
    if isinstance(comments, Mapping):
        return dict(comments)
    return comments_by_post(comments)


def _account_statistics(accounts: Sequence[Account], y: np.ndarray) -> dict[str, Any]:
    digest = hashlib.sha256()
    for account, target in zip(accounts, y):
        digest.update(account.key.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(str(int(target)).encode())
        digest.update(b"\x1f")
        for event in account.timeline:
            digest.update(event.key.encode("utf-8"))
            digest.update(event.text.encode("utf-8"))
        digest.update(b"\x1e")
    n_events = sum(len(a.timeline) for a in accounts)
    return {
        "fingerprint": digest.hexdigest(),
        "n_accounts": len(accounts),
        "n_dealers": int(y.sum()),
        "n_other": int(len(y) - y.sum()),
        "n_events": n_events,
        "events_per_account_median": float(np.median([len(a.timeline) for a in accounts])),
    }


__all__ = [
    "DEALER_COLUMNS",
    "EVENT_TARGETS",
    "AccountDetector",
    "L1Selector",
    "as_accounts",
    "comments_by_post",
    "cross_fit_proba",
    "dealer_targets",
    "event_target",
    "fit_event_detector",
    "make_account_model",
    "timeline_proba",
]
