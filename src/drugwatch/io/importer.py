"""Import a file or folder into the store, quarantining what cannot be read.

Every raw record ends in exactly one bucket, so the counts always add up::

    read = imported + near_duplicate + merged + unchanged + quarantined + skipped

``imported``: new and not a near-duplicate of anything stored;
``near_duplicate``: new, stored, and in a cluster that already had a text;
``merged``: already stored (same platform id), updated by this copy;
``unchanged``: already stored, this copy added nothing (a re-import);
``quarantined``: written to the quarantine file with file, line and reason;
``skipped``: read and not a record by design (a Telegram service message such
as a join or a pin), counted by reason in ``skipped_reasons``.

What is quarantined, besides what a reader cannot parse:

* a second record with the same key in the same file whose content
  disagrees with the first copy (a field both copies fill, with different
  values; ``meta`` is compared key by key): reason ``duplicate id with
  different content``. A copy that only adds what the first lacked (an empty
  field filled, more hashtags or images) is merged, and an identical copy
  counts as ``unchanged``. The first copy is found in the batch being built
  or in the store; the importer keeps a 64-bit hash of each key of the file
  being read (about 70 bytes a record), reset when the reader moves to
  another file;
* a record the store refuses (a batch that fails is retried record by
  record; a lost connection or a locked database still ends the import,
  since no record is at fault).

The ``raw`` of these two is the record as a generic JSONL line, which
imports again with ``--format jsonl``.

NUL characters are removed from every string of a record before it is
stored (see :mod:`drugwatch.store.repository`); ``ImportReport.nul_removed``
counts the records concerned, and each one is logged with its file and line
(never its content).

Quarantine files are created with mode 0600 in a folder created 0700.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem, Skipped, short_message
from drugwatch.io.detect import detect_format
from drugwatch.io.export import record_line
from drugwatch.io.formats import IMPORT_FORMATS
from drugwatch.io.limits import strip_compression
from drugwatch.records import Account, Event
from drugwatch.store import Store
from drugwatch.store.db import data_home
from drugwatch.store.merge import merge_records
from drugwatch.store.repository import prepare_record

log = logging.getLogger(__name__)

FORMATS = IMPORT_FORMATS

#: Raw payloads longer than this are cut in the quarantine file (the file and
#: line still point to the full original).
MAX_QUARANTINE_RAW = 20_000


@dataclass
class ImportReport:
    """The outcome of one import; ``read`` always equals the sum of the rest."""

    source: str
    format: str
    read: int = 0
    imported: int = 0
    near_duplicate: int = 0
    merged: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped: int = 0
    nul_removed: int = 0
    quarantine_path: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    skipped_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def stored(self) -> int:
        return self.imported + self.near_duplicate + self.merged + self.unchanged

    def check(self) -> None:
        if self.read != self.stored + self.quarantined + self.skipped:
            raise AssertionError(f"import counts do not add up: {self.counts()}")

    def counts(self) -> dict[str, int]:
        """The buckets; ``skipped`` only when some item was skipped (most formats have none)."""
        counts = {
            "read": self.read,
            "imported": self.imported,
            "near_duplicate": self.near_duplicate,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
        }
        if self.skipped:
            counts["skipped"] = self.skipped
        return counts

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = dict(self.reasons.most_common())
        data["skipped_reasons"] = dict(self.skipped_reasons.most_common())
        return data


#: Files an export keeps beside its records (instaloader's pictures, videos
#: and caption ``.txt`` files): a folder import passes over them silently.
COMPANION_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".mp4", ".mov", ".webm", ".txt"})


#: Folders of a Telegram Desktop export that hold the media its ``result.json``
#: names (and the HTML export's styles and scripts): passed over in a folder import.
TELEGRAM_MEDIA_FOLDERS = frozenset(
    {
        "photos",
        "files",
        "video_files",
        "voice_messages",
        "round_video_messages",
        "stickers",
        "animations",
        "contacts",
        "profile_pictures",
        "stories",
        "lists",
        "css",
        "js",
        "images",
        "chats",
    }
)


def folder_plan(root: Path, fmt: str = "auto") -> tuple[list[tuple[str, list[Path]]], list[Path]]:
    """What a folder import reads: ``([(format, files), ...], unreadable files)``.

    With ``fmt="auto"`` every file is read by its own format: a Telegram
    Desktop ``result.json`` (recognised by its first bytes) on its own, the
    other instaloader JSON files together (a post file finds its comments
    file), then each JSONL, NDJSON or CSV file (compressed or not) by what
    :func:`detect_format` makes of it. With a named format, the files that
    format reads. Companion files (:data:`COMPANION_SUFFIXES`, and everything
    under a Telegram export's media folders, :data:`TELEGRAM_MEDIA_FOLDERS`)
    are passed over; anything else is returned as unreadable, so the import
    can count it.
    """
    from drugwatch.io.instaloader import _files_under, _is_comments_file, _is_structure_file
    from drugwatch.io.telegram import is_desktop_export

    files = _files_under(root)
    plan: list[tuple[str, list[Path]]] = []
    unreadable: list[Path] = []
    telegram = [p for p in files if _is_structure_file(p) and is_desktop_export(p)]
    media_roots = [p.parent for p in telegram]
    companions = {
        p
        for p in files
        if any(
            p.parent != folder and p.is_relative_to(folder) and p.relative_to(folder).parts[0] in TELEGRAM_MEDIA_FOLDERS
            for folder in media_roots
        )
        or (p.parent in media_roots and p.suffix.lower() in (".html", ".css", ".js"))
    }
    for p in telegram:
        if fmt in ("auto", "telegram"):
            plan.append(("telegram", [p]))
        else:
            unreadable.append(p)
    claimed = set(telegram) | companions
    instaloader = [p for p in files if p not in claimed and (_is_structure_file(p) or _is_comments_file(p))]
    if instaloader:
        if fmt in ("auto", "instaloader"):
            plan.append(("instaloader", instaloader))
        else:
            unreadable.extend(instaloader)
    claimed |= set(instaloader)
    for p in files:
        if p in claimed or p.suffix.lower() in COMPANION_SUFFIXES:
            continue
        name = strip_compression(p.name.lower())
        is_csv, is_lines = name.endswith(".csv"), name.endswith((".jsonl", ".ndjson"))
        if fmt == "auto" and (is_csv or is_lines):
            plan.append((detect_format(p), [p]))
        elif (fmt == "csv" and is_csv) or (fmt in ("jsonl", "bench", "zeeschuimer", "telegram") and is_lines):
            plan.append((fmt, [p]))
        else:
            unreadable.append(p)
    return plan, unreadable


def _folder_reader(
    root: Path,
    fmt: str,
    csv_mapping: Mapping[str, str] | None,
    csv_platform: str = "instagram",
    csv_id_from: Sequence[str] | None = None,
) -> tuple[Callable[[str], Iterator[ReadItem]], str]:
    """A reader over every file of a folder (:func:`folder_plan`) and the format name to record."""
    from drugwatch.io.instaloader import _read_directory

    plan, unreadable = folder_plan(root, fmt)
    if not plan and not unreadable:
        raise ReaderError(f"no files to import under {root}")
    formats = sorted({file_fmt for file_fmt, _ in plan})
    supported = (
        "instaloader .json/.json.xz, Telegram Desktop result.json, .jsonl, .ndjson, .csv (optionally .gz, .bz2, .xz)"
    )

    def read(_: str) -> Iterator[ReadItem]:
        for file_fmt, files in plan:
            if file_fmt == "instaloader":
                yield from _read_directory(files)
            else:
                yield from reader_for(file_fmt, csv_mapping, csv_platform, csv_id_from)(str(files[0]))
        for p in unreadable:
            reason = (
                f"not a file drugwatch can import ({p.suffix or 'no suffix'}); supported: {supported}"
                if fmt == "auto"
                else f"not read as {fmt}: {p.name}"
            )
            yield Problem(str(p), "file", reason, None)

    return read, formats[0] if len(formats) == 1 else "mixed"


def reader_for(
    fmt: str,
    csv_mapping: Mapping[str, str] | None = None,
    csv_platform: str = "instagram",
    csv_id_from: Sequence[str] | None = None,
) -> Callable[[str], Iterator[ReadItem]]:
    if fmt == "jsonl":
        from drugwatch.io.jsonl import read_jsonl

        return read_jsonl
    if fmt == "bench":
        from drugwatch.io.jsonl import read_bench

        return read_bench
    if fmt == "csv":
        from drugwatch.io.csv_reader import read_csv

        return partial(read_csv, mapping=csv_mapping, platform=csv_platform, id_from=csv_id_from)
    if fmt == "instaloader":
        from drugwatch.io.instaloader import read_instaloader

        return read_instaloader
    if fmt == "zeeschuimer":
        from drugwatch.io.zeeschuimer import read_zeeschuimer

        return read_zeeschuimer
    if fmt == "telegram":
        from drugwatch.io.telegram import read_telegram

        return read_telegram
    raise ReaderError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def default_quarantine_path(source: str | os.PathLike[str]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return data_home() / "quarantine" / f"{Path(source).name}.{stamp}.jsonl"


class _Quarantine:
    """Opens the quarantine file on the first problem only, readable by its owner alone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def write(self, problem: Problem) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            # backslashreplace: a raw payload may hold undecodable bytes as lone surrogates.
            self._handle = open(fd, "a", encoding="utf-8", errors="backslashreplace")
        raw = problem.raw
        if raw is not None and len(raw) > MAX_QUARANTINE_RAW:
            raw = raw[:MAX_QUARANTINE_RAW] + "…[truncated]"
        record = {"source": problem.source, "locator": problem.locator, "reason": problem.reason, "raw": raw}
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    @property
    def used(self) -> bool:
        return self._handle is not None


#: Store errors that name one record's content; a batch failing with one of
#: these is retried record by record. Others (a lost connection, a locked
#: database, a schema that does not match) end the import: no record is at fault.
_RECORD_ERRORS = (sa_exc.DataError, sa_exc.IntegrityError)


def _record_fault(exc: Exception) -> bool:
    if isinstance(exc, _RECORD_ERRORS):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return False
    # A StatementError that is not a DBAPIError failed while preparing the
    # record's values (serialising meta, say); anything else is the record's too.
    return not isinstance(exc, sa_exc.SQLAlchemyError) or type(exc) is sa_exc.StatementError


def _store_error(exc: Exception) -> str:
    """A store error in one line for the quarantine file, without the DETAIL/CONTEXT lines that quote data."""
    orig = getattr(exc, "orig", None)
    cause = orig if orig is not None else exc
    return f"{type(cause).__name__}: {short_message(cause)}"


def _store_error_kind(exc: Exception) -> str:
    """A store error for the log: its class and SQLSTATE only, since even the
    first line of a database message can quote a value (``invalid input
    syntax for type ...: "..."``)."""
    orig = getattr(exc, "orig", None)
    cause = orig if orig is not None else exc
    state = getattr(cause, "sqlstate", None)
    return f"{type(cause).__name__}" + (f", SQLSTATE {state}" if state else "")


def _invalid_after_cleaning(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"field '{'.'.join(map(str, err['loc'])) or 'record'}': {err['msg']}"
            for err in exc.errors(include_url=False)
        )
    return short_message(exc)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == [] or value == {}


def conflicting_fields(first: Event | Account, second: Event | Account) -> list[str]:
    """Fields that both copies of one record fill with different values.

    Provenance is where a copy came from, not content; hashtags and images
    merge as unions, so they never conflict; ``meta`` is compared key by key.
    """
    names = []
    for name in type(first).model_fields:
        if name in ("provenance", "timeline", "hashtags", "images"):
            continue
        old, new = getattr(first, name), getattr(second, name)
        if name == "meta":
            names += [
                f"meta.{key}"
                for key in sorted(old.keys() & new.keys(), key=str)
                if not _empty(old[key]) and not _empty(new[key]) and old[key] != new[key]
            ]
        elif not _empty(old) and not _empty(new) and old != new:
            names.append(name)
    return names


class _FileKeys:
    """Keys already read from the current file, to catch a second, different copy.

    Holds 64-bit hashes of the keys of one file at a time: the reader yields
    each file's records together (an instaloader folder: a post file, then
    its comments file), so the set is emptied when the source changes.
    """

    def __init__(self) -> None:
        self.source: str | None = None
        self.hashes: set[int] = set()

    def seen_before(self, source: str, key: str) -> bool:
        if source != self.source:
            self.source = source
            self.hashes = set()
        digest = hash(key)
        if digest in self.hashes:
            return True
        self.hashes.add(digest)
        return False


#: The cyclic garbage collector's first threshold while an import runs (the
#: default is 700): see :func:`_fewer_collections`.
IMPORT_GC_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the duration of an import.

    An import allocates a few hundred container objects per record (decoded
    JSON, pydantic models, rows) and reference counting frees nearly all of
    them. At the default threshold the collector still runs every few
    records and walks everything the batch being built holds; measured on
    ``benchmarks/bench_import.py``, that was about a sixth of an import's CPU
    time. Raising the first threshold to :data:`IMPORT_GC_THRESHOLD` keeps
    cycles collected (every 100,000 net allocations) at a small fraction of
    that cost. The previous thresholds come back when the last import running
    in the process ends.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], IMPORT_GC_THRESHOLD), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


