"""Multi-label drug-type detectors: contract, overfit, decoding, metrics, experiment, ONNX."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drugwatch.labels import LABELS
from drugwatch.models import Detector, NotFittedError, available_detectors, create_detector, get_detector_class
from drugwatch.models.multilabel import decode, fit_thresholds, folded_text, normalized_text, skeleton_text
from drugwatch.records import Event

CORPUS = [
    ("OG Kush indoor weed 28g", ("marijuana",), "v1"),
    ("Purple haze cannabis buds 7g", ("marijuana",), "v2"),
    ("Lean promethazine codeine syrup 8oz", ("codeine",), "v3"),
    ("Actavis codeine cough syrup pint", ("codeine",), "v4"),
    ("MDMA crystals 84% pure 1g", ("mdma",), "v5"),
    ("Ecstasy pills molly 200mg", ("mdma",), "v6"),
    ("Xanax 2mg bars 100 pills", ("xanax",), "v7"),
    ("Alprazolam 1mg xanax footballs", ("xanax",), "v8"),
    ("Oxycodone 30mg M30 painkiller", ("painkiller",), "v9"),
    ("Percocet 10mg oxy pills", ("painkiller",), "v10"),
    ("Golden teacher magic mushrooms 3.5g", ("mushroom",), "v11"),
    ("Psilocybin shrooms dried 14g", ("mushroom",), "v12"),
    ("LSD tabs 250ug blotter", ("lsd",), "v13"),
    ("Acid blotter 1P-LSD tabs", ("lsd",), "v14"),
    ("Cocaine 1g pure flake", ("cocaine",), "v15"),
    ("Colombian coke 90% 3.5g", ("cocaine",), "v16"),
    ("Ketamine crystal 5g", ("other_drugs",), "v17"),
    ("Speed amphetamine paste 10g", ("other_drugs",), "v18"),
    ("Hacking guide ebook pdf", ("non_drug",), "v19"),
    ("Fake ID card template", ("non_drug",), "v20"),
    ("Netflix premium account lifetime", ("non_drug",), "v21"),
    ("Counterfeit money 50 EUR notes", ("non_drug",), "v22"),
    ("Weed and cocaine combo deal", ("marijuana", "cocaine"), "v23"),
    ("Xanax bars plus oxycodone 30mg", ("xanax", "painkiller"), "v24"),
]


def corpus() -> list[Event]:
    return [Event(id=f"e{i}", text=t, labels=labels, meta={"group": g}) for i, (t, labels, g) in enumerate(CORPUS)]


def targets(events) -> np.ndarray:
    y = np.zeros((len(events), len(LABELS)), dtype=np.int64)
    for i, e in enumerate(events):
        for name in e.labels:
            y[i, LABELS.index(name)] = 1
    return y


#: Tiny, fast settings (the contract tests run each detector several times).
TINY: dict[str, dict] = {
    "drugwatch.tfidf_ovr.v1": dict(inner_folds=2),
    "drugwatch.drugtype.v1": dict(inner_folds=2, min_df=1),
    "drugwatch.drugtype.v3": dict(inner_folds=2, min_df=1),
    "drugwatch.fasttext.v1": dict(embedding_dim=8, buckets=64, epochs=2, num_threads=1),
    "drugwatch.textcnn.v1": dict(embedding_dim=8, filters=4, epochs=2, num_threads=1),
    "drugwatch.textrnn.v1": dict(embedding_dim=8, hidden=4, epochs=2, num_threads=1),
    "drugwatch.minilm.v1": dict(max_len=16, epochs=1, batch_size=8, max_train=10, num_threads=1),
}
#: Settings with which each detector must learn the corpus perfectly.
OVERFIT: dict[str, dict] = {
    "drugwatch.tfidf_ovr.v1": dict(C=1000.0, tune_thresholds=False),
    "drugwatch.drugtype.v1": dict(C=100.0, inner_folds=2, min_df=1),
    "drugwatch.drugtype.v3": dict(C=100.0, inner_folds=2, min_df=1),
    "drugwatch.fasttext.v1": dict(
        embedding_dim=32, buckets=256, epochs=150, lr=5e-2, batch_size=8, validation_fraction=0.0, num_threads=1
    ),
    "drugwatch.textcnn.v1": dict(
        embedding_dim=16,
        filters=16,
        epochs=60,
        lr=2e-2,
        dropout=0.0,
        batch_size=8,
        validation_fraction=0.0,
        num_threads=1,
    ),
    "drugwatch.textrnn.v1": dict(
        embedding_dim=16,
        hidden=16,
        epochs=80,
        lr=2e-2,
        dropout=0.0,
        batch_size=8,
        validation_fraction=0.0,
        num_threads=1,
    ),
}

#: The text-only DMML detectors of this module's scope (other drug-type
#: detectors, e.g. the multimodal ones, have their own tests).
DRUGTYPE = [
    "drugwatch.tfidf_ovr.v1",
    "drugwatch.fasttext.v1",
    "drugwatch.textcnn.v1",
    "drugwatch.textrnn.v1",
    "drugwatch.minilm.v1",
    "drugwatch.drugtype.v1",
    "drugwatch.drugtype.v3",
]
FAST = [n for n in DRUGTYPE if n != "drugwatch.minilm.v1"]
SLOW_MINILM = pytest.param("drugwatch.minilm.v1", marks=pytest.mark.slow)


def build(name: str, **extra) -> Detector:
    return create_detector(name, **{**TINY.get(name, {}), **extra})


def test_registry_has_every_dmml_detector():
    for name in DRUGTYPE:
        assert name in available_detectors() and get_detector_class(name).task == "drugtype"


# ---------------------------------------------------------------------------
# Contract


@pytest.mark.parametrize("name", [*FAST, SLOW_MINILM])
def test_contract(name, tmp_path):
    events = corpus()
    detector = build(name)
    assert detector.get_params() == type(detector)(**detector.get_params()).get_params()
    assert not [k for k in vars(detector) if k.endswith("_")], "learned state before fit"
    with pytest.raises(NotFittedError, match="not fitted"):
        detector.predict_proba(["xanax"])
    with pytest.raises(TypeError, match="Iterable over Event objects.*str object received"):
        detector.fit("xanax bars")
    assert detector.fit(events) is detector
    proba = detector.predict_proba(events[:5])
    assert proba.shape == (5, len(LABELS)) and detector.columns == LABELS
    assert ((proba >= 0) & (proba <= 1)).all()
    pred = detector.predict(events)
    assert pred.shape == (len(events), len(LABELS))
    assert (pred.sum(1) >= 1).all() and not (pred[:, 0] & pred[:, 1:].any(1)).any()
    assert detector.thresholds_.shape == (len(LABELS),)
    assert detector.predict_proba(["wickr me for xanax bars"]).shape == (1, len(LABELS))
    with pytest.raises(TypeError, match="Wrap a single text in a list"):
        detector.predict_proba("xanax bars")
    # deterministic with a seed
    again = build(name).fit(events).predict_proba(events)
    np.testing.assert_allclose(again, detector.predict_proba(events), atol=1e-6)
    # save / load round trip
    directory = detector.save(tmp_path / "model", evaluation={"macro_f1": 0.5})
    config = json.loads((directory / "config.json").read_text())
    assert config["registry_name"] == name and config["columns"] == list(LABELS) and config["task"] == "drugtype"
    assert "thresholds" in config["extra"] and "macro_f1" in (directory / "README.md").read_text()
    for loader in (Detector, type(detector)):
        loaded = loader.load(directory)
        np.testing.assert_allclose(loaded.predict_proba(events), detector.predict_proba(events), atol=1e-6)
        np.testing.assert_array_equal(loaded.thresholds_, detector.thresholds_)
        np.testing.assert_array_equal(loaded.predict(events), detector.predict(events))


@pytest.mark.parametrize("name", FAST)
def test_parameter_constraints_checked_in_fit(name):
    detector = build(name, seed=-1)
    with pytest.raises(ValueError, match="invalid parameter.*'seed'"):
        detector.fit(corpus())


@pytest.mark.parametrize("name", FAST)
def test_overfits_the_tiny_corpus(name):
    events = corpus()
    detector = create_detector(name, **OVERFIT[name]).fit(events)
    np.testing.assert_array_equal(detector.predict(events), targets(events), err_msg=name)


@pytest.mark.slow
def test_minilm_one_epoch_on_ten_examples_learns_something():
    events = corpus()[:10]
    detector = create_detector(
        "drugwatch.minilm.v1", max_len=16, epochs=4, batch_size=5, lr=1e-3, validation_fraction=0.0, num_threads=1
    ).fit(events)
    proba = detector.predict_proba(events)
    y = targets(events)
    assert detector.train_log_[-1]["train_loss"] < detector.train_log_[0]["train_loss"]
    assert proba[y == 1].mean() > proba[y == 0].mean() + 0.1


# ---------------------------------------------------------------------------
# Decoding and thresholds


def test_decode_non_drug_is_exclusive_and_argmax_fills_empty_rows():
    proba = np.full((3, len(LABELS)), 0.1)
    proba[0, [0, 4]] = 0.9  # non_drug and xanax fire: non_drug dropped
    proba[1, 7] = 0.3  # nothing fires: argmax (lsd)
    proba[2, 0] = 0.8
    pred = decode(proba, 0.5)
    assert pred[0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert pred[1].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert pred[2].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="shape"):
        decode(np.zeros((2, 3)))


def test_decode_non_drug_wins_over_weaker_drug_labels():
    proba = np.full((3, len(LABELS)), 0.05)
    proba[0, [0, 6]] = [0.7, 0.4]  # a drug book: mushroom fires at 0.3, non_drug is more probable
    proba[1, [0, 6]] = [0.4, 0.7]  # a drug listing: the drug stays
    proba[2, [0, 6]] = [0.6, 0.6]  # a tie goes to non_drug
    thresholds = np.full(len(LABELS), 0.3)
    assert decode(proba, thresholds)[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    pred = decode(proba, thresholds, non_drug_wins=True)
    assert pred[:, 0].tolist() == [1, 0, 1] and pred[1, 6] == 1
    assert (pred.sum(1) >= 1).all() and not (pred[:, 0] & pred[:, 1:].any(1)).any()


def test_fit_thresholds_finds_the_separating_threshold():
    rng = np.random.default_rng(0)
    y = np.zeros((200, len(LABELS)), dtype=np.int64)
    y[np.arange(200), rng.integers(0, len(LABELS), 200)] = 1
    proba = np.where(y == 1, 0.3, 0.1) + rng.uniform(0, 0.05, y.shape)
    thresholds = fit_thresholds(y, proba)
    np.testing.assert_array_equal(decode(proba, thresholds), y)
    assert (decode(proba, 0.5).sum(1) == 1).all()  # the argmax fallback alone also recovers this


def test_masked_words_rare_in_training_are_read_back_from_the_lexicon_and_general_english():
    """A masked word the training texts never hold is read from the lexicon or English, after the training words."""
    from drugwatch.models.multilabel import general_mask_index, lexicon_mask_index

    events = stack_corpus(4)
    detector = build("drugwatch.drugtype.v1").fit(events)
    training_only = build("drugwatch.drugtype.v1", mask_vocabulary="training").fit(events)
    assert detector.mask_general_ and not training_only.mask_general_
    view = detector._view_arguments()
    probe = normalized_text("progra\u25cfming gui*e")
    assert folded_text(probe, **view) == "programming guide"
    # "guide" is a training word; "programming" is not: its mask symbol is dropped
    assert folded_text(probe, **training_only._view_arguments()) == "programing guide"
    # a lexicon word absent from the training texts and from English word counts
    assert lexicon_mask_index()[0]["hydroc\x00done"] == "hydrocodone"
    assert folded_text(normalized_text("hydroc_done 10mg"), **view) == "hydrocodone 10mg"
    # the training words come first: general English reads "co*e" as "code", these listings as "coke"
    assert general_mask_index()["co\x00e"] == "code"
    assert folded_text(normalized_text("co*e 1g"), **view) == "coke 1g"
    # and the detector reads its input that way
    X, _, _ = detector._features([normalized_text("progra\u25cfming gui*e co*e")], fit=False)
    Y, _, _ = detector._features(["programming guide coke"], fit=False)
    np.testing.assert_array_equal(X.toarray(), Y.toarray())


def test_view_version_2_separators_and_number_expressions():
    masks = {"co\x00e": "coke", "s\x00le": "sale"}
    words = {"sale", "codeine", "easter"}.__contains__
    # a symbol between two known words separates them; a masked word read back frees its neighbour
    assert folded_text("sale*codeine", masks, is_word=words, version=2) == "sale codeine"
    assert (
        folded_text("s\u25a1le*codei?e", {**masks, "codei\x00e": "codeine"}, is_word=words, version=2) == "sale codeine"
    )
    assert folded_text("sale*codeine", masks) == "salecodeine"  # version 1, as saved directories read
    # an unknown side: a masked letter, dropped
    assert folded_text("sale*qzxv", masks, is_word=words, version=2) == "saleqzxv"
    # number expressions are not leetspeak; leetspeak words still fold
    assert folded_text("10x30mg 9x19 2k17 190mg! x4n4x h@ck", version=2) == "10x30mg 9x19 2k17 190mg! xanax hack"
    assert folded_text("10x30mg 9x19", version=1) == "ioxeomg gxig"


def test_text_views_undo_disguises():
    assert normalized_text("ΜDMA") == "mdma"  # a Greek capital Mu
    assert folded_text(normalized_text("h@ckin9 gu1d3 2mg 3-mmc")) == "hacking guide 2mg 3-mmc"
    assert skeleton_text("pi■ls weeed") == "pils wed"


# ---------------------------------------------------------------------------
# drugwatch.drugtype.v1: the stacked second level


def stack_corpus(copies: int = 10) -> list[Event]:
    """The tiny corpus ``copies`` times over, reworded, each copy from other vendors (enough for the stacker)."""
    fillers = [
        "fast shipping",
        "best price",
        "new stock",
        "escrow ok",
        "top quality",
        "free sample",
        "bulk deal",
        "eu vendor",
        "us vendor",
        "limited offer",
    ]
    return [
        Event(
            id=f"s{c}-{i}",
            text=f"{t} {fillers[c % len(fillers)]} lot{c}",
            labels=labels,
            meta={"group": f"{g}-{c % 5}"},
        )
        for c in range(copies)
        for i, (t, labels, g) in enumerate(CORPUS)
    ]


def test_drugtype_stacks_svm_scores_neighbour_votes_and_lexicon(tmp_path):
    from drugwatch.models.multilabel import NEIGHBOUR_FEATURES, STACKER_MIN_EVENTS

    events = stack_corpus()
    assert len(events) >= STACKER_MIN_EVENTS
    detector = create_detector("drugwatch.drugtype.v1", min_df=1).fit(events)
    assert detector.threshold_source_ == "inner grouped CV (out-of-fold, stacked)"
    assert detector.calibrator_ is None and detector.non_drug_wins_
    # stacker input: 10 SVM scores, the neighbour votes, the lexicon block
    assert detector.stacker_.coef.shape == (10 + len(NEIGHBOUR_FEATURES) + 11, len(LABELS))
    np.testing.assert_array_equal(detector.predict(events), targets(events))
    fresh = [Event(id="q1", text="Xanax 2mg bars 100 pills"), Event(id="q2", text="Netflix premium account lifetime")]
    assert detector.predict(fresh)[:, [4, 0]].tolist() == [[1, 0], [0, 1]]
    config = json.loads((detector.save(tmp_path / "m") / "config.json").read_text())
    assert config["extra"]["combiner"].startswith("stacker") and config["extra"]["non_drug_wins"] is True
    loaded = Detector.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(events), detector.predict_proba(events), atol=1e-9)
    # too few events for a second level, or combiner="platt": per-label Platt calibration
    small = create_detector("drugwatch.drugtype.v1", min_df=1, inner_folds=2).fit(corpus())
    platt = create_detector("drugwatch.drugtype.v1", min_df=1, combiner="platt").fit(events)
    for d in (small, platt):
        assert d.stacker_ is None and d.calibrator_ is not None and "calibrated" in d.threshold_source_
    off = create_detector("drugwatch.drugtype.v1", min_df=1, knn_k=0).fit(events)
    assert off.neighbours_ is None and off.stacker_.coef.shape[0] == 10 + 11


def test_neighbour_votes_read_the_nearest_training_events():
    import scipy.sparse as sp

    from drugwatch.models.multilabel import _NeighbourVotes

    X = sp.csr_matrix(np.array([[1, 1, 0, 0, 1], [0, 1, 1, 0, 1], [0, 0, 0, 1, 1]], dtype=np.float32))
    y = np.eye(len(LABELS), dtype=np.int64)[[1, 2, 3]]
    votes = _NeighbourVotes(X, y, k=1, max_df=0.9)  # column 4 (in every row) is dropped
    assert (votes.columns >= 0).tolist() == [True, True, True, True, False]
    Q = sp.csr_matrix(np.array([[0, 0, 0, 2, 3], [3, 1, 0, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32))
    blocks = (Q[:, :3], Q[:, 3:])  # given as the char and word blocks side by side
    got = votes.votes(blocks)
    assert got[0, :10].argmax() == 3 and got[0, 10] == pytest.approx(1.0)  # same rare column as event 2
    assert got[1, :10].argmax() == 1 and 0.5 < got[1, 10] < 1.0
    assert not got[2].any()  # only a frequent column: no neighbour
    one_by_one = np.vstack([votes.votes(tuple(b[i] for b in blocks)) for i in range(3)])  # the single-event path
    np.testing.assert_allclose(one_by_one, got, atol=1e-6)


def _rewrite_as_pickled(directory, detector, edit=None):
    """Rewrite a saved model directory as the versions before ``weights.npz`` wrote it:
    the learned state, scikit-learn objects and all, in ``weights.pkl`` (``edit`` changes it first)."""
    import pickle

    from drugwatch.models.base import SavedModel

    state = pickle.loads(pickle.dumps(SavedModel._learned_state(detector)))  # a copy: edits leave the detector alone
    if edit is not None:
        edit(state)
    (directory / "weights.npz").unlink()
    (directory / "weights.pkl").write_bytes(pickle.dumps(state))


def _save_as_before(detector, directory, params, edit):
    """Save ``detector`` as a version before ``params`` existed wrote it: those
    hyperparameters left out of ``config.json``, the state pickled and ``edit``-ed."""
    directory = detector.save(directory)
    config = json.loads((directory / "config.json").read_text())
    for key in params:
        del config["params"][key]
    (directory / "config.json").write_text(json.dumps(config))
    _rewrite_as_pickled(directory, detector, edit)
    return directory


def test_drugtype_directories_saved_before_the_stacker_load_and_predict_as_before(tmp_path):
    """A directory written by the previous version (Platt, no stacker, no new parameters) predicts as it did."""

    from drugwatch.models.multilabel import _Platt

    events = stack_corpus(4)
    detector = create_detector("drugwatch.drugtype.v1", min_df=1, combiner="platt", mask_vocabulary="training").fit(
        events
    )

    def edit(state):
        for key in ("stacker_", "non_drug_wins_", "mask_general_", "view_version_", "mask_words_"):
            del state[key]

    directory = _save_as_before(
        detector,
        tmp_path / "old",
        ("combiner", "knn_k", "knn_max_df", "stacker_C", "non_drug_wins", "mask_vocabulary"),
        edit,
    )
    loaded = Detector.load(directory)
    assert loaded.combiner == "stacker" and not hasattr(loaded, "stacker_")  # new defaults, old weights
    proba = loaded.predict_proba(events)
    assert isinstance(loaded.calibrator_, _Platt)
    np.testing.assert_allclose(proba, detector.predict_proba(events), atol=1e-9)
    np.testing.assert_array_equal(loaded.predict(events), decode(proba, detector.thresholds_))
    # the old decoding too: a drug label that fires beats a more probable non_drug
    crafted = np.full((1, len(LABELS)), 0.001)
    crafted[0, [0, 6]] = [1.0, 0.995]
    loaded.predict_proba = lambda _events, **_options: crafted
    assert loaded.predict(events[:1])[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]


# ---------------------------------------------------------------------------
# Metrics


def test_multilabel_metrics_match_hand_counts():
    from drugwatch.evaluation.metrics import confusion_table, multilabel_metrics

    y = np.zeros((4, len(LABELS)), dtype=np.int64)
    y[0, 0] = y[1, 1] = y[2, 1] = y[2, 8] = y[3, 4] = 1
    p = y.copy()
    p[2, 8] = 0  # one missed label
    p[3, 4], p[3, 5] = 0, 1  # one wrong label
    m = multilabel_metrics(y, p)
    assert m["subset_accuracy"] == 0.5
    assert m["hamming_loss"] == pytest.approx(3 / 40)
    assert m["micro_precision"] == pytest.approx(3 / 4) and m["micro_recall"] == pytest.approx(3 / 5)
    assert m["per_label"]["marijuana"]["f1"] == 1.0 and m["per_label"]["cocaine"]["f1"] == 0.0
    assert m["confusion"]["cocaine"] == [[3, 0], [1, 0]]
    assert "| cocaine | 3 | 0 | 1 | 0 |" in confusion_table(m["confusion"])
    with pytest.raises(ValueError, match="0/1 indicator"):
        multilabel_metrics(y, p * 0.5)


def test_drugtype_experiment_runs_end_to_end(tmp_path):
    from drugwatch.evaluation.config import load_config
    from drugwatch.evaluation.experiment import run_evaluation, run_training

    data = tmp_path / "drugtype.jsonl"
    rows = [
        dict(
            id=f"d{i}",
            task="drugtype",
            source="t",
            platform="darknet_market",
            text=t,
            author=g,
            labels=list(labels),
            selling=labels != ("non_drug",),
            group=g,
            meta={},
        )
        for i, (t, labels, g) in enumerate(CORPUS * 2)
    ]
    for i, row in enumerate(rows[len(CORPUS) :]):  # second copy: other vendors, reworded
        row["text"] = row["text"] + " stealth shipping"
        row["group"] = row["author"] = f"w{i}"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config_path = tmp_path / "exp.toml"
    config_path.write_text(
        '[experiment]\nname = "t"\n[data]\npath = "drugtype.jsonl"\ntarget = "drugtype"\ndedup_threshold = 0\n'
        '[cv]\nn_splits = 2\n[train]\ncolumn = "ours"\n'
        '[columns.ours]\ndetector = "drugwatch.drugtype.v1"\nparams = { inner_folds = 2, min_df = 1 }\n'
        '[columns.plain]\ndetector = "drugwatch.tfidf_ovr.v1"\nparams = { tune_thresholds = false }\n'
    )
    config = load_config(config_path)
    result = run_evaluation(config, tmp_path / "run")
    assert [c["column"] for c in result["cells"]] == ["ours", "plain"]
    assert 0 <= result["cells"][0]["mean"]["macro_f1"]["mean"] <= 1
    table = (tmp_path / "run" / "table.md").read_text()
    assert "macro F1" in table and "Confusion matrices of `ours`" in table
    one_fold = run_evaluation(load_config(config_path, ["cv.folds=[1]", 'run.columns=["plain"]']), tmp_path / "r1")
    assert one_fold["cells"][0]["folds_run"] == [1]
    from drugwatch.evaluation.config import ConfigError

    with pytest.raises(ConfigError, match="no fold checkpoints"):  # never fits everything by surprise
        run_evaluation(config, tmp_path / "r2", fit_missing=False)
    assert not (tmp_path / "r2").exists()
    model_dir = run_training(config, tmp_path / "train")
    assert Detector.load(model_dir).predict(["xanax 2mg bars"]).shape == (1, len(LABELS))


# ---------------------------------------------------------------------------
# ONNX export (separate process) and dynamic int8


@pytest.mark.slow
def test_onnx_export_matches_pytorch(tmp_path):
    from drugwatch.models.onnx_text import OnnxTextDetector, export_onnx, quantize_int8

    events = corpus()
    detector = create_detector(
        "drugwatch.minilm.v1", max_len=24, epochs=1, batch_size=5, max_train=10, num_threads=1
    ).fit(events)
    model_dir = detector.save(tmp_path / "model")
    onnx_path = export_onnx(model_dir, tmp_path / "onnx")
    texts = [e.text for e in events] + ["", "x" * 300, "Ⓧⓐⓝⓐⓧ 2mg b.a.r.s"]
    reference = detector.predict_proba(texts)
    fp32 = OnnxTextDetector(onnx_path, num_threads=1)
    np.testing.assert_allclose(fp32.predict_proba(texts), reference, atol=1e-5)
    np.testing.assert_array_equal(fp32.predict(texts), detector.predict(texts))
    int8 = OnnxTextDetector(quantize_int8(onnx_path), num_threads=1)
    assert int8.onnx_path.stat().st_size < 0.5 * onnx_path.stat().st_size
    diff = np.abs(int8.predict_proba(texts) - reference)
    # int8 weights and activations: probabilities move, by a bounded amount
    assert diff.max() < 0.1 and diff.mean() < 0.02, (diff.max(), diff.mean())


@pytest.mark.parametrize("name", ["drugwatch.tfidf_ovr.v1", "drugwatch.drugtype.v1"])
def test_no_test_fold_token_in_fitted_vocabulary(name):
    """Leakage test: a word present only in held-out events never reaches the model."""
    events = corpus()
    marker = "zqxjleakword"
    held_out = {len(events) - 1, len(events) - 2}
    train = [e for i, e in enumerate(events) if i not in held_out]
    detector = build(name).fit(train + [])
    assert not [t for t in detector.vocabulary_ if marker in t]
    marked = [e.model_copy(update={"text": f"{e.text} {marker}"}) for i, e in enumerate(events) if i in held_out]
    detector.predict(marked)  # predicting never adds to the vocabulary
    assert not [t for t in detector.vocabulary_ if marker in t]
    if name == "drugwatch.drugtype.v1":
        assert not [k for k in detector.mask_index_.values() if marker in k]


# -- drugtype.v2: the text layer's drugs in a sale ------------------------------------


def test_sale_lexicon_labels_need_a_sale_reading():
    from drugwatch.models.lexicon_union import sale_lexicon_labels

    assert sale_lexicon_labels("xanax and oxycodone, wickr me") == ("xanax", "painkiller")
    menu = "LSD, MDMA, shrooms, coke. DM for prices"
    assert set(sale_lexicon_labels(menu)) == {"mushroom", "mdma", "lsd", "cocaine"}
    assert sale_lexicon_labels("LSD, MDMA") == ()  # two names, no sale
    # a list of three drugs or more, most of the text: a menu without a trade word
    assert set(sale_lexicon_labels("LSD, MDMA, shrooms, coke")) == {"mushroom", "mdma", "lsd", "cocaine"}
    assert set(sale_lexicon_labels("#magicmushrooms #lsd #dmt #psychedelics")) == {"mushroom", "lsd", "other_drugs"}
    assert sale_lexicon_labels("study finds heroin, cocaine and meth use rising among teens in the city") == ()
    # one drug, or no sale: for the model to decide
    assert sale_lexicon_labels("cocaine $60 a gram") == ()
    assert sale_lexicon_labels("study finds heroin and cocaine use rising") == ()
    assert sale_lexicon_labels("lovely sunset at the beach, dm me") == ()


def test_lexicon_union_raises_exactly_the_sale_labels_over_their_thresholds():
    from drugwatch.models.lexicon_union import lexicon_union

    thresholds = np.full(len(LABELS), 0.5)
    thresholds[LABELS.index("cocaine")] = 0.8
    proba = np.full((3, len(LABELS)), 0.05)
    proba[:, 0] = 0.9  # the model is sure these are not drugs
    texts = ["weed, coke and molly, hmu on snap", "lovely sunset at the beach", "cocaine news today"]
    out = lexicon_union(proba, texts, thresholds, non_drug_wins=True)
    decided = decode(out, thresholds, non_drug_wins=True)
    got = {LABELS[j] for j in np.flatnonzero(decided[0])}
    assert got == {"marijuana", "cocaine", "mdma"}
    assert out[0, LABELS.index("cocaine")] >= 0.8 and out[0, 0] < 0.5
    # no sale reading: rows unchanged, the model's non_drug stands
    np.testing.assert_array_equal(out[1:], proba[1:])
    assert decode(out[1:], thresholds, non_drug_wins=True)[:, 0].tolist() == [1, 1]
    # probabilities stay probabilities, and the input is not modified
    assert (out >= 0).all() and (out <= 1).all() and proba[0, 0] == 0.9
    # where the model decides a drug, the text's other confident drugs join it
    drug = np.full((1, len(LABELS)), 0.05)
    drug[0, LABELS.index("xanax")] = 0.9
    got = decode(lexicon_union(drug, ["xanax 2mg and oxycodone 30mg"], thresholds), thresholds)
    assert {LABELS[j] for j in np.flatnonzero(got[0])} == {"xanax", "painkiller"}
    # a term the kit shows to be unreliable ("tabs": LSD by the lexicon, tablets of anything) is left out
    got = decode(lexicon_union(drug, ["xanax tabs 2mg"], thresholds), thresholds)
    assert {LABELS[j] for j in np.flatnonzero(got[0])} == {"xanax"}


def test_lexicon_union_counts_an_unreliable_term_alone_in_a_multi_drug_list():
    from drugwatch.models.lexicon_union import confident_lexicon_labels

    # "bars", "tabs", "koks" are left out of the union (union_exclusions.tsv) ...
    assert confident_lexicon_labels("xanax tabs 2mg, wickr")[0] == ("xanax",)
    # ... except as a list item of their own beside two other drugs or more
    assert confident_lexicon_labels("bud, shrooms, tabs, beans. text me")[0] == ("marijuana", "mdma", "mushroom", "lsd")
    assert confident_lexicon_labels("#hasch #gras #koks #pep #lieferung")[0] == ("marijuana", "cocaine", "other_drugs")
    # beside one other drug only, or sharing its item with another drug: still left out
    assert confident_lexicon_labels("10 tabs | 2C-B | 20mg")[0] == ("other_drugs",)
    assert confident_lexicon_labels("weed, tabs, hmu")[0] == ("marijuana",)
    assert confident_lexicon_labels("mdma tabs, weed, ketamine, hmu")[0] == ("marijuana", "mdma", "other_drugs")


def test_drugtype_v2_adds_the_lexicon_labels_of_a_sale_and_keeps_predict_equal_to_decide(tmp_path):
    events = stack_corpus()
    v1 = create_detector("drugwatch.drugtype.v1", min_df=1).fit(events)
    v2 = create_detector("drugwatch.drugtype.v2", min_df=1).fit(events)
    assert v2.lexicon_union is True and v1.lexicon_union is False
    menu = [Event(id="m", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me")]
    want = {"lsd", "mdma", "mushroom", "xanax", "cocaine"}
    got = {LABELS[j] for j in np.flatnonzero(v2.predict(menu)[0])}
    assert got >= want
    np.testing.assert_array_equal(v2.predict(menu), v2.decide(v2.predict_proba(menu)))
    # where the lexicon's labels are the model's (the training listings), v2 decides as v1
    np.testing.assert_array_equal(v2.predict(events[:24]), v1.predict(events[:24]))
    config = json.loads((v2.save(tmp_path / "v2") / "config.json").read_text())
    assert config["params"]["lexicon_union"] is True and config["extra"]["lexicon_union"] is True
    assert len(config["extra"]["lexicon"]) >= 16
    loaded = Detector.load(tmp_path / "v2")
    np.testing.assert_array_equal(loaded.predict(menu), v2.predict(menu))


# -- drugtype.v3: the same model, cheap to score ----------------------------------------


def _reference_votes(S, y, k):
    """Neighbour votes one event at a time, written plainly: the k most similar
    (ties to the lower training index), similarity-weighted mean labels, max, mean."""
    S = S.toarray()
    out = np.zeros((S.shape[0], len(LABELS) + 2))
    for i, row in enumerate(S):
        hit = np.flatnonzero(row)
        if not len(hit):
            continue
        top = sorted(hit, key=lambda j: (-row[j], j))[:k]
        w = row[top].astype(np.float64)
        out[i, : len(LABELS)] = w @ y[top] / (w.sum() + 1e-9)
        out[i, -2:] = w.max(), w.mean()
    return out


def test_batch_neighbour_votes_equal_the_per_event_reference():
    import scipy.sparse as sp

    from drugwatch.models.multilabel import _batch_top_k_votes, _top_k_mask, _top_k_votes

    rng = np.random.default_rng(0)
    dense = rng.random((60, 200)) * (rng.random((60, 200)) < 0.15)
    dense[dense > 0] = np.round(dense[dense > 0], 1)  # many ties at the k-th similarity
    dense[5] = 0.0  # an event without a neighbour
    dense[6] = 0.0
    dense[6, :4] = 0.5  # fewer candidates than k
    S = sp.csr_matrix(dense.astype(np.float32))
    y = np.eye(len(LABELS), dtype=np.float32)[rng.integers(0, len(LABELS), 200)]
    want = _reference_votes(S, y, 10)
    got = _batch_top_k_votes(S, y, 10)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_top_k_votes(S, y, 10), want, rtol=1e-12, atol=1e-12)  # the per-event path agrees
    assert not got[5].any() and got[6, -1] == pytest.approx(0.5)
    # an event alone scores the same bits as in the batch
    np.testing.assert_array_equal(np.vstack([_batch_top_k_votes(S[i], y, 10) for i in range(60)]), got)
    # the mask keeps min(k, entries) per row
    S.sort_indices()
    kept = np.add.reduceat(_top_k_mask(S.indptr, S.data, 10).astype(int), S.indptr[:-1])
    assert (kept[np.diff(S.indptr) > 0] == np.minimum(10, np.diff(S.indptr))[np.diff(S.indptr) > 0]).all()


def test_pruned_neighbour_index_keeps_each_events_heaviest_terms():
    import scipy.sparse as sp

    from drugwatch.models.multilabel import _NeighbourVotes

    X = sp.csr_matrix(
        np.array([[0.9, 0.1, 0.3, 0.0, 0.2], [0.0, 0.8, 0.0, 0.6, 0.1], [0.5, 0.0, 0.0, 0.5, 0.0]], dtype=np.float32)
    )
    y = np.eye(len(LABELS), dtype=np.int64)[[1, 2, 3]]
    pruned = _NeighbourVotes(X, y, k=1, max_df=1.0, terms=2)
    rows = pruned.indexed_rows().toarray()
    assert (rows > 0).sum(axis=1).tolist() == [2, 2, 2]
    assert (rows[0] > 0).tolist() == [True, False, True, False, False]  # 0.9 and 0.3 kept
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-6)
    full = _NeighbourVotes(X, y, k=1, max_df=1.0)  # without terms: the full index, as before
    assert full.index.nnz == X.nnz
    Q = sp.csr_matrix(
        np.array([[0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    )
    got = pruned.votes((Q[:, :2], Q[:, 2:]))
    assert got[0, :10].argmax() == 3 and got[1, :10].argmax() == 1
    # column 4 is among no event's two heaviest terms: no neighbour in the pruned index, one in the full
    assert not got[2].any() and full.votes((Q[2:, :2], Q[2:, 2:]))[0, :10].argmax() == 1


def test_drugtype_v3_scores_alike_with_and_without_views_alone_or_in_a_batch(tmp_path):
    from drugwatch.models.multilabel import NEIGHBOUR_FEATURES
    from drugwatch.text.analyze import analyze_many

    events = stack_corpus()
    v3 = create_detector("drugwatch.drugtype.v3", min_df=1).fit(events)
    assert (v3.char_ngram_min, v3.char_ngram_max, v3.lexicon_source) == (2, 4, "views")
    assert v3.neighbours_.terms == v3.knn_terms > 0
    assert v3.stacker_.coef.shape[0] == 10 + len(NEIGHBOUR_FEATURES) + 11
    assert min(len(t) for t in v3.char_vectorizer_.vocabulary_) == 2
    assert max(len(t) for t in v3.char_vectorizer_.vocabulary_) == 4
    np.testing.assert_array_equal(v3.predict(events), targets(events))
    probe = [
        *events[:40],
        Event(id="q1", text="ΜDMA crystals, x*n*x bars 2mg, h4sh 5g"),
        Event(id="q2", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me"),
    ]
    plain = v3.predict_proba(probe)
    np.testing.assert_array_equal(v3.predict_proba(probe, views=analyze_many([e.text for e in probe])), plain)
    np.testing.assert_array_equal(np.vstack([v3.predict_proba([e]) for e in probe]), plain)
    loaded = Detector.load(v3.save(tmp_path / "v3"))
    assert type(loaded).__name__ == "DrugTypeDetectorV3"
    np.testing.assert_array_equal(loaded.predict_proba(probe), plain)


def test_drugtype_v2_saved_without_the_new_parameters_predicts_as_before(tmp_path):
    """A v2 directory written before char_ngram_min, knn_terms and lexicon_source
    (and a neighbour index without ``terms``) loads with the old settings and
    scores the same bits."""
    events = stack_corpus()
    v2 = create_detector("drugwatch.drugtype.v2", min_df=1).fit(events)
    assert (v2.char_ngram_min, v2.knn_terms, v2.lexicon_source) == (1, 0, "normalized")
    probe = [*events[:40], Event(id="q", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me")]
    before = v2.predict_proba(probe)
    directory = _save_as_before(
        v2,
        tmp_path / "old",
        ("char_ngram_min", "knn_terms", "lexicon_source"),
        lambda state: state["neighbours_"].__dict__.pop("terms"),
    )
    loaded = Detector.load(directory)
    assert (loaded.char_ngram_min, loaded.knn_terms, loaded.lexicon_source) == (1, 0, "normalized")
    np.testing.assert_array_equal(loaded.predict_proba(probe), before)


def test_folded_text_shortcuts_change_nothing(monkeypatch):
    """folded_text skips its mask and leetspeak passes, and the tokens the folding
    would not change, where there is nothing for them to change."""
    import re

    import drugwatch.models.multilabel as ml

    texts = [
        "plain words only",
        "xanax 2mg bars",
        "h4ck1ng gu1d3 usa!",
        "mesca●ine and c0ca1ne",
        "s□le*codei?e",
        "10x30mg 9x19 2k17",
        "ünïcödé wörds 一二三",
        "p_i_l_l_s",
        "g e n e r i c",
    ]
    masks = ml.mask_index(["mescaline mescaline sale sale codeine codeine"], min_count=1)
    kwargs = {"masks": masks, "is_word": {"sale", "codeine"}.__contains__, "version": 2}
    fast = [ml.folded_text(t, **kwargs) for t in texts] + [ml.folded_text(t, masks) for t in texts]
    everything = re.compile(r"(?s).")
    monkeypatch.setattr(ml, "_FOLDABLE", everything)
    monkeypatch.setattr(ml, "_ANY_MASK", everything)
    monkeypatch.setattr(ml, "_LEET_TOKEN_FOLDABLE", ml._LEET_TOKEN)  # every token through the folding function
    slow = [ml.folded_text(t, **kwargs) for t in texts] + [ml.folded_text(t, masks) for t in texts]
    assert fast == slow
    assert fast[0] == "plain words only" and fast[2] == "hacking guide usa!"


def test_masked_copies_keep_labels_and_groups_and_never_use_held_out_families(monkeypatch):
    """Training copies are attacked by the harness's tuning families only (seeded);
    each keeps its original's id, labels, meta and so its group."""
    import drugwatch.evaluation.attacks as attacks
    from drugwatch.evaluation.splits import group_of
    from drugwatch.models.multilabel import masked_copies

    events = stack_corpus(copies=5)
    used: list[str] = []
    real_attack = attacks.attack

    def spy(text, family, strength="heavy", seed=0):
        used.append(family)
        return real_attack(text, family, strength, seed)

    monkeypatch.setattr(attacks, "attack", spy)
    copies, index = masked_copies(events, 0.6, seed=3)
    assert len(used) == round(0.6 * len(events)) and 0 < len(copies) <= len(used)
    assert not set(used) & set(attacks.HELDOUT_FAMILIES)
    assert {"mask_vowels", "mask_heavy", "mixture2", "mixture3"} <= set(used)  # 72 draws over 12 families
    assert len(set(index.tolist())) == len(index)
    for copy, i in zip(copies, index):
        original = events[i]
        assert copy.text != original.text
        assert (copy.id, copy.labels, copy.meta) == (original.id, original.labels, original.meta)
        assert group_of(copy) == group_of(original)
    again, again_index = masked_copies(events, 0.6, seed=3)
    assert [e.text for e in again] == [e.text for e in copies] and again_index.tolist() == index.tolist()
    assert masked_copies(events, 0.0, seed=3)[0] == []
    with pytest.raises(ValueError, match="share"):
        masked_copies(events, 1.5, seed=3)


