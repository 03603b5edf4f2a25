"""The image side: features for multimodal models, and text read out of images.

* :class:`ImageEncoder` (:mod:`.encoder`): EfficientNet-Lite0 features, the
  pooled 1280-d vector and 1, 4 or 9 image tokens, batched and cached by image
  SHA-256; unreadable or absent images give masked zero rows.
* :class:`OnnxImageEncoder` / :func:`export_onnx` (:mod:`.onnx_export`): the
  same encoder exported to ONNX in a child process and run on onnxruntime.
* :class:`OcrEngine` (:mod:`.ocr`): RapidOCR with its bundled models, cached
  by SHA-256; :func:`event_ocr_text`.
* :func:`contacts_for_event` / :func:`event_texts` (:mod:`.fields`): OCR as an
  extra text field through the same text layer; contacts from images count.

Heavy libraries (torch, onnxruntime, rapidocr) are imported on first use, not
when this package is imported.
"""

from typing import TYPE_CHECKING, Any

# Names resolve on first use (PEP 562), so importing one submodule (the scan's
# image scoring, the kit reader) does not load the encoder, OCR and ONNX modules.
_LAZY = {
    "FEATURE_DIM": "encoder",
    "MODEL_ID": "encoder",
    "TOKEN_COUNTS": "encoder",
    "ImageEncoder": "encoder",
    "ImageFeatures": "encoder",
    "EventContact": "fields",
    "EventTexts": "fields",
    "contacts_for_event": "fields",
    "event_text_with_ocr": "fields",
    "event_texts": "fields",
    "ImageLoadError": "images",
    "read_image": "images",
    "OcrEngine": "ocr",
    "OcrLine": "ocr",
    "OcrResult": "ocr",
    "OcrUnavailableError": "ocr",
    "default_ocr_engine": "ocr",
    "event_ocr_text": "ocr",
    "OnnxExportError": "onnx_export",
    "OnnxImageEncoder": "onnx_export",
    "export_onnx": "onnx_export",
}

if TYPE_CHECKING:
    from drugwatch.vision.encoder import FEATURE_DIM, MODEL_ID, TOKEN_COUNTS, ImageEncoder, ImageFeatures
    from drugwatch.vision.fields import (
        EventContact,
        EventTexts,
        contacts_for_event,
        event_text_with_ocr,
        event_texts,
    )
    from drugwatch.vision.images import ImageLoadError, read_image
    from drugwatch.vision.ocr import (
        OcrEngine,
        OcrLine,
        OcrResult,
        OcrUnavailableError,
        default_ocr_engine,
        event_ocr_text,
    )
    from drugwatch.vision.onnx_export import OnnxExportError, OnnxImageEncoder, export_onnx


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drugwatch.vision' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"drugwatch.vision.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "FEATURE_DIM",
    "MODEL_ID",
    "TOKEN_COUNTS",
    "EventContact",
    "EventTexts",
    "ImageEncoder",
    "ImageFeatures",
    "ImageLoadError",
    "OcrEngine",
    "OcrLine",
    "OcrResult",
    "OcrUnavailableError",
    "OnnxExportError",
    "OnnxImageEncoder",
    "contacts_for_event",
    "default_ocr_engine",
    "event_ocr_text",
    "event_text_with_ocr",
    "event_texts",
    "export_onnx",
    "read_image",
]
