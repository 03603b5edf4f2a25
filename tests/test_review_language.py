"""The selling model's review band and each event's language in scan results, the JSONL/Parquet files and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_selling_v3 import corpus

from drugwatch.models import create_detector
from drugwatch.records import Event
from drugwatch.report.tables import compute_tables
from drugwatch.scan.engine import run_scan
from drugwatch.scan.sinks import read_results
from drugwatch.scoring import EventResult, EventScorer

# Written for these tests: adverts in three languages, everyday posts, and one text too short to tell.
TEXTS = {
    "en": "xanax 2mg bars in stock, wickr: plugdemo7, discreet shipping worldwide",
    "ko": "코카인 팝니다 텔레그램 @demo_plug 로 연락 주세요 빠른 배송",
    "de": "Gras zu verkaufen, 10 Euro das Gramm, schreib mir auf Telegram @demo_gras",
    "plain": "lovely sunset at the beach today with my friends",
    "emoji": "🔥🔥🔥",
}


@pytest.fixture(scope="module")
def selling_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("v3") / "selling"
    create_detector("drugwatch.selling.v3", pool="none", inner_folds=2).fit(corpus()).save(out)
    return out


@pytest.fixture(scope="module")
def v1_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("v1") / "selling"
    create_detector("drugwatch.selling.v1", seed=0).fit(corpus()).save(out)
    return out


def _events() -> list[Event]:
    return [Event(id=key, platform="instagram", text=text) for key, text in TEXTS.items()]


def test_review_flag_is_the_models_band_and_the_header_names_it(selling_dir):
    scorer = EventScorer.from_directories([selling_dir])
    (info,) = scorer.models
    detector = scorer._loaded[0].detector
    assert info.review_threshold == pytest.approx(detector.threshold_review_)
    results = scorer.score(_events())
    p = np.array([[1 - r.selling_probability, r.selling_probability] for r in results])
    assert [r.selling_review for r in results] == detector.needs_review(p).tolist()
    for r in results:
        in_band = info.review_threshold <= r.selling_probability < info.threshold
        assert r.selling_review is in_band
        assert not (r.selling and r.selling_review)


def test_results_of_a_model_without_a_band_keep_their_bytes(v1_dir):
    scorer = EventScorer.from_directories([v1_dir], language="none")
    (info,) = scorer.models
    assert info.review_threshold is None and "review_threshold" not in info.dump()
    for r in scorer.score(_events()):
        assert r.selling_review is None and r.language is None
        line = json.loads(r.to_json())
        assert "selling_review" not in line and "language" not in line
        assert "review_threshold" not in line["models"][0]
        assert EventResult.from_json(r.to_json()) == r


def test_language_policy_decides_which_events_get_one(v1_dir, selling_dir):
    events = _events()
    every = EventScorer.from_directories([selling_dir], language="all").score(events)
    assert {key: r.language for key, r in zip(TEXTS, every)} == {
        "en": "en",
        "ko": "ko",
        "de": "de",
        "plain": "en",
        "emoji": None,
    }
    flagged = EventScorer.from_directories([selling_dir], language="flagged").score(events)
    for r, full in zip(flagged, every):
        covered = bool(r.selling or r.selling_review)
        assert r.language == (full.language if covered else None)
    assert all(r.language is None for r in EventScorer.from_directories([selling_dir], language="none").score(events))
    with pytest.raises(ValueError, match="language must be one of"):
        EventScorer.from_directories([v1_dir], language="some")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_scan_files_carry_review_and_language_and_read_back(tmp_path, selling_dir, suffix):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(e.model_dump_json() + "\n" for e in _events()), encoding="utf-8")
    out = tmp_path / f"out{suffix}"
    run_scan(source, out, model_dirs=[selling_dir], language="all")
    back = list(read_results(out))
    direct = EventScorer.from_directories([selling_dir], language="all").score(_events())
    assert [(r.id, r.selling_review, r.language) for r in back] == [
        (r.id, r.selling_review, r.language) for r in direct
    ]
    if suffix == ".jsonl":
        header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert "review_threshold" in header["models"][0]


def test_a_checkpoint_of_another_language_policy_is_not_resumed(selling_dir):
    a = EventScorer.from_directories([selling_dir], language="flagged").identity()
    b = EventScorer.from_directories([selling_dir], language="all").identity()
    assert a != b and a["models"] == b["models"]


def _result(i: int, *, selling: bool, review: bool | None, language: str | None) -> EventResult:
    return EventResult(
        key=f"instagram:{i}",
        id=str(i),
        platform="instagram",
        kind="post",
        author=f"user{i % 2}",
        text="t",
        normalized_text="t",
        selling_probability=0.9 if selling else 0.1,
        selling=selling,
        selling_review=review,
        language=language,
    )


def test_report_counts_review_events_and_dealer_events_by_language():
    results = [
        _result(0, selling=True, review=False, language="ko"),
        _result(1, selling=True, review=False, language="ko"),
        _result(2, selling=True, review=False, language="en"),
        _result(3, selling=False, review=True, language="en"),
        _result(4, selling=False, review=True, language=None),
        _result(5, selling=False, review=False, language=None),
    ]
    data = compute_tables(lambda: iter(results))
    assert data.n_review == 2 and data.n_selling == 3
    rows = {row[0]: row[1:] for row in data.tables["languages"].rows}
    assert rows == {
        "ko": [2, pytest.approx(2 / 3, abs=1e-3), 0],
        "en": [1, pytest.approx(1 / 3, abs=1e-3), 1],
        "unknown": [0, 0.0, 1],
    }
    assert [row[0] for row in data.tables["languages"].rows] == ["ko", "en", "unknown"]