def test_augmented_fit_keeps_each_copy_in_its_originals_inner_fold(monkeypatch):
    import drugwatch.models.multilabel as ml

    events = stack_corpus()
    seen: dict[str, list] = {}
    real_folds = ml.inner_folds

    def record(evs, n_splits):
        folds = real_folds(evs, n_splits)
        seen["events"], seen["folds"] = list(evs), folds
        return folds

    monkeypatch.setattr(ml, "inner_folds", record)
    det = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.5).fit(events)
    fitted = seen["events"]
    n_copies = len(fitted) - len(events)
    assert n_copies > 0.4 * len(events)
    assert [e.text for e in fitted[: len(events)]] == [e.text for e in events]
    fold_of = {}
    for k, (_, te) in enumerate(seen["folds"]):
        for i in te:
            fold_of.setdefault(fitted[i].id, set()).add(k)
    assert all(len(ks) == 1 for ks in fold_of.values())  # original and copy on the same side of every split
    assert det.neighbours_.y.shape[0] == len(fitted)  # the copies are training rows
    # the mask vocabulary holds the originals' words only, no fragments of masked words
    plain = ml.mask_index([ml.folded_text(normalized_text(e.text), version=2) for e in events], min_count=1)
    assert det.mask_index_ == plain
    np.testing.assert_array_equal(det.predict(events), targets(events))


