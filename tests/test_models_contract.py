"""The detector contract, checked on every registered detector (sklearn's test_common idea)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drugwatch.models import (
    Detector,
    ModelLoadError,
    NotFittedError,
    available_detectors,
    create_detector,
    get_model_class,
)
from drugwatch.models.base import SELLING_COLUMNS, render_model_card
from drugwatch.records import Event

SELLERS = [
    ("xanax 2mg bars in stock, wickr: plugxan7 #xanax #bars", "g_a"),
    ("percs 30mg $25 each, dm me on telegram #percocet #oxy", "g_b"),
    ("fresh kush $200 an oz, snap: budman22, discreet shipping #weed", "g_c"),
    ("mdma molly pills 120mg, order on kik: mollyplug #mdma", "g_d"),
    ("shrooms golden teacher 1oz $150 whatsapp +1 555 010 7788 #shrooms", "g_e"),
    ("coke 1g $80 delivery tonight, text me #cocaine #coke", "g_f"),
    ("lsd tabs 250ug, wickr acidking, worldwide shipping #lsd", "g_g"),
    ("lean codeine syrup pints available, dm for prices #lean", "g_h"),
]
OTHERS = [
    ("lovely sunset at the beach today #sunset #travel", "g_1"),
    ("my flight was delayed again, thanks for nothing", "g_2"),
    ("new recipe: lemon cake with blueberries #baking", "g_3"),
    ("can't wait for the weekend, movie night with friends", "g_4"),
    ("study finds more adults use cannabis since legalization", "g_5"),
    ("happy birthday mom, love you so much #family", "g_6"),
    ("our gym opens at 6am, first class free #fitness", "g_7"),
    ("the match last night was amazing #football", "g_8"),
]


def tiny_corpus() -> list[Event]:
    events = []
    for i, (text, group) in enumerate(SELLERS):
        events.append(Event(id=f"s{i}", text=text, selling=True, meta={"group": group, "subsource": "pos"}))
    for i, (text, group) in enumerate(OTHERS):
        events.append(Event(id=f"n{i}", text=text, selling=False, meta={"group": group, "subsource": "neg"}))
    return events


#: Small sizes for the slow detectors; everything else runs at its defaults.
TINY_PARAMS: dict[str, dict] = {
    "drugwatch.jmir_lstm.v1": dict(
        embedding_dim=8, hidden=8, dense=8, text_len=12, tag_len=4, max_epochs=3, lr=1e-2, num_threads=1
    ),
    "drugwatch.jmir_rf.v1": dict(n_estimators=10),
    "drugwatch.jmir_svm.v1": dict(calibration_folds=2),
    "drugwatch.selling.v1": dict(inner_folds=2),
    # no darknet pool from the bench kit: the contract is about the events given to fit
    "drugwatch.selling.v3": dict(pool="none", inner_folds=2),
    "drugwatch.selling.v4": dict(pool="none", v3_params={"inner_folds": 2}, v1_params={"inner_folds": 2}),
}

#: Settings that let each detector learn 16 examples perfectly.
OVERFIT_PARAMS: dict[str, dict] = {
    "drugwatch.jmir_lstm.v1": dict(
        embedding_dim=16,
        hidden=16,
        dense=16,
        text_len=12,
        tag_len=4,
        max_epochs=120,
        lr=3e-2,
        dropout=0.0,
        recurrent_dropout=0.0,
        validation_fraction=0.0,
        num_threads=1,
    ),
    "drugwatch.jmir_rf.v1": dict(n_estimators=30),
    "drugwatch.jmir_svm.v1": dict(C=100.0, calibration_folds=2),
    "drugwatch.yang_luo_text.v1": dict(alpha=0.01),
    "drugwatch.selling.v1": dict(inner_folds=2, C=100.0),
    "drugwatch.selling.v3": dict(pool="none", inner_folds=2, C=100.0),
    "drugwatch.selling.v4": dict(
        pool="none", v3_params={"inner_folds": 2, "C": 100.0}, v1_params={"inner_folds": 2, "C": 100.0}
    ),
    "drugwatch.tfidf_lr.v1": dict(C=100.0),
}

# Binary (selling) detectors; the multi-label drug-type detectors have their own
# contract tests in tests/test_multilabel.py (DMML hook).
DETECTORS = [n for n in available_detectors() if get_model_class(n).task == "selling"]


def build(name: str, **extra) -> Detector:
    return create_detector(name, **{**TINY_PARAMS.get(name, {}), **extra})


def test_registry_lists_the_paper_baselines_and_ours():
    for name in (
        "drugwatch.jmir_dt.v1",
        "drugwatch.jmir_rf.v1",
        "drugwatch.jmir_svm.v1",
        "drugwatch.jmir_lstm.v1",
        "drugwatch.yang_luo_text.v1",
        "drugwatch.selling.v1",
    ):
        assert name in DETECTORS


def test_unknown_registry_name_lists_known_ones():
    with pytest.raises(KeyError, match="jmir_rf.v1"):
        create_detector("drugwatch.jmir_rf.v9")


@pytest.mark.parametrize("name", DETECTORS)
def test_constructor_only_stores_kwargs(name):
    detector = build(name)
    params = detector.get_params()
    assert params == type(detector)(**params).get_params()
    assert not [k for k in vars(detector) if k.endswith("_")], "learned state before fit"
    with pytest.raises(NotFittedError, match="not fitted"):
        detector.predict_proba(["hello"])


@pytest.mark.parametrize("name", DETECTORS)
def test_fit_predict_shape_and_columns(name):
    events = tiny_corpus()
    detector = build(name)
    assert detector.fit(events) is detector
    proba = detector.predict_proba(events[:5])
    assert proba.shape == (5, len(detector.columns))
    assert detector.columns == SELLING_COLUMNS == detector.classes_
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert detector.predict(events[:5]).shape == (5,)
    assert 0.0 <= detector.threshold_ <= 1.0
    # raw strings are accepted too
    assert detector.predict_proba(["wickr me for xanax bars"]).shape == (1, 2)


@pytest.mark.parametrize("name", DETECTORS)
def test_deterministic_with_a_seed(name):
    events = tiny_corpus()
    a = build(name).fit(events).predict_proba(events)
    b = build(name).fit(events).predict_proba(events)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", DETECTORS)
def test_save_load_round_trip(name, tmp_path):
    events = tiny_corpus()
    detector = build(name).fit(events)
    directory = detector.save(tmp_path / "model", evaluation={"f1": 0.5})
    config = json.loads((directory / "config.json").read_text())
    assert config["registry_name"] == name
    assert config["columns"] == list(SELLING_COLUMNS)
    assert config["training_data"]["n_events"] == len(events)
    assert len(config["training_data"]["fingerprint"]) == 64
    assert "scikit-learn" in config["libraries"]
    card = (directory / "README.md").read_text()
    assert name in card and "Training data" in card and "f1" in card
    for loader in (Detector, type(detector)):
        loaded = loader.load(directory)
        assert type(loaded) is type(detector)
        np.testing.assert_array_equal(loaded.predict_proba(events), detector.predict_proba(events))
        assert loaded.threshold_ == detector.threshold_


@pytest.mark.parametrize("name", DETECTORS)
def test_rejects_a_bare_string(name):
    detector = build(name)
    with pytest.raises(TypeError, match="Iterable over Event objects.*str object received"):
        detector.fit("xanax bars for sale")
    detector.fit(tiny_corpus())
    with pytest.raises(TypeError, match=r"Wrap a single text in a list"):
        detector.predict_proba("xanax bars for sale")


@pytest.mark.parametrize("name", DETECTORS)
def test_parameter_constraints_checked_in_fit(name):
    cls = type(build(name))
    bad = {"seed": -1} if "seed" in cls._param_names() else {cls._param_names()[0]: object()}
    detector = build(name, **bad)  # the constructor does not validate ...
    with pytest.raises(ValueError, match="invalid parameter"):
        detector.fit(tiny_corpus())  # ... fit does


@pytest.mark.parametrize("name", DETECTORS)
def test_overfits_a_tiny_corpus(name):
    events = tiny_corpus()
    detector = create_detector(name, **OVERFIT_PARAMS.get(name, {})).fit(events)
    y = np.array([int(e.selling) for e in events])
    proba = detector.predict_proba(events)[:, 1]
    # learned perfectly: every seller ranks above every other post ...
    assert proba[y == 1].min() > proba[y == 0].max(), name
    # ... and 0.5 separates them (the tuned threshold may sit anywhere in the gap)
    assert ((proba >= 0.5) == y.astype(bool)).all(), name


def test_load_fails_clearly_on_name_or_version_mismatch(tmp_path):
    events = tiny_corpus()
    directory = build("drugwatch.jmir_dt.v1").fit(events).save(tmp_path / "dt")
    rf_class = type(build("drugwatch.jmir_rf.v1"))
    with pytest.raises(ModelLoadError, match="holds 'drugwatch.jmir_dt.v1'.*expects 'drugwatch.jmir_rf.v1'"):
        rf_class.load(directory)
    config = json.loads((directory / "config.json").read_text())
    config["registry_name"] = "drugwatch.jmir_dt.v2"
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="jmir_dt.v2"):
        Detector.load(directory)
    config["registry_name"] = "drugwatch.jmir_dt.v1"
    config["version"] = 7
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="version 7"):
        Detector.load(directory)
    with pytest.raises(ModelLoadError, match="not a model directory"):
        Detector.load(tmp_path / "nothing-here")


def test_fit_needs_both_classes_and_labels():
    events = [e for e in tiny_corpus() if e.selling]
    with pytest.raises(ValueError, match="both classes"):
        build("drugwatch.jmir_dt.v1").fit(events)
    unlabelled = [Event(id="u", text="hello")]
    with pytest.raises(ValueError, match="selling=None"):
        build("drugwatch.jmir_dt.v1").fit(unlabelled)


def test_lstm_index_zero_is_padding_only():
    detector = build("drugwatch.jmir_lstm.v1").fit(tiny_corpus())
    assert 0 not in detector.vocabulary_.values()
    assert min(detector.vocabulary_.values()) == 1
    assert detector.network_.text_embedding.padding_idx == 0


def test_lstm_prediction_does_not_depend_on_batch_padding():
    events = tiny_corpus()
    detector = build("drugwatch.jmir_lstm.v1").fit(events)
    together = detector.predict_proba(events)[:, 1]
    alone = np.array([detector.predict_proba([e])[0, 1] for e in events])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_model_card_without_evaluation_says_so():
    detector = build("drugwatch.tfidf_lr.v1").fit(tiny_corpus())
    card = render_model_card(detector.config())
    assert "No evaluation was recorded" in card


def test_every_registered_model_is_a_saved_model_and_only_the_account_model_is_not_a_detector():
    from drugwatch.models import SavedModel, available_models

    kinds = {name: get_model_class(name) for name in available_models()}
    assert all(issubclass(cls, SavedModel) for cls in kinds.values())
    assert {name for name, cls in kinds.items() if not issubclass(cls, Detector)} == {"drugwatch.accounts.v1"}
