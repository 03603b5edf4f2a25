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

from drugwatch.vision.encoder import (
    FEATURE_DIM,
    MODEL_ID,
    TOKEN_COUNTS,
    ImageEncoder,
    ImageFeatures,
)
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
