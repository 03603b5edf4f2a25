"""Binary detection metrics, all from scikit-learn (plus the calibration error).

:func:`binary_metrics` gives accuracy, precision, recall, F1, ROC-AUC,
PR-AUC (average precision), expected calibration error and the confusion
counts for one set of predictions. :func:`fpr_by_source` gives the
false-positive rate of every negative data source.

Metrics that are undefined on a fold (ROC-AUC with one class present)
are ``None``, never a made-up number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)


def expected_calibration_error(y_true: npt.ArrayLike, proba: npt.ArrayLike, n_bins: int = 10) -> float:
    """ECE: the sample-weighted mean |accuracy - confidence| over ``n_bins`` equal-width bins.

    Binned on the positive-class probability (the "reliability diagram"
    form): for each bin, |fraction of positives - mean predicted probability|.
    """
    truth = np.asarray(y_true, dtype=np.float64)
    prob = np.asarray(proba, dtype=np.float64)
    if len(truth) == 0:
        return float("nan")
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            total += in_bin.sum() * abs(truth[in_bin].mean() - prob[in_bin].mean())
    return float(total / len(truth))


def binary_metrics(y_true: npt.ArrayLike, proba: npt.ArrayLike, threshold: float = 0.5) -> dict[str, Any]:
    """Metrics of positive-class probabilities ``proba`` against 0/1 ``y_true``."""
    truth = np.asarray(y_true, dtype=np.int64)
    prob = np.asarray(proba, dtype=np.float64)
    y_pred = (prob >= threshold).astype(np.int64)
    both = len(np.unique(truth)) == 2
    tn, fp, fn, tp = confusion_matrix(truth, y_pred, labels=[0, 1]).ravel()
    return {
        "n": int(len(truth)),
        "n_positive": int(truth.sum()),
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(truth, y_pred)),
        "precision": float(precision_score(truth, y_pred, zero_division=0)),
        "recall": float(recall_score(truth, y_pred, zero_division=0)),
        "f1": float(f1_score(truth, y_pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(truth, prob)) if both else None,
        "pr_auc": float(average_precision_score(truth, prob)) if truth.sum() > 0 else None,
        "ece": expected_calibration_error(truth, prob),
        "fpr": float(fp / (fp + tn)) if (fp + tn) else None,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


def best_f1_threshold(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> tuple[float, float]:
    """``(threshold, f1)`` maximizing F1 on these predictions.

    Used *inside training folds* to choose a detector's threshold, and on
    pooled test predictions only as a labelled oracle diagnostic.
    """
    truth = np.asarray(y_true, dtype=np.int64)
    prob = np.asarray(proba, dtype=np.float64)
    if truth.sum() == 0:
        return 0.5, 0.0
    precision, recall, thresholds = precision_recall_curve(truth, prob)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    if not len(thresholds):
        return 0.5, 0.0
    return float(thresholds[best]), float(f1[best])


def fpr_by_source(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, sources: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """False-positive rate per source, over that source's negatives only."""
    negatives: dict[str, int] = defaultdict(int)
    false_pos: dict[str, int] = defaultdict(int)
    for truth, pred, source in zip(y_true, y_pred, sources):
        if int(truth) == 0:
            negatives[source] += 1
            false_pos[source] += int(pred)
    return {
        source: {
            "negatives": negatives[source],
            "false_positives": false_pos[source],
            "fpr": false_pos[source] / negatives[source],
        }
        for source in sorted(negatives, key=lambda s: (-negatives[s], s))
    }


__all__ = ["best_f1_threshold", "binary_metrics", "expected_calibration_error", "fpr_by_source"]