def test_wildcard_reads_every_mask_alphabet_alike():
    from drugwatch.models.multilabel import WILDCARD, wildcard_masks

    seen = wildcard_masks("h░ckl░b░rry c⊠⊠p⊠r ▢nd▢▢r")
    assert seen == wildcard_masks("h◩ckl◩b◩rry c⊞⊞p⊞r ⬡nd⬡⬡r")  # an alphabet never seen in training
    assert seen == f"h{WILDCARD}ckl{WILDCARD}b{WILDCARD}rry c{WILDCARD * 2}p{WILDCARD}r {WILDCARD}nd{WILDCARD * 2}r"
    for text in ("e-mail u.s.a 1p-lsd", "kush 💊 weed", "café 大麻 coke", "price: 5 € each"):
        assert wildcard_masks(text) == text


def test_drugtype_v3_saved_without_the_mask_parameters_predicts_as_before(tmp_path):
    """A v3 directory written before augment_masks and mask_wildcard loads and
    scores the same bits, whatever the defaults of those parameters are now:
    the wildcard view is read from the fitted ``mask_wildcard_``, and the copies
    exist at fit time only."""
    events = stack_corpus()
    # fitted as every v3 was before the two parameters existed
    v3 = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0, mask_wildcard=False).fit(events)
    probe = [
        *events[:30],
        Event(id="q1", text="h◩ckl◩b◩rry k⬡sh, x*n*x b▢rs, C⊠c⊠⊠n⊠ 1g"),
        Event(id="q2", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me"),
    ]
    before = v3.predict_proba(probe)
    directory = _save_as_before(
        v3, tmp_path / "old", ("augment_masks", "mask_wildcard"), lambda state: state.pop("mask_wildcard_")
    )
    loaded = Detector.load(directory)
    assert not getattr(loaded, "mask_wildcard_", False)
    np.testing.assert_array_equal(loaded.predict_proba(probe), before)
    # a wildcard model round-trips, and reads an unseen mask alphabet as a seen one
    wild = create_detector("drugwatch.drugtype.v3", min_df=1, mask_wildcard=True, augment_masks=0.3).fit(events)
    assert wild.mask_wildcard_
    again = Detector.load(wild.save(tmp_path / "wild"))
    np.testing.assert_array_equal(again.predict_proba(probe), wild.predict_proba(probe))
    _, (char_seen, word_seen), _ = wild._features(["h░ckl░b░rry c⊠⊠p⊠r lot1"], fit=False)
    _, (char_unseen, word_unseen), _ = wild._features(["h◩ckl◩b◩rry c⊞⊞p⊞r lot1"], fit=False)
    assert char_seen.nnz > 0
    assert (char_seen != char_unseen).nnz == 0 and (word_seen != word_unseen).nnz == 0


def test_drugtype_v3_uses_union_version_two_and_older_directories_keep_version_one(tmp_path):
    """A new v3 fit records lexicon union version 2 (guesses behind masks are not
    evidence); a directory saved before the parameter existed predicts with
    version 1, as it was saved."""
    from drugwatch.models.lexicon_union import UNION_VERSIONS, lexicon_union

    v3_class = get_detector_class("drugwatch.drugtype.v3")
    assert v3_class._parameter_constraints["union_version"][0].values == UNION_VERSIONS
    events = stack_corpus()
    v3 = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0).fit(events)
    assert v3.union_version_ == 2 and v3._extra_config()["union_version"] == 2
    probe = [
        *events[:20],
        Event(id="q1", text="P*R* BL░░ F□n□ lot, order now, wickr me"),
        Event(id="q2", text="menu: x*n*x, p*rc*c*t, c*c**n*, m*lly. wickr me"),
    ]
    directory = _save_as_before(v3, tmp_path / "old", ("union_version",), lambda state: state.pop("union_version_"))
    old = Detector.load(directory)
    assert not hasattr(old, "union_version_")
    # the same model without the union, then each version of the union over it
    v3.lexicon_union = False
    bare = v3.predict_proba(probe)
    v3.lexicon_union = True
    texts = [e.text for e in probe]
    one = lexicon_union(bare, texts, v3.thresholds_, non_drug_wins=v3.non_drug_wins_, version=1)
    two = lexicon_union(bare, texts, v3.thresholds_, non_drug_wins=v3.non_drug_wins_, version=2)
    np.testing.assert_array_equal(old.predict_proba(probe), one)
    np.testing.assert_array_equal(v3.predict_proba(probe), two)


