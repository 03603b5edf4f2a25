"""What an experiment evaluates: one task object per kind of target, run by one runner.

The runner (:func:`drugwatch.evaluation.experiment.run_evaluation` and
:func:`~drugwatch.evaluation.experiment.run_training`) owns what every
experiment shares: rows and columns, the folds run (``cv.folds``), fitting on
the training folds only, timing, fold checkpoints, progress and the output
files. A task (:class:`EvaluationTask`) owns what differs by target:

* its data (:meth:`~EvaluationTask.load`: events, targets, a data report)
  and its folds;
* how a detector learns the target and scores a test fold
  (:meth:`~EvaluationTask.fit`, :meth:`~EvaluationTask.predict`: the
  probabilities and the detector's own decisions, from its ``decide``);
* its metrics per fold and pooled over the folds run (all from
  :mod:`drugwatch.evaluation.metrics`), its tables and what a trained
  model's card records.

Tasks (``data.target``, :func:`task_for`):

* :class:`SellingTask` (``selling``, binary) on the kit's text records:
  events without a selling label are dropped; near-duplicates removed
  (:func:`drugwatch.evaluation.splits.deduplicate`); stratified group
  k-fold; each fold decided at the threshold the detector chose in ``fit``;
  its folds can be checkpointed (:mod:`drugwatch.evaluation.checkpoints`).
* :class:`DrugTypeTask` (``drugtype``, DMML's 10 labels) on text records:
  events without labels dropped; near-duplicates removed keeping each
  cluster's most common label set; folds stratified on each event's rarest
  label; decisions by each detector's per-label thresholds.
* the image tasks of :mod:`drugwatch.vision.evaluation` (``drug_image``,
  ``image_tree``, and ``drugtype`` on data with images).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from drugwatch.evaluation.config import BENCH_ENV, ConfigError, ExperimentConfig, bench_errors
from drugwatch.evaluation.metrics import (
    best_f1_threshold,
    binary_metrics,
    confusion_table,
    fpr_by_source,
    mean_over_folds,
    multilabel_metrics,
)
from drugwatch.evaluation.splits import (
    deduplicate,
    deduplicate_multilabel,
    group_of,
    grouped_folds,
    multilabel_folds,
)
from drugwatch.labels import LABELS
from drugwatch.models.base import Detector, drugtype_targets
from drugwatch.records import Event

Progress = Callable[[str], None]
Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Dataset:
    """An experiment's events, their targets (one row per event) and a report of how they were chosen."""

    events: list[Event]
    y: np.ndarray
    info: dict[str, Any]


@dataclass(frozen=True)
class FoldOutput:
    """What a fitted detector gave on one test fold.

    ``scores``: what is pooled as probabilities (``(n,)`` for a binary
    target, the probability matrix otherwise); ``decisions``: the detector's
    own decisions, same first dimension; ``threshold``: the binary decision
    threshold, where there is one; ``facts``: per-fold facts for the report
    (e.g. per-label thresholds).
    """

    scores: np.ndarray
    decisions: np.ndarray
    threshold: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def source_of(event: Event) -> str:
    """The data source an event is counted under (false positives per source)."""
    return str(event.meta.get("subsource") or event.meta.get("source") or event.platform)


def pct(value: float | None) -> str:
    """A fraction as a percentage with one decimal; ``–`` when undefined."""
    return "–" if value is None else f"{100 * value:.1f}"


def folds_note(cell: Mapping[str, Any]) -> str:
    """``all 10`` when every fold was run, else the folds run (``0,3``)."""
    return (
        f"all {cell['n_folds']}"
        if len(cell["folds_run"]) == cell["n_folds"]
        else ",".join(str(k) for k in cell["folds_run"])
    )


def per_fold_table(
    cells: Sequence[Mapping[str, Any]],
    caption: str,
    fold_text: Callable[[Mapping[str, Any]], str],
    summary: tuple[str, Callable[[Mapping[str, Any]], str]] | None = None,
) -> list[str]:
    """A Markdown table with one row per cell and one column per fold.

    ``fold_text(fold)`` writes a fold's entry (``not run`` where the cell did
    not run it); ``summary`` adds a last column: its header and its text from
    the cell.
    """
    n_folds = max((c["n_folds"] for c in cells), default=0)
    extra = [summary[0]] if summary else []
    lines = [
        "",
        caption,
        "",
        "| model | " + " | ".join([*(f"f{k}" for k in range(n_folds)), *extra]) + " |",
        "|" + "---|" * (n_folds + 1 + len(extra)),
    ]
    for c in cells:
        by = {f["fold"]: f for f in c["per_fold"]}
        parts = [fold_text(by[k]) if k in by else "not run" for k in range(n_folds)]
        if summary:
            parts.append(summary[1](c))
        lines.append(
            f"| {c.get('title', c['column']) if summary is None else c['column']} | " + " | ".join(parts) + " |"
        )
    return lines


