"""The image side: encoder, cache, missing images, OCR, contacts from images, ONNX.

Images are drawn here with the demo's Pillow scenes (a few, small) so the
tests need no data files. The network runs on a handful of images only: the
machine is shared and the CPU is slow.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drugwatch.demo.images import render
from drugwatch.records import Event, ImageRef, sha256_bytes
from drugwatch.vision import (
    FEATURE_DIM,
    MODEL_ID,
    ImageEncoder,
    ImageLoadError,
    OcrEngine,
    OnnxImageEncoder,
    contacts_for_event,
    event_ocr_text,
    event_texts,
    export_onnx,
)
from drugwatch.vision.encoder import IMAGE_SIZE, pool_grid, preprocess
from drugwatch.vision.images import decode_rgb
from drugwatch.vision.onnx_export import CONFIG_FILE, read_config

NOTE_TEXT = "text me 440-555-0142\nwickr: plug_4u"


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vision-images")
    (folder / "pills.jpg").write_bytes(render("pills", "vision-test-1", drug="xanax"))
    (folder / "leaf.jpg").write_bytes(render("leaf", "vision-test-2"))
    (folder / "dog.jpg").write_bytes(render("dog", "vision-test-3"))
    (folder / "note.jpg").write_bytes(render("contact_note", "vision-test-4", text=NOTE_TEXT))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return folder


def _ref(path: Path, *, with_sha: bool = True) -> ImageRef:
    return ImageRef(path=str(path), sha256=sha256_bytes(path.read_bytes()) if with_sha else None)


# ---------------------------------------------------------------- preprocessing


def test_preprocess_shape_range_and_centre_crop() -> None:
    image = Image.new("RGB", (400, 300), (255, 0, 0))
    pixels = preprocess(image)
    assert pixels.shape == (3, IMAGE_SIZE, IMAGE_SIZE)
    assert pixels.dtype == np.float32
    # mean = std = 0.5: red 255 -> 1.0, 0 -> -1.0
    np.testing.assert_allclose(pixels[:, 100, 100], [1.0, -1.0, -1.0], atol=1e-6)
    tiny = preprocess(Image.new("RGB", (10, 40), (0, 0, 0)))  # upscaled, not padded
    assert tiny.shape == (3, IMAGE_SIZE, IMAGE_SIZE)


def test_decode_applies_exif_orientation_and_flattens_alpha() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    Image.new("RGB", (40, 20), (10, 20, 30)).save(buffer, format="JPEG", exif=exif)
    assert decode_rgb(buffer.getvalue()).size == (20, 40)

    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(buffer, format="PNG")
    flat = decode_rgb(buffer.getvalue())
    assert flat.mode == "RGB" and flat.getpixel((0, 0)) == (255, 255, 255)


def test_pool_grid_matches_torch_adaptive_avg_pool() -> None:
    torch = pytest.importorskip("torch")
    feature_map = np.random.default_rng(0).normal(size=(2, 5, 7, 7)).astype(np.float32)
    for side in (1, 2, 3):
        expected = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(feature_map), side)
        expected = expected.flatten(2).transpose(1, 2).numpy()
        np.testing.assert_allclose(pool_grid(feature_map, side), expected, atol=1e-6)


# ---------------------------------------------------------------- encoder


def test_encoder_shapes_tokens_and_determinism(image_dir: Path) -> None:
    paths = [image_dir / "pills.jpg", image_dir / "leaf.jpg"]
    encoder = ImageEncoder(batch_size=2, use_cache=False)
    features = encoder.encode(paths)
    assert len(features) == 2 and features.model_id == MODEL_ID
    assert features.pooled.shape == (2, FEATURE_DIM)
    for n in (1, 4, 9):
        assert features.tokens(n).shape == (2, n, FEATURE_DIM)
    np.testing.assert_array_equal(features.tokens(1)[:, 0], features.pooled)
    assert features.mask.all() and not features.missing
    assert np.isfinite(features.pooled).all() and features.pooled.std() > 0
    assert not np.allclose(features.pooled[0], features.pooled[1])
    with pytest.raises(ValueError, match=r"n must be one of \(1, 4, 9\)"):
        features.tokens(2)

    # Same image, another batch composition: same features.
    again = ImageEncoder(batch_size=1, use_cache=False).encode([paths[1]])
    np.testing.assert_allclose(again.tokens(9)[0], features.tokens(9)[1], atol=1e-4)


def test_optimized_model_matches_the_plain_weights(image_dir: Path) -> None:
    """Folding BatchNorm into the convolutions must not change the features."""
    torch = pytest.importorskip("torch")
    from drugwatch.vision.encoder import build_model
    from drugwatch.vision.images import read_image

    pixels = preprocess(read_image(image_dir / "leaf.jpg")[0])[None]
    with torch.inference_mode():
        plain = build_model(optimize=False).extract_features(torch.from_numpy(pixels)).numpy()
    fast = ImageEncoder(use_cache=False).feature_map(pixels)
    assert fast.shape == plain.shape == (1, FEATURE_DIM, 7, 7)
    assert np.abs(fast - plain).max() < 1e-3


def test_cache_hit_does_not_run_the_model(image_dir: Path, _isolated_home: Path, monkeypatch) -> None:
    pills = image_dir / "pills.jpg"
    refs = [_ref(pills), _ref(pills)]  # the same image twice: encoded once
    encoder = ImageEncoder()
    first = encoder.encode(refs)
    assert encoder.images_encoded == 1 and encoder.batches_run == 1
    assert not first.from_cache.any()
    np.testing.assert_array_equal(first.pooled[0], first.pooled[1])

    sha = refs[0].sha256
    entry = _isolated_home / "cache" / "image-features" / MODEL_ID / sha[:2] / f"{sha}.npy"
    assert entry.is_file()

    def no_network(pixels):
        raise AssertionError("the model ran on a cached image")

    monkeypatch.setattr(encoder, "_forward", no_network)
    # By recorded SHA-256, and by path (the hash is computed from the bytes).
    second = encoder.encode([refs[0], str(pills), pills.read_bytes()])
    assert encoder.images_encoded == 1
    assert second.from_cache.all() and second.mask.all()
    for row in range(3):
        np.testing.assert_array_equal(second.tokens(4)[row], first.tokens(4)[0])
    assert second.sha256 == (sha, sha, sha)


def test_missing_and_broken_images_are_masked(image_dir: Path) -> None:
    encoder = ImageEncoder(use_cache=False)
    good = image_dir / "dog.jpg"
    inputs = [
        None,
        str(image_dir / "does-not-exist.jpg"),
        ImageRef(url="https://example.com/p.jpg"),
        image_dir / "broken.jpg",
        ImageRef(path=str(good), sha256="0" * 64),  # file changed since import
        good,
    ]
    features = encoder.encode(inputs)
    assert features.mask.tolist() == [False, False, False, False, False, True]
    assert features.missing == [0, 1, 2, 3, 4]
    assert not features.pooled[:5].any() and not features.tokens(9)[:5].any()
    assert features.errors[0] == "no image"
    assert "file not found" in features.errors[1]
    assert "no local file" in features.errors[2]
    assert "image" in features.errors[3]
    assert "SHA-256" in features.errors[4]
    assert features.errors[5] is None and encoder.images_encoded == 1

    with pytest.raises(ImageLoadError, match="file not found") as info:
        ImageEncoder(strict=True, use_cache=False).encode([image_dir / "does-not-exist.jpg"])
    assert info.value.reason == "not_found"


def test_encoder_rejects_bad_calls() -> None:
    with pytest.raises(TypeError, match="wrap a single image in a list"):
        ImageEncoder().encode("one/path.jpg")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        ImageEncoder(batch_size=0).encode([])
    assert len(ImageEncoder().encode([])) == 0


def test_encode_events_without_images() -> None:
    events = [Event(id="1", text="no picture"), Event(id="2", kind="comment", parent_id="1", text="hi")]
    features = ImageEncoder().encode_events(events)
    assert features.pooled.shape == (2, FEATURE_DIM)
    assert not features.mask.any()


# ---------------------------------------------------------------- OCR and contacts


@pytest.fixture(scope="module")
def ocr_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ocr-cache")


def test_ocr_reads_a_contact_note_and_caches_it(image_dir: Path, ocr_cache: Path) -> None:
    note = _ref(image_dir / "note.jpg")
    engine = OcrEngine(cache_dir=ocr_cache)
    result = engine.read_text(note)
    assert result.ok and result.sha256 == note.sha256 and not result.from_cache
    assert "440-555-0142" in result.text and "plug_4u" in result.text
    assert all(0.5 <= line.confidence <= 1.0 and len(line.box) == 4 for line in result.lines)
    assert engine.images_read == 1

    again = engine.read_text(str(image_dir / "note.jpg"))  # by path: hash computed
    assert again.from_cache and again.text == result.text and engine.images_read == 1

    strict = OcrEngine(cache_dir=ocr_cache, min_confidence=1.0).read_text(note)
    assert strict.from_cache and strict.lines == ()


def test_contacts_for_event_counts_contacts_in_images(image_dir: Path, ocr_cache: Path) -> None:
    engine = OcrEngine(cache_dir=ocr_cache)
    note = _ref(image_dir / "note.jpg")
    event = Event(
        id="42",
        text="best quality, dm me #xanax kik: dave_22",
        images=(note, ImageRef(path=str(image_dir / "gone.jpg"))),
    )
    texts = event_texts(event, ocr=engine)
    assert texts.caption == event.text
    assert "440-555-0142" in texts.ocr_text
    assert texts.combined.startswith(event.text) and texts.ocr_text in texts.combined
    assert texts.ocr[1].error is not None and "file not found" in texts.ocr[1].error

    found = contacts_for_event(event, texts=texts)
    by_value = {(c.source, c.kind, c.value): c for c in found}
    assert ("text", "app_handle", "dave_22") in by_value
    phone = by_value[("image", "phone", "+14405550142")]
    assert phone.image_index == 0 and phone.image_sha256 == note.sha256
    assert ("image", "app_handle", "plug_4u") in by_value
    span = texts.ocr[0].text[phone.contact.raw_start : phone.contact.raw_end]
    assert "440" in span

    assert event_ocr_text(event, ocr=engine) == texts.ocr_text
    caption_view, ocr_view = texts.views()  # the same text layer reads both fields
    assert "wickr" in {c.app for c in ocr_view.contacts}
    assert "kik" in {c.app for c in caption_view.contacts}


def test_events_without_images_never_load_ocr() -> None:
    engine = OcrEngine()
    event = Event(id="7", text="call 440-555-0199")
    assert event_ocr_text(event, ocr=engine) == ""
    found = contacts_for_event(event, ocr=engine)
    assert [(c.source, c.kind) for c in found] == [("text", "phone")]
    assert engine.images_read == 0


def test_ocr_rejects_bad_min_confidence(image_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"min_confidence must be a number in \[0, 1\]"):
        OcrEngine(min_confidence=5).read_text(image_dir / "note.jpg")


# ---------------------------------------------------------------- ONNX


def test_onnx_config_is_checked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="export the encoder first"):
        read_config(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"registry_name": "something.else", "registry_version": 1}))
    with pytest.raises(ValueError, match="expected 'drugwatch.image_encoder.onnx' version 1"):
        OnnxImageEncoder(tmp_path).encode([])


@pytest.mark.slow
def test_onnx_export_matches_pytorch(image_dir: Path, tmp_path: Path) -> None:
    path = export_onnx(tmp_path / "onnx")
    config = read_config(path.parent)
    assert config["model_id"] == MODEL_ID and config["onnx_sha256"] == sha256_bytes(path.read_bytes())

    images = [image_dir / name for name in ("pills.jpg", "leaf.jpg", "dog.jpg")]
    expected = ImageEncoder(use_cache=False).encode(images)
    # batch of 3 through a graph traced with 2: the batch axis is dynamic
    onnx_encoder = OnnxImageEncoder(path.parent, batch_size=3)
    got = onnx_encoder.encode(images)
    assert onnx_encoder.model_id != MODEL_ID  # never mixed with PyTorch's cache
    assert np.abs(got.pooled - expected.pooled).max() < 1e-3
    for n in (4, 9):
        assert np.abs(got.tokens(n) - expected.tokens(n)).max() < 1e-3
