"""Multi-label metrics over the 10 labels (DMML's table 2), all from scikit-learn.

Example-based: subset accuracy (the predicted label set equals the true
one) and Hamming loss (the fraction of wrong label decisions over the
C + 1 = 10 labels). Label-based: micro and macro precision, recall and F1
over the 10 labels, per-label precision / recall / F1 / support, and one
2x2 confusion matrix per label (``[[tn, fp], [fn, tp]]``).

Inputs are ``(n, 10)`` 0/1 indicator matrices in
:data:`drugwatch.labels.LABELS` order. A label with no true and no
predicted positive scores F1 0 (scikit-learn's ``zero_division=0``), so
macro averages never hide an unsupported label behind a made-up 1.0.

>>> import numpy as np
>>> y = np.zeros((2, 10), int); y[0, 0] = 1; y[1, 1] = 1
>>> m = multilabel_metrics(y, y)
>>> m["subset_accuracy"], m["hamming_loss"]
(1.0, 0.0)
"""

from __future__ import annotations

import json as _json
import time as _time
from collections import Counter as _Counter
from collections.abc import Mapping, Sequence
from datetime import UTC
from datetime import datetime as _datetime
from pathlib import Path as _Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)

from drugwatch.labels import LABELS

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


def _check(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 2 or y_true.shape[1] != len(LABELS):
        raise ValueError(f"y_true must have shape (n, {len(LABELS)}) in LABELS order; got {y_true.shape}")
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred has shape {y_pred.shape}, y_true {y_true.shape}; they must match")
    if not (np.isin(y_true, (0, 1)).all() and np.isin(y_pred, (0, 1)).all()):
        raise ValueError(
            "y_true and y_pred must be 0/1 indicator matrices; threshold probabilities first "
            "(drugwatch.models.multilabel.decode)"
        )
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def multilabel_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Every metric of DMML's table 2 plus per-label scores and confusion matrices."""
    y_true, y_pred = _check(y_true, y_pred)
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
    y_true, y_pred = _check(y_true, y_pred)
    f = f1_score(y_true, y_pred, average=None, zero_division=0)
    return {name: float(f[i]) for i, name in enumerate(LABELS)}


def mean_over_folds(per_fold: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each scalar metric over folds."""
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


__all__ = ["SCALAR_METRICS", "confusion_table", "mean_over_folds", "multilabel_metrics", "per_label_f1"]


# ---------------------------------------------------------------------------
# Cross-validated evaluation of drug-type detectors (``[data] target = "drugtype"``)
#
# Called by :func:`drugwatch.evaluation.experiment.run_evaluation` /
# ``run_training`` when an experiment's ``data.target`` is ``"drugtype"``.
# Protocol: events without labels are dropped; near-duplicates are removed
# (one representative per cluster: the first member carrying the cluster's
# most common label set); folds are stratified group k-fold on the group
# (stratified on each event's rarest label); every detector is fitted on
# the training folds only (vocabularies, calibration and per-label
# thresholds included) and decodes the test fold with its own
# ``thresholds_`` (:func:`drugwatch.models.multilabel.decode`).


def _label_matrix(events) -> np.ndarray:
    from drugwatch.models.base import drugtype_targets

    return drugtype_targets(events, None)


def deduplicate_multilabel(events, y: np.ndarray, threshold: float) -> tuple[list[int], dict[str, float]]:
    """Indices kept after near-duplicate removal, and a report (policy above)."""
    from drugwatch.dedup import cluster_texts

    clusters = cluster_texts([e.text for e in events], threshold=threshold)
    members: dict[int, list[int]] = {}
    for i, c in enumerate(clusters):
        members.setdefault(c, []).append(i)
    keep, merged, conflicts = [], 0, 0
    for idx in members.values():
        if len(idx) > 1:
            merged += 1
        sets = [tuple(np.flatnonzero(y[i])) for i in idx]
        if len(set(sets)) > 1:
            conflicts += 1
            common = _Counter(sets).most_common(1)[0][0]
            keep.append(next(i for i, s in zip(idx, sets) if s == common))
        else:
            keep.append(idx[0])
    keep.sort()
    return keep, {
        "threshold": threshold,
        "n_before": len(events),
        "n_after": len(keep),
        "n_removed": len(events) - len(keep),
        "n_clusters_merged": merged,
        "n_label_conflicts": conflicts,
    }


def load_multilabel_dataset(config) -> tuple[list, np.ndarray, dict[str, Any]]:
    """Events with labels, their ``(n, 10)`` targets and a data report."""
    from drugwatch.evaluation.experiment import BENCH_ENV, ConfigError
    from drugwatch.io.jsonl import load_bench_events

    path = config.data_path()
    if not path.is_file():
        raise ConfigError(
            f"data file {path} does not exist; fix data.path (relative to the config file) "
            f"or set {BENCH_ENV} to the bench kit folder"
        )
    events = load_bench_events(path)
    labelled = [e for e in events if e.labels]
    y = _label_matrix(labelled)
    info: dict[str, Any] = {"path": str(path), "n_read": len(events), "n_unlabelled": len(events) - len(labelled)}
    if config.data.dedup_threshold > 0:
        keep, report = deduplicate_multilabel(labelled, y, config.data.dedup_threshold)
        labelled = [labelled[i] for i in keep]
        y = y[keep]
        info["dedup"] = report
    from drugwatch.evaluation.splits import group_of

    info["n_events"] = len(labelled)
    info["n_groups"] = len({group_of(e) for e in labelled})
    info["label_counts"] = {name: int(y[:, j].sum()) for j, name in enumerate(LABELS)}
    info["n_multi_label"] = int((y.sum(1) > 1).sum())
    return labelled, y, info


def multilabel_folds(events, y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group k-fold, stratified on each event's rarest label."""
    from sklearn.model_selection import StratifiedGroupKFold

    from drugwatch.evaluation.splits import group_of

    freq = y.sum(0)
    strat = np.array([int(np.flatnonzero(r)[np.argmin(freq[np.flatnonzero(r)])]) for r in y])
    groups = [group_of(e) for e in events]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(events)), strat, groups))


