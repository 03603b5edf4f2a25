"""Model directories in the ``weights.npz`` format (selling v1-v3, drug type v1-v3): no pickle, no scikit-learn to predict,
the same bits as the fitted (scikit-learn) models, and pickled directories still read."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections import ChainMap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from drugwatch.models import Detector, create_detector
from drugwatch.models.base import ModelLoadError, SavedModel, decode_state, encode_state, read_state_npz
from drugwatch.models.tfidf_fast import FrozenTfidf, LinearModel, char_wb_analyzer, freeze_linear
from drugwatch.records import Event

# Texts that exercise every reading the two default detectors have: disguises,
# masks, handles, hashtags, URLs, contacts, emoji, other scripts, blank text.
PROBES = [
    "selling c0ke and xanax bars, dm on wickr @plug_uk #420 💊",
    "mdma pills ⚡ fast delivery, telegram t.me/candy_shop",
    "#weed_factory #kush_kings restock today, snap: green_plug",
    "gol#en te□cher mesca●ine x*n*x b▢rs h◩ckl◩b◩rry",
    "c.o.c.a.i.n.e 1g 80 uncut, text +1 202 555 0147",
    "lovely weather in brighton today",
    "cocaine news today: police seize 2 tonnes",
    "코카인 판매 텔레 @seoul_candy",
    "ΜDMA and СОКЕ available, john_doe@mail.com",
    "",
    "   \t  ",
    "a" * 300,
]


def _corpora() -> tuple[list[Event], list[Event]]:
    from drugwatch.demo.generator import generate_demo

    train = generate_demo(seed=0, n_accounts=12, images=False).events
    test = generate_demo(seed=1, n_accounts=12, images=False).events
    probes = [Event(id=f"probe-{i}", text=text) for i, text in enumerate(PROBES)]
    return list(train), [*test, *probes]


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, Detector], list[Event]]:
    train, test = _corpora()
    detectors = {
        "selling": create_detector("drugwatch.selling.v1").fit([e for e in train if e.selling is not None]),
        "selling_v2": create_detector("drugwatch.selling.v2").fit([e for e in train if e.selling is not None]),
        "selling_v3": create_detector("drugwatch.selling.v3", pool="none", inner_folds=2).fit(
            [e for e in train if e.selling is not None]
        ),
        "drugtype": create_detector("drugwatch.drugtype.v3").fit([e for e in train if e.labels is not None]),
    }
    return detectors, test


def test_char_wb_analyzer_equals_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [*PROBES, "a", "ab  cd\n\nef\u00a0gh", " x ", "word\u2003other", "🍄🍄 magic"]
    for ngram_range in ((1, 5), (2, 4), (2, 5), (3, 3)):
        expected = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False).build_analyzer()
        ours = char_wb_analyzer(ngram_range)
        for text in texts:
            assert ours(text) == expected(text), (ngram_range, text)


def test_state_round_trips_without_pickle(tmp_path: Path) -> None:
    from drugwatch.models.base import write_state_npz

    state = {
        "vocabulary_": {"ab": np.int64(0), "b c": 1, "\x00x": 2},
        "masks_": {"mesca\x00ine": "mescaline", "코\x00인": "코카인"},
        "words_": frozenset({"weed", "kush", ""}),
        "pair_": (1, 2.5, "x", None, True),
        "scalar_": np.float32(0.25),
        "array_": np.arange(6, dtype=np.float32).reshape(2, 3),
        "matrix_": sp.csr_matrix(np.array([[0, 1.5], [2.0, 0]])),
        "nested_": {"sources": {"a": 1}, 3: [1, {"b": None}]},
        "linear_": LinearModel(np.array([[1.0, -2.0]]), np.array([0.5])),
        "inf_": float("inf"),
    }
    path = tmp_path / "weights.npz"
    write_state_npz(path, state)
    with np.load(path, allow_pickle=False) as stored:  # no object arrays anywhere
        assert all(stored[name].dtype != object for name in stored.files)
    back = read_state_npz(path)
    assert back["vocabulary_"] == {"ab": 0, "b c": 1, "\x00x": 2}
    assert back["masks_"] == state["masks_"] and back["words_"] == state["words_"]
    assert back["pair_"] == state["pair_"] and back["inf_"] == float("inf")
    assert back["scalar_"] == state["scalar_"] and back["scalar_"].dtype == np.float32
    np.testing.assert_array_equal(back["array_"], state["array_"])
    assert back["array_"].dtype == np.float32
    assert (back["matrix_"] != state["matrix_"]).nnz == 0 and isinstance(back["matrix_"], sp.csr_matrix)
    assert back["nested_"] == state["nested_"]
    assert isinstance(back["linear_"], LinearModel)
    np.testing.assert_array_equal(back["linear_"].coef_, state["linear_"].coef_)


def test_state_refuses_unregistered_objects() -> None:
    class Stranger:
        pass

    with pytest.raises(TypeError, match="not a saved-state type"):
        encode_state({"x_": Stranger()}, {})
    with pytest.raises(TypeError, match="Python objects"):
        encode_state({"x_": np.array([object()])}, {})
    # a description naming a class outside the registry is refused, not imported
    with pytest.raises(ModelLoadError, match="not a registered saved-state type"):
        decode_state({"__object__": "os:system", "state": {"__dict__": []}}, {})


def test_new_directories_predict_the_fitted_models_bits_without_scikit_learn(fitted, tmp_path: Path) -> None:
    """Fitted models (scikit-learn objects) and the directories they save (arrays, read in a
    fresh process that must not import scikit-learn) give the same probabilities, bit for bit."""
    detectors, test = fitted
    assert len(test) >= 300
    events = tmp_path / "events.json"
    events.write_text(json.dumps([e.text for e in test]), encoding="utf-8")
    expected = {}
    for name, detector in detectors.items():
        directory = detector.save(tmp_path / name)
        assert (directory / "weights.npz").is_file() and not (directory / "weights.pkl").exists()
        assert json.loads((directory / "config.json").read_text())["files"] == ["weights.npz"]
        expected[name] = detector.predict_proba(test)
    script = """
