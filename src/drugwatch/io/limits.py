"""Caps on what an input may make us hold in memory, and a reader that enforces them.

Every importer reads through :func:`open_input`, so the caps below hold for
every format:

``MAX_LINE_BYTES`` (4,000,000)
    One line of a line-oriented input (JSONL, NDJSON, one physical CSV line).
    Checked while reading: :func:`bounded_lines` reads at most this many
    bytes of a line, then skips the rest of it in small pieces, so a 200 MB
    line costs 4 MB of memory and becomes one quarantined record.
``DRUGWATCH_MAX_DOCUMENT_BYTES`` (default 256 MiB)
    One whole-document JSON file (an instaloader post, profile or
    ``_comments.json``), which is parsed in one piece; after decompression
    for ``.xz``.
``DRUGWATCH_MAX_DECOMPRESSED_BYTES`` (default 8 GiB)
    Everything a ``.gz``, ``.bz2`` or ``.xz`` input expands to. The bytes are
    counted as they are decompressed, so a 200 KB file that expands to
    terabytes stops at the cap instead of filling the disk cache or memory.

Both environment variables take a byte count (``500000000``) or a number
with a unit (``512MiB``, ``2GB``, ``1G``). Going over a cap never loses
records silently: the reader turns it into a :class:`~drugwatch.io.base.Problem`
that names the cap and how to raise it.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from drugwatch.io.base import ReaderError

MAX_LINE_BYTES = 4_000_000
DOCUMENT_ENV = "DRUGWATCH_MAX_DOCUMENT_BYTES"
DECOMPRESSED_ENV = "DRUGWATCH_MAX_DECOMPRESSED_BYTES"
DEFAULT_MAX_DOCUMENT_BYTES = 256 * 2**20
DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 2**30

#: Bytes of an overlong line kept for the quarantine file (the locator points at the rest).
OVERLONG_PREVIEW_BYTES = 20_000
_CHUNK = 1 << 20

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


class InputTooLarge(Exception):
    """An input went over one of the caps; the message names the cap and its setting."""


def parse_size(text: str, *, setting: str) -> int:
    """``"512MiB"`` -> 536870912; raises :class:`ReaderError` naming ``setting`` on nonsense."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ReaderError(f"{setting}={text!r} is not a size; write bytes (500000000) or e.g. 512MiB, 2GB")
    value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise ReaderError(f"{setting} must be positive, got {text!r}")
    return value


def _from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if not raw else parse_size(raw, setting=name)


def max_document_bytes() -> int:
    """The cap on one whole-document JSON file (``DRUGWATCH_MAX_DOCUMENT_BYTES``)."""
    return _from_env(DOCUMENT_ENV, DEFAULT_MAX_DOCUMENT_BYTES)


def max_decompressed_bytes() -> int:
    """The cap on what one compressed input expands to (``DRUGWATCH_MAX_DECOMPRESSED_BYTES``)."""
    return _from_env(DECOMPRESSED_ENV, DEFAULT_MAX_DECOMPRESSED_BYTES)


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def compression_of(path: str | os.PathLike[str]) -> str | None:
    """``"gz"``, ``"bz2"``, ``"xz"`` from the file name, else ``None``."""
    name = str(path).lower()
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            return suffix[1:]
    return None


def strip_compression(name: str) -> str:
    """``posts.jsonl.gz`` -> ``posts.jsonl``."""
    kind = compression_of(name)
    return name[: -len(kind) - 1] if kind else name


class CappedReader:
    """A binary reader over a file, decompressing by suffix, that counts what it hands out.

    Only bounded reads are offered (``read(n)``, ``readline(limit)``), so the
    count is checked before more than ``_CHUNK`` bytes past the cap are held.
    """

    def __init__(self, path: str | os.PathLike[str], *, cap: int | None = None, setting: str = DECOMPRESSED_ENV):
        self.source = str(path)
        self.compression = compression_of(path)
        self.cap = cap if cap is not None else (max_decompressed_bytes() if self.compression else None)
        self.setting = setting
        self.count = 0
        try:
            if self.compression == "gz":
                self._handle: io.BufferedIOBase = gzip.open(path, "rb")
            elif self.compression == "bz2":
                self._handle = bz2.open(path, "rb")
            elif self.compression == "xz":
                self._handle = lzma.open(path, "rb")
            else:
                self._handle = open(path, "rb")
        except OSError as exc:
            raise ReaderError(f"cannot open {self.source}: {exc.strerror or exc}") from exc

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.cap is not None and self.count > self.cap:
            what = "expands to" if self.compression else "holds"
            raise InputTooLarge(
                f"{Path(self.source).name} {what} more than {human_bytes(self.cap)}, the cap set by "
                f"{self.setting}; the rest was not read (raise the cap if the file is genuine)"
            )
        return data

    def read(self, size: int) -> bytes:
        if size < 0:
            raise ValueError("CappedReader reads bounded chunks only")
        return self._counted(self._handle.read(size))

    def readline(self, limit: int) -> bytes:
        if limit < 0:
            raise ValueError("CappedReader reads bounded lines only")
        return self._counted(self._handle.readline(limit))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CappedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(
    path: str | os.PathLike[str], *, cap: int | None = None, setting: str = DECOMPRESSED_ENV
) -> CappedReader:
    """Open ``path`` for bounded reading; ``.gz``/``.bz2``/``.xz`` are decompressed.

    ``cap`` defaults to :func:`max_decompressed_bytes` for compressed files
    and to no cap for plain ones (their size is on disk already and they are
    read line by line).
    """
    return CappedReader(path, cap=cap, setting=setting)


def read_document(path: str | os.PathLike[str]) -> bytes:
    """All bytes of a whole-document file, decompressed, at most :func:`max_document_bytes`.

    Raises :class:`InputTooLarge` as soon as the cap is passed (a plain file
    is refused from its size on disk without reading it), and the
    decompression errors of :mod:`lzma`/:mod:`gzip`/:mod:`bz2` or
    :class:`OSError` as they come.
    """
    cap = max_document_bytes()
    source = Path(path)
    if compression_of(path) is None and source.stat().st_size > cap:
        raise InputTooLarge(
            f"{source.name} is {human_bytes(source.stat().st_size)}, over the {human_bytes(cap)} cap on one "
            f"JSON document set by {DOCUMENT_ENV}; it was not read"
        )
    parts = []
    with CappedReader(path, cap=cap, setting=DOCUMENT_ENV) as handle:
        while chunk := handle.read(_CHUNK):
            parts.append(chunk)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line: ``number`` from 1; ``data`` with its line ending unless overlong.

    An overlong line keeps only its first :data:`OVERLONG_PREVIEW_BYTES` in
    ``data``; ``length`` is its full length in bytes.
    """

    number: int
    data: bytes
    length: int
    overlong: bool


def bounded_lines(handle: CappedReader, max_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """The lines of ``handle``, never holding more than ``max_bytes`` of one line.

    A line longer than ``max_bytes`` (line ending not counted) is yielded
    with ``overlong=True`` and a preview; the rest of it is read in chunks
    and dropped, so reading goes on at the next line.
    """
    number = 0
    while True:
        data = handle.readline(max_bytes + 1)
        if not data:
            return
        number += 1
        if len(data) <= max_bytes or data.endswith(b"\n"):
            yield Line(number, data, len(data), False)
            continue
        length = len(data)
        preview = data[:OVERLONG_PREVIEW_BYTES]
        del data
        while True:
            rest = handle.readline(_CHUNK)
            length += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        yield Line(number, preview, length, True)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks (an image may be large)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