def evaluate_multilabel_cell(
    config,
    column_key: str,
    row_value: Any,
    events,
    y: np.ndarray,
    folds,
    fold_ids: Sequence[int] | None = None,
    progress=None,
) -> dict[str, Any]:
    """Cross-validate one detector on the folds ``fold_ids`` (default all)."""
    fold_ids = list(range(len(folds))) if not fold_ids else list(fold_ids)
    pred = np.zeros_like(y)
    tested = np.zeros(len(events), dtype=bool)
    per_fold = []
    for k in fold_ids:
        train_idx, test_idx = folds[k]
        detector = config.build_detector(column_key, row_value)
        started = _time.perf_counter()
        detector.fit([events[i] for i in train_idx], y[train_idx])
        fit_s = _time.perf_counter() - started
        started = _time.perf_counter()
        p = detector.predict([events[i] for i in test_idx])
        predict_s = _time.perf_counter() - started
        pred[test_idx] = p
        tested[test_idx] = True
        m = multilabel_metrics(y[test_idx], p)
        m.update(
            {
                "fold": k,
                "fit_s": round(fit_s, 1),
                "predict_s": round(predict_s, 1),
                "thresholds": [float(t) for t in detector.thresholds_],
            }
        )
        per_fold.append(m)
        if progress:
            progress(
                f"{column_key} fold {k + 1}/{len(folds)}: macro-F1 {m['macro_f1']:.4f} "
                f"subset acc {m['subset_accuracy']:.4f} (fit {fit_s:.0f}s)"
            )
    return {
        "column": column_key,
        "title": config.columns[column_key].title,
        "detector": config.columns[column_key].detector,
        "row": row_value,
        "params": config.build_detector(column_key, row_value).get_params(),
        "folds_run": fold_ids,
        "n_folds": len(folds),
        "per_fold": per_fold,
        "mean": mean_over_folds(per_fold),
        "pooled": multilabel_metrics(y[tested], pred[tested]),
        "fit_s_total": float(sum(f["fit_s"] for f in per_fold)),
    }


