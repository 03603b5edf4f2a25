"""Every evaluation metric of drugwatch, from scikit-learn (plus the calibration error).

Binary: :func:`hard_metrics` gives accuracy, precision, recall, F1, the
false-positive rate and the confusion counts of 0/1 decisions;
:func:`binary_metrics` adds ROC-AUC, PR-AUC (average precision) and the
expected calibration error of the probabilities behind them.
:func:`fpr_by_source` gives the false-positive rate of every negative data
source. Metrics that are undefined on a fold (ROC-AUC with one class
present) are ``None``, never a made-up number.

Multi-label (DMML's table 2, over the 10 labels): :func:`multilabel_metrics`
gives subset accuracy (the predicted label set equals the true one), Hamming
loss (the fraction of wrong label decisions), micro and macro precision,
recall and F1, per-label scores and one 2x2 confusion matrix per label
(``[[tn, fp], [fn, tp]]``). Inputs are ``(n, 10)`` 0/1 indicator matrices in
:data:`drugwatch.labels.LABELS` order. A label with no true and no predicted
positive scores F1 0 (``zero_division=0``), so macro averages never hide an
unsupported label behind a made-up 1.0.

>>> import numpy as np
>>> y = np.zeros((2, 10), int); y[0, 0] = 1; y[1, 1] = 1
>>> m = multilabel_metrics(y, y)
>>> m["subset_accuracy"], m["hamming_loss"]
(1.0, 0.0)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

from drugwatch.labels import LABELS


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


def hard_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, false-positive rate and confusion counts of 0/1 decisions."""
    truth = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    if not len(truth):
        zero = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        return {"accuracy": None, "precision": 0.0, "recall": 0.0, "f1": 0.0, "fpr": None, **zero}
    tn, fp, fn, tp = confusion_matrix(truth, pred, labels=[0, 1]).ravel()
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "precision": float(precision_score(truth, pred, zero_division=0)),
        "recall": float(recall_score(truth, pred, zero_division=0)),
        "f1": float(f1_score(truth, pred, zero_division=0)),
        "fpr": float(fp / (fp + tn)) if (fp + tn) else None,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts, for matches that are not two label arrays.

    E.g. pairs of accounts placed in one network, or scan results matched to
    the truth by key. Undefined ratios are 0, as ``zero_division=0``.
    """
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def binary_metrics(
    y_true: npt.ArrayLike,
    proba: npt.ArrayLike,
    threshold: float | None = 0.5,
    *,
    y_pred: npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """Metrics of positive-class probabilities ``proba`` against 0/1 ``y_true``.

    The hard metrics (accuracy to the confusion counts) are those of
    ``proba >= threshold``, or of ``y_pred`` when given: the detector's own
    decisions, e.g. out-of-fold predictions pooled over folds that each
    decided at their own threshold (``threshold`` is then reported as given,
    ``None`` for "each fold's own").
    """
    truth = np.asarray(y_true, dtype=np.int64)
    prob = np.asarray(proba, dtype=np.float64)
    if y_pred is None:
        if threshold is None:
            raise ValueError("binary_metrics needs a threshold or the decisions (y_pred)")
        decisions = (prob >= threshold).astype(np.int64)
    else:
        decisions = np.asarray(y_pred, dtype=np.int64)
    both = len(np.unique(truth)) == 2
    hard = hard_metrics(truth, decisions)
    return {
        "n": int(len(truth)),
        "n_positive": int(truth.sum()),
        "threshold": None if threshold is None else float(threshold),
        **{k: hard[k] for k in ("accuracy", "precision", "recall", "f1")},
        "roc_auc": float(roc_auc_score(truth, prob)) if both else None,
        "pr_auc": float(average_precision_score(truth, prob)) if truth.sum() > 0 else None,
        "ece": expected_calibration_error(truth, prob),
        **{k: hard[k] for k in ("fpr", "tp", "fp", "fn", "tn")},
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


# ---------------------------------------------------------------------------
# Multi-label

#: Scalar metrics of :func:`multilabel_metrics`, in table order.
SCALAR_METRICS: tuple[str, ...] = (
    "subset_accuracy",
    "hamming_loss",
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "macro_precision",
    "macro_recall",
    "macro_f1",
)


def _check_indicators(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 2 or y_true.shape[1] != len(LABELS):
        raise ValueError(f"y_true must have shape (n, {len(LABELS)}) in LABELS order; got {y_true.shape}")
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred has shape {y_pred.shape}, y_true {y_true.shape}; they must match")
    if not (np.isin(y_true, (0, 1)).all() and np.isin(y_pred, (0, 1)).all()):
        raise ValueError(
            "y_true and y_pred must be 0/1 indicator matrices; threshold probabilities first (the detector's decide)"
        )
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def multilabel_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Every metric of DMML's table 2 plus per-label scores and confusion matrices."""
    y_true, y_pred = _check_indicators(y_true, y_pred)
    out: dict[str, Any] = {"n": int(len(y_true))}
    if len(y_true) == 0:
        return out
    out["subset_accuracy"] = float(accuracy_score(y_true, y_pred))
    out["hamming_loss"] = float(hamming_loss(y_true, y_pred))
    for average in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        out[f"{average}_precision"] = float(p)
        out[f"{average}_recall"] = float(r)
        out[f"{average}_f1"] = float(f)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    out["per_label"] = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, name in enumerate(LABELS)
    }
    cms = multilabel_confusion_matrix(y_true, y_pred)
    out["confusion"] = {name: cms[i].tolist() for i, name in enumerate(LABELS)}
    return out


def per_label_f1(y_true: Any, y_pred: Any) -> dict[str, float]:
    """F1 of each label, in LABELS order."""
    y_true, y_pred = _check_indicators(y_true, y_pred)
    f = f1_score(y_true, y_pred, average=None, zero_division=0)
    return {name: float(f[i]) for i, name in enumerate(LABELS)}


def mean_over_folds(per_fold: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each multi-label scalar metric over folds."""
    out = {}
    for key in SCALAR_METRICS:
        values = np.array([f[key] for f in per_fold if f.get(key) is not None], dtype=np.float64)
        if len(values):
            out[key] = {"mean": float(values.mean()), "std": float(values.std())}
    return out


def confusion_table(confusion: Mapping[str, Sequence[Sequence[int]]]) -> str:
    """Markdown table of per-label confusion matrices (tn, fp, fn, tp)."""
    lines = ["| label | TN | FP | FN | TP |", "|---|---|---|---|---|"]
    for name in LABELS:
        (tn, fp), (fn, tp) = confusion[name]
        lines.append(f"| {name} | {tn} | {fp} | {fn} | {tp} |")
    return "\n".join(lines)


__all__ = [
    "SCALAR_METRICS",
    "best_f1_threshold",
    "binary_metrics",
    "confusion_table",
    "expected_calibration_error",
    "fpr_by_source",
    "hard_metrics",
    "mean_over_folds",
    "multilabel_metrics",
    "per_label_f1",
    "precision_recall_f1",
]
