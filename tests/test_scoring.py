"""EventScorer: loads saved detectors once, scores events into JSON-serializable results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drugwatch.demo import generate_demo
from drugwatch.labels import LABELS
from drugwatch.models.base import ModelLoadError
from drugwatch.records import Event
from drugwatch.scoring import (
    DEFAULT_DETECTORS,
    EventResult,
    EventScorer,
    buy_intent,
    default_models_dir,
    train_default_detectors,
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    corpus = generate_demo(seed=5, n_accounts=14, images=False)
    return train_default_detectors(corpus.events, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def scorer(models: dict[str, Path]) -> EventScorer:
    return EventScorer.from_directories(models.values())


ADVERT = Event(
    id="a1",
    text="x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax #plugnation",
    author="plug",
    created_at="2024-05-01T13:45:00Z",
)
PLAIN = Event(id="p1", text="sunset at the lake #travel", author="friend", hashtags=["travel", "nofilter"])


def test_train_default_detectors_writes_both_model_directories(models: dict[str, Path]) -> None:
    assert set(models) == set(DEFAULT_DETECTORS)
    for task, path in models.items():
        config = json.loads((path / "config.json").read_text())
        assert config["registry_name"] == DEFAULT_DETECTORS[task]
        assert (path / "README.md").is_file()


def test_result_carries_scores_text_layer_and_model_ids(scorer: EventScorer) -> None:
    advert, plain = scorer.score([ADVERT, PLAIN])
    assert advert.key == "instagram:a1" and advert.author == "plug"
    assert 0.0 <= advert.selling_probability <= 1.0
    assert advert.selling == (advert.selling_probability >= scorer.models[0].threshold)
    assert list(advert.drug_probabilities) == list(LABELS)
    assert "xanax" in advert.lexicon_labels
    assert "xanax" in advert.normalized_text
    assert any(c.app == "wickr" and c.value == "demo_plug7" for c in advert.contacts)
    tags = {t.tag: t for t in advert.hashtags}
    assert (
        tags["2mgxanax"].start is not None and ADVERT.text[tags["2mgxanax"].start : tags["2mgxanax"].end] == "#2mgxanax"
    )
    hit = next(h for h in advert.lexicon_hits if h.label == "xanax")
    assert ADVERT.text[hit.start : hit.end]  # spans index the raw text
    assert [m.name for m in advert.models] == [DEFAULT_DETECTORS["selling"], DEFAULT_DETECTORS["drugtype"]]
    assert [m.version for m in advert.models] == [
        int(DEFAULT_DETECTORS[t].rsplit(".v", 1)[1]) for t in ("selling", "drugtype")
    ]
    assert all(len(m.fingerprint) == 64 for m in advert.models)
    # A tag listed only in event.hashtags is kept, without a span.
    assert {t.tag: t.start for t in plain.hashtags} == {"travel": 19, "nofilter": None}
    assert plain.selling is False and plain.contacts == ()


def test_results_do_not_depend_on_the_batch(scorer: EventScorer) -> None:
    events = generate_demo(seed=9, n_accounts=8, images=False).events[:60]
    together = [r.to_json() for r in scorer.score(events)]
    apart = [r.to_json() for e in events for r in scorer.score([e])]
    assert together == apart


def test_json_round_trip(scorer: EventScorer) -> None:
    result = scorer.score([ADVERT])[0]
    line = result.to_json()
    assert EventResult.from_json(line) == result
    assert json.loads(line)["models"][0]["name"] == DEFAULT_DETECTORS["selling"]


def test_default_location_and_clear_errors(models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="run `drugwatch demo`"):
        EventScorer.default(tmp_path / "empty")
    assert default_models_dir().name == "models"
    assert [m.name for m in EventScorer.default(models["selling"].parent).models] == list(DEFAULT_DETECTORS.values())
    selling = EventScorer.from_directories([models["selling"]])
    with pytest.raises(ValueError, match="at most one selling"):
        EventScorer([selling._loaded[0].detector, selling._loaded[0].detector])
    with pytest.raises(TypeError, match="Event objects"):
        selling.score(["a bare string"])  # type: ignore[list-item]
    assert selling.score([ADVERT])[0].drug_probabilities is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where can i get some bars?", True),
        ("how much for an 8th", True),
        ("wtb carts", True),
        ("do you ship to texas?", True),
        ("fresh bars in stock, wickr me", False),
        ("lovely sunset", False),
    ],
)
def test_buy_intent(text: str, expected: bool) -> None:
    assert buy_intent(text) is expected


def test_training_needs_labels() -> None:
    with pytest.raises(ValueError, match="no detector could be trained"):
        train_default_detectors([Event(id="1", text="hello")], None)


@pytest.mark.slow
def test_ocr_adds_the_contacts_written_on_images(models: dict[str, Path], tmp_path: Path) -> None:
    from drugwatch.demo.images import render
    from drugwatch.records import ImageRef, sha256_bytes
    from drugwatch.vision.ocr import OcrEngine, OcrUnavailableError

    image = tmp_path / "note.jpg"
    image.write_bytes(render("contact_note", "note-1", text="telegram: @demo_kamun"))
    event = Event(
        id="n1",
        text="dm for the menu #menu",
        images=[ImageRef(path=str(image), sha256=sha256_bytes(image.read_bytes()))],
    )
    try:
        scorer = EventScorer.from_directories(models.values(), ocr=OcrEngine(cache_dir=tmp_path / "ocr").load())
    except OcrUnavailableError as exc:
        pytest.skip(f"OCR models unavailable: {exc}")
    result = scorer.score([event])[0]
    assert "demo_kamun" in (result.ocr_text or "")
    found = [c for c in result.contacts if c.source == "image"]
    assert found and found[0].value == "demo_kamun" and found[0].image_index == 0
    assert found[0].image_sha256 == event.images[0].sha256
    assert all(c.source == "text" for c in EventScorer.from_directories(models.values()).score([event])[0].contacts)
