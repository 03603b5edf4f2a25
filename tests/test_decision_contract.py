"""One decision rule: ``predict`` is ``decide(predict_proba)``, and the scan publishes the same labels.

Every registered event detector (selling and drug type) is checked; the
neural drug-type detectors run at tiny sizes. The scorer behind ``drugwatch
scan``, the API and the report must decide exactly as ``predict`` does (a
drug-type detector that decides ``non_drug`` first once published other labels
than the ones ``drugwatch evaluate`` measured).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_models_contract import TINY_PARAMS, tiny_corpus
from test_multilabel import CORPUS, TINY, corpus, stack_corpus

from drugwatch.labels import LABELS
from drugwatch.models import available_detectors, create_detector, get_detector_class
from drugwatch.records import Event
from drugwatch.scoring import EventScorer

#: Event detectors whose inputs are texts alone (image and fusion models have their own tests).
TEXT_ONLY = {
    name
    for name in available_detectors()
    if get_detector_class(name).task in ("selling", "drugtype")
    and not any(part in name for part in ("image", "fusion", "mmbt", "concat", "late", "accounts"))
}
SLOW = {"drugwatch.minilm.v1", "drugwatch.jmir_lstm.v1"}

QUERIES = [
    "cocaine news today",
    "xanax 2mg bars, wickr me",
    "psilocybin mushrooms of the world (ebook)",
    "weed and coke combo deal",
    "lovely sunset at the beach",
    "netflix premium account",
    "lean 8oz pints",
    "oxycodone 30mg and xanax bars",
    "counterfeit euro notes",
    "study finds cannabis use rising",
]


def _fitted(name: str):
    cls = get_detector_class(name)
    if cls.task == "selling":
        return create_detector(name, **TINY_PARAMS.get(name, {})).fit(tiny_corpus())
    if name == "drugwatch.drugtype.v1":  # enough events for the stacked level and non_drug first
        return create_detector(name, min_df=1).fit(stack_corpus())
    return create_detector(name, **TINY.get(name, {})).fit(corpus())


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(TEXT_ONLY)]
)
def test_predict_is_decide_of_predict_proba(name):
    detector = _fitted(name)
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(QUERIES)]
    proba = detector.predict_proba(events)
    np.testing.assert_array_equal(detector.predict(events), detector.decide(proba))


@pytest.fixture(scope="module")
def saved_defaults(tmp_path_factory):
    root = tmp_path_factory.mktemp("defaults")
    selling = create_detector("drugwatch.selling.v1", inner_folds=2).fit(tiny_corpus())
    drugtype = create_detector("drugwatch.drugtype.v1", min_df=1).fit(stack_corpus())
    assert drugtype.non_drug_wins_
    return selling, drugtype, [selling.save(root / "selling"), drugtype.save(root / "drugtype")]


def test_scan_labels_equal_predict(saved_defaults):
    selling, drugtype, dirs = saved_defaults
    scorer = EventScorer.from_directories(dirs)
    texts = QUERIES + [text for text, *_ in CORPUS]
    events = [Event(id=f"q{i}", text=t) for i, t in enumerate(texts)]
    results = scorer.score(events)
    want_sell = selling.predict(events)
    want_drug = drugtype.predict(events)
    for result, sell, drug in zip(results, want_sell, want_drug):
        assert result.selling == bool(sell)
        assert result.drug_labels == tuple(lab for lab, on in zip(LABELS, drug) if on), result.text


def test_decide_checks_the_shape_of_selling_probabilities(saved_defaults):
    selling, _, _ = saved_defaults
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        selling.decide(np.array([0.1, 0.9]))


VIEW_QUERIES = QUERIES + [
    "x4n4x 2mg b4rs, w1ckr: demo_plug7",
    "c o k e 4 s a l e dm",
    "#weedforsale #420 🍁 dm for menu",
    "Ｘａｎａｘ ｂａｒｓ",
    "m●lly pr3ss3d p1lls $10",
]


@pytest.mark.parametrize("name", sorted(n for n in TEXT_ONLY if get_detector_class(n).reads_views))
def test_views_give_the_same_probabilities(name):
    """A detector that reads the scorer's views scores as it does when it reads the texts itself."""
    from drugwatch.text.analyze import _analyze_cached, analyze_many

    detector = _fitted(name)
    events = [Event(id=f"v{i}", text=t) for i, t in enumerate(VIEW_QUERIES)]
    _analyze_cached.cache_clear()
    alone = detector.predict_proba(events)
    _analyze_cached.cache_clear()
    with_views = detector.predict_proba(events, views=analyze_many([e.text for e in events]))
    np.testing.assert_array_equal(alone, with_views)


def test_views_must_match_the_events():
    from drugwatch.text.analyze import analyze_many

    detector = _fitted("drugwatch.selling.v1")
    events = [Event(id="a", text="xanax bars"), Event(id="b", text="sunset")]
    with pytest.raises(ValueError, match="2 events"):
        detector.predict_proba(events, views=analyze_many(["xanax bars"]))
    with pytest.raises(ValueError, match="another text"):
        detector.predict_proba(events, views=analyze_many(["sunset", "xanax bars"]))