def test_consonant_view_reads_a_word_alike_whatever_fills_its_vowels():
    from drugwatch.models.multilabel import consonant_text, wildcard_masks

    clean = consonant_text("cocaine xanax")
    assert clean == "c_c_n_ x_n_x"
    for masked in ("c*c**n* x_n_x", "c□c□□n□ x#n#x", "c.c..n. x-n-x", "cucoana xenex"):
        assert consonant_text(wildcard_masks(masked)).replace(".", "_") == clean, masked
    # an unseen mask alphabet, through the wildcard, reads like a seen one
    assert consonant_text(wildcard_masks("c◩c◩◩n◩")) == consonant_text(wildcard_masks("c░c░░n░")) == "c_c_n_"
    # "." and "-" are masks only between letters: a full stop and a dose keep theirs
    assert consonant_text("sale. 10-20mg") == "s_l_. 10-20mg"
    assert consonant_text("weeeeed pills") == "w_d p_ls"


def test_drugtype_consonant_view_is_fitted_state_and_older_directories_predict_as_before(tmp_path):
    """``consonant_view`` adds a block read from the consonant view; it is recorded as
    ``consonant_view_`` and round-trips; a directory saved before the parameter existed
    (no ``consonant_view_``) reads no such block and predicts the same bits."""
    events = stack_corpus()
    probe = [
        *events[:20],
        Event(id="q1", text="C*c**n* 1g, x_n_x b▢rs, order now"),
        Event(id="q2", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me"),
    ]
    # v3 reads the consonant view by default; fitted as every v3 was before the parameter existed
    assert get_detector_class("drugwatch.drugtype.v3")().consonant_view == 1.0
    plain = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0, consonant_view=0.0).fit(events)
    assert plain.consonant_view_ == 0.0 and not hasattr(plain, "consonant_vectorizer_")
    before = plain.predict_proba(probe)
    directory = _save_as_before(
        plain, tmp_path / "old", ("consonant_view", "augment_copies"), lambda state: state.pop("consonant_view_")
    )
    old = Detector.load(directory)
    assert not hasattr(old, "consonant_view_")
    np.testing.assert_array_equal(old.predict_proba(probe), before)

    viewed = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0, consonant_view=0.5).fit(events)
    assert viewed.consonant_view_ == 0.5 and viewed._extra_config()["consonant_view"] == 0.5
    again = Detector.load(viewed.save(tmp_path / "viewed"))
    np.testing.assert_array_equal(again.predict_proba(probe), viewed.predict_proba(probe))
    # the block sits before the lexicon block; a vowel-masked word gives the clean word's consonant features
    from drugwatch.models.multilabel import LEXICON_FEATURES

    X_plain, _, _ = plain._features(["cocaine 1g"], fit=False)
    X_clean, _, _ = viewed._features(["cocaine 1g"], fit=False)
    X_masked, _, _ = viewed._features(["c*c**n* 1g"], fit=False)
    width = len(viewed.consonant_vectorizer_.vocabulary_)
    assert X_clean.shape[1] == X_plain.shape[1] + width
    start = X_plain.shape[1] - len(LEXICON_FEATURES)
    consonant_clean = X_clean[:, start : start + width].toarray()
    assert consonant_clean.any()
    np.testing.assert_array_equal(consonant_clean, X_masked[:, start : start + width].toarray())


