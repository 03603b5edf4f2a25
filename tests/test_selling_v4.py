"""drugwatch.selling.v4: v3 or v1, one probability, v3's review band, one model directory holding both parts."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from test_selling_v3 import ADVERTS, DRUG_TALK, EVERYDAY, corpus

from drugwatch.models import Detector, ModelLoadError, available_detectors, create_detector, get_detector_class
from drugwatch.models.selling_v4 import UnionSellingDetector, map_to_threshold
from drugwatch.records import Event
from drugwatch.scoring import EventScorer
from drugwatch.text.analyze import analyze_many

SMALL = dict(pool="none", v3_params={"inner_folds": 2}, v1_params={"inner_folds": 2})

# Written for these tests: texts the fixture corpus never saw, some offers, some not.
QUERIES = [
    "molly 1g 50, hit me on wickr demo_m",
    "xanax bars, dm me",
    "kush in stock, snap demo_k",
    "selling lsd tabs, telegram @demo_l",
    "percs for sale 555-0100",
    "the weather is nice",
    "buy concert tickets online",
    "cocaine seized at the border",
    "anyone know where to get weed?",
    "fresh bread and coffee, dm for the menu",
    "코카인 팝니다 텔레그램 @demo_plug",
    "",
]


def texts() -> list[str]:
    return [*ADVERTS, *DRUG_TALK, *EVERYDAY, *QUERIES]


@pytest.fixture(scope="module")
def fitted() -> UnionSellingDetector:
    detector = create_detector("drugwatch.selling.v4", **SMALL).fit(corpus())
    assert isinstance(detector, UnionSellingDetector)
    return detector


# -- the mapping --------------------------------------------------------------------


@pytest.mark.parametrize(("t1", "t3"), [(0.4, 0.2), (0.2, 0.6), (0.5, 0.5), (0.03, 0.97), (0.999, 0.001)])
def test_mapping_is_monotone_and_lands_v1s_threshold_on_v3s_exactly(t1, t3):
    rng = np.random.default_rng(0)
    edges = [0.0, 1.0, t1, np.nextafter(t1, 0.0), np.nextafter(t1, 1.0), t3, np.nextafter(t3, 0.0)]
    # every float just below t1 is the case where p1 * t3 / t1 rounds up to t3
    below = [t1 - k * np.spacing(t1) for k in range(1, 50)]
    p = np.sort(np.concatenate([rng.uniform(0, 1, 5000), edges, below]))
    m = map_to_threshold(p, t1, t3)
    assert (np.diff(m) >= 0).all()  # monotone
    np.testing.assert_array_equal(m >= t3, p >= t1)  # "v1 flags" is "the mapped score reaches t3"
    assert map_to_threshold(np.array([t1]), t1, t3)[0] == t3
    assert map_to_threshold(np.array([0.0, 1.0]), t1, t3).tolist() == [0.0, 1.0]
    assert ((m >= 0) & (m <= 1)).all()
    # linear on each side
    assert map_to_threshold(np.array([t1 / 2]), t1, t3)[0] == pytest.approx(t3 / 2)
    assert map_to_threshold(np.array([(1 + t1) / 2]), t1, t3)[0] == pytest.approx((1 + t3) / 2)


def test_mapping_at_degenerate_thresholds_keeps_the_rule():
    p = np.array([0.0, 0.3, 1.0])
    assert (map_to_threshold(p, 0.0, 0.4) >= 0.4).all()  # a v1 that flags everything
    assert (map_to_threshold(p, 1.0, 0.4) >= 0.4).tolist() == [False, False, True]
    above = np.nextafter(1.0, 2.0)  # a v3 that flags nothing: only v1's flags reach its threshold
    assert (map_to_threshold(p, 0.3, above) >= above).tolist() == [False, True, True]


# -- the union decision ----------------------------------------------------------------


def test_decision_is_v3_or_v1_and_the_parts_are_fitted_as_alone(fitted):
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    v3 = create_detector("drugwatch.selling.v3", pool="none", inner_folds=2, seed=0).fit(corpus())
    v1 = create_detector("drugwatch.selling.v1", inner_folds=2, seed=0).fit(corpus())
    np.testing.assert_array_equal(fitted.v3_.predict_proba(events), v3.predict_proba(events))
    np.testing.assert_array_equal(fitted.v1_.predict_proba(events), v1.predict_proba(events))
    union = (v3.predict(events) == 1) | (v1.predict(events) == 1)
    np.testing.assert_array_equal(fitted.predict(events), union.astype(np.int64))
    proba = fitted.predict_proba(events)
    parts = fitted.part_probabilities(events)
    np.testing.assert_array_equal(
        proba[:, 1], np.maximum(parts["v3"], map_to_threshold(parts["v1"], v1.threshold_, v3.threshold_))
    )
    assert fitted.threshold_ == v3.threshold_ and fitted.threshold_review_ == v3.threshold_review_
    assert fitted.v1_threshold_ == v1.threshold_
    # the fixture is not degenerate: some texts flagged, some not
    assert 0 < union.sum() < len(events)


def test_ties_at_either_threshold_are_flagged(fitted):
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    detector = copy.deepcopy(fitted)
    p1 = detector.v1_.predict_proba(events)[:, 1]
    p3 = detector.v3_.predict_proba(events)[:, 1]
    # thresholds moved onto two events' own probabilities (v1's does not depend on its threshold;
    # v3's highest probability is an offer's, which the gate does not cap)
    detector.v1_.threshold_ = float(np.sort(p1)[len(p1) // 2])
    detector.v3_.threshold_ = float(p3.max())
    detector._set_thresholds()
    parts = detector.part_probabilities(events)
    on_t1 = parts["v1"] == detector.v1_.threshold_
    on_t3 = parts["v3"] == detector.v3_.threshold_
    assert on_t1.any() and on_t3.any()
    union = (parts["v3"] >= detector.v3_.threshold_) | (parts["v1"] >= detector.v1_.threshold_)
    decided = detector.predict(events) == 1
    np.testing.assert_array_equal(decided, union)
    assert decided[on_t1].all() and decided[on_t3].all()


def test_review_band_is_v3s_applied_to_the_union_probability(fitted):
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    proba = fitted.predict_proba(events)
    p = proba[:, 1]
    review = fitted.needs_review(proba)
    np.testing.assert_array_equal(review, (p >= fitted.v3_.threshold_review_) & (p < fitted.v3_.threshold_))
    triage = fitted.triage(proba)
    np.testing.assert_array_equal(triage == "selling", fitted.decide(proba) == 1)
    np.testing.assert_array_equal(triage == "review", review)
    with pytest.raises(ValueError, match="shape"):
        fitted.needs_review(np.array([0.5]))


def test_the_scorer_reports_v3s_review_threshold_and_decides_as_predict(fitted):
    scorer = EventScorer([fitted])
    (info,) = scorer.models
    assert info.name == "drugwatch.selling.v4" and info.review_threshold == fitted.threshold_review_
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    results = scorer.score(events)
    assert [r.selling for r in results] == (fitted.predict(events) == 1).tolist()
    assert [r.selling_probability for r in results] == fitted.predict_proba(events)[:, 1].tolist()


# -- batches, views, save / load ---------------------------------------------------------


def test_an_event_scores_the_same_alone_in_any_batch_and_with_views(fitted):
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    batch = fitted.predict_proba(events)
    for i, event in enumerate(events):
        np.testing.assert_array_equal(fitted.predict_proba([event]), batch[i : i + 1])
    order = np.random.default_rng(1).permutation(len(events))
    np.testing.assert_array_equal(fitted.predict_proba([events[i] for i in order]), batch[order])
    views = analyze_many([e.text for e in events])
    np.testing.assert_array_equal(fitted.predict_proba(events, views=views), batch)


def test_save_load_round_trip_is_bit_identical_and_holds_both_parts(fitted, tmp_path):
    directory = fitted.save(tmp_path / "m")
    config = json.loads((directory / "config.json").read_text())
    assert config["registry_name"] == "drugwatch.selling.v4" and config["files"] == ["v3/", "v1/"]
    assert config["params"]["v3_params"] == {"inner_folds": 2} and config["params"]["pool"] == "none"
    assert not (directory / "weights.npz").exists() and not (directory / "weights.pkl").exists()
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts())]
    expected = fitted.predict_proba(events)
    for loader in (Detector, UnionSellingDetector):
        loaded = loader.load(directory)
        assert isinstance(loaded, UnionSellingDetector)
        np.testing.assert_array_equal(loaded.predict_proba(events), expected)
        assert loaded.threshold_ == fitted.threshold_ and loaded.threshold_review_ == fitted.threshold_review_
        assert loaded.get_params() == fitted.get_params()
    # each part is a model directory of its own
    np.testing.assert_array_equal(
        Detector.load(directory / "v3").predict_proba(events), fitted.v3_.predict_proba(events)
    )
    np.testing.assert_array_equal(
        Detector.load(directory / "v1").predict_proba(events), fitted.v1_.predict_proba(events)
    )
    card = (directory / "README.md").read_text()
    for words in (
        "drugwatch.selling.v3",
        "drugwatch.selling.v1",
        "union_rule",
        "calibrated",
        "measured",
        "docs/models.md",
    ):
        assert words in card, words
    (directory / "v1" / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="not a model directory"):
        Detector.load(directory)


def test_a_directory_without_its_parts_fails_clearly(fitted, tmp_path):
    directory = fitted.save(tmp_path / "m")
    (directory / "v3").rename(tmp_path / "elsewhere")
    with pytest.raises(ModelLoadError, match="no v3/ part"):
        Detector.load(directory)


def test_loading_and_predicting_import_no_scikit_learn(fitted, tmp_path):
    directory = fitted.save(tmp_path / "m")
    expected = fitted.predict_proba(texts())
    np.save(tmp_path / "texts.npy", np.array(texts(), dtype=object), allow_pickle=True)
    script = """