class EvaluationTask(ABC):
    """One kind of target: its data, folds, fitting, scoring, metrics and tables (module docstring)."""

    #: The ``data.target`` this task evaluates.
    name: ClassVar[str] = ""
    #: Whether finished folds are saved (probabilities and threshold) and reused by the next run.
    checkpoints: ClassVar[bool] = False

    @abstractmethod
    def load(self, config: ExperimentConfig) -> Dataset:
        """The events and targets after dropping unlabelled events and near-duplicates."""

    @abstractmethod
    def folds(self, config: ExperimentConfig, data: Dataset) -> Folds:
        """``(train_idx, test_idx)`` per fold."""

    def fold_report(self, data: Dataset, folds: Folds) -> list[dict[str, Any]]:
        """What the data report says about each fold."""
        return [{"fold": k, "n_test": int(len(test))} for k, (_, test) in enumerate(folds)]

    def describe(self, info: Mapping[str, Any], n_folds: int) -> str:
        """The progress line that announces the data."""
        return f"{info['n_events']} events, {info['n_groups']} groups; {n_folds} folds"

    def check_columns(self, config: ExperimentConfig) -> None:
        """Refuse columns whose detectors cannot learn this target (before anything is fitted)."""
        return None

    def cell_title(self, config: ExperimentConfig, column_key: str, row_value: Any) -> str:
        return config.columns[column_key].title

    def fit(self, detector: Detector, events: list[Event], y: np.ndarray) -> None:
        """Fit ``detector`` on the training events for this target."""
        detector.fit(events, y)

    @abstractmethod
    def predict(self, detector: Detector, events: list[Event]) -> FoldOutput:
        """The fitted detector's probabilities and decisions on a test fold."""

    def fold_facts(self, events: list[Event]) -> dict[str, Any]:
        """Facts about a test fold for its per-fold record."""
        return {}

    @abstractmethod
    def fold_metrics(self, y: np.ndarray, output: FoldOutput) -> dict[str, Any]:
        """Metrics of one test fold."""

    @abstractmethod
    def fold_line(self, metrics: Mapping[str, Any]) -> str:
        """The progress words of one fold's metrics."""

    @abstractmethod
    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """A cell's pooled metrics (``pooled``) over the folds run and any summary of its folds."""

    @abstractmethod
    def render(self, config: ExperimentConfig, result: Mapping[str, Any]) -> str:
        """The markdown tables of a run."""

    @abstractmethod
    def card_evaluation(self, config: ExperimentConfig, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        """What a model trained with ``train.cross_validate`` records of its cross-validation."""


# ---------------------------------------------------------------------------
# Selling (binary)


def load_dataset(config: ExperimentConfig) -> tuple[list[Event], np.ndarray, dict[str, Any]]:
    """Events and 0/1 selling targets after dropping unlabelled events and near-duplicates."""
    from drugwatch.io.jsonl import load_bench_events
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
        with bench_errors():
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


class SellingTask(EvaluationTask):
    """Binary selling detection (``data.target = "selling"``)."""

    name = "selling"
    checkpoints = True

    def load(self, config: ExperimentConfig) -> Dataset:
        return Dataset(*load_dataset(config))

    def folds(self, config: ExperimentConfig, data: Dataset) -> Folds:
        return list(grouped_folds(data.events, data.y, config.cv.n_splits, config.cv.seed))

    def fold_report(self, data: Dataset, folds: Folds) -> list[dict[str, Any]]:
        return [
            {"fold": k, "n_test": int(len(test)), "n_test_positive": int(data.y[test].sum())}
            for k, (_, test) in enumerate(folds)
        ]

    def describe(self, info: Mapping[str, Any], n_folds: int) -> str:
        return (
            f"{info['n_events']} events ({info['n_positive']} positive, "
            f"{info['n_positive_groups']} positive groups) after dedup; {n_folds} folds"
        )

    def predict(self, detector: Detector, events: list[Event]) -> FoldOutput:
        proba = detector.predict_proba(events)
        return FoldOutput(proba[:, 1], detector.decide(proba), float(detector.threshold_))

    def fold_facts(self, events: list[Event]) -> dict[str, Any]:
        return {"n_test_groups": len({group_of(e) for e in events})}

    def fold_metrics(self, y: np.ndarray, output: FoldOutput) -> dict[str, Any]:
        return binary_metrics(y, output.scores, threshold=output.threshold, y_pred=output.decisions)

    def fold_line(self, metrics: Mapping[str, Any]) -> str:
        return (
            f"F1 {metrics['f1']:.3f} P {metrics['precision']:.3f} R {metrics['recall']:.3f} "
            f"(threshold {metrics['threshold']:.3f})"
        )

    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        by_source = fpr_by_source(y, decisions, [source_of(e) for e in events])
        oracle_threshold, oracle_f1 = best_f1_threshold(y, scores)
        f1s = np.array([f["f1"] for f in per_fold])
        return {
            # Pooled hard predictions use each fold's own threshold.
            "pooled": binary_metrics(y, scores, threshold=None, y_pred=decisions),
            "fold_f1_mean": float(f1s.mean()),
            "fold_f1_std": float(f1s.std()),
            "fpr_by_source": by_source,
            "max_source_fpr": max((v["fpr"] for v in by_source.values()), default=0.0),
            "oracle_best_threshold": {
                "threshold": oracle_threshold,
                "f1": oracle_f1,
                "note": "chosen on pooled test predictions: a diagnostic, not a result",
            },
        }

    def render(self, config: ExperimentConfig, result: Mapping[str, Any]) -> str:
        return render_table(config, result)

    def card_evaluation(self, config: ExperimentConfig, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        return {
            "protocol": f"{config.cv.n_splits}-fold stratified group CV on {Path(info['path']).name}, "
            f"near-duplicates removed, thresholds chosen inside training folds",
            **{k: v for k, v in cell["pooled"].items() if k != "threshold"},
            "fold_f1_mean": cell["fold_f1_mean"],
            "fold_f1_std": cell["fold_f1_std"],
            "max_source_fpr": cell["max_source_fpr"],
        }


def _partial_note(cell: Mapping[str, Any]) -> str:
    """ "folds 0, 1 of 10" for a cell cross-validated on some folds only; "" otherwise."""
    run, total = cell.get("folds_run"), cell.get("n_folds")
    if run is None or total is None or len(run) == total:
        return ""
    return f"folds {', '.join(str(k) for k in run)} of {total}"


def render_table(config: ExperimentConfig, result: Mapping[str, Any]) -> str:
    """Paper-style markdown of a selling run: the main table, per-fold F1, and FPR per source."""
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
                f"{pct(p['precision'])} / {pct(p['recall'])} / **{pct(p['f1'])}** / "
                f"{pct(p['roc_auc'])} / {pct(p['pr_auc'])}" + (f" ({partial})" if partial else "")
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
            f1s = " | ".join(pct(by_fold[k]["f1"]) if k in by_fold else "–" for k in range(n_folds))
            lines.append(
                f"| {config.row_title(r)} | {config.columns[k].title} | {f1s} | "
                f"{pct(c['fold_f1_mean'])} ± {pct(c['fold_f1_std'])} |"
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
                f"| {config.row_title(r)} | {config.columns[k].title} | {pct(p['accuracy'])} | "
                f"{p['ece']:.4f} | {pct(c['max_source_fpr'])} | {pct(c['oracle_best_threshold']['f1'])} | "
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
                pct(cells[(r, k)]["fpr_by_source"].get(s, {}).get("fpr"))
                for r in rows
                for k in columns
                if (r, k) in cells
            ]
            lines.append(f"| {s} | {negatives} | " + " | ".join(vals) + " |")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Drug type (multi-label)


def load_multilabel_dataset(config: ExperimentConfig) -> tuple[list[Event], np.ndarray, dict[str, Any]]:
    """Text events with drug-type labels, their ``(n, 10)`` targets and a data report."""
    from drugwatch.io.jsonl import load_bench_events

    path = config.data_path()
    if not path.is_file():
        raise ConfigError(
            f"data file {path} does not exist; fix data.path (relative to the config file) "
            f"or set {BENCH_ENV} to the bench kit folder"
        )
    with bench_errors():
        events = load_bench_events(path)
    labelled = [e for e in events if e.labels]
    y = drugtype_targets(labelled, None)
    info: dict[str, Any] = {"path": str(path), "n_read": len(events), "n_unlabelled": len(events) - len(labelled)}
    if config.data.dedup_threshold > 0:
        keep, report = deduplicate_multilabel(labelled, y, config.data.dedup_threshold)
        labelled = [labelled[i] for i in keep]
        y = y[keep]
        info["dedup"] = report
    info["n_events"] = len(labelled)
    info["n_groups"] = len({group_of(e) for e in labelled})
    info["label_counts"] = {name: int(y[:, j].sum()) for j, name in enumerate(LABELS)}
    info["n_multi_label"] = int((y.sum(1) > 1).sum())
    return labelled, y, info


class DrugTypeTask(EvaluationTask):
    """DMML's 10 drug-type labels from text (``data.target = "drugtype"`` on the kit's text records)."""

    name = "drugtype"

    def load(self, config: ExperimentConfig) -> Dataset:
        return Dataset(*load_multilabel_dataset(config))

    def folds(self, config: ExperimentConfig, data: Dataset) -> Folds:
        return multilabel_folds(data.events, data.y, config.cv.n_splits, config.cv.seed)

    def fold_report(self, data: Dataset, folds: Folds) -> list[dict[str, Any]]:
        return [
            {"fold": k, "n_test": int(len(test)), "label_counts": data.y[test].sum(0).tolist()}
            for k, (_, test) in enumerate(folds)
        ]

    def describe(self, info: Mapping[str, Any], n_folds: int) -> str:
        return f"{info['n_events']} events, {info['n_groups']} groups after dedup; {n_folds} folds"

    def check_columns(self, config: ExperimentConfig) -> None:
        from drugwatch.models.registry import get_detector_class

        for key in config.column_keys():
            cls = get_detector_class(config.columns[key].detector)
            if cls.task != "drugtype":
                raise ConfigError(
                    f"columns.{key}: target drugtype needs drug-type detectors; {cls.name} is a {cls.task} detector"
                )

    def predict(self, detector: Detector, events: list[Event]) -> FoldOutput:
        proba = detector.predict_proba(events)
        thresholds = getattr(detector, "thresholds_", None)
        facts = {} if thresholds is None else {"thresholds": [float(t) for t in thresholds]}
        return FoldOutput(proba, detector.decide(proba), facts=facts)

    def fold_metrics(self, y: np.ndarray, output: FoldOutput) -> dict[str, Any]:
        return multilabel_metrics(y, output.decisions)

    def fold_line(self, metrics: Mapping[str, Any]) -> str:
        return f"macro-F1 {metrics['macro_f1']:.4f} subset acc {metrics['subset_accuracy']:.4f}"

    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {"mean": mean_over_folds(per_fold), "pooled": multilabel_metrics(y, decisions)}

    def render(self, config: ExperimentConfig, result: Mapping[str, Any]) -> str:
        return render_multilabel_table(result)

    def card_evaluation(self, config: ExperimentConfig, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        return {
            "protocol": f"{config.cv.n_splits}-fold stratified group CV on {Path(info['path']).name}",
            **{k: v["mean"] for k, v in cell["mean"].items()},
        }


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
        f"Data: `{Path(data['path']).name}`, {data['n_events']} events from {data['n_groups']} groups"
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
        lines.append(
            f"| {c['title'] if 'title' in c else c['column']} | {folds_note(c)} | {pct(m['subset_accuracy']['mean'])} | "
            f"{m['hamming_loss']['mean']:.4f} | {pct(m['micro_precision']['mean'])} | "
            f"{pct(m['micro_recall']['mean'])} | {pct(m['micro_f1']['mean'])} | "
            f"{pct(m['macro_precision']['mean'])} | {pct(m['macro_recall']['mean'])} | "
            f"**{pct(m['macro_f1']['mean'])}** |"
        )
    lines += per_fold_table(
        cells,
        "Per fold: macro-F1 / subset accuracy (%):",
        lambda f: f"{pct(f['macro_f1'])} / {pct(f['subset_accuracy'])}",
        (
            "mean ± sd",
            lambda c: (
                f"{pct(c['mean']['macro_f1']['mean'])} ± {pct(c['mean']['macro_f1']['std'])} / "
                f"{pct(c['mean']['subset_accuracy']['mean'])} ± {pct(c['mean']['subset_accuracy']['std'])}"
            ),
        ),
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
        lines.append(f"| {c['column']} | " + " | ".join(pct(pl[name]["f1"]) for name in LABELS) + " |")
    for c in cells:
        lines += [
            "",
            f"Confusion matrices of `{c['column']}` (pooled over the test folds run):",
            "",
            confusion_table(c["pooled"]["confusion"]),
        ]
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def task_for(config: ExperimentConfig) -> EvaluationTask:
    """The task of an experiment: its ``data.target``, and for ``drugtype`` whether the data has images."""
    from drugwatch.vision.evaluation import image_task, uses_image_runner

    if uses_image_runner(config):
        return image_task(config)
    if config.data.target == "drugtype":
        return DrugTypeTask()
    return SellingTask()


__all__ = [
    "Dataset",
    "DrugTypeTask",
    "EvaluationTask",
    "FoldOutput",
    "SellingTask",
    "load_dataset",
    "load_multilabel_dataset",
    "render_multilabel_table",
    "render_table",
    "source_of",
    "task_for",
]
