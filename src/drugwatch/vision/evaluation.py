"""Image and multimodal experiments: the data, targets, folds and tables behind ``drugwatch train/evaluate``.

The task objects here (:class:`DrugImageTask`, :class:`ImageTreeTask`,
:class:`ImageDrugTypeTask`; :func:`image_task`) are run by the one runner of
:mod:`drugwatch.evaluation.experiment` when an experiment's ``data.target``
is an image target, or ``drugtype`` on data with images:

``data.target``:

* ``"drug_image"`` (binary): does the event's image show drugs? Truth: a kit
  image record's ``drug`` flag (``meta["image_drug"]``), else the demo
  generator's depicted labels (``meta["image_labels"]``), else the event's
  labels. Events without an image are left out. Any detector can be a
  column: a ``drug_image`` detector (Yang & Luo's multitask network; fitted
  on every head the data knows, scored on ``drug``), a drug-type detector
  (fitted on the image's labels; P(drug) = 1 - p(non_drug), decided by its
  own per-label thresholds) or a binary detector.
* ``"image_tree"``: Yang & Luo's tree, heads ``drug`` -> ``weed`` /
  ``pills`` / ``syrup`` (:mod:`drugwatch.models.multitask_image`); every
  example counts for the heads it knows (the kit's images know ``drug``
  only; demo images know all four). Columns must be ``drug_image``
  detectors. Metrics per head, at 0.5, over the examples that know it.
* ``"drugtype"`` on data with images: DMML's 10 labels from text and image,
  the multi-label protocol of :class:`drugwatch.evaluation.tasks.DrugTypeTask`
  plus drug-vs-not read off the ``non_drug`` decisions.

``data.format`` (``"auto"``): ``"images"`` (the bench kit's
``images.jsonl``, :mod:`drugwatch.vision.bench`), ``"jsonl"`` (drugwatch's
generic JSONL, events with images, paths relative to the file),
``"bench"`` (the kit's text records) or ``"demo"`` (``data.path =
"demo:seed=0,n_accounts=60"``: the synthetic demo corpus with images,
written once under ``$DRUGWATCH_HOME/demo-corpora/``). ``auto`` tells them
apart by the path and the first record.

Folds: stratified group k-fold (group = ``meta["group"]``, else the author;
the kit's group is the image's content hash), stratified on the binary
target, the drug head, or each event's rarest label. Every detector is
fitted on the training folds only (feature scalers, thresholds included).
``data.max_events`` keeps a deterministic subset (by a hash of the event
key) when a CPU cannot afford all the images. Near-duplicate text removal
(``data.dedup_threshold``) applies only to events with text: empty texts
(every kit image) are never merged.

Image features are frozen EfficientNet-Lite0 vectors cached by SHA-256, so
folds, rows and repeated runs encode each image once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.evaluation.tasks import (
    Dataset,
    DrugTypeTask,
    EvaluationTask,
    FoldOutput,
    Folds,
    folds_note,
    pct,
    per_fold_table,
    render_multilabel_table,
)
from drugwatch.labels import LABELS
from drugwatch.models.base import Detector, drugtype_targets
from drugwatch.records import Event

__all__ = [
    "IMAGE_TARGETS",
    "DrugImageTask",
    "ImageDrugTypeTask",
    "ImageTreeTask",
    "binary_scores",
    "data_format",
    "drug_vs_not",
    "image_task",
    "load_config_events",
    "load_image_dataset",
    "render_image_table",
    "tree_metrics",
    "uses_image_runner",
]

IMAGE_TARGETS = ("drug_image", "image_tree")
_NON_DRUG = LABELS.index("non_drug")


def _config_error(message: str) -> Exception:
    from drugwatch.evaluation.config import ConfigError

    return ConfigError(message)


# ---------------------------------------------------------------------------
# Data


def data_format(config: Any) -> str:
    """``demo``, ``images``, ``bench`` or ``jsonl`` for the config's data (``data.format``, or guessed)."""
    fmt = config.data.format
    if config.data.path.startswith("demo:"):
        if fmt not in ("auto", "demo"):
            raise _config_error(f"data.path {config.data.path!r} is the demo corpus; data.format must be auto or demo")
        return "demo"
    if fmt != "auto":
        return fmt
    path = config.data_path()
    if not path.is_file():
        return "bench"  # the loader reports the missing file
    from drugwatch.io.detect import peek_json
    from drugwatch.vision.bench import is_image_record

    first = peek_json(path)
    if isinstance(first, dict) and is_image_record(first):
        return "images"
    if isinstance(first, dict) and "task" in first and "group" in first:
        return "bench"
    return "jsonl"


