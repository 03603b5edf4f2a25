"""Inputs of a scan, read in resumable splits: JSONL, Parquet, a database query.

Every source turns its input into :class:`SourceItem` objects, in a fixed
order, each holding exactly one :class:`~drugwatch.io.base.Parsed` record or
one :class:`~drugwatch.io.base.Problem` (the io readers' contract), plus a
``resume`` token: where reading would start again after this item. A source
cuts itself into :class:`Split` ranges; the in-process engine reads them one
after the other, the Ray engine one read task per split, and both produce
the same items in the same order.

* JSONL (generic, the bench kit's text records, or the kit's image records
  ``images.jsonl``, read by :mod:`drugwatch.vision.bench`: an empty text and
  one image, ``file`` relative to the JSONL): ``resume`` is
  ``{"offset", "line"}``, the byte offset and line number after the item;
  splits are byte ranges cut at line ends.
* Parquet (``drugwatch export --what events`` layout): ``{"row"}``; splits
  are row groups.
* Database: the events table filtered by an SQL condition; ``{"seq"}``;
  splits are ranges of the insertion sequence number.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from drugwatch.io.base import Parsed, Problem, ReaderError
from drugwatch.records import MAX_TEXT_CHARS, Account, Event, Provenance, RecordError, _as_utc, _describe
from drugwatch.scoring import trusted_model

__all__ = ["DbSource", "JsonlSource", "ParquetSource", "Source", "SourceItem", "Split", "open_source"]

#: Bytes of JSONL per split (Ray read task).
SPLIT_BYTES = 8 * 1024 * 1024
#: Database rows (by sequence number) per split.
SPLIT_SEQS = 20_000


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One input record read (or not) and where to resume after it."""

    position: int  #: line number, row index or sequence number (ordering key)
    item: Parsed | Problem
    resume: dict[str, int]


@dataclass(frozen=True, slots=True)
class Split:
    """A contiguous part of a source: ``start`` is a resume token, ``end`` an exclusive bound."""

    start: dict[str, int]
    end: int | None


class Source(Protocol):
    """What the engines need from an input."""

    kind: str

    def identity(self) -> dict[str, Any]:
        """What names this input (path, size, modification time, query) for checkpoints."""

    def splits(self, start: dict[str, int] | None = None) -> list[Split]:
        """The splits covering the input from ``start`` (a resume token) to the end."""

    def read(self, split: Split) -> Iterator[SourceItem]:
        """The items of ``split`` in order."""


# ---------------------------------------------------------------------------
# JSONL


# A plain generic event line: a post with at most these keys, each of the simplest type its field takes.
# Such a line, the bulk of a scan's input, is built without pydantic (:func:`_plain_event`), and so is its
# provenance: reading 6,000 kit lines took 0.79 CPU-s with validation and takes 0.44 (same-process A/B).
# Anything else takes the full path, which gives the same record or the same error.
_PLAIN_EVENT_KEYS = frozenset(
    {"record_type", "id", "platform", "kind", "text", "author", "created_at", "labels", "selling"}
)
#: A JSON escape of a UTF-16 surrogate, or one encoded in the bytes: pydantic refuses a lone surrogate.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
#: Event's fields in declaration order, with the defaults of those a plain line never sets.
_EVENT_DEFAULTS: dict[str, Any] = {
    "id": None,
    "platform": "instagram",
    "kind": "post",
    "parent_id": None,
    "post_id": None,
    "text": "",
    "hashtags": (),
    "images": (),
    "author": None,
    "created_at": None,
    "provenance": None,
    "labels": None,
    "selling": None,
}


def _plain_event(obj: dict[str, Any], raw: bytes, provenance: Provenance) -> Event | None:
    """The :class:`Event` that ``_build_generic`` gives for a plain post line, without validating it again.

    ``None`` when the line is not plain or a value needs validation's conversion or its error message;
    the caller then builds it the full way. ``tests/test_scan_fast_paths.py`` holds the two equal.
    """
    if not obj.keys() <= _PLAIN_EVENT_KEYS or _SURROGATE.search(raw) is not None:
        return None
    fields = dict(_EVENT_DEFAULTS)
    fields.update(obj)
    if fields.pop("record_type", "event") != "event" or fields["kind"] != "post":
        return None
    ident = fields["id"]
    if type(ident) is int:
        ident = fields["id"] = str(ident)
    platform, text, author, labels, selling = (
        fields["platform"],
        fields["text"],
        fields["author"],
        fields["labels"],
        fields["selling"],
    )
    if text is None:
        text = fields["text"] = ""
    if not (
        type(ident) is str
        and 1 <= len(ident) <= 256
        and type(platform) is str
        and 1 <= len(platform) <= 64
        and type(text) is str
        and len(text) <= MAX_TEXT_CHARS
        and (author is None or (type(author) is str and len(author) <= 256))
        and (selling is None or type(selling) is bool)
        and (labels is None or type(labels) is list)
    ):
        return None
    try:
        fields["created_at"] = _as_utc(fields["created_at"])
        if labels is not None:
            from drugwatch.labels import check_labels

            fields["labels"] = check_labels(labels)
    except (ValueError, TypeError):
        return None
    if "#" in text:
        from drugwatch.text.hashtags import extract_hashtags

        fields["hashtags"] = tuple(extract_hashtags(text))
    fields["provenance"] = provenance
    fields["meta"] = {}
    given = {name for name in obj if name != "record_type"}
    given.add("provenance")
    return trusted_model(Event, fields, given)


