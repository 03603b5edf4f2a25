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


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the sample-weighted mean |accuracy - confidence| over ``n_bins`` equal-width bins.

    Binned on the positive-class probability (the "reliability diagram"
    form): for each bin, |fraction of positives - mean predicted probability|.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    proba = np.asarray(proba, dtype=np.float64)
    if len(y_true) == 0:
        return float("nan")
    bins = np.minimum((proba * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            total += in_bin.sum() * abs(y_true[in_bin].mean() - proba[in_bin].mean())
    return float(total / len(y_true))


def binary_metrics(y_true: Sequence[int], proba: Sequence[float], threshold: float = 0.5) -> dict[str, Any]:
    """Metrics of positive-class probabilities ``proba`` against 0/1 ``y_true``."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    y_pred = (proba >= threshold).astype(np.int64)
    both = len(np.unique(y_true)) == 2
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return {
        "n": int(len(y_true)),
        "n_positive": int(y_true.sum()),
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, proba)) if both else None,
        "pr_auc": float(average_precision_score(y_true, proba)) if y_true.sum() > 0 else None,
        "ece": expected_calibration_error(y_true, proba),
        "fpr": float(fp / (fp + tn)) if (fp + tn) else None,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


def best_f1_threshold(y_true: Sequence[int], proba: Sequence[float]) -> tuple[float, float]:
    """``(threshold, f1)`` maximizing F1 on these predictions.

    Used *inside training folds* to choose a detector's threshold, and on
    pooled test predictions only as a labelled oracle diagnostic.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    if y_true.sum() == 0:
        return 0.5, 0.0
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    if not len(thresholds):
        return 0.5, 0.0
    return float(thresholds[best]), float(f1[best])


def fpr_by_source(
    y_true: Sequence[int], y_pred: Sequence[int], sources: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """False-positive rate per source, over that source's negatives only."""
    negatives: dict[str, int] = defaultdict(int)
    false_pos: dict[str, int] = defaultdict(int)
    for truth, pred, source in zip(y_true, y_pred, sources):
        if int(truth) == 0:
            negatives[source] += 1
            false_pos[source] += int(pred)
    return {
        source: {"negatives": negatives[source], "false_positives": false_pos[source],
                 "fpr": false_pos[source] / negatives[source]}
        for source in sorted(negatives, key=lambda s: (-negatives[s], s))
    }


__all__ = ["best_f1_threshold", "binary_metrics", "expected_calibration_error", "fpr_by_source"]
