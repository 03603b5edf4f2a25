"""drugwatch.selling.v3, cue version 3 and the offer floor: slang drugs the context model
accepts, online-pharmacy wording, the floor, and saved models of cue version 2 unchanged."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from test_selling_v3 import ADVERTS, DRUG_TALK, EVERYDAY, corpus

from drugwatch.models import Detector, create_detector
from drugwatch.models.selling_v3 import (
    CUE_VERSION,
    EVIDENCE_FEATURES,
    PRESCRIPTION_OFFER_KINDS,
    GeneralSellingDetector,
    apply_offer_floor,
    evidence,
    offer_gate,
    offer_kinds,
    pharmacy_imperatives,
)
from drugwatch.records import Event
from drugwatch.text.analyze import analyze

F = {name: i for i, name in enumerate(EVIDENCE_FEATURES)}

# The adverts, drug talk and everyday posts of the v3 tests (written for them, no real posts).
NEGATIVES = DRUG_TALK + EVERYDAY
PROBES = [
    "selling blow, dm me on wickr",
    "Buy Xanax online without prescription",
    "order valium online no rx, overnight delivery",
    "where can i buy xanax online",
    "kush for sale",
]


# -- evidence: ambiguous drug words the context model accepts -------------------------


def test_an_accepted_slang_drug_word_is_a_drug_in_cue_version_3():
    text = "selling blow, dm me on wickr"
    # the text layer keeps an ambiguous drug word only where its context accepted it
    assert any(h.label == "cocaine" and h.ambiguous for h in analyze(text).hits)
    _, old = evidence(text, cue_version=2)
    _, new = evidence(text, cue_version=3)
    assert old[F["drug_any"]] == 0 and old[F["offer_evidence"]] == 0  # version 2: no drug, no offer
    assert new[F["drug_any"]] == 1 and new[F["drug_and_contact"]] == 1 and new[F["drug_and_sale_cue"]] == 1
    assert offer_gate(np.stack([old, new])).tolist() == [False, True]
    assert CUE_VERSION == 4


def test_a_slang_word_without_sale_context_stays_no_drug():
    for text in ("snow day at the beach with the kids", "i love blues music", "he blew the candles out"):
        assert not any(h.label and h.ambiguous for h in analyze(text).hits)
        _, new = evidence(text, cue_version=3)
        assert new[F["drug_any"]] == 0 and new[F["offer_evidence"]] == 0, text


def test_unambiguous_drugs_read_the_same_in_both_versions():
    # version 3 only adds evidence where version 2 read no drug; v1's block is otherwise untouched
    for text in ADVERTS + NEGATIVES:
        _, old = evidence(text, cue_version=2)
        _, new = evidence(text, cue_version=3)
        if old[F["drug_any"]]:
            np.testing.assert_array_equal(old[: F["sale_cue"]], new[: F["sale_cue"]], err_msg=text)


# -- evidence: online-pharmacy wording ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("buy xanax online without prescription", 1),
        ("order valium online. order tramadol no rx", 2),
        ("xanax online kaufen ohne rezept", 1),
        ("compra xanax en línea sin receta", 1),
        ("achetez du xanax en ligne", 1),
        (analyze("купить ксанакс онлайн").text, 1),  # the view the matcher reads is normalized
        ("where can i buy xanax online", 0),  # "buy" after "i": not a clause-initial imperative
        ("i want to buy xanax online", 0),
        ("buy a house", 0),  # no marker of an online sale
    ],
)
def test_pharmacy_imperatives(text, count):
    assert pharmacy_imperatives(text) == count


def test_pharmacy_wording_is_a_sale_cue_and_a_buy_request_stays_one():
    _, old = evidence("Buy Xanax online without prescription", cue_version=2)
    _, new = evidence("Buy Xanax online without prescription", cue_version=3)
    assert new[F["sale_cue_count"]] > old[F["sale_cue_count"]] and new[F["buy_cue"]] == 0
    _, discreet = evidence("tramadol, discreet packaging, overnight shipping", cue_version=3)
    _, discreet_old = evidence("tramadol, discreet packaging, overnight shipping", cue_version=2)
    assert discreet[F["sale_cue_count"]] > discreet_old[F["sale_cue_count"]]
    for request in ("where can i buy xanax online", "looking for xanax, want to buy online"):
        _, old = evidence(request, cue_version=2)
        _, new = evidence(request, cue_version=3)
        assert new[F["buy_cue"]] == 1 and new[F["sale_cue_count"]] == old[F["sale_cue_count"]], request


# Pharmacy adverts written for this test in the usual title form, and texts that name a drug
# and a missing prescription without offering it.
NO_PRESCRIPTION_OFFERS = [
    "Buy Xanax online without prescription",
    "Klonopin for sale online without prescription",
    "Order Dilaudid online without a prescription",
    "Xanax ohne Rezept online kaufen",
    "Order Methadone online now. Worldwide delivery, no Rx needed",
]
NO_PRESCRIPTION_NOT_OFFERS = [
    "No prescription required",  # no drug
    "you cannot get xanax without prescription",  # no sale word
    "xanax, no prescription needed",  # the phrase is the only sale word
    "where can i buy xanax without prescription",  # a buy request
    "Police warn people who buy xanax online without a prescription",  # news
]


def test_a_drug_offered_without_prescription_counts_three_kinds_in_cue_version_4():
    for text in NO_PRESCRIPTION_OFFERS:
        _, old = evidence(text, cue_version=3)
        _, new = evidence(text, cue_version=4)
        assert offer_kinds(new[None, :])[0] >= PRESCRIPTION_OFFER_KINDS, text
        assert offer_kinds(old[None, :])[0] <= offer_kinds(new[None, :])[0], text
        # only the offer count moves
        changed = np.flatnonzero(old != new)
        assert set(changed) <= {F["offer_evidence"], F["sale_cue_count"]}, (text, changed)
    assert offer_kinds(evidence(NO_PRESCRIPTION_OFFERS[0], cue_version=3)[1][None, :])[0] == 1
    for text in NO_PRESCRIPTION_NOT_OFFERS:
        _, new = evidence(text, cue_version=4)
        assert offer_kinds(new[None, :])[0] < PRESCRIPTION_OFFER_KINDS, text


def test_imperative_matching_is_linear():
    import time

    def cost(n: int) -> float:
        text = ("buy " + "x " * 3) * n  # many verbs, no marker: the worst case for the gap
        started = time.process_time()
        pharmacy_imperatives(text)
        return time.process_time() - started

    small, large = cost(2_000), cost(16_000)
    assert large < 20 * max(small, 1e-3)


# -- the offer floor --------------------------------------------------------------------------


def _row(**on: float) -> np.ndarray:
    row = np.zeros(len(EVIDENCE_FEATURES), dtype=np.float32)
    for name, value in on.items():
        row[F[name]] = value
    return row


def test_offer_kinds_count_offer_evidence_and_drop_requests_news_and_care():
    rows = np.stack(
        [
            _row(offer_evidence=0.5),
            _row(offer_evidence=0.75, buy_cue=1),
            _row(offer_evidence=0.5, news_cue=1),
            _row(offer_evidence=0.25, care_cue=1),
            _row(offer_evidence=0.25),
            _row(),
        ]
    )
    assert offer_kinds(rows).tolist() == [2, 0, 0, 0, 1, 0]
    floored = apply_offer_floor(np.full(6, 0.01), rows, 0.3, 0.1, 2)
    np.testing.assert_allclose(floored, [0.3, 0.01, 0.01, 0.01, 0.1, 0.01])
    # a probability is never lowered
    np.testing.assert_allclose(apply_offer_floor(np.full(6, 0.9), rows, 0.3, 0.1, 2), 0.9)
    # three kinds asked: two only reach the review band
    np.testing.assert_allclose(apply_offer_floor(np.full(6, 0.01), rows, 0.3, 0.1, 3)[0], 0.1)
    # an empty review band (review == threshold): fewer kinds stay below the threshold
    empty = apply_offer_floor(np.full(6, 0.01), rows, 0.3, 0.3, 2)
    assert empty[0] == 0.3 and 0.29 < empty[4] < 0.3


@pytest.fixture(scope="module")
def floored() -> GeneralSellingDetector:
    return create_detector(
        "drugwatch.selling.v3", pool="none", inner_folds=2, offer_gate=True, offer_floor=True, floor_min_kinds=2
    ).fit(corpus())


def test_the_floor_flags_strong_offers_and_shows_weak_ones(floored, tmp_path):
    events = [Event(id=f"p{i}", text=t) for i, t in enumerate(PROBES)]
    _, dense = floored._read(events)
    kinds = offer_kinds(dense)
    assert kinds.tolist()[0] >= 2 and kinds.tolist()[3] == 0  # slang offer vs buy request
    proba = floored.predict_proba(events)
    plain = copy.deepcopy(floored)
    plain.offer_floor_ = 0  # the same fit without the floor
    before = plain.predict_proba(events)
    assert (proba[:, 1] >= before[:, 1]).all()
    strong = kinds >= 2
    assert (floored.predict(events)[strong] == 1).all()
    assert (proba[kinds == 1, 1] >= floored.threshold_review_).all()
    np.testing.assert_array_equal(proba[kinds == 0], before[kinds == 0])
    np.testing.assert_array_equal(floored.predict(events), floored.decide(proba))
    card = floored._extra_config()
    assert card["cue_version"] == CUE_VERSION and ">= 2 kinds" in card["offer_floor"]
    floored.save(tmp_path / "f")
    np.testing.assert_array_equal(Detector.load(tmp_path / "f").predict_proba(events), proba)


def test_floor_parameters_are_checked():
    with pytest.raises(ValueError):
        create_detector("drugwatch.selling.v3", floor_min_kinds=1).fit(corpus())
    with pytest.raises(ValueError):
        create_detector("drugwatch.selling.v3", cue_version=CUE_VERSION + 1).fit(corpus())


# -- saved models of cue version 2 ---------------------------------------------------------------


@pytest.fixture(scope="module")
def version2() -> GeneralSellingDetector:
    return create_detector("drugwatch.selling.v3", pool="none", inner_folds=2, offer_gate=True, cue_version=2).fit(
        corpus()
    )


def test_a_model_saved_with_cue_version_2_predicts_bit_identically(version2, tmp_path):
    events = corpus() + [Event(id=f"p{i}", text=t) for i, t in enumerate(PROBES)]
    expected = version2.predict_proba(events)
    old = copy.deepcopy(version2)
    del old.offer_floor_  # saved before the floor existed
    old.save(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    for name in ("cue_version", "offer_floor", "floor_min_kinds"):  # parameters that did not exist then
        del config["params"][name]
    config_path.write_text(json.dumps(config))
    loaded = Detector.load(tmp_path / "old")
    assert loaded.cue_version == 2 and loaded.offer_floor is False
    np.testing.assert_array_equal(loaded.predict_proba(events), expected)
    # it reads version 2's evidence: the slang offer has no drug for it
    _, dense = loaded._read([Event(id="s", text="selling blow, dm me on wickr")])
    assert dense[0, F["drug_any"]] == 0