def uses_image_runner(config: Any) -> bool:
    """Whether an experiment is run here rather than by the text-only runners."""
    return config.data.target in IMAGE_TARGETS or (config.data.target == "drugtype" and data_format(config) != "bench")


def _demo_events(spec: str) -> tuple[list[Event], str]:
    from drugwatch.demo import generate_demo, write_demo
    from drugwatch.io.jsonl import read_jsonl
    from drugwatch.store.db import data_home

    try:
        params = dict(part.split("=", 1) for part in spec.removeprefix("demo:").split(",") if part)
        seed, n_accounts = int(params.pop("seed", 0)), int(params.pop("n_accounts", 60))
    except ValueError:
        raise _config_error(f"data.path {spec!r}: expected demo:seed=S,n_accounts=N") from None
    if params or n_accounts < 1 or seed < 0:
        raise _config_error(f"data.path {spec!r}: expected demo:seed=S,n_accounts=N (N >= 1)")
    folder = data_home() / "demo-corpora" / f"seed{seed}-accounts{n_accounts}"
    path = folder / "demo.jsonl"
    if not path.is_file():
        write_demo(generate_demo(seed=seed, n_accounts=n_accounts, images=True), folder)
    from drugwatch.io.base import Parsed

    events = [item.record for item in read_jsonl(path) if isinstance(item, Parsed) and isinstance(item.record, Event)]
    return events, str(path)


def _jsonl_events(path: Path) -> list[Event]:
    from drugwatch.io.base import Parsed, Problem, ReaderError
    from drugwatch.io.jsonl import read_jsonl

    events = []
    for item in read_jsonl(path):
        if isinstance(item, Problem):
            raise ReaderError(f"{item.source}, {item.locator}: {item.reason}")
        if isinstance(item, Parsed) and isinstance(item.record, Event):  # accounts and skipped items are not data
            events.append(item.record)
    return events


def load_config_events(config: Any) -> tuple[list[Event], str, str]:
    """``(events, source, format)`` of an experiment's data, any format; :class:`ConfigError` if unreadable."""
    from drugwatch.evaluation.config import BENCH_ENV
    from drugwatch.io.base import ReaderError

    fmt = data_format(config)
    if fmt == "demo":
        events, source = _demo_events(config.data.path)
        return events, source, fmt
    path = config.data_path()
    if not path.is_file():
        raise _config_error(
            f"data file {path} does not exist; fix data.path (relative to the config file) "
            f"or set {BENCH_ENV} to the bench kit folder"
        )
    try:
        if fmt == "images":
            from drugwatch.vision.bench import load_image_events

            events = load_image_events(path)
        elif fmt == "bench":
            from drugwatch.io.jsonl import load_bench_events

            events = load_bench_events(path)
        else:
            events = _jsonl_events(path)
    except ReaderError as exc:
        hint = ""
        if fmt == "bench" and "lacks text" in str(exc):
            hint = ' (image records: set data.format = "images")'
        raise _config_error(f"cannot read {path} as {fmt} data: {exc}{hint}") from None
    return events, str(path), fmt


def image_truth_labels(event: Event) -> tuple[str, ...] | None:
    """What the event's first image shows, as drug labels (``None`` when unknown)."""
    drug = event.meta.get("image_drug")
    if isinstance(drug, bool):
        return ("other_drugs",) if drug else ("non_drug",)
    if event.meta.get("image_kind") is not None and "image_labels" in event.meta:
        return tuple(event.meta["image_labels"] or ("non_drug",))
    return tuple(event.labels) if event.labels is not None else None