def run_multilabel_evaluation(config, output_dir, progress=None) -> dict[str, Any]:
    """Cross-validate every column of a drug-type experiment; write ``metrics.json`` and ``table.md``."""
    from drugwatch.evaluation.experiment import METRICS_FILE, TABLE_FILE, _clean
    from drugwatch.models.base import library_versions

    output_dir = _Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    events, y, info = load_multilabel_dataset(config)
    folds = multilabel_folds(events, y, config.cv.n_splits, config.cv.seed)
    info["folds"] = [
        {"fold": k, "n_test": int(len(te)), "label_counts": y[te].sum(0).tolist()} for k, (_, te) in enumerate(folds)
    ]
    if progress:
        progress(f"{info['n_events']} events, {info['n_groups']} groups after dedup; {len(folds)} folds")
    result: dict[str, Any] = {
        "task": "drugtype",
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": info,
        "libraries": library_versions(),
        "started_at": _datetime.now(UTC).isoformat(timespec="seconds"),
        "cells": [],
    }

    def write() -> None:
        (output_dir / METRICS_FILE).write_text(_json.dumps(_clean(result), indent=2) + "\n", encoding="utf-8")
        (output_dir / TABLE_FILE).write_text(render_multilabel_table(result), encoding="utf-8")

    fold_ids = getattr(config.cv, "folds", None) or None
    for row_value in config.row_values():
        for column_key in config.column_keys():
            if row_value in config.columns[column_key].skip_rows:
                continue
            result["cells"].append(
                evaluate_multilabel_cell(config, column_key, row_value, events, y, folds, fold_ids, progress)
            )
            write()
    result["finished_at"] = _datetime.now(UTC).isoformat(timespec="seconds")
    write()
    return result


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def render_multilabel_table(*results: Mapping[str, Any]) -> str:
    """DMML-style table 2 (mean over the folds run), per-fold table, per-label F1 and confusion matrices.

    Several results (e.g. runs of different columns) can be rendered together.
    """
    cells = [c for r in results for c in r["cells"]]
    first = results[0]
    data = first["data"]
    title = first["experiment"].get("title") or first["experiment"]["name"]
    dedup = data.get("dedup")
    lines = [f"# {title}", ""]
    if first["experiment"].get("note"):
        lines += [first["experiment"]["note"], ""]
    lines += [
        f"Data: `{_Path(data['path']).name}`, {data['n_events']} events from {data['n_groups']} groups"
        + (
            f" after near-duplicate removal ({dedup['n_removed']} removed at Jaccard ≥ {dedup['threshold']})"
            if dedup
            else ""
        )
        + f"; {len(data.get('folds', []))}-fold stratified group CV (group = vendor). Per-label thresholds "
        "are fitted inside the training folds; `non_drug` exclusive; argmax when nothing fires.",
        "",
        "Mean over the folds run (%; Hamming loss as a fraction). SA = subset accuracy, HL = Hamming loss:",
        "",
        "| model | folds | SA | HL | micro P | micro R | micro F1 | macro P | macro R | macro F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        m = c["mean"]
        folds = (
            "all " + str(c["n_folds"])
            if len(c["folds_run"]) == c["n_folds"]
            else ",".join(str(k) for k in c["folds_run"])
        )
        lines.append(
            f"| {c['title'] if 'title' in c else c['column']} | {folds} | {_pct(m['subset_accuracy']['mean'])} | "
            f"{m['hamming_loss']['mean']:.4f} | {_pct(m['micro_precision']['mean'])} | "
            f"{_pct(m['micro_recall']['mean'])} | {_pct(m['micro_f1']['mean'])} | "
            f"{_pct(m['macro_precision']['mean'])} | {_pct(m['macro_recall']['mean'])} | "
            f"**{_pct(m['macro_f1']['mean'])}** |"
        )
    n_folds = max((c["n_folds"] for c in cells), default=0)
    lines += [
        "",
        "Per fold: macro-F1 / subset accuracy (%):",
        "",
        "| model | " + " | ".join(f"f{k}" for k in range(n_folds)) + " | mean ± sd |",
        "|" + "---|" * (n_folds + 2),
    ]
    for c in cells:
        by = {f["fold"]: f for f in c["per_fold"]}
        parts = [
            f"{_pct(by[k]['macro_f1'])} / {_pct(by[k]['subset_accuracy'])}" if k in by else "not run"
            for k in range(n_folds)
        ]
        m = c["mean"]
        lines.append(
            f"| {c['column']} | " + " | ".join(parts) + f" | {_pct(m['macro_f1']['mean'])} ± "
            f"{_pct(m['macro_f1']['std'])} / {_pct(m['subset_accuracy']['mean'])} ± "
            f"{_pct(m['subset_accuracy']['std'])} |"
        )
    lines += [
        "",
        "Per-label F1 (%), pooled over the test folds run:",
        "",
        "| model | " + " | ".join(LABELS) + " |",
        "|" + "---|" * (len(LABELS) + 1),
    ]
    for c in cells:
        pl = c["pooled"]["per_label"]
        lines.append(f"| {c['column']} | " + " | ".join(_pct(pl[name]["f1"]) for name in LABELS) + " |")
    for c in cells:
        lines += [
            "",
            f"Confusion matrices of `{c['column']}` (pooled over the test folds run):",
            "",
            confusion_table(c["pooled"]["confusion"]),
        ]
    lines.append("")
    return "\n".join(lines)


def run_multilabel_training(config, output_dir, progress=None):
    """Fit the config's ``train.column`` drug-type detector on all data; write ``model-best/``."""
    from drugwatch.evaluation.experiment import METRICS_FILE, ConfigError, _clean

    output_dir = _Path(output_dir)
    keys = config.column_keys()
    column = config.train.column or (keys[0] if len(keys) == 1 else None)
    if column is None or column not in config.columns:
        raise ConfigError(f"choose the column to train with train.column=NAME; columns are {list(config.columns)}")
    row = config.train.row if config.train.row is not None else config.row_values()[0]
    events, y, info = load_multilabel_dataset(config)
    evaluation = None
    if config.train.cross_validate:
        folds = multilabel_folds(events, y, config.cv.n_splits, config.cv.seed)
        cell = evaluate_multilabel_cell(config, column, row, events, y, folds, None, progress)
        evaluation = {
            "protocol": f"{config.cv.n_splits}-fold stratified group CV on {_Path(info['path']).name}",
            **{k: v["mean"] for k, v in cell["mean"].items()},
        }
    detector = config.build_detector(column, row)
    if progress:
        progress(f"fitting {detector.name} on {len(events)} events")
    started = _time.perf_counter()
    detector.fit(events, y)
    model_dir = detector.save(output_dir / "model-best", evaluation=evaluation)
    summary = {
        "experiment": config.experiment.model_dump(),
        "data": info,
        "column": column,
        "detector": detector.name,
        "fit_s": _time.perf_counter() - started,
        "evaluation": evaluation,
        "model_dir": str(model_dir),
    }
    (output_dir / METRICS_FILE).write_text(_json.dumps(_clean(summary), indent=2) + "\n", encoding="utf-8")
    return model_dir


__all__ += [
    "deduplicate_multilabel",
    "evaluate_multilabel_cell",
    "load_multilabel_dataset",
    "multilabel_folds",
    "render_multilabel_table",
    "run_multilabel_evaluation",
    "run_multilabel_training",
]