import json, sys
import numpy as np
import drugwatch.scan.engine, drugwatch.scoring  # the scan's own modules: no scikit-learn either
from drugwatch.models import Detector
texts = json.loads(open(sys.argv[1], encoding="utf-8").read())
out = {}
for name in sys.argv[3:]:
    out[name] = Detector.load(f"{sys.argv[2]}/{name}").predict_proba(texts)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "pandas") or m.startswith("scipy.stats"))
np.savez(f"{sys.argv[2]}/proba.npz", **out)
print(json.dumps(heavy))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(events), str(tmp_path), *detectors],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []  # nothing of scikit-learn, pandas, scipy.stats
    with np.load(tmp_path / "proba.npz") as got:
        for name in detectors:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    # and in this process, through the loaded objects
    for name, detector in detectors.items():
        loaded = Detector.load(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(test), detector.predict(test))


def test_pickled_directories_still_load_and_predict_the_same_bits(fitted, tmp_path: Path) -> None:
    """A directory written before ``weights.npz`` (the learned state, scikit-learn objects
    and all, pickled) loads and predicts as the fitted model; saving it again writes arrays."""
    detectors, test = fitted
    for name, detector in detectors.items():
        directory = detector.save(tmp_path / name)
        (directory / "weights.npz").unlink()
        (directory / "weights.pkl").write_bytes(pickle.dumps(SavedModel._learned_state(detector)))
        old = Detector.load(directory)
        np.testing.assert_array_equal(old.predict_proba(test), detector.predict_proba(test), err_msg=name)
        again = Detector.load(old.save(tmp_path / f"{name}-again"))
        np.testing.assert_array_equal(again.predict_proba(test), detector.predict_proba(test), err_msg=name)


def test_frozen_parts_are_what_prediction_reads(fitted) -> None:
    detectors, test = fitted
    drugtype = detectors["drugtype"]
    state = drugtype._learned_state()
    assert isinstance(state["char_vectorizer_"], FrozenTfidf) and isinstance(state["word_vectorizer_"], FrozenTfidf)
    assert all(isinstance(m, (LinearModel, float)) for m in state["models_"])
    texts = [e.text for e in test[:200]]
    for key in ("char_vectorizer_", "word_vectorizer_"):
        ours = state[key].transform(texts)
        theirs = getattr(drugtype, key).transform(texts)  # scikit-learn's own transform
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=1e-6, atol=1e-7)
    selling = detectors["selling"]
    X = sp.random(5, selling.model_.coef_.shape[1], density=0.1, format="csr", random_state=0)
    np.testing.assert_array_equal(
        freeze_linear(selling.model_).decision_function(X), selling.model_.decision_function(X)
    )


def test_handles_urls_and_hashtags_never_ask_general_english(monkeypatch) -> None:
    """Their "_", "#" and "?" are not masks: the general-English index is not built for them,
    while a mask elsewhere in the text is still read back."""
    import drugwatch.models.multilabel as ml

    def no_english(*_args, **_kwargs):
        raise AssertionError("general_mask_index was built")

    monkeypatch.setattr(ml, "general_mask_index", no_english)
    english = ml._LazyGeneralMasks()
    known = {"weed", "factory", "golden"}
    arguments = {
        "masks": ChainMap({"gol\x00en": "golden"}, english),
        "is_word": lambda w: w in known or english.has_word(w),
        "tag_is_word": known.__contains__,
        "version": 2,
    }
    # the symbols of a name are dropped as an unread mask's are, and "@" reads as leetspeak, as before
    assert ml.folded_text("dm @plug_uk now", **arguments) == "dm apluguk now"
    assert ml.folded_text("t.me/candy_shop or https://x.com/a_b?c=d#frag", **arguments) == (
        "t.me/candyshop or https://x.com/abc=dfrag"
    )
    assert ml.folded_text("mail john_doe@mail.com", **arguments) == "mail johndoeamail.com"
    # a hashtag's "_" between two known words separates them; else it is dropped
    assert ml.folded_text("#weed_factory #kush_kingz", **arguments) == "#weed factory #kushkingz"
    assert ml.folded_text("gol#en @plug_uk #weed_factory", **arguments) == "golden apluguk #weed factory"
    with pytest.raises(AssertionError, match="was built"):  # outside those spans a mask still asks
        ml.folded_text("progra●ming", **arguments)


def test_not_masked_spans_read_long_texts_in_linear_time() -> None:
    import time

    import drugwatch.models.multilabel as ml

    for unit in ("x", "x.", "x+", "@", "ab_", "a_"):
        text = "gol#en " + unit * (100_000 // len(unit)) + " @ # /"
        start = time.process_time()
        ml.folded_text(text, masks={"gol\x00en": "golden"}, is_word=lambda _w: False, version=2)
        assert time.process_time() - start < 2.0, unit
