"""drugwatch.selling.v3: training pool and roles, evidence, signed model, calibration, threshold, review band."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from drugwatch.models import Detector, create_detector
from drugwatch.models.selling_v3 import (
    CUE_VERSION,
    DRUG_TOKEN,
    EVIDENCE_FEATURES,
    EVIDENCE_SIGNS,
    OFFER_KINDS,
    WEAK_FEATURE,
    GeneralSellingDetector,
    SignedLogisticRegression,
    choose_threshold,
    choose_threshold_by_negatives,
    delexicalize,
    evidence,
    group_balanced,
    load_pool,
    offer_gate,
    role_of,
    without_offer_kind,
)
from drugwatch.models.weak import LF_CLASS, LF_NAMES, LabelModel, fires, lf_summary
from drugwatch.records import Event

F = {name: i for i, name in enumerate(EVIDENCE_FEATURES)}

# Written for these tests: adverts with a drug, a way to buy and a sale word, and posts that
# name drugs without offering them (news, recovery, questions), plus everyday posts.
ADVERTS = [
    "xanax 2mg bars in stock, wickr: plugdemo7, discreet shipping",
    "percs 30mg $25 each, dm me on telegram @perc_demo",
    "fresh kush $200 an oz, snap: budman_demo, delivery tonight",
    "mdma crystals 1g 60, order on signal, ships worldwide",
    "cocaine 80 a gram, text 555-0142 for the menu",
    "lsd tabs 10 strip for 90, wickr lucy_demo, stealth shipping",
    "shrooms 1/8 $35, tap in on telegram @shroom_demo",
    "weed carts in stock, cash app only, dm for prices",
    "oxycodone 30mg for sale, whatsapp 555-0199",
    "ketamine 5g available, order via wickr k_demo",
]
DRUG_TALK = [
    "police seized 5kg of cocaine at the port, two arrested",
    "one year sober today, no more xanax for me",
    "study finds cannabis use rising among adults",
    "where can i get some molly for the festival?",
    "my doctor switched me from oxycodone to something milder",
    "naloxone saves lives, carry it if your friends use opioids",
]
EVERYDAY = [
    "lovely sunset at the beach today",
    "my flight was delayed again",
    "new recipe: lemon cake with blueberries",
    "dm me for the meeting notes",
    "concert tickets for sale, two seats, dm me",
    "fresh bread in stock at the bakery until 6",
    "happy birthday to my best friend",
    "game night at ours on friday",
    "sneakers drop tomorrow, order early",
    "the library opens at nine",
]


def corpus() -> list[Event]:
    events = []
    for i, text in enumerate(ADVERTS):
        events.append(Event(id=f"a{i}", text=text, selling=True, meta={"group": f"seller{i}"}))
    for i, text in enumerate(DRUG_TALK):
        events.append(
            Event(id=f"t{i}", text=text, selling=False, meta={"group": f"talk{i}", "source": "drug_talk_tweets"})
        )
    for i, text in enumerate(EVERYDAY):
        events.append(Event(id=f"e{i}", text=text, selling=False, meta={"group": f"every{i}"}))
    return events


@pytest.fixture(scope="module")
def fitted() -> GeneralSellingDetector:
    return create_detector("drugwatch.selling.v3", pool="none", inner_folds=2).fit(corpus())


# -- threshold ------------------------------------------------------------------


def test_threshold_meets_the_false_positive_target_and_is_the_lowest_that_does():
    rng = np.random.default_rng(0)
    neg = rng.uniform(0, 1, 1000)
    pos = rng.uniform(0.5, 1, 50)
    proba = np.concatenate([neg, pos])
    y = np.concatenate([np.zeros(1000, int), np.ones(50, int)])
    t = choose_threshold(proba, y, target_fpr=0.01)
    assert (neg >= t).sum() <= 10
    # one step lower lets an eleventh negative through
    assert (neg >= np.sort(neg)[-11]).sum() == 11 and t > np.sort(neg)[-11]


def test_threshold_with_a_precision_target():
    proba = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    y = np.array([1, 1, 0, 1, 0, 0])
    # precision at >= 0.8 is 1.0, at >= 0.6 it is 0.75
    assert choose_threshold(proba, y, target_fpr=1.0, target_precision=0.9) == pytest.approx(0.8)
    assert choose_threshold(proba, y, target_fpr=1.0, target_precision=0.7) == pytest.approx(0.6)
    # the false-positive target still binds: no negative may pass
    assert choose_threshold(proba, y, target_fpr=0.0, target_precision=0.5) > 0.7


def test_threshold_from_negatives_caps_every_subsource_and_ignores_positives():
    rng = np.random.default_rng(0)
    proba = np.concatenate([rng.uniform(0, 0.5, 1000), rng.uniform(0.6, 0.9, 200), [0.95, 0.7]])
    y = np.array([0] * 1200 + [1, 1])
    sub = np.array(["big"] * 1000 + ["hard"] * 200 + ["pos", "pos"], dtype=object)
    pooled = choose_threshold_by_negatives(proba, y, sub, target_fpr=0.05)
    capped = choose_threshold_by_negatives(proba, y, sub, target_fpr=0.05, max_subsource_fpr=0.01)
    assert capped > pooled
    neg = y == 0
    assert ((proba[neg] >= pooled).mean()) <= 0.05
    assert ((proba[sub == "hard"] >= capped).mean()) <= 0.01
    assert ((proba[sub == "big"] >= capped).mean()) <= 0.01
    # the positives' scores do not move it
    moved = proba.copy()
    moved[-2:] = [0.01, 0.02]
    assert choose_threshold_by_negatives(moved, y, sub, target_fpr=0.05, max_subsource_fpr=0.01) == capped
    # a sub-source below the minimum size is not capped on its own
    small = choose_threshold_by_negatives(
        proba, y, sub, target_fpr=0.05, max_subsource_fpr=0.01, min_subsource_negatives=500
    )
    assert small < capped


def test_threshold_without_negatives_is_the_lowest_positive():
    assert choose_threshold(np.array([0.3, 0.7]), np.array([1, 1]), target_fpr=0.01) == pytest.approx(0.3)


# -- roles, evidence, delexicalization ------------------------------------------------


def test_roles_from_metadata():
    assert role_of(Event(id="1", text="x", platform="darknet_market", selling=True)) == "darknet_offer"
    assert role_of(Event(id="2", text="x", platform="darknet_market", selling=False)) == "darknet_other_goods"
    assert role_of(Event(id="3", text="x", meta={"subsource": "pip_promo_weapons"})) == "other_illicit_promotion"
    assert role_of(Event(id="4", text="x", meta={"source": "reddit_5meodmt"})) == "drug_talk"
    assert role_of(Event(id="5", text="x")) == "post"


def test_sale_cues_in_other_languages_sit_next_to_the_drug():
    _, korean = evidence("코카인 팝니다 텔레그램 문의")
    assert korean[F["drug_any"]] == 1 and korean[F["sale_cue"]] == 1 and korean[F["drug_and_sale_cue"]] == 1
    _, spanish = evidence("vendo cocaína, envío a domicilio")
    assert spanish[F["sale_cue"]] == 1
    _, news = evidence("police seized cocaine, three arrested")
    assert news[F["drug_and_news_cue"]] == 1 and news[F["drug_and_sale_cue"]] == 0
    _, ask = evidence("where can i get xanax")
    assert ask[F["drug_and_buy_cue"]] == 1
    _, plain = evidence("concert tickets for sale")
    assert plain[F["sale_cue"]] == 1 and plain[F["drug_and_sale_cue"]] == 0 and plain[F["offer_evidence"]] == 0


def test_accented_and_cyrillic_cues_match_the_normalized_view():
    # the view is normalized (accents stripped, Cyrillic look-alikes read as Latin): so are the cues
    _, spanish = evidence("tengo cocaína, envíos gratis")
    assert spanish[F["drug_and_sale_cue"]] == 1
    _, vietnamese = evidence("ketamine giao hàng tận nơi")
    assert vietnamese[F["drug_and_sale_cue"]] == 1
    _, russian = evidence("кокаин оптом")
    assert russian[F["sale_cue"]] == 1
    # models saved with the first cue version keep matching as they were fitted
    _, old = evidence("tengo cocaína, envíos gratis", cue_version=1)
    assert old[F["sale_cue"]] == 0 and CUE_VERSION >= 2


def test_lexicon_sale_cues_are_read():
    _, german = evidence("koks lieferung heute")  # "lieferung" is in the lexicon's multilingual.tsv
    assert german[F["sale_cue"]] == 1


def test_latin_cues_need_word_boundaries():
    _, text = evidence("the priceless wholesaler")  # "price" inside "priceless" is no price
    assert text[F["sale_cue"]] == 0


def test_delexicalize_hides_drug_names_from_the_character_view():
    assert delexicalize("xanax bars and weed here").count(DRUG_TOKEN) >= 1
    assert "xanax" not in delexicalize("xanax 2mg in stock")
    assert delexicalize("nothing to see here") == "nothing to see here"


def test_every_signed_feature_exists():
    assert set(EVIDENCE_SIGNS) <= set(EVIDENCE_FEATURES) | {WEAK_FEATURE}


# -- the signed model ----------------------------------------------------------------


def test_signed_regression_matches_scikit_learn_without_bounds():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    w = rng.uniform(0.5, 2.0, 300)
    ours = SignedLogisticRegression(C=0.7, max_iter=500).fit(X, y, w, np.full(5, -np.inf), np.full(5, np.inf))
    ref = LogisticRegression(C=0.7, solver="lbfgs", tol=1e-10, max_iter=5000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)


def test_signed_regression_keeps_the_bounds():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)  # feature 0 is strongly positive
    lower = np.array([-np.inf, -np.inf, -np.inf])
    upper = np.array([0.0, np.inf, np.inf])  # ... but may not be
    model = SignedLogisticRegression(C=1.0).fit(X, y, np.ones(300), lower, upper)
    assert model.coef_[0, 0] <= 1e-12


def test_fitted_evidence_weights_have_the_declared_signs(fitted):
    for name, weight in fitted.evidence_weights().items():
        sign = EVIDENCE_SIGNS.get(name)
        if sign == "+":
            assert weight >= -1e-9, name
        elif sign == "-":
            assert weight <= 1e-9, name
        elif sign == "0":
            assert weight == pytest.approx(0.0, abs=1e-9), name


# -- the detector ----------------------------------------------------------------


def test_fit_predict_and_decisions(fitted):
    events = corpus()
    proba = fitted.predict_proba(events)
    assert proba.shape == (len(events), 2)
    np.testing.assert_array_equal(fitted.predict(events), fitted.decide(proba))
    assert 0 < fitted.threshold_review_ <= fitted.threshold_ <= 1
    y = np.array([int(e.selling) for e in events])
    # it has learned the corpus: adverts rank above everything else
    assert proba[y == 1, 1].min() > proba[y == 0, 1].max()


def test_review_band_and_triage(fitted):
    fitted_band = (fitted.threshold_review_, fitted.threshold_)
    p = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]], dtype=float)
    p[2, 1] = (fitted_band[0] + fitted_band[1]) / 2 if fitted_band[0] < fitted_band[1] else fitted_band[0]
    p[2, 0] = 1 - p[2, 1]
    triage = fitted.triage(p)
    assert triage[0] == "selling" and triage[1] == "not_selling"
    if fitted_band[0] < fitted_band[1]:
        assert triage[2] == "review" and fitted.needs_review(p).tolist() == [False, False, True]
    with pytest.raises(ValueError, match="shape"):
        fitted.needs_review(np.array([0.5]))


def test_model_card_states_pool_calibration_threshold_and_spread(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    extra = config["extra"]
    assert extra["training_pool"]["spec"] == "none"
    assert "sigmoid" in extra["calibration"]
    assert "FPR" in extra["threshold_target"]
    assert "threshold_review" in extra and "inner_fold_threshold_spread" in extra
    loaded = Detector.load(tmp_path / "m")
    assert loaded.threshold_review_ == fitted.threshold_review_
    np.testing.assert_allclose(loaded.predict_proba(ADVERTS), fitted.predict_proba(ADVERTS))


def test_an_advert_in_an_unseen_language_outranks_news_in_it(fitted):
    # Trained on English only; the Korean texts share no character n-gram with it that tells them
    # apart, so the order comes from the evidence block: drug + sale word + messenger vs drug + police.
    advert, news = fitted.predict_proba(
        [
            "코카인 팝니다 텔레그램 문의 주세요",
            "경찰 코카인 밀수 조직 검거",
        ]
    )[:, 1]
    assert advert > news


def test_pool_is_read_weighted_and_not_counted_twice(tmp_path):
    lines = []
    for i, (drug, good) in enumerate(zip(["weed", "mdma", "lsd", "xanax"], ["ebook", "vpn", "netflix", "passport"])):
        for j, (text, selling) in enumerate([(f"{drug} {i + 1}g stealth", True), (f"{good} lifetime", False)]):
            lines.append(
                json.dumps(
                    {
                        "id": f"drugtype:dnm2017:{i:06x}{j:06x}",
                        "task": "drugtype",
                        "source": "dnm2017",
                        "platform": "darknet_market",
                        "text": text,
                        "author": f"u_{i}{j}",
                        "created_at": None,
                        "labels": None,
                        "selling": selling,
                        "group": f"vendor{i}{j}",
                        "meta": {},
                    }
                )
            )
    pool_file = tmp_path / "pool.jsonl"
    pool_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(load_pool(str(pool_file), 3)) == 3
    assert [e.id for e in load_pool(str(pool_file), 3)] == [e.id for e in load_pool(str(pool_file), 3)]
    events = corpus()
    pool_events = load_pool(str(pool_file), 100)
    detector = create_detector("drugwatch.selling.v3", pool=str(pool_file), inner_folds=2)
    detector.fit(events + pool_events[:2])  # two listings given directly as well
    assert detector.pool_["n_events"] == 6  # the other six come from the pool
    assert detector.roles_["darknet_offer"] + detector.roles_["darknet_other_goods"] == 8
    weights = detector._weights(pool_events + events)
    assert set(weights[: len(pool_events)]) == {detector.pool_weight}
    assert detector._weights([events[len(ADVERTS)]])[0] == detector.hard_negative_weight  # drug talk


def test_missing_kit_pool_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUGWATCH_BENCH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="pool='none'"):
        create_detector("drugwatch.selling.v3").fit(corpus())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_detector("drugwatch.selling.v3", pool=str(tmp_path / "nope.jsonl")).fit(corpus())


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="pool"):
        create_detector("drugwatch.selling.v3", pool=3).fit(corpus())
    with pytest.raises(ValueError, match="target_fpr"):
        create_detector("drugwatch.selling.v3", pool="none", target_fpr=2.0).fit(corpus())


def test_fast_character_scores_equal_the_tfidf_matrix(fitted):
    texts = [e.text for e in corpus()] + ["코카인 팝니다", "", "🔥🔥", "xanax xanax xanax bars bars"]
    views, _ = fitted._read([Event(id=str(i), text=t) for i, t in enumerate(texts)])
    coef = fitted.model_.coef_.ravel()[: len(fitted.vocabulary_)] * fitted.char_weight
    expected = np.asarray(fitted._char_matrix(views) @ coef).ravel()
    np.testing.assert_allclose(fitted._char_scores(views), expected, atol=1e-5)
    np.testing.assert_allclose(fitted._char_scores(views), expected, atol=1e-5)  # from the word cache


# -- weak supervision ----------------------------------------------------------------


def _fired(texts):
    return fires(np.array([evidence(t)[1] for t in texts]), EVIDENCE_FEATURES)


def test_labelling_functions_vote_on_the_text_layer():
    lf = {name: j for j, name in enumerate(LF_NAMES)}
    got = _fired(
        [
            "percs 30mg $25 each, dm me on telegram @perc_demo",
            "where can i get xanax",
            "police seized 5kg of cocaine",
            "lovely sunset at the beach",
            "cocaine is a stimulant",
            "코카인 팝니다 텔레그램 @abc",
        ]
    )
    assert got[0, lf["offer_with_contact"]] and not got[0, lf["drug_talk"]]
    assert got[1, lf["buy_intent"]] and not got[1, lf["drug_and_sale_cue"]]
    assert got[2, lf["news"]]
    assert got[3, lf["no_drug"]] and not got[3].__getitem__([lf["offer_with_contact"], lf["listing"]]).any()
    assert got[4, lf["drug_talk"]]
    assert got[5, lf["offer_with_contact"]] and got[5, lf["drug_and_sale_cue"]]


def test_label_model_recovers_the_latent_classes_without_labels():
    rng = np.random.default_rng(1)
    n = 4000
    y = (rng.random(n) < 0.2).astype(int)
    # positive LFs fire mostly on class 1, negative LFs mostly on class 0
    rate1 = np.where(LF_CLASS == 1, 0.7, 0.05)
    rate0 = np.where(LF_CLASS == 1, 0.03, 0.5)
    fired = rng.random((n, len(LF_CLASS))) < np.where(y[:, None] == 1, rate1, rate0)
    model = LabelModel().fit(fired)
    assert model.prior_ == pytest.approx(0.2, abs=0.05)
    assert np.allclose(model.rates_[1], rate1, atol=0.08) and np.allclose(model.rates_[0], rate0, atol=0.08)
    p = model.predict_proba(fired)
    assert ((p >= 0.5) == y).mean() > 0.95
    summary = lf_summary(fired, y)
    assert set(summary) == set(LF_NAMES) and all(0 <= v["coverage"] <= 1 for v in summary.values())


def test_label_model_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match="firing matrix must have shape"):
        LabelModel().fit(np.zeros((3, 2), dtype=bool))
    with pytest.raises(RuntimeError, match="not fitted"):
        LabelModel().predict_proba(np.zeros((1, len(LF_NAMES)), dtype=bool))


def test_weak_label_is_a_signed_feature_when_asked_for(fitted):
    assert WEAK_FEATURE not in fitted.evidence_weights()  # off by default
    weak = create_detector("drugwatch.selling.v3", pool="none", inner_folds=2, weak=True).fit(corpus())
    weights = weak.evidence_weights()
    assert WEAK_FEATURE in weights and weights[WEAK_FEATURE] >= 0
    assert set(weak.weak_lf_summary_) == set(LF_NAMES)
    proba = weak.predict_proba(corpus())
    assert proba.shape == (len(corpus()), 2)
    assert proba[: len(ADVERTS), 1].min() > proba[len(ADVERTS) :, 1].max() - 0.5


def test_named_subsources_are_capped_whatever_their_size():
    proba = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.95])
    y = np.array([0, 0, 0, 0, 0, 1])
    sub = np.array(["a", "a", "b", "b", "b", "p"], dtype=object)
    loose = choose_threshold_by_negatives(
        proba, y, sub, target_fpr=1.0, max_subsource_fpr=0.0, min_subsource_negatives=100
    )
    strict = choose_threshold_by_negatives(proba, y, sub, target_fpr=1.0, max_subsource_fpr=0.0, capped={"a"})
    assert loose == 0.0 and strict > 0.9


# -- rebalancing and feature dropout ------------------------------------------------


def test_group_balance_keeps_the_total_and_shrinks_the_big_seller():
    weights = np.ones(8)
    groups = np.array(["big"] * 4 + ["a", "b", "neg", "neg"])
    chosen = np.array([True] * 6 + [False, False])
    flat = group_balanced(weights, chosen, groups, 1.0)
    assert flat[chosen].sum() == pytest.approx(6.0)  # the positives keep their weight
    assert flat[:4].sum() == pytest.approx(flat[4]) == pytest.approx(flat[5])  # each group weighs the same
    assert list(flat[~chosen]) == [1.0, 1.0]  # others untouched
    assert list(group_balanced(weights, chosen, groups, 0.0)) == list(weights)


def test_posts_carry_their_share_of_the_positive_weight():
    detector = GeneralSellingDetector(pool="none", post_positive_share=0.75, group_balance=0.0)
    y = np.array([1, 1, 1, 1, 1, 1, 0, 0])
    darknet = np.array([False, False, True, True, True, True, True, False])
    weights = np.array([1.0, 1.0, 0.3, 0.3, 0.3, 0.3, 0.3, 1.0])
    balanced = detector._balance(y, weights, darknet, np.array(list("abcdefgh")))
    posts, offers = balanced[(y == 1) & ~darknet].sum(), balanced[(y == 1) & darknet].sum()
    assert posts / (posts + offers) == pytest.approx(0.75)
    assert list(balanced[y == 0]) == [0.3, 1.0]  # negatives keep their role weights
    off = GeneralSellingDetector(pool="none", post_positive_share=0.0, group_balance=0.0)._balance(
        y, weights, darknet, np.array(list("abcdefgh"))
    )
    assert list(off) == list(weights)


def test_dropping_an_offer_kind_recomputes_the_offer_counts():
    _, dense = evidence("xanax 2mg bars $5 each, wickr: plugdemo7, for sale")
    row = dense[None, :]
    assert row[0, F["offer_evidence"]] == pytest.approx(1.0)
    no_contact = without_offer_kind(row, "contact")
    assert no_contact[0, F["drug_and_contact"]] == 0 and no_contact[0, F["contact_any"]] == 0
    assert no_contact[0, F["offer_evidence"]] == pytest.approx(0.75)
    assert no_contact[0, F["drug_and_quantity"]] == 1  # the other kinds stay
    assert row[0, F["drug_and_contact"]] == 1  # the input is not changed
    assert set(OFFER_KINDS) == {"contact", "price", "quantity", "sale"}
    assert all(name in F for names in OFFER_KINDS.values() for name in names)


def test_dropout_copies_and_balancing_fit_and_keep_the_signs():
    detector = create_detector(
        "drugwatch.selling.v3",
        pool="none",
        inner_folds=2,
        dropout_weight=1.0,
        group_balance=1.0,
        calibration_group_balance=1.0,
    ).fit(corpus())
    weights = detector.evidence_weights()
    assert all(weights[name] >= 0 for name, sign in EVIDENCE_SIGNS.items() if sign == "+" and name in weights)
    proba = detector.predict_proba([Event(id="x", text=ADVERTS[0]), Event(id="y", text=EVERYDAY[0])])[:, 1]
    assert proba[0] > proba[1]


def test_model_card_states_the_rebalancing(fitted):
    card = fitted._extra_config()["positive_balance"]
    assert card["group_balance"] == fitted.group_balance
    assert card["feature_dropout_weight"] == fitted.dropout_weight
    assert card["positive_post_groups"] == len(ADVERTS)  # one seller group per advert in the corpus
    assert card["post_positive_share"] is None  # no listings in this fit: nothing to balance against


# -- two-stage decision (offer gate) ------------------------------------------------


def test_offer_gate_needs_a_drug_next_to_offer_evidence():
    rows = np.stack(
        [
            evidence(text)[1]
            for text in (
                "xanax 2mg bars $5 each, wickr: plugdemo7",  # drug + quantity, price, contact
                "kush for sale, dm me",  # drug + sale words
                "one year sober today, no more xanax for me",  # a drug, no offer
                "concert tickets for sale, dm me",  # an offer, no drug
            )
        ]
    )
    assert offer_gate(rows).tolist() == [True, True, False, False]


@pytest.fixture(scope="module")
def gated() -> GeneralSellingDetector:
    return create_detector("drugwatch.selling.v3", pool="none", inner_folds=2, offer_gate=True).fit(corpus())


@pytest.fixture(scope="module")
def ungated() -> GeneralSellingDetector:
    return create_detector("drugwatch.selling.v3", pool="none", inner_folds=2, offer_gate=False).fit(corpus())


def test_new_fits_use_the_offer_gate_floor_and_cue_version_4(fitted):
    # measured default (docs/models.md): gate, cue version 4 and an offer floor at three kinds
    assert fitted.offer_gate and fitted.offer_gate_
    assert fitted.offer_floor and fitted.offer_floor_ == 3 and fitted.cue_version_ == CUE_VERSION == 4


def test_offer_gate_decides_selling_only_on_offers(ungated, gated, tmp_path):
    events = corpus() + [Event(id="x", text=t) for t in ("kush kush kush", "no more xanax, one year clean")]
    _, dense = gated._read(events)
    passes = offer_gate(dense)
    assert passes.any() and not passes.all()
    open_proba = ungated.predict_proba(events)[:, 1]  # the same fit without the gate
    proba = gated.predict_proba(events)
    # the gate changes the decision, not the model: scores of texts that pass are unchanged
    np.testing.assert_allclose(proba[passes, 1], open_proba[passes])
    assert (proba[~passes, 1] < gated.threshold_).all()
    np.testing.assert_allclose(proba[~passes, 1], np.minimum(open_proba[~passes], proba[~passes, 1]))
    np.testing.assert_array_equal(gated.predict(events), gated.decide(proba))
    assert not gated.predict(events)[~passes].any()
    # fewer negatives can pass, so the threshold for the same target is not higher
    assert gated.threshold_ <= ungated.threshold_
    assert gated._extra_config()["offer_gate"] is True and "offer gate" in gated._extra_config()["threshold_target"]
    gated.save(tmp_path / "g")
    np.testing.assert_allclose(Detector.load(tmp_path / "g").predict_proba(events), proba)


def test_models_saved_before_the_gate_predict_as_before(ungated, gated, tmp_path):
    old = copy.deepcopy(gated)
    del old.offer_gate_  # a model saved before the gate existed has no such attribute
    events = corpus() + [Event(id="x", text="kush kush kush")]
    np.testing.assert_array_equal(old.predict_proba(events), ungated.predict_proba(events))
    assert old._extra_config()["offer_gate"] is False
    # its directory names no offer_gate parameter: it loads ungated and says so
    old.save(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    del config["params"]["offer_gate"]
    config_path.write_text(json.dumps(config))
    loaded = Detector.load(tmp_path / "old")
    assert loaded.offer_gate is False and loaded.post_positive_share == gated.post_positive_share
    np.testing.assert_allclose(loaded.predict_proba(events), ungated.predict_proba(events))


def test_models_saved_before_rebalancing_state_their_old_parameters(ungated, tmp_path):
    old = copy.deepcopy(ungated)
    del old.balance_, old.offer_gate_  # saved before rebalancing, dropout and the gate
    old.save(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    for name in ("post_positive_share", "group_balance", "calibration_group_balance", "dropout_weight", "offer_gate"):
        del config["params"][name]
    config_path.write_text(json.dumps(config))
    loaded = Detector.load(tmp_path / "old")
    params = loaded.get_params()
    assert params["post_positive_share"] == params["group_balance"] == params["dropout_weight"] == 0.0
    assert params["offer_gate"] is False
    np.testing.assert_allclose(loaded.predict_proba(corpus()), ungated.predict_proba(corpus()))


def test_given_views_the_texts_are_not_read_again(fitted, monkeypatch):
    import drugwatch.models.selling as v1_module
    import drugwatch.text.analyze as analyze_module
    from drugwatch.text.analyze import analyze_many

    texts = [
        "selling blow, dm me on wickr",  # an accepted slang word: the context-drug path reads the view too
        "xanax bars for sale, text +1 202 555 0147",
        "lovely weather at the beach today",
    ]
    events = [Event(id=f"v{i}", text=t) for i, t in enumerate(texts)]
    views = analyze_many(texts)
    expected = fitted.predict_proba(events)

    def read_again(text):
        raise AssertionError(f"read again: {text!r}")

    monkeypatch.setattr(v1_module, "analyze", read_again)
    monkeypatch.setattr(analyze_module, "analyze", read_again)
    np.testing.assert_array_equal(fitted.predict_proba(events, views=views), expected)


def test_prediction_keeps_no_ngram_strings(fitted):
    from drugwatch.models.selling_v3 import _word_ngrams

    _word_ngrams.cache_clear()
    fitted.predict_proba([Event(id="n", text="zyxwvut qponmlk brandnewword selling kush")])
    assert _word_ngrams.cache_info().currsize == 0
