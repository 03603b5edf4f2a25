"""The experiment runner: cross-validate and train the detectors an experiment config names.

An experiment is a TOML config (:mod:`drugwatch.evaluation.config`: data,
folds, rows of one swept parameter, columns of registered detectors, dotted
overrides). Its ``data.target`` picks a task (:mod:`drugwatch.evaluation.tasks`:
binary selling, multi-label drug type, the image targets of
:mod:`drugwatch.vision.evaluation`) and this one runner does the rest for
every task:

* :func:`run_evaluation` cross-validates every (row, column) cell;
  :func:`evaluate_cell` fits a fresh detector on each fold's training part
  only (vocabularies, feature selection, calibration and thresholds
  included), scores the test part with the detector's own decisions, and
  reports metrics per fold and pooled over the folds run. ``metrics.json``
  and ``table.md`` are rewritten after every cell, so an interrupted run
  keeps its finished cells; tasks that allow it save each finished fold
  (:mod:`drugwatch.evaluation.checkpoints`) for the next run to reuse.
* :func:`run_training` fits the config's ``train.column`` on all the data
  and writes ``model-best/`` (with the cross-validated metrics on its card
  when ``train.cross_validate`` is set).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.evaluation.checkpoints import FoldCheckpoints, FoldResult, data_fingerprint
from drugwatch.evaluation.config import (
    BENCH_ENV,
    CHECKPOINT_DIR,
    METRICS_FILE,
    TABLE_FILE,
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    bench_errors,
    extra_args_to_overrides,
    load_config,
    parse_override,
    write_json,
)
from drugwatch.evaluation.tasks import (
    Dataset,
    EvaluationTask,
    FoldOutput,
    Folds,
    Progress,
    load_dataset,
    render_table,
    task_for,
)
from drugwatch.models.base import library_versions


def evaluate_cell(
    config: ExperimentConfig,
    task: EvaluationTask,
    column_key: str,
    row_value: Any,
    data: Dataset,
    folds: Folds,
    progress: Progress | None = None,
    *,
    checkpoints: FoldCheckpoints | None = None,
    fold_ids: Sequence[int] | None = None,
    fit_missing: bool = True,
) -> dict[str, Any] | None:
    """Cross-validate one detector (one table cell) on the folds ``fold_ids`` (default all).

    With ``checkpoints`` (tasks that keep them), each fold's predictions are
    saved as soon as it is done, and a fold saved earlier with the same data,
    fold and parameters is read back instead of refitted. Pooled metrics
    cover the folds run. With ``fit_missing=False`` only saved folds are used
    (a report of a run still in progress); ``None`` when there is none.
    """
    fold_ids = list(range(len(folds))) if not fold_ids else sorted(set(fold_ids))
    unknown = [k for k in fold_ids if not 0 <= k < len(folds)]
    if unknown:
        raise ConfigError(f"cv.folds names folds {unknown}; there are {len(folds)} (0 to {len(folds) - 1})")
    events, y = data.events, data.y
    detector_name = config.columns[column_key].detector
    params = config.build_detector(column_key, row_value).get_params()
    scores: np.ndarray | None = None
    decisions: np.ndarray | None = None
    tested = np.zeros(len(events), dtype=bool)
    per_fold = []
    for k in fold_ids:
        train_idx, test_idx = folds[k]
        test_events = [events[i] for i in test_idx]
        saved = checkpoints.load(column_key, detector_name, row_value, k, params, test_idx) if checkpoints else None
        if saved is not None:
            # A checkpoint keeps the probabilities and the threshold the detector decided with.
            output = FoldOutput(saved.proba, (saved.proba >= saved.threshold).astype(np.int64), saved.threshold)
            fit_s, predict_s = saved.fit_s, saved.predict_s
        elif not fit_missing:
            continue
        else:
            detector = config.build_detector(column_key, row_value)
            started = time.perf_counter()
            task.fit(detector, [events[i] for i in train_idx], y[train_idx])
            fit_s = time.perf_counter() - started
            started = time.perf_counter()
            output = task.predict(detector, test_events)
            predict_s = time.perf_counter() - started
            if checkpoints and output.threshold is not None:
                checkpoints.save(
                    column_key,
                    detector_name,
                    row_value,
                    k,
                    params,
                    test_idx,
                    FoldResult(output.scores, output.threshold, fit_s, predict_s),
                )
        if scores is None or decisions is None:
            scores = np.zeros((len(events), *output.scores.shape[1:]), dtype=np.float64)
            decisions = np.zeros((len(events), *output.decisions.shape[1:]), dtype=np.int64)
        scores[test_idx] = output.scores
        decisions[test_idx] = output.decisions
        tested[test_idx] = True
        fold = task.fold_metrics(y[test_idx], output)
        fold.update(
            {
                "fold": k,
                "fit_s": round(fit_s, 3),
                "predict_s": round(predict_s, 3),
                **task.fold_facts(test_events),
                **output.facts,
            }
        )
        if task.checkpoints:
            fold["from_checkpoint"] = saved is not None
        per_fold.append(fold)
        if progress:
            progress(
                f"{column_key} [{config.row_title(row_value)}] fold {k + 1}/{len(folds)}: {task.fold_line(fold)} "
                f"(fit {fit_s:.1f}s{', from checkpoint' if saved is not None else ''})"
            )
    if not per_fold or scores is None or decisions is None:
        return None
    idx = np.flatnonzero(tested)
    return {
        "column": column_key,
        "title": task.cell_title(config, column_key, row_value),
        "detector": detector_name,
        "row": row_value,
        "params": params,
        "folds_run": [f["fold"] for f in per_fold],
        "n_folds": len(folds),
        "per_fold": per_fold,
        **task.summarize([events[i] for i in idx], y[idx], scores[idx], decisions[idx], per_fold),
        "fit_s_total": float(sum(f["fit_s"] for f in per_fold)),
    }


def run_evaluation(
    config: ExperimentConfig,
    output_dir: str | Path,
    progress: Progress | None = None,
    *,
    checkpoint_dir: str | Path | None = None,
    reuse_checkpoints: bool = True,
    fit_missing: bool = True,
) -> dict[str, Any]:
    """Cross-validate every (row, column) cell; write ``metrics.json`` and ``table.md``.

    Both files are rewritten after every finished cell. For tasks that keep
    fold checkpoints (selling), every finished fold is saved under
    ``checkpoint_dir`` (default ``output_dir/folds``) and reused by the next
    run unless ``reuse_checkpoints`` is false; with ``fit_missing=False``
    nothing is fitted and the tables are made from the saved folds alone.
    ``cv.folds`` limits the run to some folds.
    """
    if not fit_missing and not reuse_checkpoints:
        raise ConfigError("a report from saved folds (no fitting) needs the checkpoints: drop --fresh")
    task = task_for(config)
    if not task.checkpoints and (not fit_missing or checkpoint_dir is not None):
        raise ConfigError(
            f"{task.name} experiments keep no fold checkpoints: drop --saved-only / --checkpoints "
            "and run chosen folds with cv.folds"
        )
    if config.lofo.enabled and task.name != "selling":
        raise ConfigError(f"[lofo] runs on selling experiments only, not {task.name}; set lofo.enabled = false")
    task.check_columns(config)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with bench_errors():
        data = task.load(config)
    folds = task.folds(config, data)
    checkpoints = None
    if task.checkpoints:
        checkpoints = FoldCheckpoints(
            Path(checkpoint_dir) if checkpoint_dir is not None else output_dir / CHECKPOINT_DIR,
            data_fingerprint(data.events, data.y),
            reuse=reuse_checkpoints,
        )
        data.info["sha256"] = checkpoints.fingerprint
    data.info["folds"] = task.fold_report(data, folds)
    if progress:
        progress(task.describe(data.info, len(folds)))
    result: dict[str, Any] = {
        "task": task.name,
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": data.info,
        "libraries": library_versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cells": [],
    }
    for row_value in config.row_values():
        for column_key in config.column_keys():
            if row_value in config.columns[column_key].skip_rows:
                continue
            cell = evaluate_cell(
                config,
                task,
                column_key,
                row_value,
                data,
                folds,
                progress,
                checkpoints=checkpoints,
                fold_ids=config.cv.folds,
                fit_missing=fit_missing,
            )
            if cell is None:
                if progress:
                    progress(f"{column_key} [{config.row_title(row_value)}]: no saved fold, left out")
                continue
            result["cells"].append(cell)
            _write_outputs(task, config, result, output_dir)
    if config.lofo.enabled and fit_missing:
        from drugwatch.evaluation.lofo import run_config_lofo

        result["lofo"] = run_config_lofo(config, output_dir, progress)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["wall_s"] = round(time.perf_counter() - started, 1)
    _write_outputs(task, config, result, output_dir)
    return result


def _write_outputs(task: EvaluationTask, config: ExperimentConfig, result: dict[str, Any], output_dir: Path) -> None:
    write_json(output_dir / METRICS_FILE, result)
    (output_dir / TABLE_FILE).write_text(task.render(config, result), encoding="utf-8")


def run_training(config: ExperimentConfig, output_dir: str | Path, progress: Progress | None = None) -> Path:
    """Fit the config's ``train.column`` detector on all (deduplicated) data; write ``model-best/``.

    With ``train.cross_validate = true`` the card also records that
    detector's cross-validated metrics (the config's ``[cv]``).
    """
    task = task_for(config)
    task.check_columns(config)
    output_dir = Path(output_dir)
    keys = config.column_keys()
    column = config.train.column or (keys[0] if len(keys) == 1 else None)
    if column is None:
        raise ConfigError(f"the config has several columns {keys}; choose one with train.column=NAME")
    if column not in config.columns:
        raise ConfigError(f"train.column={column!r} is not a column; columns are {list(config.columns)}")
    row = config.train.row if config.train.row is not None else config.row_values()[0]
    with bench_errors():
        data = task.load(config)
    evaluation = None
    if config.train.cross_validate:
        folds = task.folds(config, data)
        cell = evaluate_cell(config, task, column, row, data, folds, progress)
        assert cell is not None  # every fold is fitted
        evaluation = task.card_evaluation(config, data.info, cell)
    detector = config.build_detector(column, row)
    if progress:
        progress(f"fitting {detector.name} on {len(data.events)} events (target {task.name})")
    started = time.perf_counter()
    task.fit(detector, data.events, data.y)
    fit_s = time.perf_counter() - started
    model_dir = detector.save(output_dir / "model-best", evaluation=evaluation)
    summary = {
        "task": task.name,
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": data.info,
        "column": column,
        "row": row,
        "detector": detector.name,
        "fit_s": fit_s,
        "evaluation": evaluation,
        "model_dir": str(model_dir),
    }
    write_json(output_dir / METRICS_FILE, summary)
    return model_dir


__all__ = [
    "BENCH_ENV",
    "ConfigError",
    "ExperimentConfig",
    "apply_overrides",
    "evaluate_cell",
    "extra_args_to_overrides",
    "load_config",
    "load_dataset",
    "parse_override",
    "render_table",
    "run_evaluation",
    "run_training",
]
