"""Account features on hand-made timelines, the dealer-account detector, scoring and Yang & Luo's table 2."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from drugwatch.accounts import AccountDetector, account_features, score_accounts
from drugwatch.accounts.evaluation import cross_annotator_table, cross_validate_accounts, network_recovery
from drugwatch.accounts.features import HOUR_BINS, OUR_FEATURES, YANG_LUO_FEATURES, hour_bin, transaction_terms
from drugwatch.models import Detector, ModelLoadError, SavedModel
from drugwatch.records import Account, Event


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def plug() -> Account:
    """A dealer in UTC-5: three drug posts (two after midnight, one at 20:00 local), one harmless post."""
    timeline = (
        Event(id="p1", author="plug", created_at=t(1, 5, 30), text="xanax bars 2mg 10 for $50, wickr: plugx1 #xanax"),
        Event(id="p2", author="plug", created_at=t(2, 5, 30), text="xanax bars 2mg 20 for $90, wickr: plugx1 #xanax"),
        Event(id="p3", author="plug", created_at=t(3, 1, 0), text="percs 30mg available tonight #percocet"),
        Event(id="p4", author="plug", created_at=t(4, 17, 0), text="nice day at the park #sun"),
        Event(
            id="c1",
            author="plug",
            kind="comment",
            parent_id="x9",
            post_id="x9",
            created_at=t(5, 6, 0),
            text="got those bars again, hit my wickr plugx1",
        ),
    )
    return Account(
        username="plug",
        followers=100,
        following=900,
        bio="menu in dm, cashapp only 🔌",
        timeline=timeline,
        meta={"utc_offset_hours": -5},
        dealer=True,
    )


PLUG_PROBA = [0.9, 0.8, 0.7, 0.1, 0.95]


def test_hour_bins_cover_the_day_once():
    assert [hour_bin(h) for h in range(24)] == [0] * 6 + [1] * 6 + [2] * 6 + [3] * 6
    assert HOUR_BINS[0] == (0, 6) and HOUR_BINS[-1] == (18, 24)
    with pytest.raises(ValueError, match="0..23"):
        hour_bin(24)


def test_yang_luo_features_of_a_hand_made_dealer():
    f = account_features(plug(), PLUG_PROBA)
    v = f.values
    assert set(v) == set(OUR_FEATURES)
    assert v["P"] == pytest.approx(3 / 4)  # 3 drug posts of 4 posts; the comment is not a post
    # local times (UTC-5): p1, p2 00:30 -> H1; p3 20:00 -> H4; p4 is not a drug post
    assert (v["H1"], v["H2"], v["H3"], v["H4"]) == pytest.approx((2 / 4, 0, 0, 1 / 4))
    assert v["H1"] + v["H2"] + v["H3"] + v["H4"] == pytest.approx(v["P"])
    assert v["R1"] == pytest.approx(math.log1p(100))
    assert v["R2"] == pytest.approx(math.log1p(900))
    assert v["R3"] == pytest.approx(math.log1p(9))
    assert v["E"] == 1.0  # "cashapp" in the bio
    assert {"where": "bio", "term": "cashapp"} in f.evidence["transaction_terms"]
    assert f.evidence["timezone"] == "account" and f.evidence["utc_offset_hours"] == -5


def test_time_zone_utc_moves_the_bins():
    v = account_features(plug(), PLUG_PROBA, timezone="utc").values
    # UTC: p1, p2 05:30 -> H1; p3 01:00 -> H1
    assert (v["H1"], v["H4"]) == pytest.approx((3 / 4, 0))


def test_our_features_of_a_hand_made_dealer():
    v = account_features(plug(), PLUG_PROBA).values
    assert v["contact_share"] == pytest.approx(3 / 5)  # p1, p2, c1 show the wickr handle
    assert v["contact_reuse"] == pytest.approx(1.0)  # the same handle in all three
    assert v["bio_contact"] == 1.0  # "cashapp" is a way to pay
    assert v["distinct_drugs"] == 2.0  # xanax, painkiller
    assert v["repeated_adverts"] == pytest.approx(2 / 4)  # p1 ~ p2 among 4 drug events
    assert v["comment_drug_share"] == 1.0
    gaps = np.array([24.0, 19.5, 40.0])
    assert v["regularity"] == pytest.approx(gaps.std() / gaps.mean())
    assert v["mean_drug_proba"] == pytest.approx(np.mean(PLUG_PROBA))


def test_evidence_of_transaction_comes_from_comments_under_drug_posts_only():
    post = Event(id="q1", author="quiet", created_at=t(1, 12), text="fresh batch #weed")
    other = Event(id="q2", author="quiet", created_at=t(2, 12), text="sunday vibes")
    account = Account(username="quiet", followers=10, following=10, timeline=(post, other))
    ask = Event(id="k1", author="buyer", kind="comment", parent_id="q1", post_id="q1", text="price? i got venmo")
    ask_other = Event(id="k2", author="buyer", kind="comment", parent_id="q2", post_id="q2", text="price? venmo")
    assert account_features(account, [0.9, 0.1]).values["E"] == 0.0
    with_ask = account_features(account, [0.9, 0.1], comments_on={post.key: [ask]})
    assert with_ask.values["E"] == 1.0 and with_ask.values["E_count"] == pytest.approx(math.log1p(2))
    assert account_features(account, [0.9, 0.1], comments_on={other.key: [ask_other]}).values["E"] == 0.0
    # the same comment under a post that is not drug-related does not count
    assert account_features(account, [0.2, 0.1], comments_on={post.key: [ask]}).values["E"] == 0.0
    assert account.meta.get("utc_offset_hours") is None
    assert account_features(account, [0.9, 0.1]).evidence["timezone"] == "utc"


def test_unknown_counts_are_nan_and_wrong_lengths_fail():
    account = Account(username="anon", timeline=(Event(id="a1", author="anon", text="hi"),))
    v = account_features(account, [0.1]).values
    assert math.isnan(v["R1"]) and math.isnan(v["R3"]) and math.isnan(v["regularity"])
    with pytest.raises(ValueError, match="one probability per timeline event"):
        account_features(account, [0.1, 0.2])


def test_transaction_terms_undo_disguises():
    assert "cashapp" in transaction_terms("c4shapp only")
    assert transaction_terms("") == []


# ---------------------------------------------------------------------------
# The detector on a small synthetic population


DEALER_TEXTS = [
    "xanax bars 2mg dm wickr {h} #xanax #bars",
    "percs 30 for sale, text {h} #percocet",
    "kush oz $200 snap {h} #weed #kush",
    "lean pints, order on telegram {h} #lean",
]
USER_TEXTS = [
    "smoked some weed last night lol #420",
    "my dog at the beach #dog",
    "coffee and a book #sunday",
    "great game tonight #football",
    "new haircut #selfie",
]


def population(n_dealers: int = 8, n_users: int = 10) -> list[Account]:
    accounts = []
    for d in range(n_dealers):
        events = tuple(
            Event(
                id=f"d{d}e{k}",
                author=f"dealer{d}",
                created_at=t(1 + k, (4 + 7 * k) % 24),
                text=DEALER_TEXTS[(d + k) % 4].format(h=f"plug{d}"),
                labels=("xanax",) if k % 2 == 0 else ("painkiller",),
            )
            for k in range(6)
        ) + (
            Event(id=f"d{d}x", author=f"dealer{d}", created_at=t(10, 15), text="sunny day #sun", labels=("non_drug",)),
        )
        accounts.append(
            Account(
                username=f"dealer{d}",
                followers=50 + d,
                following=800 + 10 * d,
                dealer=True,
                bio="menu in dm, cashapp",
                timeline=events,
            )
        )
    for u in range(n_users):
        events = tuple(
            Event(
                id=f"u{u}e{k}",
                author=f"user{u}",
                created_at=t(1 + k, 14),
                text=USER_TEXTS[(u + k) % 5],
                labels=("non_drug",),
            )
            for k in range(5)
        )
        accounts.append(
            Account(username=f"user{u}", followers=300 + u, following=250, dealer=False, bio="just me", timeline=events)
        )
    return accounts


def test_account_detector_contract(tmp_path: Path):
    accounts = population()
    detector = AccountDetector(features="yang_luo", inner_folds=2)
    assert detector.get_params() == AccountDetector(**detector.get_params()).get_params()
    assert not [k for k in vars(detector) if k.endswith("_")]
    assert detector.fit(accounts) is detector
    proba = detector.predict_proba(accounts)
    assert proba.shape == (len(accounts), 2) and detector.columns == ("not_dealer", "dealer")
    y = np.array([int(a.dealer) for a in accounts])
    assert proba[y == 1, 1].min() > proba[y == 0, 1].max()
    assert (detector.predict(accounts) == y).all()
    assert set(detector.selected_features_) <= set(YANG_LUO_FEATURES)
    again = AccountDetector(features="yang_luo", inner_folds=2).fit(accounts).predict_proba(accounts)
    np.testing.assert_array_equal(proba, again)
    directory = detector.save(tmp_path / "acc", evaluation={"f1": 1.0})
    config = json.loads((directory / "config.json").read_text())
    assert config["registry_name"] == "drugwatch.accounts.v1" and config["task"] == "dealer"
    assert config["training_data"]["n_accounts"] == len(accounts)
    assert (directory / "event-detector" / "config.json").is_file()
    for loader in (SavedModel, AccountDetector):
        np.testing.assert_array_equal(loader.load(directory).predict_proba(accounts), proba)
    with pytest.raises(ModelLoadError, match="not a Detector"):
        Detector.load(directory)
    with pytest.raises(TypeError, match="Iterable over Account objects"):
        detector.predict_proba("dealer0")
    with pytest.raises(TypeError, match="single Account"):
        detector.predict_proba(accounts[0])
    with pytest.raises(ValueError, match="invalid parameter"):
        AccountDetector(model="svm").fit(accounts)
    with pytest.raises(ValueError, match="dealers and other accounts"):
        AccountDetector().fit(accounts[:3])


def test_forest_and_our_features_and_scores(tmp_path: Path):
    accounts = population()
    detector = AccountDetector(features="ours", model="forest", n_estimators=50, inner_folds=0).fit(accounts)
    assert set(detector.coefficients()) == set(OUR_FEATURES)
    scores = score_accounts(accounts, detector.save(tmp_path / "m"))
    assert [s.username for s in scores] == [a.username for a in accounts]
    assert all(s.dealer == (s.probability >= s.threshold) for s in scores)
    assert sum(s.dealer for s in scores) == 8
    first = scores[0].as_dict()
    assert first["model"] == "drugwatch.accounts.v1" and "P" in first["features"]
    assert first["evidence"]["drug_events"]
    with pytest.raises(ModelLoadError, match="not a model directory"):
        score_accounts(accounts, tmp_path / "missing")


def test_cross_validation_shares_folds_across_cells():
    accounts = population(n_dealers=10, n_users=10)
    result = cross_validate_accounts(
        accounts,
        n_splits=5,
        seed=0,
        inner_folds=2,
        cells={
            "yl": {"features": "yang_luo", "model": "logreg"},
            "ours": {"features": "ours", "model": "forest", "n_estimators": 30},
        },
    )
    assert result["n_accounts"] == 20 and sum(result["fold_sizes"]) == 20
    assert result["fold_dealers"] == [2, 2, 2, 2, 2]
    for cell in result["cells"].values():
        assert len(cell["per_fold"]) == 5 and not np.isnan(cell["oof_proba"]).any()
        assert cell["pooled"]["f1"] == 1.0


def test_cross_annotator_table_scores_each_against_the_other():
    accounts = population(n_dealers=2, n_users=3)
    a = [1, 1, 0, 0, 0]
    b = [1, 0, 0, 0, 1]
    rows = cross_annotator_table(
        accounts, a, b, names=("A", "B"), model_predictions={"A": [1, 1, 0, 0, 0], "B": [1, 0, 0, 0, 0]}
    )
    table = {(r["truth"], r["scored"]): r for r in rows}
    assert table[("A", "model")]["f1"] == 1.0
    # B against truth A: tp 1, fp 1, fn 1
    assert table[("A", "B")]["precision"] == 0.5 and table[("A", "B")]["recall"] == 0.5
    # model against truth B: precision 1, recall 1/2
    assert table[("B", "model")]["precision"] == 1.0 and table[("B", "model")]["recall"] == 0.5
    assert table[("B", "A")]["precision"] == 0.5
    assert rows[0]["annotator_agreement"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="one label per account"):
        cross_annotator_table(accounts, a[:2], b)


def test_network_recovery_pairwise_and_rand():
    perfect = network_recovery([{"a", "b"}, {"c", "d", "e"}], [{"a", "b"}, {"c", "d", "e"}], "abcdefg")
    assert perfect["pair_f1"] == 1.0 and perfect["adjusted_rand"] == 1.0
    partial = network_recovery([{"a", "b", "c"}], [{"a", "b"}, {"c", "d"}], "abcdefg")
    # predicted pairs ab, ac, bc; true pairs ab, cd
    assert partial["pair_precision"] == pytest.approx(1 / 3) and partial["pair_recall"] == pytest.approx(1 / 2)
    assert partial["adjusted_rand"] < 1.0


# ---------------------------------------------------------------------------
# Store and command line


def test_cli_train_score_link_store_results(tmp_path: Path):
    from typer.testing import CliRunner

    from drugwatch.accounts.service import latest_networks, latest_scores
    from drugwatch.cli import app
    from drugwatch.demo.generator import generate_demo
    from drugwatch.store import Store

    corpus = generate_demo(seed=3, n_accounts=30, images=False)
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with Store(db) as store:
        store.upsert([*corpus.accounts, *corpus.events])
    runner = CliRunner()
    model = tmp_path / "model"
    trained = runner.invoke(
        app, ["accounts", "train", "--db", db, "--output", str(model), "--event-target", "mentions", "--folds", "2"]
    )
    assert trained.exit_code == 0, trained.output
    assert "trained on 30 accounts" in trained.output and (model / "config.json").is_file()
    assert "cv2_f1" in json.loads((model / "config.json").read_text())["evaluation"]
    scored = runner.invoke(app, ["accounts", "score", "--db", db, "--model", str(model)])
    assert scored.exit_code == 0, scored.output
    linked = runner.invoke(app, ["accounts", "link", "--db", db, "--dealers-only"])
    assert linked.exit_code == 0, linked.output
    with Store(db) as store:
        scores = latest_scores(store)
        networks = latest_networks(store)
    assert len(scores) == 30
    flagged = {k for k, row in scores.items() if row["dealer"]}
    truth = {a.key for a in corpus.accounts if a.dealer}
    assert len(flagged & truth) >= len(truth) - 1 and len(flagged - truth) <= 1
    assert all(set(n["accounts"]) <= flagged for n in networks)
    assert all(n["evidence"] and n["size"] >= 2 for n in networks)
    missing = runner.invoke(app, ["accounts", "score", "--db", db, "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a model directory" in missing.output


def test_score_and_link_runs_are_stored(store_url: str, tmp_path: Path):
    from drugwatch.accounts.service import latest_networks, latest_scores, link_store, load_accounts, score_store
    from drugwatch.store import Store

    accounts = population(n_dealers=4, n_users=4)
    # two dealers share a phone number; all four post near-duplicate adverts (one template)
    shared = Event(id="ph1", author="dealer0", text="call +1 555 010 7788", created_at=t(20, 3))
    shared2 = Event(id="ph2", author="dealer1", text="text +1-555-010-7788", created_at=t(20, 4))
    model = AccountDetector(inner_folds=0).fit(accounts).save(tmp_path / "m")
    with Store(store_url) as store:
        store.upsert([a.model_copy(update={"timeline": ()}) for a in accounts])
        store.upsert([e for a in accounts for e in a.timeline] + [shared, shared2])
        loaded, comments = load_accounts(store)
        assert len(loaded) == 8 and sum(len(a.timeline) for a in loaded) == 4 * 7 + 4 * 5 + 2
        with pytest.raises(ValueError, match="run `drugwatch accounts score` first"):
            link_store(store, dealers_only=True)
        run = score_store(store, model)
        assert run.n_dealers == 4 and len(run.scores) == 8
        linked = link_store(store, dealers_only=True)
        assert [n.accounts for n in linked.result.networks] == [tuple(f"instagram:dealer{d}" for d in range(4))]
        assert {e.type for e in linked.result.networks[0].evidence} == {"contact", "near_duplicate"}
        again = score_store(store, model, threshold=0.99)
        scores = latest_scores(store)
        networks = latest_networks(store)
    assert again.run_id > run.run_id and all(row["run_id"] == again.run_id for row in scores.values())
    assert scores["instagram:dealer0"]["threshold"] == 0.99
    assert (
        networks[0]["contacts"] == ["phone:+15550107788"]
        and networks[0]["summary"] == "4 accounts linked by contact and near-duplicate"
    )


def test_cross_fitting_keeps_groups_apart():
    from drugwatch.accounts.detector import cross_fit_proba, fit_event_detector, timeline_proba

    accounts = population(n_dealers=4, n_users=4)
    y = np.array([int(a.dealer) for a in accounts])
    groups = ["A" if i % 2 == 0 else "B" for i in range(len(accounts))]
    proba = cross_fit_proba(
        accounts, y, name="drugwatch.yang_luo_text.v1", params=None, target="is_drug", folds=2, seed=0, groups=groups
    )
    for held_out in ("A", "B"):
        train = [a for a, g in zip(accounts, groups) if g != held_out]
        test = [i for i, g in enumerate(groups) if g == held_out]
        expected = timeline_proba(
            fit_event_detector(train, "drugwatch.yang_luo_text.v1", None, "is_drug"), [accounts[i] for i in test]
        )
        for i, p in zip(test, expected):
            np.testing.assert_allclose(proba[i], p)
