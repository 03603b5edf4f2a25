"""Experiments as config files: load, override, cross-validate, train, tabulate.

An experiment is a TOML file (see ``experiments/``)::

    [experiment]
    name = "jmir_table1"
    title = "JMIR table 1 (proxy data)"

    [data]
    path = "../../shared/bench/dev/selling.jsonl"   # relative to this file
    bench_file = "dev/selling.jsonl"   # used instead when DRUGWATCH_BENCH is set
    dedup_threshold = 0.7              # 0 turns near-duplicate removal off

    [cv]
    n_splits = 10
    seed = 0

    [train]
    seed = 0             # the seed of every detector that takes one
    column = "ours"      # what `drugwatch train` fits
    row = "with_hashtags"

    [rows]               # table rows: one detector parameter swept
    param = "variant"
    values = ["with_hashtags", "hashtags_only", "without_hashtags"]

    [columns.rf]         # table columns: registered detectors
    detector = "drugwatch.jmir_rf.v1"
    title = "Random forest"
    params = { n_estimators = 100 }

Dotted overrides (``train.seed=3``, ``columns.lstm.params.max_epochs=5``,
``run.columns=["ours"]``) are applied to the parsed TOML before validation;
values are read as TOML (``3``, ``0.5``, ``"text"``, ``[1, 2]``), and
anything that is not valid TOML is taken as a string.

Image and multimodal experiments (``data.target`` ``drug_image``,
``image_tree``, or ``drugtype`` on data with images; ``data.format``
``images``, ``jsonl``, ``demo``) are run by :mod:`drugwatch.vision.evaluation`
with the same config, overrides, rows, columns and ``cv.folds``.

Evaluation protocol (:func:`run_evaluation`): events without a ``selling``
label are dropped; near-duplicates are removed (policy in
:mod:`drugwatch.evaluation.splits`); stratified group k-fold on the group;
every detector is fitted on the training folds only (vocabularies, feature
selection, calibration and thresholds included) and predicts the test fold
at the threshold it chose in ``fit``. Metrics are reported per fold and
pooled over the out-of-fold predictions.
"""

from __future__ import annotations

import json
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drugwatch.evaluation.checkpoints import FoldCheckpoints, FoldResult, data_fingerprint
from drugwatch.evaluation.metrics import best_f1_threshold, binary_metrics, fpr_by_source
from drugwatch.evaluation.splits import deduplicate, group_of, grouped_folds
from drugwatch.io.jsonl import load_bench_events
from drugwatch.models.base import Detector, library_versions
from drugwatch.models.registry import get_detector_class
from drugwatch.records import Event

log = logging.getLogger(__name__)

BENCH_ENV = "DRUGWATCH_BENCH"
METRICS_FILE = "metrics.json"
TABLE_FILE = "table.md"
CHECKPOINT_DIR = "folds"


class ConfigError(ValueError):
    """An experiment config that cannot be used, with what to change."""


# ---------------------------------------------------------------------------
# Config schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentSection(_Strict):
    name: str = Field(min_length=1, max_length=100)
    title: str = ""
    note: str = ""


class DataSection(_Strict):
    path: str = Field(min_length=1)
    bench_file: str | None = None
    dedup_threshold: float = Field(default=0.7, ge=0, le=1)
    # "drugtype" (multi-label) is run by drugwatch.evaluation.multilabel_metrics (DMML hook) on text bench
    # files; "drug_image", "image_tree" and "drugtype" on data with images by drugwatch.vision.evaluation.
    target: str = Field(default="selling", pattern="^(selling|drugtype|drug_image|image_tree)$")
    #: "auto" guesses from the path ("demo:...") and the first record; see drugwatch.vision.evaluation.
    format: str = Field(default="auto", pattern="^(auto|bench|jsonl|images|demo)$")
    #: Image experiments: keep at most this many events (a deterministic subset) when a CPU cannot afford all.
    max_events: int | None = Field(default=None, ge=2)