import json, sys
import numpy as np
from drugwatch.models import Detector
texts = np.load(sys.argv[2], allow_pickle=True).tolist()
np.save(sys.argv[3], Detector.load(sys.argv[1]).predict_proba(texts))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "sklearn")))
"""
    out = tmp_path / "proba.npy"
    done = subprocess.run(
        [sys.executable, "-c", script, str(directory), str(tmp_path / "texts.npy"), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    np.testing.assert_array_equal(np.load(out), expected)


# -- training events and parameters -------------------------------------------------------


def listings() -> list[Event]:
    return [
        Event(id="l0", platform="darknet_market", text="mdma 10g stealth shipping worldwide", selling=True),
        Event(id="l1", platform="darknet_market", text="counterfeit watch, replica, fast shipping", selling=False),
    ]


def test_v1_learns_from_every_event_unless_told_to_learn_from_the_posts():
    events = corpus() + listings()
    posts_only = create_detector("drugwatch.selling.v4", **SMALL, v1_events="posts").fit(events)
    assert posts_only.v1_.training_data_["n_events"] == len(corpus())
    assert posts_only.v3_.training_data_["n_events"] == len(events)
    alone = create_detector("drugwatch.selling.v1", inner_folds=2).fit(corpus())
    np.testing.assert_array_equal(posts_only.v1_.predict_proba(texts()), alone.predict_proba(texts()))
    every = create_detector("drugwatch.selling.v4", **SMALL).fit(events)  # the default: as v1 alone would be
    assert every.v1_.training_data_["n_events"] == len(events)
    assert "not darknet listings" in posts_only._extra_config()["v1_part"]


def test_v1_needs_both_classes_among_the_posts():
    events = [e for e in corpus() if not e.selling] + listings()
    with pytest.raises(ValueError, match="only class 0.*v1_events='all'"):
        create_detector("drugwatch.selling.v4", **SMALL, v1_events="posts").fit(events)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"v3_params": {"inner_fold": 2}}, r"v3_params: drugwatch.selling.v3 has no parameter\(s\) inner_fold; valid:"),
        ({"v3_params": {"pool": "none"}}, r"set pool as UnionSellingDetector's own parameter\(s\), not in v3_params"),
        ({"v1_params": {"seed": 3}}, r"set seed as UnionSellingDetector's own"),
        ({"v1_params": {"C": -1.0}}, r"UnionSellingDetector.v1_params: invalid parameter\(s\): 'C' must be"),
        ({"v3_params": {"target_fpr": 2.0}}, r"v3_params: invalid parameter\(s\): 'target_fpr' must be"),
        ({"v3_params": [("C", 1.0)]}, r"'v3_params' must be of type Mapping or NoneType"),
        ({"v1_events": "listings"}, r"'v1_events' must be one of 'posts', 'all'"),
        ({"seed": -1}, r"'seed' must be an integer"),
    ],
)
def test_parameters_are_checked_with_messages_that_say_what_to_fix(params, message):
    detector = create_detector("drugwatch.selling.v4", **{**SMALL, **params})  # the constructor stores them ...
    with pytest.raises(ValueError, match=message):
        detector.fit(corpus())  # ... fit checks them, before any fitting


def test_the_registry_lists_v4():
    assert "drugwatch.selling.v4" in available_detectors()
    assert get_detector_class("drugwatch.selling.v4") is UnionSellingDetector
    detector = create_detector("drugwatch.selling.v4")
    assert detector.get_params() == {
        "pool": "kit",
        "v1_events": "all",
        "v3_params": None,
        "v1_params": None,
        "seed": 0,
    }
    # the leave-one-family-out evaluation turns the pool off as it does for v3
    assert "pool" in detector.get_params()