def _tree_targets(event: Event) -> list[float]:
    from drugwatch.models.multitask_image import HEADS, targets_from_labels

    if isinstance(event.meta.get("image_drug"), bool):  # the kit knows the drug head only
        known: Mapping[str, int | None] = {"drug": int(event.meta["image_drug"])}
    else:
        known = targets_from_labels(image_truth_labels(event))
    values = [known.get(h) for h in HEADS]
    return [np.nan if v is None else float(v) for v in values]


def _subset(events: list[Event], max_events: int | None) -> list[Event]:
    if not max_events or len(events) <= max_events:
        return events
    ranked = sorted(range(len(events)), key=lambda i: hashlib.sha256(events[i].key.encode()).hexdigest())
    keep = sorted(ranked[:max_events])
    return [events[i] for i in keep]


def load_image_dataset(config: Any) -> tuple[list[Event], np.ndarray, dict[str, Any]]:
    """Events, targets and a data report for an image or multimodal experiment.

    Targets: ``drug_image`` ``(n,)`` 0/1; ``image_tree`` ``(n, 4)`` with NaN for unknown heads;
    ``drugtype`` ``(n, 10)``.
    """
    from drugwatch.evaluation.splits import group_of

    target = config.data.target
    events, source, fmt = load_config_events(config)
    info: dict[str, Any] = {"path": source, "format": fmt, "target": target, "n_read": len(events)}
    if target == "selling":
        raise _config_error(
            'selling targets read text bench files; for images use data.target = "drug_image" '
            '(binary), "image_tree" (Yang & Luo\'s heads) or "drugtype" (DMML\'s 10 labels)'
        )
    if target == "drugtype":
        kept = [e for e in events if e.labels]
        if not kept:
            raise _config_error(f"{source}: no event carries drug-type labels")
    else:
        kept = [e for e in events if e.images and image_truth_labels(e) is not None]
        if not kept:
            raise _config_error(
                f"{source}: no event has both an image and a known image label; target {target!r} needs labelled images"
            )
    info["n_dropped"] = len(events) - len(kept)
    if config.data.dedup_threshold > 0:
        with_text = [i for i, e in enumerate(kept) if e.text.strip()]
        if with_text:
            from drugwatch.evaluation.splits import deduplicate_multilabel

            texts = [kept[i] for i in with_text]
            keep_idx, report = deduplicate_multilabel(
                texts,
                drugtype_targets(texts, None)
                if all(e.labels is not None for e in texts)
                else np.zeros((len(texts), len(LABELS)), dtype=np.int64),
                config.data.dedup_threshold,
            )
            drop = set(with_text) - {with_text[i] for i in keep_idx}
            kept = [e for i, e in enumerate(kept) if i not in drop]
            info["dedup"] = {**report, "note": "events with text only; empty texts are never merged"}
    before = len(kept)
    kept = _subset(kept, config.data.max_events)
    if len(kept) < before:
        info["subset"] = {
            "max_events": config.data.max_events,
            "n_before": before,
            "rule": "first max_events by SHA-256 of the event key",
        }
    if target == "drugtype":
        y = drugtype_targets(kept, None)
    elif target == "drug_image":
        y = np.array([int(bool(set(image_truth_labels(e) or ()) - {"non_drug"})) for e in kept], dtype=np.int64)
        if len(np.unique(y)) < 2:
            raise _config_error(f"{source}: target drug_image needs drug and non-drug images")
    else:
        y = np.array([_tree_targets(e) for e in kept], dtype=np.float64)
    info["n_events"] = len(kept)
    info["n_with_image"] = int(sum(bool(e.images) for e in kept))
    info["n_groups"] = len({group_of(e) for e in kept})
    if target == "drug_image":
        info["n_positive"] = int(y.sum())
    elif target == "image_tree":
        from drugwatch.models.multitask_image import HEADS

        info["heads"] = {
            h: {"known": int((~np.isnan(y[:, j])).sum()), "positive": int(np.nansum(y[:, j]))}
            for j, h in enumerate(HEADS)
        }
    else:
        info["label_counts"] = {name: int(y[:, j].sum()) for j, name in enumerate(LABELS)}
    return kept, y, info


