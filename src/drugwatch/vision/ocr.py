"""Text read out of images (OCR) with RapidOCR, cached by image SHA-256.

Dealers write phone numbers and handles on paper and photograph them, or
stamp them across a picture, because captions are filtered and images are
not. OCR turns that text into an extra text field that goes through the same
text layer as captions (see :mod:`drugwatch.vision.fields`).

RapidOCR 3.10 runs PaddleOCR's PP-OCRv6 small detection and recognition
models (and a 0/180-degree line classifier) on onnxruntime. The ONNX files
ship inside the ``rapidocr`` wheel; :class:`OcrEngine` passes their paths
explicitly, so RapidOCR never tries to download anything, and fails with
:class:`OcrUnavailableError` if the files are missing.

Results are cached as JSON at ``$DRUGWATCH_HOME/cache/ocr/<ocr id>/<sha[:2]>/
<sha>.json`` with every recognized line (any confidence); the
``min_confidence`` filter is applied when reading, so changing it does not
invalidate the cache.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from drugwatch.vision.cache import ShaCache
from drugwatch.vision.images import ImageInput, ImageLoadError, decode_rgb, image_key, read_bytes

if TYPE_CHECKING:
    from drugwatch.records import Event

#: Files inside ``rapidocr/models/`` the engine uses.
DET_MODEL: Final[str] = "PP-OCRv6_det_small.onnx"
REC_MODEL: Final[str] = "PP-OCRv6_rec_small.onnx"
CLS_MODEL: Final[str] = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
#: Bump when the way results are produced or stored changes.
_FORMAT_VERSION: Final[int] = 1

Box = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


class OcrUnavailableError(RuntimeError):
    """RapidOCR or its bundled models cannot be loaded."""


@dataclass(frozen=True)
class OcrLine:
    """One detected text line: its text, recognition confidence (0-1) and box.

    ``box`` is the four corners (x, y) in pixels of the upright image,
    clockwise from the top-left.
    """

    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class OcrResult:
    """The text of one image.

    ``lines`` are in reading order (top to bottom, left to right) and above
    the engine's ``min_confidence``. ``error`` is set (and ``lines`` empty)
    when the image could not be read; ``sha256`` is ``None`` only then.
    """

    lines: tuple[OcrLine, ...]
    sha256: str | None
    error: str | None = None
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        """The lines joined: a space between boxes on one row, a newline between rows."""
        parts: list[str] = []
        previous: OcrLine | None = None
        for line in self.lines:
            if previous is not None:
                parts.append(" " if _same_row(previous, line) else "\n")
            parts.append(line.text)
            previous = line
        return "".join(parts)


def _same_row(a: OcrLine, b: OcrLine) -> bool:
    a_top, a_bottom = min(p[1] for p in a.box), max(p[1] for p in a.box)
    b_top, b_bottom = min(p[1] for p in b.box), max(p[1] for p in b.box)
    overlap = min(a_bottom, b_bottom) - max(a_top, b_top)
    height = min(a_bottom - a_top, b_bottom - b_top)
    return height > 0 and overlap > 0.5 * height and b.box[0][0] > a.box[0][0]


def _models_dir() -> Path:
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise OcrUnavailableError(f"rapidocr is not installed ({exc}); pip install rapidocr") from None
    return Path(rapidocr.__file__).resolve().parent / "models"


def ocr_id(use_angle_cls: bool = True) -> str:
    """Names the OCR configuration; it names the cache folder."""
    from importlib.metadata import version

    return (
        f"rapidocr-{version('rapidocr')}-{Path(DET_MODEL).stem}-{Path(REC_MODEL).stem}"
        f"-{'cls' if use_angle_cls else 'nocls'}-v{_FORMAT_VERSION}"
    )


_ENGINES: dict[tuple[bool, int | None], Any] = {}
_ENGINES_LOCK = threading.Lock()


def _rapidocr(use_angle_cls: bool, num_threads: int | None):
    """The process-wide RapidOCR for one configuration (built on first use)."""
    key = (use_angle_cls, num_threads)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is not None:
            return engine
        models = _models_dir()
        paths = {"Det": models / DET_MODEL, "Rec": models / REC_MODEL, "Cls": models / CLS_MODEL}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise OcrUnavailableError(
                "RapidOCR's bundled models are missing: " + ", ".join(missing) + "; reinstall rapidocr"
            )
        from rapidocr import RapidOCR

        params: dict[str, Any] = {
            "Global.log_level": "error",
            # Keep every line; OcrEngine filters by its own min_confidence.
            "Global.text_score": 0.0,
            "Global.use_cls": use_angle_cls,
            **{f"{section}.model_path": str(path) for section, path in paths.items()},
        }
        if num_threads is not None:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = num_threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        engine = RapidOCR(params=params)
        _ENGINES[key] = engine
        return engine


class OcrEngine:
    """Reads text from images with RapidOCR; one engine per process, results cached.

    Parameters
    ----------
    min_confidence:
        Lines recognized with a lower confidence are dropped (0-1).
    use_angle_cls:
        Run the 0/180-degree line classifier (catches upside-down notes; costs
        a little time).
    cache_dir:
        Folder for the OCR cache; ``None`` = ``$DRUGWATCH_HOME/cache/ocr``.
    use_cache:
        Read and write the cache.
    strict:
        Raise :class:`~drugwatch.vision.images.ImageLoadError` on an
        unreadable image instead of returning an :class:`OcrResult` with
        ``error`` set.
    num_threads:
        onnxruntime intra-op threads; ``None`` = onnxruntime's default.
    """

    def __init__(
        self,
        *,
        min_confidence: float = 0.5,
        use_angle_cls: bool = True,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        strict: bool = False,
        num_threads: int | None = None,
    ):
        self.min_confidence = min_confidence
        self.use_angle_cls = use_angle_cls
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.strict = strict
        self.num_threads = num_threads
        #: Images this instance ran through RapidOCR (cache hits excluded).
        self.images_read = 0
        self._lock = threading.Lock()

    def _check_params(self) -> None:
        if (
            isinstance(self.min_confidence, bool)
            or not isinstance(self.min_confidence, (int, float))
            or not (0.0 <= self.min_confidence <= 1.0)
        ):
            raise ValueError(f"min_confidence must be a number in [0, 1], got {self.min_confidence!r}")

    @property
    def ocr_id(self) -> str:
        return ocr_id(self.use_angle_cls)

    @property
    def cache(self) -> ShaCache | None:
        if not self.use_cache:
            return None
        if self.cache_dir is not None:
            return ShaCache(Path(self.cache_dir) / self.ocr_id, ".json")
        return ShaCache.default("ocr", self.ocr_id, ".json")

    def load(self) -> OcrEngine:
        """Load RapidOCR now rather than on the first image; return ``self``."""
        _rapidocr(self.use_angle_cls, self.num_threads)
        return self

    def read_text(self, image: ImageInput) -> OcrResult:
        """The text in ``image`` (an ImageRef, a path or the file's bytes)."""
        self._check_params()
        try:
            key = image_key(image)
            cache = self.cache
            if key.sha256 is not None:
                lines = self._cached(cache, key.sha256)
                if lines is not None:
                    return self._result(lines, key.sha256, from_cache=True)
            data, sha = read_bytes(key)
            if key.sha256 is None:
                lines = self._cached(cache, sha)
                if lines is not None:
                    return self._result(lines, sha, from_cache=True)
            picture = decode_rgb(data, source=key.source)
        except ImageLoadError as exc:
            if self.strict:
                raise
            return OcrResult(lines=(), sha256=None, error=str(exc))
        lines = self._run(picture)
        if cache is not None:
            payload = {
                "ocr_id": self.ocr_id,
                "lines": [{"text": line.text, "confidence": line.confidence, "box": line.box} for line in lines],
            }
            cache.write_bytes(sha, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        return self._result(lines, sha, from_cache=False)

    def read_many(self, images: Sequence[ImageInput]) -> list[OcrResult]:
        """:meth:`read_text` for each image, in order."""
        return [self.read_text(image) for image in images]

    # -- internals -----------------------------------------------------

    def _run(self, picture) -> tuple[OcrLine, ...]:
        engine = _rapidocr(self.use_angle_cls, self.num_threads)
        with self._lock:
            output = engine(picture)
            self.images_read += 1
        boxes, texts, scores = output.boxes, output.txts, output.scores
        if boxes is None or texts is None or scores is None:
            return ()
        lines = []
        for box, text, score in zip(boxes, texts, scores):
            text = text.strip()
            if not text:
                continue
            corners = tuple((round(float(x), 1), round(float(y), 1)) for x, y in box)
            lines.append(OcrLine(text=text, confidence=round(float(score), 5), box=corners))  # type: ignore[arg-type]
        return tuple(lines)

    @staticmethod
    def _cached(cache: ShaCache | None, sha: str) -> tuple[OcrLine, ...] | None:
        if cache is None:
            return None
        data = cache.read_bytes(sha)
        if data is None:
            return None
        try:
            payload = json.loads(data)
            return tuple(
                OcrLine(
                    text=str(item["text"]),
                    confidence=float(item["confidence"]),
                    box=tuple((float(x), float(y)) for x, y in item["box"]),  # type: ignore[arg-type]
                )
                for item in payload["lines"]
            )
        except (ValueError, KeyError, TypeError):
            return None  # a damaged entry is recomputed and overwritten

    def _result(self, lines: tuple[OcrLine, ...], sha: str, *, from_cache: bool) -> OcrResult:
        kept = tuple(line for line in lines if line.confidence >= self.min_confidence)
        return OcrResult(lines=kept, sha256=sha, from_cache=from_cache)


_DEFAULT: OcrEngine | None = None


def default_ocr_engine() -> OcrEngine:
    """A shared :class:`OcrEngine` with default settings (created on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = OcrEngine()
    return _DEFAULT


def event_ocr_results(event: Event, ocr: OcrEngine | None = None) -> list[OcrResult]:
    """OCR of each of ``event``'s images, in order (empty for an event with none)."""
    if not event.images:
        return []
    engine = ocr or default_ocr_engine()
    return engine.read_many(list(event.images))


def event_ocr_text(event: Event, ocr: OcrEngine | None = None) -> str:
    """The text read from all of ``event``'s images, one blank line between images.

    ``""`` for an event without images or whose images hold no text or
    cannot be read.
    """
    return join_ocr_texts(event_ocr_results(event, ocr))


def join_ocr_texts(results: Iterable[OcrResult]) -> str:
    return "\n\n".join(result.text for result in results if result.text)
