"""Reading event images: bytes, SHA-256 and a decoded, upright RGB picture.

Every image consumer (the encoder, OCR) goes through :func:`read_image`, so
they agree on what an image *is*: the bytes of the file an
:class:`~drugwatch.records.ImageRef` points at, keyed by the SHA-256 of those
bytes. The hash keys the on-disk caches, so it is taken from the ref when the
importer already recorded it (no file read on a cache hit) and computed from
the bytes otherwise.

A ref whose file is missing, unreadable, not an image, or whose bytes no
longer match the recorded SHA-256 raises :class:`ImageLoadError`; callers that
must keep going (feature extraction for a whole corpus) turn that into a
masked "missing" row instead.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from drugwatch.records import ImageRef, sha256_bytes

#: What the vision functions accept as "an image": a record's ref, a file
#: path, or the encoded bytes of the file.
ImageInput = ImageRef | str | os.PathLike | bytes


class ImageLoadError(ValueError):
    """An image that cannot be read: missing file, URL only, not an image, or changed bytes.

    ``reason`` is a short code (``"no_path"``, ``"not_found"``,
    ``"unreadable"``, ``"not_an_image"``, ``"sha256_mismatch"``) callers can
    count; the message says what to do.
    """

    def __init__(self, message: str, *, reason: str, source: str | None = None):
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


@dataclass(frozen=True)
class ImageKey:
    """Where an image comes from and the SHA-256 that keys its caches.

    ``sha256`` is ``None`` only when it is not known yet (a path or ref with
    no recorded hash): :func:`read_image` computes it.
    """

    source: str
    sha256: str | None
    path: str | None = None
    data: bytes | None = None


def image_key(image: ImageInput) -> ImageKey:
    """Describe ``image`` without reading a file (bytes are hashed, paths are not)."""
    if isinstance(image, ImageRef):
        if not image.path:
            return ImageKey(source=image.url or "<image>", sha256=image.sha256)
        return ImageKey(source=image.path, sha256=image.sha256, path=image.path)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        return ImageKey(source="<bytes>", sha256=sha256_bytes(data), data=data)
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        return ImageKey(source=path, sha256=None, path=path)
    raise TypeError(f"expected an ImageRef, a file path or image bytes, got {type(image).__name__}")


def read_bytes(key: ImageKey) -> tuple[bytes, str]:
    """The image file's bytes and their SHA-256; raise :class:`ImageLoadError`.

    When ``key`` carries a recorded SHA-256, the bytes must match it: a
    changed file would silently poison the cache and the evidence trail.
    """
    if key.data is not None:
        return key.data, key.sha256 or sha256_bytes(key.data)
    if key.path is None:
        raise ImageLoadError(
            "the image has a URL but no local file; download it first (the importer "
            "records the path and SHA-256 of downloaded images)",
            reason="no_path",
            source=key.source,
        )
    try:
        data = Path(key.path).read_bytes()
    except FileNotFoundError:
        raise ImageLoadError("file not found", reason="not_found", source=key.source) from None
    except OSError as exc:
        raise ImageLoadError(
            f"cannot read the file ({exc.strerror or exc})", reason="unreadable", source=key.source
        ) from None
    digest = sha256_bytes(data)
    if key.sha256 is not None and digest != key.sha256:
        raise ImageLoadError(
            f"the file's SHA-256 is {digest}, not the recorded {key.sha256}; "
            "the file changed since import (re-import it to record the new hash)",
            reason="sha256_mismatch",
            source=key.source,
        )
    return data, digest


def decode_rgb(data: bytes, *, source: str = "<bytes>", draft_size: int | None = None) -> Image.Image:
    """Decode image bytes to an upright RGB picture.

    EXIF orientation is applied (phone photos are often stored sideways);
    transparency is composited on white (a transparent PNG would otherwise
    turn black). ``draft_size`` lets the JPEG decoder scale down by a power of
    two while staying at least that size, which makes big photos much
    cheaper to decode for a 224-pixel model.
    """
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if draft_size is not None and image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        image = image.convert("RGB")
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"not a readable image ({exc})", reason="not_an_image", source=source) from None
    except (OSError, ValueError, SyntaxError) as exc:
        # Truncated or corrupt files surface as OSError/ValueError from the decoders.
        raise ImageLoadError(f"corrupt image data ({exc})", reason="not_an_image", source=source) from None
    if image.width < 1 or image.height < 1:
        raise ImageLoadError("empty image", reason="not_an_image", source=source)
    return image


def read_image(image: ImageInput, *, draft_size: int | None = None) -> tuple[Image.Image, str]:
    """Read and decode ``image``; return the RGB picture and its SHA-256."""
    key = image_key(image)
    data, digest = read_bytes(key)
    return decode_rgb(data, source=key.source, draft_size=draft_size), digest