def import_path(
    path: str | os.PathLike[str],
    store: Store,
    *,
    fmt: str = "auto",
    quarantine: str | os.PathLike[str] | None = None,
    csv_mapping: Mapping[str, str] | None = None,
    csv_platform: str = "instagram",
    csv_id_from: Sequence[str] | None = None,
    batch_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path`` into ``store`` and return the counts.

    Records are written in batches of ``batch_size``, each in one
    transaction, so an interrupted import keeps what it committed and a
    re-run completes it (the committed part counts as ``unchanged``).
    ``on_progress(n)`` is called after each batch with the records read so far.
    A folder is read file by file (:func:`folder_plan`). ``csv_mapping``,
    ``csv_platform`` and ``csv_id_from`` apply to CSV files (field -> column,
    the platform of rows without a platform column, and the column(s) event
    ids come from; see :mod:`drugwatch.io.csv_reader`).
    """
    source = str(path)
    if Path(path).is_dir():
        read, fmt = _folder_reader(Path(path), fmt, csv_mapping, csv_platform, csv_id_from)
    else:
        fmt = detect_format(path) if fmt == "auto" else fmt
        read = reader_for(fmt, csv_mapping, csv_platform, csv_id_from)
    report = ImportReport(source=source, format=fmt)
    qpath = Path(quarantine) if quarantine else default_quarantine_path(path)
    sink = _Quarantine(qpath)
    started = datetime.now(UTC)
    batch: list[Parsed] = []
    # Each record's store row, built with its NUL check and handed to the store (one dump per record).
    rows: list[dict[str, Any] | None] = []
    pending: dict[str, tuple[Event | Account, str]] = {}
    keys = _FileKeys()

    def set_aside(problem: Problem) -> None:
        report.quarantined += 1
        report.reasons[_reason_kind(problem.reason)] += 1
        sink.write(problem)

    def add(result_counts: dict[str, int]) -> None:
        for status, count in result_counts.items():
            setattr(report, status, getattr(report, status) + count)

    def flush() -> None:
        if not batch:
            return
        try:
            add(store.upsert([item.record for item in batch], nul_free=True, rows=rows).counts)
        except Exception as exc:
            if not _record_fault(exc):
                raise
            log.warning(
                "the store refused a batch of %d records (%s); storing them one by one",
                len(batch),
                _store_error_kind(exc),
            )
            for item, row in zip(batch, rows):
                try:
                    add(store.upsert([item.record], nul_free=True, rows=[row]).counts)
                except Exception as one:
                    if not _record_fault(one):
                        raise
                    log.warning(
                        "%s, %s: the store refused this record (%s)", item.source, item.locator, _store_error_kind(one)
                    )
                    raw = _record_raw(item.record)
                    set_aside(
                        Problem(item.source, item.locator, f"the store refused this record: {_store_error(one)}", raw)
                    )
        batch.clear()
        rows.clear()
        pending.clear()
        if on_progress is not None:
            on_progress(report.read)

    def duplicate_problem(item: Parsed, record: Event | Account, key: str) -> Problem | None:
        """A Problem when ``record`` (whose key is ``key``) repeats a key of this file with other content."""
        if not keys.seen_before(item.source, key):
            return None
        first, where = pending.get(key, (None, None))
        if first is None:
            first = store.get_record(record)
            provenance = getattr(first, "provenance", None)
            if provenance is not None and provenance.source == item.source:
                where = provenance.locator
        if first is None:
            return None
        fields = conflicting_fields(first, record)
        if not fields:
            return None
        at = f" (first copy: {where})" if where else ""
        reason = f"duplicate id with different content: {', '.join(fields)} differ{at}"
        return Problem(item.source, item.locator, reason, _record_raw(record))

    with _fewer_collections():
        try:
            for item in read(source):
                report.read += 1
                if isinstance(item, Problem):
                    set_aside(item)
                    continue
                if isinstance(item, Skipped):
                    report.skipped += 1
                    report.skipped_reasons[_reason_kind(item.reason)] += 1
                    continue
                try:
                    record, removed, row = prepare_record(item.record)
                except Exception as exc:
                    reason = f"invalid once its NUL characters are removed: {_invalid_after_cleaning(exc)}"
                    set_aside(Problem(item.source, item.locator, reason, _record_raw(item.record)))
                    continue
                if removed:
                    report.nul_removed += 1
                    log.info("%s, %s: NUL characters removed", item.source, item.locator)
                    item = Parsed(record, item.source, item.locator)
                key = record.key
                conflict = duplicate_problem(item, record, key)
                if conflict is not None:
                    set_aside(conflict)
                    continue
                earlier = pending.get(key)
                merged = record if earlier is None else _merged(earlier[0], record)
                pending[key] = (merged, earlier[1] if earlier else item.locator)
                batch.append(item)
                rows.append(row)
                if len(batch) >= batch_size:
                    flush()
            flush()
        finally:
            sink.close()
    report.quarantine_path = str(qpath) if sink.used else None
    report.check()
    store.record_import(
        source=source, format=fmt, started_at=started, counts=report.counts(), quarantine_path=report.quarantine_path
    )
    return report


def _merged(first: Event | Account, second: Event | Account) -> Event | Account:
    try:
        return merge_records(first, second)
    except Exception:
        # The store will say what is wrong with this pair; the check only needs a view.
        return second


def _record_raw(record: Event | Account) -> str:
    """The record as a generic JSONL line for the quarantine file (re-importable)."""
    try:
        return record_line(record)
    except Exception:
        pass
    # pydantic's JSON mode stops at about 250 levels of nesting; Python mode
    # and the json module go deeper, so a deep meta is still written out.
    try:
        kind = "account" if isinstance(record, Account) else "event"
        data = record.model_dump(exclude={"timeline"} if kind == "account" else None)
        return json.dumps({"record_type": kind, **data}, ensure_ascii=False, default=str)
    except Exception as exc:
        return f"<record not printable: {type(exc).__name__}; see the source file at the locator>"


def _reason_kind(reason: str) -> str:
    """A short, groupable form of a reason for the summary table."""
    head = reason.split(";")[0]
    return head if len(head) <= 80 else head[:77] + "..."
