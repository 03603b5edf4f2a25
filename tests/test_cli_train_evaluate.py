"""`drugwatch train` and `drugwatch evaluate` on a tiny config and a tiny bench JSONL."""

from __future__ import annotations

import json

import pytest
from test_models_contract import OTHERS, SELLERS
from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.models import Detector

runner = CliRunner()

CONFIG = """
[experiment]
name = "tiny"
title = "Tiny CLI test"

[data]
path = "data/tiny.jsonl"
bench_file = "tiny.jsonl"
dedup_threshold = 0.7

[cv]
n_splits = 3
seed = 0

[train]
seed = 0
column = "svm"

[rows]
param = "variant"
values = ["with_hashtags", "hashtags_only"]

[columns.svm]
detector = "drugwatch.jmir_svm.v1"
title = "SVM"
params = { calibration_folds = 2 }

[columns.ours]
detector = "drugwatch.selling.v1"
params = { inner_folds = 2 }
skip_rows = ["hashtags_only"]
"""


@pytest.fixture()
def experiment(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = []
    for i, (text, group) in enumerate(SELLERS + OTHERS):
        selling = i < len(SELLERS)
        lines.append(
            json.dumps(
                {
                    "id": f"selling:test:{i:012x}",
                    "task": "selling",
                    "source": "test",
                    "platform": "twitter",
                    "text": text,
                    "author": None,
                    "created_at": None,
                    "labels": None,
                    "selling": selling,
                    "group": group,
                    "meta": {"subsource": "pos" if selling else f"neg_{i % 2}"},
                }
            )
        )
    (data / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "configs" / "tiny.toml"
    config.parent.mkdir()
    config.write_text(CONFIG.replace('path = "data/tiny.jsonl"', 'path = "../data/tiny.jsonl"'))
    return config


def test_evaluate_writes_metrics_and_table(experiment, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["evaluate", str(experiment), "--output", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    cells = {(c["row"], c["column"]) for c in metrics["cells"]}
    assert cells == {("with_hashtags", "svm"), ("with_hashtags", "ours"), ("hashtags_only", "svm")}
    cell = metrics["cells"][0]
    assert len(cell["per_fold"]) == 3
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece"):
        assert key in cell["pooled"]
    assert set(cell["fpr_by_source"]) == {"neg_0", "neg_1"}
    table = (out / "table.md").read_text()
    assert "Tiny CLI test" in table and "| with_hashtags |" in table and "Per-fold F1" in table


def test_evaluate_overrides_set_and_extra_args(experiment, tmp_path):
    out = tmp_path / "run2"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(out),
            "--quiet",
            "--set",
            'run.columns=["svm"]',
            "--rows.values",
            '["without_hashtags"]',
            "--cv.n_splits",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(c["row"], c["column"]) for c in metrics["cells"]] == [("without_hashtags", "svm")]
    assert len(metrics["cells"][0]["per_fold"]) == 2


def test_evaluate_reads_bench_dir_from_env(experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("DRUGWATCH_BENCH", str(tmp_path / "data"))
    text = experiment.read_text().replace('path = "../data/tiny.jsonl"', 'path = "does/not/exist.jsonl"')
    experiment.write_text(text)
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(tmp_path / "r"),
            "-q",
            "--set",
            'run.columns=["svm"]',
            "--set",
            'run.rows=["with_hashtags"]',
        ],
    )
    assert result.exit_code == 0, result.output


def test_evaluate_bad_config_fails_with_a_message(experiment, tmp_path):
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(tmp_path / "r"),
            "--set",
            "columns.svm.detector=drugwatch.nope.v1",
        ],
    )
    assert result.exit_code == 2
    assert "drugwatch.nope.v1" in result.output


def test_train_writes_model_best(experiment, tmp_path):
    out = tmp_path / "train"
    result = runner.invoke(app, ["train", str(experiment), "--output", str(out), "-q", "--train.seed", "3"])
    assert result.exit_code == 0, result.output
    model = Detector.load(out / "model-best")
    assert model.name == "drugwatch.jmir_svm.v1"
    assert model.get_params()["seed"] == 3
    assert model.predict_proba(["wickr me for xanax bars"]).shape == (1, 2)
    assert (out / "model-best" / "README.md").is_file()
    assert json.loads((out / "metrics.json").read_text())["detector"] == "drugwatch.jmir_svm.v1"


def test_train_with_cross_validation_puts_metrics_on_the_card(experiment, tmp_path):
    out = tmp_path / "train-cv"
    result = runner.invoke(
        app,
        [
            "train",
            str(experiment),
            "--output",
            str(out),
            "-q",
            "--set",
            "train.column=ours",
            "--set",
            "train.cross_validate=true",
        ],
    )
    assert result.exit_code == 0, result.output
    card = (out / "model-best" / "README.md").read_text()
    assert "drugwatch.selling.v1" in card and "pr_auc" in card and "stratified group CV" in card


def _svm_run(experiment, out, *extra):
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(out),
            "--set",
            'run.columns=["svm"]',
            "--set",
            'run.rows=["with_hashtags"]',
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "metrics.json").read_text())["cells"][0]