def image_folds(
    events: Sequence[Event], y: np.ndarray, target: str, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group k-fold for an image target (stratified as the module docstring says)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from drugwatch.evaluation.splits import group_of

    if target == "drugtype":
        from drugwatch.evaluation.splits import multilabel_folds

        folds = multilabel_folds(list(events), y, n_splits, seed)
    else:
        strat = y if target == "drug_image" else np.where(np.isnan(y[:, 0]), 2, y[:, 0]).astype(int)
        groups = [group_of(e) for e in events]
        if len(set(groups)) < n_splits:
            raise _config_error(f"cv.n_splits = {n_splits} but the data has {len(set(groups))} groups")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(len(events)), strat, groups))
    return folds


# ---------------------------------------------------------------------------
# Fitting and scoring one detector on a target


def _fit(detector: Detector, events: list[Event], y: np.ndarray, target: str) -> Detector:
    """Fit on ``events`` for ``target`` (each kind of detector with the targets it learns from)."""
    if detector.task == "drug_image":
        tree = np.array([_tree_targets(e) for e in events]) if target == "drug_image" else y
        if target == "drug_image":  # the binary target is the drug head, whatever the tree says
            tree[:, 0] = y
        return detector.fit(events, tree)
    if target == "image_tree":
        raise _config_error(
            f"target image_tree needs drug_image detectors (drugwatch.yang_luo_image.v1); "
            f"{detector.name} is a {detector.task} detector"
        )
    if detector.task == "drugtype":
        if target == "drugtype":
            return detector.fit(events, y)
        labels = [image_truth_labels(e) or ("non_drug",) for e in events]
        return detector.fit([e.model_copy(update={"labels": tuple(lab)}) for e, lab in zip(events, labels)])
    if target == "drugtype":
        raise _config_error(f"target drugtype needs drug-type detectors; {detector.name} is a {detector.task} detector")
    return detector.fit(events, y)


def binary_scores(detector: Detector, events: list[Event]) -> tuple[np.ndarray, np.ndarray]:
    """``(P(drug), decision)`` of a fitted detector of any task."""
    proba = detector.predict_proba(events)
    if detector.task == "drug_image":
        p = proba[:, 0]
        return p, p >= float(detector.threshold_)
    if detector.task == "drugtype":
        return 1.0 - proba[:, _NON_DRUG], detector.decide(proba)[:, _NON_DRUG] == 0
    return proba[:, 1], detector.decide(proba).astype(bool)