class CVSection(_Strict):
    n_splits: int = Field(default=10, ge=2)
    seed: int = Field(default=0, ge=0)
    # Run only these folds (0-based; empty = all): expensive detectors can be
    # cross-validated a few folds at a time (fold checkpoints keep the rest).
    folds: list[int] = Field(default_factory=list)


class TrainSection(_Strict):
    seed: int = Field(default=0, ge=0)
    column: str | None = None
    row: Any = None
    cross_validate: bool = False


class RowsSection(_Strict):
    param: str | None = None
    values: list[Any] = Field(default_factory=lambda: [None])
    titles: list[str] | None = None


class RunSection(_Strict):
    columns: list[str] = Field(default_factory=list)
    rows: list[Any] = Field(default_factory=list)


class LofoSection(_Strict):
    """Leave-one-source-family-out after the CV (:mod:`drugwatch.evaluation.lofo`); off unless ``enabled``."""

    enabled: bool = False
    scheme: str = Field(default="source", pattern="^(source|platform)$")
    #: Darknet listings added to the universe: a file next to the data file, at most ``darknet_max``.
    darknet_file: str | None = "drugtype.jsonl"
    darknet_max: int = Field(default=8000, ge=0)
    negative_fraction: float = Field(default=1.0, gt=0, le=1)
    families: list[str] = Field(default_factory=list)


class ColumnSection(_Strict):
    detector: str
    title: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    #: Rows this column does not take part in (e.g. a detector without that variant).
    skip_rows: list[Any] = Field(default_factory=list)


class ExperimentConfig(_Strict):
    experiment: ExperimentSection
    data: DataSection
    cv: CVSection = CVSection()
    train: TrainSection = TrainSection()
    rows: RowsSection = RowsSection()
    run: RunSection = RunSection()
    lofo: LofoSection = LofoSection()
    columns: dict[str, ColumnSection]
    #: Directory the config file lives in; relative data paths resolve against it.
    base_dir: str = "."

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, ColumnSection]) -> dict[str, ColumnSection]:
        if not value:
            raise ValueError("an experiment needs at least one [columns.NAME] section")
        for key, column in value.items():
            try:
                get_detector_class(column.detector)
            except (KeyError, ValueError) as exc:  # the message lists the known names
                raise ValueError(f"columns.{key}.detector: {exc}") from None
            if not column.title:
                object.__setattr__(column, "title", key)
        return value

    def data_path(self) -> Path:
        """The data file: ``$DRUGWATCH_BENCH/<bench_file>`` if set, else ``path`` from the config's folder."""
        bench = os.environ.get(BENCH_ENV)
        if bench and self.data.bench_file:
            return Path(bench) / self.data.bench_file
        path = Path(os.path.expandvars(self.data.path)).expanduser()
        return path if path.is_absolute() else (Path(self.base_dir) / path).resolve()

    def row_values(self) -> list[Any]:
        values = list(self.rows.values)
        if self.run.rows:
            unknown = [r for r in self.run.rows if r not in values]
            if unknown:
                raise ConfigError(f"run.rows names unknown rows {unknown}; rows are {values}")
            values = [v for v in values if v in self.run.rows]
        return values

    def column_keys(self) -> list[str]:
        keys = list(self.columns)
        if self.run.columns:
            unknown = [c for c in self.run.columns if c not in keys]
            if unknown:
                raise ConfigError(f"run.columns names unknown columns {unknown}; columns are {keys}")
            keys = [k for k in keys if k in self.run.columns]
        return keys

    def row_title(self, value: Any) -> str:
        if self.rows.titles and value in self.rows.values:
            return self.rows.titles[self.rows.values.index(value)]
        return "all" if value is None else str(value)

    def build_detector(self, column_key: str, row_value: Any) -> Detector:
        column = self.columns[column_key]
        cls = get_detector_class(column.detector)
        params = dict(column.params)
        accepted = set(cls._param_names())
        if self.rows.param is not None and row_value is not None and self.rows.param in accepted:
            params[self.rows.param] = row_value
        if "seed" in accepted and "seed" not in column.params:
            params["seed"] = self.train.seed
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ConfigError(
                f"columns.{column_key}: {column.detector} has no parameter(s) {unknown}; valid: {sorted(accepted)}"
            )
        return cls(**params)