def _build_image(obj: dict[str, Any], provenance: Any, source: str, locator: str, *, base_dir: str) -> Event:
    from drugwatch.vision.bench import image_record_event

    return image_record_event(obj, base_dir, source=source, locator=locator, provenance=provenance)


class JsonlSource:
    """Generic drugwatch JSONL (events and accounts), the bench kit's JSONL, or the kit's image JSONL."""

    kind = "jsonl"

    def __init__(self, path: str | os.PathLike[str], fmt: str = "jsonl", split_bytes: int | None = None):
        from drugwatch.io.jsonl import _build_bench, _build_generic

        self.path = Path(path)
        if not self.path.is_file():
            raise ReaderError(f"no such file: {self.path}")
        if fmt not in ("jsonl", "bench", "images"):
            raise ReaderError(f"JSONL scan input must be 'jsonl', 'bench' or 'images', got {fmt!r}")
        self.fmt = fmt
        self.split_bytes = split_bytes or SPLIT_BYTES
        self._build: Callable[[dict[str, Any], Provenance, str, str], Event | Account]
        if fmt == "images":  # a partial of a module function, so the source still pickles for Ray workers
            self._build = partial(_build_image, base_dir=str(self.path.resolve().parent))
        else:
            self._build = _build_generic if fmt == "jsonl" else _build_bench

    def identity(self) -> dict[str, Any]:
        st = self.path.stat()
        return {
            "kind": self.kind,
            "format": self.fmt,
            "path": str(self.path.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }

    def splits(self, start: dict[str, int] | None = None) -> list[Split]:
        offset = int((start or {}).get("offset", 0))
        line = int((start or {}).get("line", 0))
        size = self.path.stat().st_size
        out: list[Split] = []
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while offset < size:
                chunk = handle.read(self.split_bytes)
                if not chunk:
                    break
                cut = chunk.rfind(b"\n") + 1
                newlines = chunk.count(b"\n", 0, cut)
                if cut == 0:  # one line longer than a split: find its end chunk by chunk, holding one chunk
                    cut = len(chunk)
                    while True:
                        more = handle.read(self.split_bytes)
                        if not more:
                            break
                        end = more.find(b"\n")
                        if end >= 0:
                            cut += end + 1
                            newlines = 1
                            break
                        cut += len(more)
                handle.seek(offset + cut)
                out.append(Split({"offset": offset, "line": line}, offset + cut))
                line += newlines
                offset += cut
        return out

    def read(self, split: Split) -> Iterator[SourceItem]:
        from drugwatch.io.jsonl import MAX_LINE_BYTES, _file_time, _preview
        from drugwatch.records import sha256_bytes

        source = str(self.path)
        fetched_at = _file_time(self.path)
        importer = self.fmt
        plain = self.fmt == "jsonl"
        # The provenance fields a line does not choose are checked here once (what validation checks: the
        # lengths, an aware UTC time, text that is valid Unicode): a line's own then needs no validation
        # unless its platform is longer than the field takes.
        trusted_provenance = (
            1 <= len(source) <= 4096
            and type(fetched_at) is datetime
            and fetched_at.tzinfo is UTC
            and _SURROGATE.search(source.encode("utf-8", "surrogatepass")) is None
        )
        offset = split.start["offset"]
        number = split.start["line"]
        end = split.end if split.end is not None else self.path.stat().st_size
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while offset < end:
                # Never hold more than MAX_LINE_BYTES of one line: the rest of an
                # overlong line is read in chunks and dropped.
                raw = handle.readline(MAX_LINE_BYTES + 2)
                if not raw:
                    break
                length = len(raw)
                overlong = len(raw) > MAX_LINE_BYTES + 1 or (len(raw) == MAX_LINE_BYTES + 1 and not raw.endswith(b"\n"))
                if overlong:
                    raw = raw[:20_000]
                    while True:
                        rest = handle.readline(1 << 20)
                        length += len(rest)
                        if not rest or rest.endswith(b"\n"):
                            break
                offset += length
                number += 1
                stripped = raw.strip()
                if not stripped:
                    continue
                resume = {"offset": offset, "line": number}
                locator = f"line {number}"
                if overlong or len(stripped) > MAX_LINE_BYTES:
                    yield SourceItem(
                        number,
                        Problem(
                            source, locator, f"line longer than {MAX_LINE_BYTES} bytes", _preview(stripped[:20_000])
                        ),
                        resume,
                    )
                    continue
                try:
                    obj = json.loads(stripped)
                except UnicodeDecodeError as exc:
                    yield SourceItem(
                        number,
                        Problem(source, locator, f"not UTF-8: {exc.reason} at byte {exc.start}", _preview(stripped)),
                        resume,
                    )
                    continue
                except json.JSONDecodeError as exc:
                    yield SourceItem(
                        number,
                        Problem(source, locator, f"invalid JSON: {exc.msg} at column {exc.colno}", _preview(stripped)),
                        resume,
                    )
                    continue
                except (ValueError, RecursionError) as exc:  # a 5,000-digit integer, nesting 100,000 deep
                    yield SourceItem(
                        number,
                        Problem(source, locator, f"unreadable JSON: {type(exc).__name__}", _preview(stripped)),
                        resume,
                    )
                    continue
                if not isinstance(obj, dict):
                    yield SourceItem(
                        number,
                        Problem(
                            source, locator, f"expected a JSON object, got {type(obj).__name__}", _preview(stripped)
                        ),
                        resume,
                    )
                    continue
                platform = str(obj.get("platform") or "instagram")
                provenance_fields: dict[str, Any] = {
                    "platform": platform,
                    "source": source,
                    "fetched_at": fetched_at,
                    "raw_sha256": sha256_bytes(stripped),
                    "locator": locator,
                    "importer": importer,
                }
                if trusted_provenance and len(platform) <= 64:
                    provenance = trusted_model(
                        Provenance, {**provenance_fields, "also": (), "also_dropped": 0}, set(provenance_fields)
                    )
                else:
                    try:
                        provenance = Provenance(**provenance_fields)
                    except ValidationError as exc:  # a platform name longer than the field takes
                        reason = f"provenance: {_describe(exc)}"
                        yield SourceItem(number, Problem(source, locator, reason, _preview(stripped)), resume)
                        continue
                try:
                    record = (plain and _plain_event(obj, stripped, provenance)) or self._build(
                        obj, provenance, source, locator
                    )
                except RecordError as exc:
                    yield SourceItem(number, Problem(source, locator, exc.reason, _preview(stripped)), resume)
                    continue
                except Exception as exc:  # noqa: BLE001 - one bad record never stops a scan
                    yield SourceItem(
                        number,
                        Problem(source, locator, f"cannot read record: {type(exc).__name__}", _preview(stripped)),
                        resume,
                    )
                    continue
                yield SourceItem(number, Parsed(record, source, locator), resume)


# ---------------------------------------------------------------------------
# Parquet


def _parquet_event(row: dict[str, Any], source: str, locator: str) -> Event:
    data: dict[str, Any] = {}
    for name in (
        "id",
        "platform",
        "kind",
        "parent_id",
        "post_id",
        "text",
        "hashtags",
        "author",
        "created_at",
        "labels",
        "selling",
    ):
        if name in row:
            data[name] = row[name]
    for name in ("images", "meta", "provenance"):
        value = row.get(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise RecordError(
                    f"column {name!r} is not valid JSON ({exc.msg})", source=source, locator=locator
                ) from None
        if value is not None:
            data[name] = value
    if "id" not in data and isinstance(row.get("key"), str) and ":" in row["key"]:
        data["platform"], data["id"] = row["key"].split(":", 1)
    return Event.parse(data, source=source, locator=locator)


class ParquetSource:
    """Events in Parquet with the columns of ``drugwatch export --what events`` (``id`` and ``text`` at least)."""

    kind = "parquet"

    def __init__(self, path: str | os.PathLike[str], batch_rows: int = 4096):
        import pyarrow.parquet as pq

        self.path = Path(path)
        if not self.path.is_file():
            raise ReaderError(f"no such file: {self.path}")
        try:
            self._meta = pq.ParquetFile(str(self.path)).metadata
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise ReaderError(f"cannot read {self.path} as Parquet: {exc}") from None
        self.batch_rows = batch_rows

    def identity(self) -> dict[str, Any]:
        st = self.path.stat()
        return {"kind": self.kind, "path": str(self.path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def splits(self, start: dict[str, int] | None = None) -> list[Split]:
        first = int((start or {}).get("row", 0))
        out, row = [], 0
        for index in range(self._meta.num_row_groups):
            n = self._meta.row_group(index).num_rows
            if row + n > first:
                out.append(Split({"row": max(row, first), "group": index, "group_start": row}, row + n))
            row += n
        return out

    def read(self, split: Split) -> Iterator[SourceItem]:
        import pyarrow.parquet as pq

        source = str(self.path)
        handle = pq.ParquetFile(str(self.path))
        row = split.start["group_start"]
        for batch in handle.iter_batches(batch_size=self.batch_rows, row_groups=[split.start["group"]]):
            for values in batch.to_pylist():
                index = row
                row += 1
                if index < split.start["row"]:
                    continue
                locator = f"row {index}"
                try:
                    item: Parsed | Problem = Parsed(_parquet_event(values, source, locator), source, locator)
                except RecordError as exc:
                    item = Problem(
                        source, locator, exc.reason, json.dumps(values, default=str, ensure_ascii=False)[:20_000]
                    )
                yield SourceItem(index, item, {"row": index + 1})


# ---------------------------------------------------------------------------
# Database


class DbSource:
    """Events of a store, optionally filtered by an SQL condition on the ``events`` table.

    ``where`` is trusted SQL (the operator's own query), e.g.
    ``"platform = 'instagram' AND created_at >= '2024-01-01'"``.
    """

    kind = "db"

    def __init__(
        self, db: str | None = None, where: str | None = None, split_seqs: int = SPLIT_SEQS, batch_rows: int = 1000
    ):
        from drugwatch.store.db import resolve_url

        self.url = resolve_url(db)
        self.where = where
        self.split_seqs = split_seqs
        self.batch_rows = batch_rows
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from drugwatch.store import Store

            self._engine = Store(self.url).engine
        return self._engine

    def __getstate__(self) -> dict[str, Any]:  # engines do not travel to Ray workers
        state = dict(self.__dict__)
        state["_engine"] = None
        return state

    def identity(self) -> dict[str, Any]:
        from sqlalchemy.engine import make_url

        return {"kind": self.kind, "url": make_url(self.url).render_as_string(hide_password=True), "where": self.where}

    def _condition(self):
        from sqlalchemy import text

        return text(f"({self.where})") if self.where else None

    def splits(self, start: dict[str, int] | None = None) -> list[Split]:
        from sqlalchemy import func, select

        from drugwatch.store.schema import EventRow

        first = int((start or {}).get("seq", 0))
        query = select(func.max(EventRow.seq)).where(EventRow.seq >= first)
        with self.engine.connect() as conn:
            last = conn.execute(query).scalar_one_or_none()
        if last is None:
            return []
        return [Split({"seq": s}, min(s + self.split_seqs, last + 1)) for s in range(first, last + 1, self.split_seqs)]

    def read(self, split: Split) -> Iterator[SourceItem]:
        from sqlalchemy import select

        from drugwatch.store.repository import row_to_event
        from drugwatch.store.schema import EventRow

        source = self.identity()["url"]
        last = split.start["seq"] - 1
        condition = self._condition()
        while True:
            query = (
                select(EventRow)
                .where(EventRow.seq > last, EventRow.seq < split.end)
                .order_by(EventRow.seq)
                .limit(self.batch_rows)
            )
            if condition is not None:
                query = query.where(condition)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                locator = f"seq {row.seq}"
                try:
                    item: Parsed | Problem = Parsed(row_to_event(row), source, locator)
                except (RecordError, ValueError) as exc:
                    item = Problem(source, locator, f"stored row cannot be read: {exc}", None)
                yield SourceItem(int(row.seq), item, {"seq": int(row.seq) + 1})
            last = rows[-1].seq


def open_source(input: str, *, fmt: str = "auto", db: str | None = None, where: str | None = None) -> Source:
    """The source for ``input``: a ``.jsonl``/``.ndjson`` or ``.parquet`` file, or ``db`` for the store.

    ``fmt="auto"`` tells a kit image JSONL (first record with ``file`` and no ``text``) from the
    bench kit's text records and from generic JSONL.
    """
    if input == "db" or fmt == "db":
        return DbSource(db, where)
    path = Path(input)
    if fmt == "auto":
        name = path.name.lower()
        if name.endswith((".parquet", ".pq")):
            fmt = "parquet"
        elif name.endswith((".jsonl", ".ndjson")):
            from drugwatch.io.detect import detect_format, peek_json
            from drugwatch.vision.bench import is_image_record

            fmt = detect_format(path)
            first = peek_json(path) if path.is_file() else None
            if isinstance(first, dict) and is_image_record(first):
                fmt = "images"
            if fmt not in ("jsonl", "bench", "images"):
                raise ReaderError(f"{path.name} looks like {fmt}; import it first (drugwatch import) and scan 'db'")
        else:
            raise ReaderError(f"cannot tell the format of {path.name}; pass --format jsonl, bench, parquet or db")
    if fmt == "parquet":
        return ParquetSource(path)
    if fmt in ("jsonl", "bench", "images"):
        return JsonlSource(path, fmt)
    raise ReaderError(f"unknown scan input format {fmt!r}; choose jsonl, bench, images, parquet or db")