def tree_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Per head at 0.5, over the examples that know the head: counts, accuracy, F1, ROC-AUC."""
    from sklearn.metrics import roc_auc_score

    from drugwatch.evaluation.metrics import hard_metrics
    from drugwatch.models.multitask_image import HEADS

    out = {}
    for j, head in enumerate(HEADS):
        known = ~np.isnan(y[:, j])
        t, q = y[known, j].astype(int), p[known, j]
        hard = hard_metrics(t, (q >= 0.5).astype(int))
        out[head] = {
            "n": int(known.sum()),
            "n_positive": int(t.sum()),
            "accuracy": hard["accuracy"],
            "f1": hard["f1"],
            "roc_auc": float(roc_auc_score(t, q)) if len(np.unique(t)) == 2 else None,
        }
    return out


def drug_vs_not(y: np.ndarray, decisions: np.ndarray) -> dict[str, Any]:
    """Drug vs not from multi-label targets and decisions: an event is "drug" when ``non_drug`` is not on."""
    from drugwatch.evaluation.metrics import hard_metrics

    hard = hard_metrics(1 - y[:, _NON_DRUG], 1 - decisions[:, _NON_DRUG])
    return {k: hard[k] for k in ("accuracy", "precision", "recall", "f1")}


class _ImageTask(EvaluationTask):
    """Data, folds and fitting shared by the image targets (see the module docstring)."""

    def load(self, config: Any) -> Dataset:
        return Dataset(*load_image_dataset(config))

    def folds(self, config: Any, data: Dataset) -> Folds:
        return image_folds(data.events, data.y, self.name, config.cv.n_splits, config.cv.seed)

    def describe(self, info: Mapping[str, Any], n_folds: int) -> str:
        return (
            f"{info['n_events']} events ({info['n_with_image']} with an image), {info['n_groups']} groups; "
            f"{n_folds} folds; target {self.name}"
        )

    def check_columns(self, config: Any) -> None:
        from drugwatch.models.registry import get_detector_class

        for key in config.column_keys():
            cls = get_detector_class(config.columns[key].detector)
            if self.name == "image_tree" and cls.task != "drug_image":
                raise _config_error(
                    f"columns.{key}: target image_tree needs drug_image detectors "
                    f"(drugwatch.yang_luo_image.v1); {cls.name} is a {cls.task} detector"
                )
            if self.name == "drugtype" and cls.task != "drugtype":
                raise _config_error(
                    f"columns.{key}: target drugtype needs drug-type detectors; {cls.name} is a {cls.task} detector"
                )

    def cell_title(self, config: Any, column_key: str, row_value: Any) -> str:
        from drugwatch.models.registry import get_detector_class

        title = config.columns[column_key].title
        accepts = config.rows.param in get_detector_class(config.columns[column_key].detector)._param_names()
        if config.rows.param and row_value is not None and accepts:
            return f"{title} [{config.row_title(row_value)}]"
        return title

    def fit(self, detector: Detector, events: list[Event], y: np.ndarray) -> None:
        _fit(detector, events, y, self.name)

    def fold_facts(self, events: list[Event]) -> dict[str, Any]:
        return {"n_test": len(events)}

    def render(self, config: Any, result: Mapping[str, Any]) -> str:
        return render_image_table(config, result)


class DrugImageTask(_ImageTask):
    """Does the event's image show drugs (``data.target = "drug_image"``, binary)."""

    name = "drug_image"

    def predict(self, detector: Detector, events: list[Event]) -> FoldOutput:
        p, decision = binary_scores(detector, events)
        return FoldOutput(p, decision.astype(np.int64))

    def fold_metrics(self, y: np.ndarray, output: FoldOutput) -> dict[str, Any]:
        from drugwatch.evaluation.metrics import binary_metrics

        return binary_metrics(y, output.scores, threshold=None, y_pred=output.decisions)

    def fold_line(self, metrics: Mapping[str, Any]) -> str:
        return f"accuracy {metrics['accuracy']:.3f} F1 {metrics['f1']:.3f}"

    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        from drugwatch.evaluation.metrics import binary_metrics

        return {"pooled": binary_metrics(y, scores, threshold=None, y_pred=decisions)}

    def card_evaluation(self, config: Any, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        pooled = cell["pooled"]
        return {
            "protocol": _protocol(config, info, self.name),
            **{k: pooled[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")},
        }


class ImageTreeTask(_ImageTask):
    """Yang & Luo's heads drug -> weed / pills / syrup (``data.target = "image_tree"``), each at 0.5."""

    name = "image_tree"

    def predict(self, detector: Detector, events: list[Event]) -> FoldOutput:
        proba = detector.predict_proba(events)
        return FoldOutput(proba, (proba >= 0.5).astype(np.int64))

    def fold_metrics(self, y: np.ndarray, output: FoldOutput) -> dict[str, Any]:
        return {"heads": tree_metrics(y, output.scores)}

    def fold_line(self, metrics: Mapping[str, Any]) -> str:
        accuracy = metrics["heads"]["drug"]["accuracy"]
        return "drug accuracy " + (f"{accuracy:.3f}" if accuracy is not None else "–")

    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {"pooled": {"heads": tree_metrics(y, scores)}}

    def card_evaluation(self, config: Any, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        return {"protocol": _protocol(config, info, self.name), **cell["pooled"]["heads"]}


class ImageDrugTypeTask(_ImageTask, DrugTypeTask):
    """DMML's 10 labels from text and image (``drugtype`` on data with images), plus drug vs not."""

    name = "drugtype"

    def summarize(
        self,
        events: list[Event],
        y: np.ndarray,
        scores: np.ndarray,
        decisions: np.ndarray,
        per_fold: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {**super().summarize(events, y, scores, decisions, per_fold), "drug_vs_not": drug_vs_not(y, decisions)}

    def card_evaluation(self, config: Any, info: Mapping[str, Any], cell: Mapping[str, Any]) -> dict:
        return {
            "protocol": _protocol(config, info, self.name),
            **{k: v["mean"] for k, v in cell["mean"].items()},
            "drug_vs_not": cell["drug_vs_not"],
        }


def _protocol(config: Any, info: Mapping[str, Any], target: str) -> str:
    return f"{config.cv.n_splits}-fold stratified group CV on {Path(info['path']).name}, target {target}"


def image_task(config: Any) -> EvaluationTask:
    """The task object of an image or multimodal experiment (its ``data.target``)."""
    tasks: dict[str, type[EvaluationTask]] = {
        "drug_image": DrugImageTask,
        "image_tree": ImageTreeTask,
        "drugtype": ImageDrugTypeTask,
    }
    target = config.data.target
    if target not in tasks:
        raise _config_error(
            'selling targets read text bench files; for images use data.target = "drug_image" '
            '(binary), "image_tree" (Yang & Luo\'s heads) or "drugtype" (DMML\'s 10 labels)'
        )
    return tasks[target]()


def render_image_table(config: Any, result: Mapping[str, Any]) -> str:
    """Markdown tables of an image experiment (binary, tree or multi-label with drug-vs-not)."""
    target = result["task"]
    data = result["data"]
    if target == "drugtype":
        text = render_multilabel_table(result)
        cells = [c for c in result["cells"] if "drug_vs_not" in c]
        if cells:
            text += (
                "\nDrug vs not (from the non_drug decisions; %): accuracy / precision / recall / F1\n\n"
                "| model | folds | acc | P | R | F1 | fit s |\n|---|---|---|---|---|---|---|\n"
            )
            for c in cells:
                b = c["drug_vs_not"]
                text += (
                    f"| {c.get('title', c['column'])} | {folds_note(c)} | {pct(b['accuracy'])} | "
                    f"{pct(b['precision'])} | {pct(b['recall'])} | {pct(b['f1'])} | {c['fit_s_total']:.0f} |\n"
                )
        return text
    lines = [f"# {config.experiment.title or config.experiment.name}", ""]
    if config.experiment.note:
        lines += [config.experiment.note, ""]
    subset = data.get("subset")
    lines += [
        f"Data: `{Path(data['path']).name}` ({data['format']}), {data['n_events']} events with an image from "
        f"{data['n_groups']} groups"
        + (f" (a subset of {subset['n_before']}: {subset['rule']})" if subset else "")
        + f"; {len(data.get('folds', []))}-fold stratified group CV, seed {config.cv.seed}; target `{target}`.",
        "",
    ]
    cells = result["cells"]
    if target == "drug_image":
        lines += [
            f"Drug image vs not, pooled over the test folds run ({data.get('n_positive')} drug images; %):",
            "",
            "| model | folds | accuracy | precision | recall | F1 | ROC-AUC | fit s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in cells:
            p = c["pooled"]
            lines.append(
                f"| {c.get('title', c['column'])} | {folds_note(c)} | {pct(p['accuracy'])} | "
                f"{pct(p['precision'])} | {pct(p['recall'])} | **{pct(p['f1'])}** | "
                f"{pct(p['roc_auc'])} | {c['fit_s_total']:.1f} |"
            )
        lines += per_fold_table(cells, "Accuracy per fold (%):", lambda f: pct(f["accuracy"]))
    else:
        from drugwatch.models.multitask_image import HEADS

        heads = data.get("heads", {})
        lines += [
            "Per head at 0.5, pooled over the test folds run, over the examples that know the head "
            "(accuracy / F1 / ROC-AUC, %):",
            "",
            "| model | folds | "
            + " | ".join(f"{h} (n={heads.get(h, {}).get('known', '?')})" for h in HEADS)
            + " | fit s |",
            "|" + "---|" * (len(HEADS) + 3),
        ]
        for c in cells:
            h = c["pooled"]["heads"]
            single = c.get("params", {}).get("multitask") is False  # the child heads were never trained
            parts = [
                "not trained"
                if single and x != "drug"
                else f"{pct(h[x]['accuracy'])} / {pct(h[x]['f1'])} / {pct(h[x]['roc_auc'])}"
                if h[x]["n"]
                else "–"
                for x in HEADS
            ]
            lines.append(
                f"| {c.get('title', c['column'])} | {folds_note(c)} | "
                + " | ".join(parts)
                + f" | {c['fit_s_total']:.1f} |"
            )
    lines.append("")
    return "\n".join(lines)