# ---------------------------------------------------------------------------
# Loading and overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.seed=3"`` -> ``(["train", "seed"], 3)``; the value is read as TOML if it can be."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value (e.g. train.seed=3)")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply dotted overrides to a parsed TOML document (a copy is returned)."""
    data = json.loads(json.dumps(data, default=str))
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


def extra_args_to_overrides(args: Sequence[str]) -> list[str]:
    """spaCy-style extra CLI args (``--train.seed 3`` or ``--train.seed=3``) -> ``["train.seed=3"]``."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --section.key value")
        if "=" in arg:
            out.append(arg[2:])
            i += 1
            continue
        if i + 1 >= len(args) or args[i + 1].startswith("--"):
            raise ConfigError(f"override {arg} has no value")
        out.append(f"{arg[2:]}={args[i + 1]}")
        i += 2
    return out


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read and validate an experiment TOML, after applying ``overrides``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such config file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    raw = apply_overrides(raw, overrides)
    raw["base_dir"] = str(path.resolve().parent)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None


# ---------------------------------------------------------------------------
# Data


def load_dataset(config: ExperimentConfig) -> tuple[list[Event], np.ndarray, dict[str, Any]]:
    """Events and 0/1 targets after dropping unlabelled events and near-duplicates."""
    from drugwatch.vision.evaluation import data_format, load_config_events

    fmt = data_format(config)
    if fmt == "images":
        raise ConfigError(
            f"{config.data_path()} holds images without text or selling labels; use data.target = "
            '"drug_image" (binary), "image_tree" (Yang & Luo\'s heads) or "drugtype" (DMML\'s 10 labels)'
        )
    if fmt != "bench":  # generic JSONL or the demo corpus: events with images, e.g. for Yang & Luo's late fusion
        events, source, _ = load_config_events(config)
        path = Path(source)
    else:
        path = config.data_path()
        if not path.is_file():
            raise ConfigError(
                f"data file {path} does not exist; fix data.path (relative to the config file) "
                f"or set {BENCH_ENV} to the bench kit folder"
            )
        with _bench_errors():
            events = load_bench_events(path)
    labelled = [e for e in events if e.selling is not None]
    if not labelled:
        raise ConfigError(f"{path}: no event carries a selling label; target selling needs them")
    y = np.array([int(bool(e.selling)) for e in labelled], dtype=np.int64)
    info: dict[str, Any] = {"path": str(path), "n_read": len(events), "n_unlabelled": len(events) - len(labelled)}
    if config.data.dedup_threshold > 0:
        keep, report = deduplicate(labelled, y, threshold=config.data.dedup_threshold)
        labelled = [labelled[i] for i in keep]
        y = y[keep]
        info["dedup"] = {"threshold": config.data.dedup_threshold, **report.as_dict()}
    info["n_events"] = len(labelled)
    info["n_positive"] = int(y.sum())
    info["n_groups"] = len({group_of(e) for e in labelled})
    info["n_positive_groups"] = len({group_of(e) for e, t in zip(labelled, y) if t})
    return labelled, y, info


@contextmanager
def _bench_errors() -> Iterator[None]:
    """A bench file that does not read as one becomes a :class:`ConfigError` saying what to change."""
    from drugwatch.io.base import ReaderError

    try:
        yield
    except ReaderError as exc:
        hint = (
            ' (image records: set data.format = "images" and data.target = "drug_image", "image_tree" or "drugtype")'
            if "lacks text" in str(exc)
            else ""
        )
        raise ConfigError(f"cannot read the data as bench records: {exc}{hint}") from None


def source_of(event: Event) -> str:
    return str(event.meta.get("subsource") or event.meta.get("source") or event.platform)


# ---------------------------------------------------------------------------
# Evaluation

Progress = Callable[[str], None]


def _pooled(y: np.ndarray, proba: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    metrics = binary_metrics(y, proba)
    # Pooled hard predictions use each fold's own threshold.
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    metrics.update(
        {
            "threshold": None,
            "accuracy": float(accuracy_score(y, pred)),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "fpr": float(fp / (fp + tn)) if (fp + tn) else None,
            "tp": int(tp),
            "fp": int(fp),
            "fn": int(fn),
            "tn": int(tn),
        }
    )
    return metrics


def evaluate_cell(
    config: ExperimentConfig,
    column_key: str,
    row_value: Any,
    events: list[Event],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    progress: Progress | None = None,
    checkpoints: FoldCheckpoints | None = None,
    fold_ids: Sequence[int] | None = None,
    fit_missing: bool = True,
) -> dict[str, Any] | None:
    """Cross-validate one detector (one table cell) on the folds ``fold_ids`` (default all).

    With ``checkpoints``, each fold's predictions are saved as soon as it is
    done, and a fold saved earlier with the same data, fold and parameters is
    read back instead of refitted. Pooled metrics cover the folds run. With
    ``fit_missing=False`` only saved folds are used (a report of a run still in
    progress); ``None`` when there is none.
    """
    fold_ids = list(range(len(folds))) if not fold_ids else sorted(set(fold_ids))
    unknown = [k for k in fold_ids if not 0 <= k < len(folds)]
    if unknown:
        raise ConfigError(f"cv.folds names folds {unknown}; there are {len(folds)} (0 to {len(folds) - 1})")
    detector_name = config.columns[column_key].detector
    params = config.build_detector(column_key, row_value).get_params()
    proba = np.zeros(len(events))
    pred = np.zeros(len(events), dtype=np.int64)
    tested = np.zeros(len(events), dtype=bool)
    per_fold = []
    for k in fold_ids:
        train_idx, test_idx = folds[k]
        saved = checkpoints.load(column_key, detector_name, row_value, k, params, test_idx) if checkpoints else None
        fold_pred = None
        if saved is not None:
            p, threshold, fit_s, predict_s = saved.proba, saved.threshold, saved.fit_s, saved.predict_s
        elif not fit_missing:
            continue
        else:
            detector = config.build_detector(column_key, row_value)
            started = time.perf_counter()
            detector.fit([events[i] for i in train_idx], y[train_idx])
            fit_s = time.perf_counter() - started
            started = time.perf_counter()
            fold_proba = detector.predict_proba([events[i] for i in test_idx])
            predict_s = time.perf_counter() - started
            p = fold_proba[:, 1]
            fold_pred = detector.decide(fold_proba)
            threshold = float(detector.threshold_)
            if checkpoints:
                checkpoints.save(
                    column_key,
                    detector_name,
                    row_value,
                    k,
                    params,
                    test_idx,
                    FoldResult(p, threshold, fit_s, predict_s),
                )
        proba[test_idx] = p
        # A checkpoint keeps the probabilities and the threshold the detector decided with.
        pred[test_idx] = (p >= threshold).astype(np.int64) if fold_pred is None else fold_pred
        tested[test_idx] = True
        fold = binary_metrics(y[test_idx], p, threshold=threshold)
        fold.update(
            {
                "fold": k,
                "fit_s": round(fit_s, 3),
                "predict_s": round(predict_s, 3),
                "n_test_groups": len({group_of(events[i]) for i in test_idx}),
                "from_checkpoint": saved is not None,
            }
        )
        per_fold.append(fold)
        if progress:
            progress(
                f"{column_key} [{config.row_title(row_value)}] fold {k + 1}/{len(folds)}: "
                f"F1 {fold['f1']:.3f} P {fold['precision']:.3f} R {fold['recall']:.3f} "
                f"(threshold {threshold:.3f}, fit {fit_s:.1f}s{', from checkpoint' if saved is not None else ''})"
            )
    if not per_fold:
        return None
    fold_ids = [f["fold"] for f in per_fold]
    idx = np.flatnonzero(tested)
    y_t, proba_t, pred_t = y[idx], proba[idx], pred[idx]
    sources = [source_of(events[i]) for i in idx]
    by_source = fpr_by_source(y_t, pred_t, sources)
    oracle_threshold, oracle_f1 = best_f1_threshold(y_t, proba_t)
    pooled = _pooled(y_t, proba_t, pred_t)
    f1s = np.array([f["f1"] for f in per_fold])
    return {
        "column": column_key,
        "detector": detector_name,
        "row": row_value,
        "params": params,
        "folds_run": fold_ids,
        "n_folds": len(folds),
        "pooled": pooled,
        "fold_f1_mean": float(f1s.mean()),
        "fold_f1_std": float(f1s.std()),
        "per_fold": per_fold,
        "fpr_by_source": by_source,
        "max_source_fpr": max((v["fpr"] for v in by_source.values()), default=0.0),
        "oracle_best_threshold": {
            "threshold": oracle_threshold,
            "f1": oracle_f1,
            "note": "chosen on pooled test predictions: a diagnostic, not a result",
        },
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

    Both files are rewritten after every finished cell, so an interrupted
    run leaves its finished cells on disk; every finished fold is saved under
    ``checkpoint_dir`` (default ``output_dir/folds``, see
    :mod:`drugwatch.evaluation.checkpoints`) and reused by the next run unless
    ``reuse_checkpoints`` is false. ``cv.folds`` limits the run to some folds.
    With ``fit_missing=False`` nothing is fitted: the tables are made from the
    saved folds alone (see :func:`evaluate_cell`).
    """
    if not fit_missing and not reuse_checkpoints:
        raise ConfigError("a report from saved folds (no fitting) needs the checkpoints: drop --fresh")
    from drugwatch.vision.evaluation import run_image_evaluation, uses_image_runner

    if uses_image_runner(config):  # image and multimodal experiments
        if not fit_missing or checkpoint_dir is not None:
            raise ConfigError(
                "image experiments keep no fold checkpoints (image features are cached instead): "
                "drop --saved-only / --checkpoints and run chosen folds with cv.folds"
            )
        return run_image_evaluation(config, output_dir, progress)
    if config.data.target == "drugtype":  # DMML hook: multi-label experiments
        if not fit_missing or checkpoint_dir is not None:
            raise ConfigError(
                "drug-type experiments keep no fold checkpoints: drop --saved-only / --checkpoints "
                "and run chosen folds with cv.folds"
            )
        from drugwatch.evaluation.multilabel_metrics import run_multilabel_evaluation

        with _bench_errors():
            return run_multilabel_evaluation(config, output_dir, progress)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    events, y, data_info = load_dataset(config)
    folds = list(grouped_folds(events, y, config.cv.n_splits, config.cv.seed))
    checkpoints = FoldCheckpoints(
        Path(checkpoint_dir) if checkpoint_dir is not None else output_dir / CHECKPOINT_DIR,
        data_fingerprint(events, y),
        reuse=reuse_checkpoints,
    )
    data_info["sha256"] = checkpoints.fingerprint
    data_info["folds"] = [
        {"fold": k, "n_test": int(len(test)), "n_test_positive": int(y[test].sum())}
        for k, (_, test) in enumerate(folds)
    ]
    if progress:
        progress(
            f"{data_info['n_events']} events ({data_info['n_positive']} positive, "
            f"{data_info['n_positive_groups']} positive groups) after dedup; {len(folds)} folds"
        )
    result: dict[str, Any] = {
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": data_info,
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
                column_key,
                row_value,
                events,
                y,
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
            _write_outputs(config, result, output_dir)
    if config.lofo.enabled and fit_missing:
        from drugwatch.evaluation.lofo import run_config_lofo

        result["lofo"] = run_config_lofo(config, output_dir, progress)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write_outputs(config, result, output_dir)
    return result


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _write_outputs(config: ExperimentConfig, result: dict[str, Any], output_dir: Path) -> None:
    (output_dir / METRICS_FILE).write_text(json.dumps(_clean(result), indent=2) + "\n", encoding="utf-8")
    (output_dir / TABLE_FILE).write_text(render_table(config, result), encoding="utf-8")


# ---------------------------------------------------------------------------
# Tables


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _partial_note(cell: Mapping[str, Any]) -> str:
    """ "folds 0, 1 of 10" for a cell cross-validated on some folds only; "" otherwise."""
    run, total = cell.get("folds_run"), cell.get("n_folds")
    if run is None or total is None or len(run) == total:
        return ""
    return f"folds {', '.join(str(k) for k in run)} of {total}"


def render_table(config: ExperimentConfig, result: Mapping[str, Any]) -> str:
    """Paper-style markdown: the main table, per-fold F1, and FPR per source."""
    cells = {(c["row"] if not isinstance(c["row"], list) else tuple(c["row"]), c["column"]): c for c in result["cells"]}
    rows = [r for r in config.row_values() if any((r, k) in cells for k in config.column_keys())]
    columns = [k for k in config.column_keys() if any((r, k) in cells for r in rows)]
    data = result["data"]
    lines = [f"# {config.experiment.title or config.experiment.name}", ""]
    if config.experiment.note:
        lines += [config.experiment.note, ""]
    dedup = data.get("dedup")
    lines += [
        f"Data: `{Path(data['path']).name}`, {data['n_events']} events after near-duplicate removal "
        + (
            f"({dedup['n_removed']} removed at Jaccard ≥ {dedup['threshold']}, {dedup['n_label_conflicts']} "
            "clusters with disagreeing labels kept a positive)"
            if dedup
            else "(no dedup)"
        )
        + f"; {data['n_positive']} positives from {data['n_positive_groups']} groups; "
        f"{config.cv.n_splits}-fold stratified group CV, seed {config.cv.seed}. "
        "Thresholds are chosen inside the training folds (0.5 for detectors that do not tune one).",
        "",
        "Precision / recall / F1 / ROC-AUC / PR-AUC (%), pooled over out-of-fold predictions:",
        "",
        "| " + " | ".join([config.rows.param or "row"] + [config.columns[k].title for k in columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for r in rows:
        parts = [config.row_title(r)]
        for k in columns:
            c = cells.get((r, k))
            if c is None:
                parts.append("")
                continue
            p = c["pooled"]
            partial = _partial_note(c)
            parts.append(
                f"{_pct(p['precision'])} / {_pct(p['recall'])} / **{_pct(p['f1'])}** / "
                f"{_pct(p['roc_auc'])} / {_pct(p['pr_auc'])}" + (f" ({partial})" if partial else "")
            )
        lines.append("| " + " | ".join(parts) + " |")

    lines += ["", "Per-fold F1 (%) (mean ± sd over folds; folds without positives score 0):", ""]
    n_folds = len(data.get("folds", []))
    lines += [
        "| row | column | " + " | ".join(f"f{k}" for k in range(n_folds)) + " | mean ± sd |",
        "|" + "---|" * (n_folds + 3),
    ]
    for r in rows:
        for k in columns:
            c = cells.get((r, k))
            if c is None:
                continue
            by_fold = {f["fold"]: f for f in c["per_fold"]}
            f1s = " | ".join(_pct(by_fold[k]["f1"]) if k in by_fold else "–" for k in range(n_folds))
            lines.append(
                f"| {config.row_title(r)} | {config.columns[k].title} | {f1s} | "
                f"{_pct(c['fold_f1_mean'])} ± {_pct(c['fold_f1_std'])} |"
            )
    lines += ["", "Positives per test fold: " + ", ".join(str(f["n_test_positive"]) for f in data.get("folds", [])), ""]

    lines += [
        "Other pooled metrics (accuracy %, ECE, max FPR over negative sources %, oracle F1 % "
        "at the best pooled threshold — a diagnostic only, fit time s):",
        "",
    ]
    lines += ["| row | column | accuracy | ECE | max source FPR | oracle F1 | fit s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for k in columns:
            c = cells.get((r, k))
            if c is None:
                continue
            p = c["pooled"]
            lines.append(
                f"| {config.row_title(r)} | {config.columns[k].title} | {_pct(p['accuracy'])} | "
                f"{p['ece']:.4f} | {_pct(c['max_source_fpr'])} | {_pct(c['oracle_best_threshold']['f1'])} | "
                f"{c['fit_s_total']:.1f} |"
            )

    sources = sorted(
        {s for c in cells.values() for s in c["fpr_by_source"]},
        key=lambda s: -max(c["fpr_by_source"].get(s, {}).get("negatives", 0) for c in cells.values()),
    )
    if len(sources) > 1:
        lines += ["", "False-positive rate per negative source (%), pooled:", ""]
        header = [
            f"{config.row_title(r)} · {config.columns[k].title}" for r in rows for k in columns if (r, k) in cells
        ]
        lines += ["| source | negatives | " + " | ".join(header) + " |", "|" + "---|" * (len(header) + 2)]
        for s in sources:
            negatives = next(c["fpr_by_source"][s]["negatives"] for c in cells.values() if s in c["fpr_by_source"])
            vals = [
                _pct(cells[(r, k)]["fpr_by_source"].get(s, {}).get("fpr"))
                for r in rows
                for k in columns
                if (r, k) in cells
            ]
            lines.append(f"| {s} | {negatives} | " + " | ".join(vals) + " |")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Training


def run_training(config: ExperimentConfig, output_dir: str | Path, progress: Progress | None = None) -> Path:
    """Fit the config's ``train.column`` detector on all (deduplicated) data; write ``model-best/``.

    With ``train.cross_validate = true`` the card also records that
    detector's cross-validated metrics (the config's ``[cv]``).
    """
    from drugwatch.vision.evaluation import run_image_training, uses_image_runner

    if uses_image_runner(config):
        return run_image_training(config, output_dir, progress)
    if config.data.target == "drugtype":  # DMML hook: multi-label experiments
        from drugwatch.evaluation.multilabel_metrics import run_multilabel_training

        with _bench_errors():
            return run_multilabel_training(config, output_dir, progress)
    output_dir = Path(output_dir)
    keys = config.column_keys()
    column = config.train.column or (keys[0] if len(keys) == 1 else None)
    if column is None:
        raise ConfigError(f"the config has several columns {keys}; choose one with train.column=NAME")
    if column not in config.columns:
        raise ConfigError(f"train.column={column!r} is not a column; columns are {list(config.columns)}")
    row = config.train.row if config.train.row is not None else config.row_values()[0]
    events, y, data_info = load_dataset(config)
    evaluation = None
    if config.train.cross_validate:
        folds = list(grouped_folds(events, y, config.cv.n_splits, config.cv.seed))
        cell = evaluate_cell(config, column, row, events, y, folds, progress)
        assert cell is not None  # every fold is fitted
        evaluation = {
            "protocol": f"{config.cv.n_splits}-fold stratified group CV on {Path(data_info['path']).name}, "
            f"near-duplicates removed, thresholds chosen inside training folds",
            **{k: v for k, v in cell["pooled"].items() if k != "threshold"},
            "fold_f1_mean": cell["fold_f1_mean"],
            "fold_f1_std": cell["fold_f1_std"],
            "max_source_fpr": cell["max_source_fpr"],
        }
    detector = config.build_detector(column, row)
    if progress:
        progress(f"fitting {detector.name} on {len(events)} events")
    started = time.perf_counter()
    detector.fit(events, y)
    fit_s = time.perf_counter() - started
    model_dir = detector.save(output_dir / "model-best", evaluation=evaluation)
    summary = {
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": data_info,
        "column": column,
        "row": row,
        "detector": detector.name,
        "fit_s": fit_s,
        "evaluation": evaluation,
        "model_dir": str(model_dir),
    }
    (output_dir / METRICS_FILE).write_text(json.dumps(_clean(summary), indent=2) + "\n", encoding="utf-8")
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