def test_evaluate_saves_each_fold_and_reuses_matching_checkpoints(experiment, tmp_path):
    out = tmp_path / "run"
    first_output, first = _svm_run(experiment, out)
    saved = sorted((out / "folds" / "svm" / "with_hashtags").glob("fold-*.npz"))
    assert [p.name for p in saved] == ["fold-00.npz", "fold-01.npz", "fold-02.npz"]
    assert "from checkpoint" not in first_output.output
    assert not any(f["from_checkpoint"] for f in first["per_fold"])

    again_output, again = _svm_run(experiment, out)
    assert again_output.output.count("from checkpoint") == 3
    assert all(f["from_checkpoint"] for f in again["per_fold"])
    assert again["pooled"] == first["pooled"]
    assert [f["fit_s"] for f in again["per_fold"]] == [f["fit_s"] for f in first["per_fold"]]

    # A parameter that changes predictions refits; one that only sets speed does not.
    changed_output, _ = _svm_run(experiment, out, "--set", "columns.svm.params.C=0.5")
    assert "from checkpoint" not in changed_output.output
    # --fresh ignores matching checkpoints.
    fresh_output, _ = _svm_run(experiment, out, "--fresh")
    assert "from checkpoint" not in fresh_output.output


def test_a_damaged_or_foreign_checkpoint_is_refitted(experiment, tmp_path):
    out = tmp_path / "run"
    _svm_run(experiment, out)
    folds = out / "folds" / "svm" / "with_hashtags"
    (folds / "fold-00.npz").write_bytes(b"not an npz")
    # Fold 1's file from another split (3 -> 4 folds changes every test fold).
    other = tmp_path / "other"
    _svm_run(experiment, other, "--cv.n_splits", "4")
    (folds / "fold-01.npz").write_bytes((other / "folds" / "svm" / "with_hashtags" / "fold-01.npz").read_bytes())
    output, cell = _svm_run(experiment, out)
    assert [f["from_checkpoint"] for f in cell["per_fold"]] == [False, False, True]
    assert output.output.count("from checkpoint") == 1


def test_evaluate_some_folds_then_the_rest(experiment, tmp_path):
    out = tmp_path / "run"
    _, part = _svm_run(experiment, out, "--set", "cv.folds=[0, 2]")
    assert part["folds_run"] == [0, 2] and part["n_folds"] == 3
    assert [f["fold"] for f in part["per_fold"]] == [0, 2]
    table = (out / "table.md").read_text()
    assert "(folds 0, 2 of 3)" in table
    n_tested = part["pooled"]["tp"] + part["pooled"]["fp"] + part["pooled"]["fn"] + part["pooled"]["tn"]
    _, full = _svm_run(experiment, out)
    assert [f["from_checkpoint"] for f in full["per_fold"]] == [True, False, True]
    assert full["pooled"]["tp"] + full["pooled"]["fp"] + full["pooled"]["fn"] + full["pooled"]["tn"] > n_tested
    assert "of 3)" not in (out / "table.md").read_text()
    bad = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(out),
            "-q",
            "--set",
            "cv.folds=[5]",
            "--set",
            'run.columns=["svm"]',
        ],
    )
    assert bad.exit_code == 2 and "cv.folds" in bad.output


def test_fold_checkpoints_match_on_data_fold_and_parameters(tmp_path):
    import numpy as np

    from drugwatch.evaluation.checkpoints import FoldCheckpoints, FoldResult

    test_idx = np.array([3, 5, 8])
    store = FoldCheckpoints(tmp_path, "data-a")
    result = FoldResult(np.array([0.1, 0.9, 0.4]), 0.35, 12.0, 0.5)
    store.save(
        "lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 800, "num_threads": 1}, test_idx, result
    )
    hit = store.load("lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 800, "num_threads": 4}, test_idx)
    assert hit is not None and hit.threshold == 0.35 and hit.fit_s == 12.0
    np.testing.assert_array_equal(hit.proba, result.proba)
    misses = [
        store.load("lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 400}, test_idx),
        store.load("lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 800}, np.array([3, 5, 9])),
        store.load("lstm", "drugwatch.jmir_lstm.v1", "hashtags_only", 2, {"hidden": 800}, test_idx),
        store.load("lstm", "drugwatch.jmir_lstm.v2", "with_hashtags", 2, {"hidden": 800}, test_idx),
        FoldCheckpoints(tmp_path, "data-b").load(
            "lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 800}, test_idx
        ),
        FoldCheckpoints(tmp_path, "data-a", reuse=False).load(
            "lstm", "drugwatch.jmir_lstm.v1", "with_hashtags", 2, {"hidden": 800}, test_idx
        ),
    ]
    assert misses == [None] * len(misses)
    assert not list(tmp_path.rglob("*.tmp"))


def test_saved_only_reports_the_folds_done_and_fits_nothing(experiment, tmp_path):
    out = tmp_path / "run"
    _svm_run(experiment, out, "--set", "cv.folds=[1]")
    report = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(experiment),
            "--output",
            str(report),
            "--checkpoints",
            str(out / "folds"),
            "--saved-only",
            "--set",
            'run.rows=["with_hashtags"]',
        ],
    )
    assert result.exit_code == 0, result.output
    cells = json.loads((report / "metrics.json").read_text())["cells"]
    assert [(c["column"], c["folds_run"]) for c in cells] == [("svm", [1])]  # "ours" has no saved fold
    assert all(f["from_checkpoint"] for f in cells[0]["per_fold"])
    assert "ours [with_hashtags]: no saved fold, left out" in result.output
    assert not (report / "folds").exists()
    both = runner.invoke(app, ["evaluate", str(experiment), "--output", str(report), "--saved-only", "--fresh"])
    assert both.exit_code == 2 and "--fresh" in both.output
