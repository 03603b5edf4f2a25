"""Evaluation: metrics, dedup policy, grouped folds, no leakage, config overrides."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_contract import TINY_PARAMS, tiny_corpus

from drugwatch.evaluation.config import (
    ConfigError,
    apply_overrides,
    extra_args_to_overrides,
    load_config,
    parse_override,
)
from drugwatch.evaluation.metrics import (
    best_f1_threshold,
    binary_metrics,
    expected_calibration_error,
    fpr_by_source,
    hard_metrics,
    precision_recall_f1,
)
from drugwatch.evaluation.splits import deduplicate, group_of, grouped_folds
from drugwatch.models import available_detectors, create_detector, get_detector_class
from drugwatch.records import Event


def test_binary_metrics_match_hand_counts():
    y = [1, 1, 0, 0, 0]
    p = [0.9, 0.4, 0.6, 0.1, 0.2]
    m = binary_metrics(y, p, threshold=0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (1, 1, 1, 2)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["fpr"] == pytest.approx(1 / 3)
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert 0 < m["pr_auc"] <= 1


def test_metrics_undefined_are_none_not_invented():
    m = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert m["roc_auc"] is None and m["pr_auc"] is None


def test_ece_zero_when_calibrated_and_large_when_not():
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0
    assert expected_calibration_error(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)


def test_best_f1_threshold():
    threshold, f1 = best_f1_threshold([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.8])
    assert f1 == 1.0 and 0.3 < threshold <= 0.35


def test_fpr_by_source_counts_negatives_only():
    out = fpr_by_source([0, 0, 1, 0], [1, 0, 1, 0], ["a", "a", "a", "b"])
    assert out["a"] == {"negatives": 2, "false_positives": 1, "fpr": 0.5}
    assert out["b"]["fpr"] == 0.0


def test_dedup_keeps_one_per_cluster_and_prefers_a_positive():
    events = [
        Event(id="1", text="Xanax 2mg bars, 100 for $150, dm me"),
        Event(id="2", text="xanax 2mg bars, 300 for $400 dm me!!"),
        Event(id="3", text="lovely sunset at the beach today"),
        Event(id="4", text="lovely sunset at the beach today"),
    ]
    keep, report = deduplicate(events, [0, 1, 0, 0])
    assert keep == [1, 2]
    assert report.n_label_conflicts == 1 and report.n_after == 2


def test_grouped_folds_keep_groups_apart_and_are_seeded():
    events = tiny_corpus() * 1
    y = np.array([int(e.selling) for e in events])
    folds = list(grouped_folds(events, y, n_splits=4, seed=0))
    for train, test in folds:
        assert not {group_of(events[i]) for i in train} & {group_of(events[i]) for i in test}
        assert y[test].sum() > 0
    again = list(grouped_folds(events, y, n_splits=4, seed=0))
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))
    with pytest.raises(ValueError, match="at least 40 groups"):
        list(grouped_folds(events, y, n_splits=40, seed=0))


def _has_vocabulary(name: str) -> bool:
    return hasattr(type(create_detector(name)), "vocabulary_") or name.endswith("lstm.v1")


# Selling detectors only (the corpus is binary); the drug-type detectors have the
# same leakage test in tests/test_multilabel.py (DMML hook).
@pytest.mark.parametrize(
    "name", [n for n in available_detectors() if _has_vocabulary(n) and get_detector_class(n).task == "selling"]
)
def test_no_test_fold_token_in_fitted_vocabulary(name):
    """Leakage test: a word present only in the test fold never reaches the model."""
    events = tiny_corpus()
    y = np.array([int(e.selling) for e in events])
    train, test = next(grouped_folds(events, y, n_splits=4, seed=0))
    marker = "zqxjleakword"
    marked = [
        e.model_copy(update={"text": f"{e.text} {marker} #{marker}"}) if i in set(test) else e
        for i, e in enumerate(events)
    ]
    detector = create_detector(
        name,
        **TINY_PARAMS.get(name, {}),
        **({"min_df": 1} if "min_df" in type(create_detector(name))._param_names() else {}),
    )
    detector.fit([marked[i] for i in train], y[train])
    assert not [term for term in detector.vocabulary_ if marker in term], name


def test_overrides_are_read_as_toml():
    assert parse_override("train.seed=3") == (["train", "seed"], 3)
    assert parse_override('run.columns=["a","b"]') == (["run", "columns"], ["a", "b"])
    assert parse_override("data.path=some/file.jsonl") == (["data", "path"], "some/file.jsonl")
    data = apply_overrides({"train": {"seed": 0}}, ["train.seed=3", "columns.x.params.C=0.5"])
    assert data == {"train": {"seed": 3}, "columns": {"x": {"params": {"C": 0.5}}}}
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("train.seed")


def test_spacy_style_extra_args():
    assert extra_args_to_overrides(["--train.seed", "3", "--cv.n_splits=5"]) == ["train.seed=3", "cv.n_splits=5"]
    with pytest.raises(ConfigError, match="no value"):
        extra_args_to_overrides(["--train.seed"])


def test_binary_metrics_score_the_detectors_own_decisions():
    y = np.array([0, 0, 1, 1, 1])
    proba = np.array([0.1, 0.6, 0.4, 0.9, 0.8])
    at_half = binary_metrics(y, proba)
    assert (at_half["tp"], at_half["fp"], at_half["fn"], at_half["tn"]) == (2, 1, 1, 1)
    # Decisions made elsewhere (each fold at its own threshold): the hard numbers follow them,
    # the ranking metrics still read the probabilities.
    decided = binary_metrics(y, proba, threshold=None, y_pred=[0, 0, 1, 1, 1])
    assert decided["threshold"] is None
    assert (decided["precision"], decided["recall"], decided["f1"], decided["fpr"]) == (1.0, 1.0, 1.0, 0.0)
    assert decided["roc_auc"] == at_half["roc_auc"] and decided["pr_auc"] == at_half["pr_auc"]
    with pytest.raises(ValueError, match="threshold or the decisions"):
        binary_metrics(y, proba, threshold=None)


def test_counts_and_label_arrays_give_the_same_precision_recall_f1():
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = rng.integers(0, 2, 50)
        pred = rng.integers(0, 2, 50)
        hard = hard_metrics(truth, pred)
        p, r, f = precision_recall_f1(hard["tp"], hard["fp"], hard["fn"])
        assert (p, r) == (hard["precision"], hard["recall"]) and f == pytest.approx(hard["f1"], abs=1e-12)
    assert precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    empty = hard_metrics([], [])
    assert empty["accuracy"] is None and empty["f1"] == 0.0


@pytest.mark.parametrize(
    ("target", "path", "task"),
    [
        ("selling", "missing.jsonl", "SellingTask"),
        ("drugtype", "missing.jsonl", "DrugTypeTask"),
        ("drugtype", "demo:seed=0,n_accounts=2", "ImageDrugTypeTask"),
        ("drug_image", "missing.jsonl", "DrugImageTask"),
        ("image_tree", "missing.jsonl", "ImageTreeTask"),
    ],
)
def test_one_runner_picks_the_task_of_the_target(tmp_path, target, path, task):
    from drugwatch.evaluation.tasks import task_for

    config_file = tmp_path / "e.toml"
    config_file.write_text(
        f"""[experiment]\nname = "t"\n[data]\npath = "{path}"\ntarget = "{target}"\n"""
        """[columns.a]\ndetector = "drugwatch.tfidf_lr.v1"\n""",
        encoding="utf-8",
    )
    chosen = task_for(load_config(config_file))
    assert type(chosen).__name__ == task and chosen.name == target
    assert chosen.checkpoints == (target == "selling")


def test_task_refuses_columns_that_cannot_learn_its_target(tmp_path):
    from drugwatch.evaluation.experiment import run_evaluation

    config_file = tmp_path / "e.toml"
    config_file.write_text(
        """[experiment]\nname = "t"\n[data]\npath = "missing.jsonl"\ntarget = "drugtype"\n"""
        """[columns.a]\ndetector = "drugwatch.tfidf_lr.v1"\n""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="columns.a: target drugtype needs drug-type detectors"):
        run_evaluation(load_config(config_file), tmp_path / "run")
    with pytest.raises(ConfigError, match="keep no fold checkpoints"):
        run_evaluation(load_config(config_file), tmp_path / "run", fit_missing=False)


def test_drug_vs_not_reads_the_non_drug_decisions():
    from drugwatch.labels import LABELS
    from drugwatch.vision.evaluation import drug_vs_not

    non_drug, drug = LABELS.index("non_drug"), LABELS.index("marijuana")
    y = np.zeros((4, len(LABELS)), dtype=np.int64)
    pred = np.zeros_like(y)
    y[[0, 1], drug] = 1  # two drug events
    y[[2, 3], non_drug] = 1  # two without drugs
    pred[0, drug] = 1  # found
    pred[1, non_drug] = 1  # missed
    pred[2, non_drug] = 1  # right
    pred[3, drug] = 1  # a false alarm
    assert drug_vs_not(y, pred) == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}
