"""Leave-one-source-family-out evaluation (drugwatch.evaluation.lofo) and its [lofo] config section."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.evaluation.experiment import ConfigError, load_config
from drugwatch.evaluation.lofo import family_of, load_universe, render_lofo_table, run_lofo, subsample
from drugwatch.models.base import Detector, InstanceOf
from drugwatch.records import Event


def _event(i: int, text: str, selling: bool, source: str, platform: str = "twitter", subsource: str | None = None):
    return Event(
        id=f"e{i}",
        text=text,
        selling=selling,
        platform=platform,
        meta={"source": source, "subsource": subsource or source, "group": f"g{i}"},
    )


class KeywordDetector(Detector):
    """Says "selling" when a text holds a word seen only in positive training texts."""

    task: ClassVar[str] = "selling"
    _parameter_constraints = {"pool": [InstanceOf((str,))]}
    #: ids of every event each instance was fitted on, and the pool it was fitted with
    fitted: ClassVar[list[tuple[set[str], str]]] = []

    def __init__(self, *, pool: str = "kit"):
        self.pool = pool

    def _fit(self, events, y):
        pos = {w for e, t in zip(events, y) if t for w in e.text.split()}
        neg = {w for e, t in zip(events, y) if not t for w in e.text.split()}
        self.words_ = pos - neg
        KeywordDetector.fitted.append(({e.id for e in events}, self.pool))

    def _predict_proba(self, events):
        return np.array([float(bool(self.words_ & set(e.text.split()))) for e in events])


def _universe() -> tuple[list[Event], np.ndarray]:
    events = []
    for i in range(6):
        events.append(_event(i, f"sell mdma dm {i}", True, "pip_twitter", subsource="pip_gt_drug"))
        events.append(_event(10 + i, f"nice day {i}", False, "pip_twitter", subsource="pip_label0"))
        events.append(_event(20 + i, f"sell mdma listing {i}", True, "dnm2017", platform="darknet_market"))
        events.append(_event(30 + i, f"sell ebook listing {i}", False, "agora2014", platform="darknet_market"))
        events.append(_event(40 + i, f"sms hello {i}", False, "sms_spam_collection", platform="sms"))
    return events, np.array([int(e.selling) for e in events])


def test_families_by_source_and_by_platform():
    tweet = _event(1, "x", False, "airline_tweets")
    listing = _event(2, "x", True, "agora2014", platform="darknet_market")
    assert family_of(tweet) == "other_tweets"
    assert family_of(listing) == "darknet_listings"
    assert family_of(_event(3, "x", False, "drug_talk_tweets")) == "drug_talk_tweets"
    assert family_of(tweet, "platform") == "tweets"
    assert family_of(_event(4, "x", False, "pip_twitter"), "platform") == "tweets"
    assert family_of(_event(5, "x", False, "somewhere_new")) == "other:somewhere_new"
    with pytest.raises(ValueError, match="unknown family scheme"):
        family_of(tweet, "language")


def test_each_family_is_held_out_and_never_trained_on():
    KeywordDetector.fitted.clear()
    events, y = _universe()
    result = run_lofo({"kw": KeywordDetector}, events, y, by_language=False)
    fams = {e.id: family_of(e) for e in events}
    per_family = result["columns"]["kw"]["per_family"]
    assert set(per_family) == {"pip_tweets", "darknet_listings", "sms"}
    assert len(KeywordDetector.fitted) == 3
    for (trained, pool), family in zip(KeywordDetector.fitted, sorted(per_family)):
        assert {fams[i] for i in trained} == set(per_family) - {family}
        assert pool == "none"  # a detector's own pool is turned off: the universe holds the listings
    # "mdma" is a positive word in both families with positives, so each is found from the other
    assert per_family["pip_tweets"]["recall"] == 1.0
    assert per_family["darknet_listings"]["recall"] == 1.0
    # ... but "sell" also starts the darknet listings of other goods: all six are false positives
    assert per_family["darknet_listings"]["fp"] == 6
    assert per_family["darknet_listings"]["precision"] == pytest.approx(0.5)
    assert per_family["sms"]["fpr"] == 0.0 and per_family["sms"]["tp"] == 0
    # the macro average covers the families with positives only
    f1s = [per_family[f]["f1"] for f in ("pip_tweets", "darknet_listings")]
    assert result["columns"]["kw"]["macro_f1"] == pytest.approx(np.mean(f1s))
    assert result["columns"]["kw"]["min_f1"] == pytest.approx(min(f1s))
    assert per_family["darknet_listings"]["fpr_by_subsource"]["agora2014"]["false_positives"] == 6


def test_chosen_families_only_and_unknown_family_refused():
    events, y = _universe()
    result = run_lofo({"kw": KeywordDetector}, events, y, families=["sms"], by_language=False)
    assert list(result["columns"]["kw"]["per_family"]) == ["sms"]
    with pytest.raises(ValueError, match="no events in family"):
        run_lofo({"kw": KeywordDetector}, events, y, families=["reddit_comments"], by_language=False)


def test_a_family_whose_complement_has_one_class_is_skipped():
    events, y = _universe()
    keep = [i for i, e in enumerate(events) if family_of(e) != "darknet_listings"]
    events, y = [events[i] for i in keep], y[keep]
    result = run_lofo({"kw": KeywordDetector}, events, y, by_language=False)
    assert "skipped" in result["columns"]["kw"]["per_family"]["pip_tweets"]
    assert result["columns"]["kw"]["macro_f1"] is None


def test_per_language_breakdown():
    events, y = _universe()
    result = run_lofo({"kw": KeywordDetector}, events, y, families=["pip_tweets"], by_language=True)
    by_language = result["columns"]["kw"]["per_family"]["pip_tweets"]["by_language"]
    assert sum(row["n"] for row in by_language.values()) == 12
    assert sum(row["positives"] for row in by_language.values()) == 6


def test_table_lists_families_and_macro_row():
    events, y = _universe()
    result = run_lofo({"kw": KeywordDetector}, events, y, by_language=False)
    table = render_lofo_table(result, {"n_events": 30, "n_positive": 12, "n_posts": 18, "n_listings": 12})
    assert "| pip_tweets | 12 (6) |" in table
    assert "**macro F1**" in table
    assert "| sms | 6 | 0.0 (0) |" in table
    # each fit's threshold, and how far it moves between the fits
    assert "| **spread** | 0.000 |" in table


def test_threshold_of_each_fit_and_its_spread_are_reported():
    class MovingThreshold(KeywordDetector):
        """KeywordDetector whose threshold depends on how many events it was trained on."""

        def _fit(self, events, y):
            super()._fit(events, y)
            self.threshold_ = len(events) / 100

    events, y = _universe()
    result = run_lofo({"kw": MovingThreshold}, events, y, by_language=False)
    column = result["columns"]["kw"]
    thresholds = {f: m["threshold"] for f, m in column["per_family"].items()}
    assert thresholds == {
        "darknet_listings": pytest.approx(0.18),
        "pip_tweets": pytest.approx(0.18),
        "sms": pytest.approx(0.24),
    }
    assert column["threshold_spread"] == pytest.approx(0.06)


def test_subsample_keeps_every_positive_and_is_deterministic():
    events, _ = _universe()
    half = subsample(events, 0.5, seed=1)
    assert [e.id for e in half] == [e.id for e in subsample(events, 0.5, seed=1)]
    assert all(e in half for e in events if e.selling)
    assert len([e for e in half if not e.selling]) < len([e for e in events if not e.selling])
    with pytest.raises(ValueError):
        subsample(events, 0.0)


def _bench_line(i: int, text: str, selling: bool, source: str, platform: str, task: str) -> str:
    return json.dumps(
        {
            "id": f"{task}:{source}:{i:012x}",
            "task": task,
            "source": source,
            "platform": platform,
            "text": text,
            "author": None,
            "created_at": None,
            "labels": (["marijuana"] if selling else ["non_drug"]) if task == "drugtype" else None,
            "selling": selling,
            "group": f"g{task}{i}",
            "meta": {"subsource": source},
        }
    )


@pytest.fixture()
def kit(tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    strains = ["kush", "haze", "gelato", "runtz", "zkittlez", "cookies"]
    apps = ["wickr", "telegram", "snap", "signal", "whatsapp", "kik"]
    posts = [
        _bench_line(i, f"{s} for sale, {i + 1} oz left, {a} me", True, "pip_twitter", "twitter", "selling")
        for i, (s, a) in enumerate(zip(strains, apps))
    ]
    moods = [
        "flight delayed again",
        "lost my bag in denver",
        "great crew on the red eye",
        "seat was broken",
        "lounge coffee was cold",
        "landed early for once",
    ]
    posts += [_bench_line(100 + i, m, False, "airline_tweets", "twitter", "selling") for i, m in enumerate(moods)]
    posts.append(_bench_line(200, "flight delayed again", False, "airline_tweets", "twitter", "selling"))
    (dev / "selling.jsonl").write_text("\n".join(posts) + "\n", encoding="utf-8")
    drugs = ["weed", "mdma", "lsd", "xanax", "cocaine", "ketamine", "oxycodone", "mushrooms"]
    goods = ["netflix", "passport", "ebook", "paypal", "spotify", "vpn", "fake id", "malware"]
    listings = [
        _bench_line(i, f"{d} {i + 1} units stealth", True, "dnm2017", "darknet_market", "drugtype")
        for i, d in enumerate(drugs)
    ]
    listings += [
        _bench_line(50 + i, f"{g} lifetime offer", False, "agora2014", "darknet_market", "drugtype")
        for i, g in enumerate(goods)
    ]
    (dev / "drugtype.jsonl").write_text("\n".join(listings) + "\n", encoding="utf-8")
    return tmp_path


def test_load_universe_caps_listings_and_removes_duplicates(kit):
    events, y, info = load_universe(kit / "dev" / "selling.jsonl", kit / "dev" / "drugtype.jsonl", darknet_max=5)
    assert info["n_listings"] == 5
    assert info["dedup"]["n_removed"] == 1  # the repeated "flight delayed again"
    assert len(events) == len(y) == info["n_events"] == 13 + 5 - info["dedup"]["n_removed"]
    assert sum(e.platform == "darknet_market" for e in events) == 5
    again, _, _ = load_universe(kit / "dev" / "selling.jsonl", kit / "dev" / "drugtype.jsonl", darknet_max=5)
    assert [e.id for e in again] == [e.id for e in events]


CONFIG = """
[experiment]
name = "tiny_lofo"