def test_masked_copies_with_more_copies_keep_the_first_copy_and_add_other_draws():
    """``copies=1`` makes what a single copy always made (fitted directories stay
    reproducible); each further copy is another seeded draw of the same events."""
    from drugwatch.models.multilabel import masked_copies

    events = stack_corpus(copies=5)
    one, one_index = masked_copies(events, 0.6, seed=3)
    two, two_index = masked_copies(events, 0.6, seed=3, copies=2)
    assert [e.text for e in two[: len(one)]] == [e.text for e in one]
    assert two_index[: len(one)].tolist() == one_index.tolist()
    extra = two[len(one) :]
    assert len(extra) > 0.5 * len(one)
    assert set(two_index[len(one) :].tolist()) <= set(one_index.tolist())  # the same chosen events
    assert [e.text for e in extra] != [e.text for e in one][: len(extra)]
    for copy, i in zip(extra, two_index[len(one) :]):
        assert copy.text != events[i].text and copy.id == events[i].id and copy.labels == events[i].labels
    with pytest.raises(ValueError, match="copies"):
        masked_copies(events, 0.6, seed=3, copies=0)


def test_drugtype_lexicon_evidence_is_fitted_state_and_older_directories_predict_as_before(tmp_path):
    """``lexicon_evidence=2`` reads the lexicon block with read and guessed labels apart
    (``LEXICON_FEATURES_V2``), is recorded as ``lexicon_evidence_`` and round-trips; a
    directory saved before the parameter existed (no ``lexicon_evidence_``) reads the one
    block of labels and predicts the same bits."""
    from drugwatch.models.multilabel import LEXICON_FEATURES, LEXICON_FEATURES_V2

    events = stack_corpus()
    probe = [
        *events[:20],
        Event(id="q1", text="C▢c▢▢n▢ 1g, x_n_x b▢rs, order now"),
        Event(id="q2", text="menu: LSD tabs, MDMA, shrooms, xanax bars, coke. wickr me"),
        Event(id="q3", text="H■MP P*R* BL░░ lot"),
    ]
    v3_class = get_detector_class("drugwatch.drugtype.v3")
    assert v3_class._parameter_constraints["lexicon_evidence"][0].values == (1, 2)
    one = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0, lexicon_evidence=1).fit(events)
    assert one.lexicon_evidence_ == 1 and one._extra_config()["lexicon_evidence"] == 1
    before = one.predict_proba(probe)
    directory = _save_as_before(
        one, tmp_path / "old", ("lexicon_evidence",), lambda state: state.pop("lexicon_evidence_")
    )
    old = Detector.load(directory)
    assert not hasattr(old, "lexicon_evidence_") and old._extra_config()["lexicon_evidence"] == 1
    np.testing.assert_array_equal(old.predict_proba(probe), before)

    two = create_detector("drugwatch.drugtype.v3", min_df=1, augment_masks=0.0, lexicon_evidence=2).fit(events)
    assert two.lexicon_evidence_ == 2 and two._extra_config()["lexicon_evidence"] == 2
    again = Detector.load(two.save(tmp_path / "two"))
    np.testing.assert_array_equal(again.predict_proba(probe), two.predict_proba(probe))
    # the stacker reads the wider block; a masked guess lands in its own column, not the read one
    assert two.stacker_ is not None
    normalized, evidence = two._read(probe[-3:], None)
    _, _, lex = two._features(normalized, fit=False, labels_read=evidence)
    assert lex.shape == (3, len(LEXICON_FEATURES_V2))
    col = {name: j for j, name in enumerate(LEXICON_FEATURES_V2)}
    assert lex[0, col["lex_cocaine"]] == 0 and lex[0, col["guess_cocaine"]] > 0
    assert lex[1, col["lex_cocaine"]] == 1 and lex[1, col["guess_cocaine"]] == 0
    normalized, labels = one._read(probe[-3:-2], None)
    _, _, lex_one = one._features(normalized, fit=False, labels_read=labels)
    assert lex_one.shape == (1, len(LEXICON_FEATURES)) and lex_one[0, col["lex_cocaine"]] == 1
    with pytest.raises(ValueError, match="lexicon_evidence"):
        create_detector("drugwatch.drugtype.v3", lexicon_evidence=3).fit(events)
