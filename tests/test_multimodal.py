"""Multimodal drug-type detectors (DMML): image-only, concat / FBC late fusion, MMBT.

A tiny corpus of demo-drawn images (pills, leaves, syrup, powder and drug-free
scenes) plus text-only events; image features are computed once per module
into a shared cache (every test re-uses it, as repeated fits do in practice).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drugwatch.demo.images import render
from drugwatch.labels import LABELS
from drugwatch.models import Detector, ModelLoadError, create_detector
from drugwatch.records import Event, ImageRef, sha256_bytes

# (scene, drug drawn, labels, text): texts are vague on purpose, images carry the drug.
SPEC = [
    ("pills", "xanax", ("xanax",), "dm for the menu"),
    ("pills", "xanax", ("xanax",), "fresh batch today"),
    ("leaf", "marijuana", ("marijuana",), "top shelf only"),
    ("leaf", "marijuana", ("marijuana",), "loud pack dm"),
    ("syrup", "codeine", ("codeine",), "sipping slow dm"),
    ("syrup", "codeine", ("codeine",), "pints available"),
    ("powder", "cocaine", ("cocaine",), "pure white snow"),
    ("powder", "cocaine", ("cocaine",), "best in town"),
    ("sunset", None, ("non_drug",), "what a view tonight"),
    ("food", None, ("non_drug",), "brunch with friends"),
    ("dog", None, ("non_drug",), "my good boy"),
    (None, None, ("non_drug",), "happy birthday bro"),
    (None, None, ("marijuana",), "got weed? dm me"),
]

IMAGE_ONLY = "drugwatch.image_only.v1"
CONCAT = "drugwatch.fusion_concat.v1"
FBC = "drugwatch.fusion_fbc.v1"
MMBT = "drugwatch.mmbt.v1"
ALL = [IMAGE_ONLY, CONCAT, FBC, MMBT]

TINY = {
    IMAGE_ONLY: dict(hidden=8, epochs=2, validation_fraction=0.0, num_threads=1),
    CONCAT: dict(hidden=8, epochs=2, max_len=16, validation_fraction=0.0, num_threads=1),
    FBC: dict(atoms=8, rank=2, epochs=2, max_len=16, validation_fraction=0.0, num_threads=1),
    MMBT: dict(n_image_tokens=1, max_len=12, epochs=1, batch_size=8, validation_fraction=0.0, num_threads=1),
}
OVERFIT = {
    IMAGE_ONLY: dict(
        hidden=32, dropout=0.0, epochs=150, lr=1e-2, batch_size=16, validation_fraction=0.0, num_threads=1
    ),
    CONCAT: dict(
        hidden=32, dropout=0.0, epochs=150, lr=1e-2, batch_size=16, max_len=16, validation_fraction=0.0, num_threads=1
    ),
    FBC: dict(
        atoms=64,
        rank=2,
        shrink=0.0,
        dropout=0.0,
        epochs=300,
        lr=1e-2,
        batch_size=16,
        max_len=16,
        validation_fraction=0.0,
        num_threads=1,
    ),
    MMBT: dict(
        n_image_tokens=4,
        max_len=12,
        epochs=25,
        batch_size=16,
        lr=1e-4,
        head_lr=3e-3,
        dropout=0.0,
        validation_fraction=0.0,
        num_threads=1,
    ),
}


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multimodal-home")


@pytest.fixture(autouse=True)
def _shared_feature_cache(_isolated_home: Path, shared_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One feature cache for the module: each image is encoded once, not once per test.
    monkeypatch.setenv("DRUGWATCH_HOME", str(shared_home))


@pytest.fixture(scope="module")
def events(shared_home: Path) -> list[Event]:
    folder = shared_home / "images"
    folder.mkdir(exist_ok=True)
    out = []
    for i, (scene, drug, labels, text) in enumerate(SPEC):
        images: tuple[ImageRef, ...] = ()
        if scene is not None:
            data = render(scene, f"test-multimodal:{i}", drug=drug)
            path = folder / f"{i}.jpg"
            path.write_bytes(data)
            images = (ImageRef(path=str(path), sha256=sha256_bytes(data)),)
        out.append(Event(id=f"e{i}", text=text, images=images, labels=labels, meta={"group": f"g{i}"}))
    return out


def targets(events: list[Event]) -> np.ndarray:
    y = np.zeros((len(events), len(LABELS)), dtype=np.int64)
    for i, e in enumerate(events):
        for name in e.labels:
            y[i, LABELS.index(name)] = 1
    return y


@pytest.mark.parametrize("name", ALL)
def test_contract(name: str, events: list[Event], tmp_path: Path) -> None:
    detector = create_detector(name, **TINY[name])
    assert detector.task == "drugtype"
    assert detector.fit(events) is detector
    proba = detector.predict_proba(events)
    assert proba.shape == (len(events), len(LABELS))
    assert np.all((proba >= 0) & (proba <= 1))
    pred = detector.predict(events)
    assert pred.shape == proba.shape and pred.sum(1).min() >= 1

    # Text-only events (no image at all) and raw strings work everywhere.
    text_only = detector.predict_proba(["xanax bars dm", "nice sunset"])
    assert text_only.shape == (2, len(LABELS))

    again = create_detector(name, **TINY[name]).fit(events)
    np.testing.assert_allclose(again.predict_proba(events), proba, atol=1e-6)

    model_dir = detector.save(tmp_path / "model")
    config = json.loads((model_dir / "config.json").read_text())
    assert config["registry_name"] == name and config["labels"] == list(LABELS)
    assert (model_dir / "README.md").is_file()
    loaded = Detector.load(model_dir)
    assert type(loaded) is type(detector)
    np.testing.assert_allclose(loaded.predict_proba(events), proba, atol=1e-6)

    with pytest.raises(TypeError, match="Iterable over Event objects or raw text strings expected"):
        detector.predict_proba("xanax bars")


@pytest.mark.parametrize("name", [IMAGE_ONLY, CONCAT, FBC, pytest.param(MMBT, marks=pytest.mark.slow)])
def test_overfit(name: str, events: list[Event]) -> None:
    if name == IMAGE_ONLY:
        # Two text-only events with different labels look the same to an image-only model.
        events = [e for e in events if e.id != "e12"]
    detector = create_detector(name, **OVERFIT[name]).fit(events)
    np.testing.assert_array_equal(detector.predict(events), targets(events))


def test_image_only_learns_from_images_not_text(events: list[Event]) -> None:
    with_images = [e for e in events if e.images]
    detector = create_detector(IMAGE_ONLY, **OVERFIT[IMAGE_ONLY]).fit(with_images)
    # Same images, other texts: the image-only model must not care.
    swapped = [e.model_copy(update={"text": "completely unrelated words"}) for e in with_images]
    np.testing.assert_allclose(detector.predict_proba(swapped), detector.predict_proba(with_images), atol=1e-6)
    np.testing.assert_array_equal(detector.predict(swapped), targets(with_images))


def test_repeated_fits_read_the_feature_cache(events: list[Event]) -> None:
    from drugwatch.models import image_only

    create_detector(IMAGE_ONLY, **TINY[IMAGE_ONLY]).fit(events)
    encoder = image_only._encoder(32, 1)
    before = encoder.images_encoded
    create_detector(IMAGE_ONLY, **TINY[IMAGE_ONLY]).fit(events)
    assert encoder.images_encoded == before


def test_missing_image_file_is_masked_not_fatal(events: list[Event], tmp_path: Path) -> None:
    detector = create_detector(CONCAT, **TINY[CONCAT]).fit(events)
    gone = Event(id="gone", text="dm for the menu", images=(ImageRef(path=str(tmp_path / "nope.jpg")),))
    no_image = Event(id="none", text="dm for the menu")
    np.testing.assert_allclose(detector.predict_proba([gone]), detector.predict_proba([no_image]), atol=1e-6)


def test_mmbt_masks_image_tokens_of_events_without_images(events: list[Event]) -> None:
    detector = create_detector(MMBT, **TINY[MMBT]).fit(events)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(2, 1, 1280)).astype(np.float32)
    masked = detector.predict_proba_arrays(events[:2], noise, np.array([False, False]))
    zeros = detector.predict_proba_arrays(events[:2], np.zeros_like(noise), np.array([False, False]))
    np.testing.assert_allclose(masked, zeros, atol=1e-6)
    shown = detector.predict_proba_arrays(events[:2], noise * 5, np.array([True, True]))
    assert np.abs(shown - zeros).max() > 1e-6


def test_mmbt_sequence_layout(events: list[Event]) -> None:
    import torch

    detector = create_detector(MMBT, **TINY[MMBT], pooling="cls").fit(events[:4])
    net = detector.network_
    seen = {}
    original = net.encoder.forward

    def spy(**kwargs):
        seen.update(kwargs)
        return original(**kwargs)

    net.encoder.forward = spy
    tokens = np.zeros((1, 1, 1280), dtype=np.float32)
    detector.predict_proba_arrays([events[0]], tokens, np.array([True]))
    ids = detector._text_inputs([events[0].text])["input_ids"][0]
    n_text = len(ids)
    assert seen["inputs_embeds"].shape[1] == 1 + 1 + 1 + n_text  # [CLS] img [SEP] text [SEP]
    assert seen["token_type_ids"][0].tolist() == [0, 0, 0] + [1] * n_text
    assert torch.equal(seen["position_ids"][0], torch.arange(3 + n_text))
    assert int(ids[-1]) == detector._tokenizer().sep_token_id


def test_parameters_are_checked_at_fit(events: list[Event]) -> None:
    with pytest.raises(ValueError, match="'n_image_tokens' must be one of 1, 4, 9"):
        create_detector(MMBT, n_image_tokens=3).fit(events)
    with pytest.raises(ValueError, match="'freeze_encoder' must be of type bool"):
        create_detector(MMBT, freeze_encoder="yes").fit(events)


def test_load_refuses_another_detector(events: list[Event], tmp_path: Path) -> None:
    from drugwatch.models.fusion import FBCFusionDetector

    create_detector(CONCAT, **TINY[CONCAT]).fit(events).save(tmp_path / "m")
    with pytest.raises(ModelLoadError, match="drugwatch.fusion_concat.v1"):
        FBCFusionDetector.load(tmp_path / "m")


@pytest.mark.parametrize("name", [IMAGE_ONLY, CONCAT, FBC])
def test_onnx_head_matches_pytorch(name: str, events: list[Event], tmp_path: Path) -> None:
    from drugwatch.models.image_only import OnnxHead, export_head_onnx

    detector = create_detector(name, **TINY[name]).fit(events)
    path = export_head_onnx(detector, tmp_path / "head.onnx")
    head = OnnxHead(path)
    onnx_proba = head.predict_proba_features(detector.feature_arrays(events))
    np.testing.assert_allclose(onnx_proba, detector.predict_proba(events), atol=1e-5)


@pytest.mark.slow
def test_mmbt_onnx_export_matches_pytorch(events: list[Event], tmp_path: Path) -> None:
    from drugwatch.models.onnx_text import OnnxMMBTDetector, OnnxTextDetector, export_onnx, quantize_int8

    detector = create_detector(MMBT, **{**TINY[MMBT], "n_image_tokens": 4}).fit(events)
    path = export_onnx(detector.save(tmp_path / "model"), tmp_path / "onnx")
    reference = detector.predict_proba(events)  # images, drug-free scenes and one event without an image
    runner = OnnxMMBTDetector(path, num_threads=1)
    np.testing.assert_allclose(runner.predict_proba(events), reference, atol=1e-5)
    np.testing.assert_array_equal(runner.predict(events), detector.predict(events))
    # the image tokens matter: the same texts with the images masked out score differently
    feats = np.random.default_rng(0).normal(size=(len(events), 4, 1280)).astype(np.float32)
    shown = runner.predict_proba_arrays(events, feats * 5, np.ones(len(events), dtype=bool))
    hidden = runner.predict_proba_arrays(events, feats * 5, np.zeros(len(events), dtype=bool))
    np.testing.assert_allclose(
        hidden, detector.predict_proba_arrays(events, feats * 5, np.zeros(len(events), bool)), atol=1e-5
    )
    assert np.abs(shown - hidden).max() > 1e-4
    int8 = OnnxMMBTDetector(quantize_int8(path), num_threads=1)
    diff = np.abs(int8.predict_proba(events) - reference)
    assert diff.max() < 0.1, diff.max()
    with pytest.raises(ValueError, match="OnnxMMBTDetector"):
        OnnxTextDetector(path)