[data]
path = "dev/selling.jsonl"
dedup_threshold = 0.7

[cv]
n_splits = 2

[lofo]
enabled = true
darknet_max = 16

[columns.lr]
detector = "drugwatch.tfidf_lr.v1"
title = "tf-idf + LR"
"""


def test_evaluate_runs_lofo_when_the_config_asks(kit):
    config = kit / "tiny.toml"
    config.write_text(CONFIG)
    out = kit / "run"
    result = CliRunner().invoke(app, ["evaluate", str(config), "--output", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    lofo = json.loads((out / "lofo.json").read_text())
    assert set(lofo["columns"]["tf-idf + LR"]["per_family"]) == {"pip_tweets", "other_tweets", "darknet_listings"}
    assert "macro F1" in (out / "lofo.md").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert "macro_f1" in metrics["lofo"]["tf-idf + LR"]


def test_lofo_section_is_validated(kit):
    config = kit / "tiny.toml"
    config.write_text(CONFIG.replace("darknet_max = 16", "darknet_max = 16\nwhatever = 1"))
    with pytest.raises(ConfigError, match="whatever"):
        load_config(config)
    config.write_text(CONFIG.replace("enabled = true", 'enabled = true\nscheme = "language"'))
    with pytest.raises(ConfigError, match="scheme"):
        load_config(config)


def _bench_lofo():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lofo.py"
    spec = importlib.util.spec_from_file_location("bench_lofo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_lofo_passes_detector_parameters(capsys):
    bench = _bench_lofo()
    assert bench.parse_params(["offer_gate=true", "target_fpr=0.001", "pool=kit"]) == {
        "offer_gate": True,
        "target_fpr": 0.001,
        "pool": "kit",
    }
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        bench.parse_params(["offer_gate"])
    # a parameter no chosen detector takes is refused before any data is read
    assert bench.main(["--only", "drugwatch.selling.v1", "--param", "offer_gate=true"]) == 2
    assert "takes all of ['offer_gate']" in capsys.readouterr().err
