"""Line-oriented JSON readers: drugwatch's generic JSONL and the bench kit's JSONL.

Generic JSONL: one object per line, either an event (``"record_type":
"event"``, the default when absent) or an account (``"record_type":
"account"``), with the fields of :class:`drugwatch.records.Event` /
:class:`drugwatch.records.Account`. Blank lines are not records and are
skipped; every other line yields exactly one :class:`Parsed` or
:class:`Problem`.

Bench JSONL (``../shared/bench/dev/*.jsonl``, see its README): ``id``,
``task``, ``source``, ``platform``, ``text``, ``author``, ``created_at``,
``labels``, ``selling``, ``group``, ``meta``. ``group`` (the split key),
``task``, ``source`` and ``meta`` go into the event's ``meta``.
"""

from __future__ import annotations

import json
import lzma
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem, record_failure, short_message
from drugwatch.io.limits import MAX_LINE_BYTES, InputTooLarge, bounded_lines, open_input
from drugwatch.records import Account, Event, Provenance, RecordError, sha256_bytes


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes, Any | Problem]]:
    """Yield ``(line_number, raw_bytes, parsed_object_or_Problem)`` for non-blank lines.

    Lines are read through :func:`~drugwatch.io.limits.bounded_lines`: a line
    over :data:`~drugwatch.io.limits.MAX_LINE_BYTES` is never held whole and
    becomes a Problem. ``.gz``/``.bz2``/``.xz`` files are decompressed with
    the cap of :func:`~drugwatch.io.limits.max_decompressed_bytes`; going
    over it ends the file with one Problem saying so. A line that cannot be
    parsed for any reason (invalid JSON or UTF-8, an integer of more than
    4,300 digits, nesting deeper than the parser's recursion limit) is a
    Problem for that line only.
    """
    source = str(path)
    number = 0
    with open_input(path) as handle:
        try:
            for line in bounded_lines(handle, MAX_LINE_BYTES):
                number = line.number
                locator = f"line {number}"
                if line.overlong:
                    reason = (
                        f"line longer than {MAX_LINE_BYTES} bytes ({line.length} bytes); only its start is kept here"
                    )
                    yield number, line.data, Problem(source, locator, reason, _preview(line.data))
                    continue
                stripped = line.data.strip()
                if not stripped:
                    continue
                yield number, stripped, _parse_line(stripped, source, locator)
        except InputTooLarge as exc:
            yield number + 1, b"", Problem(source, f"line {number + 1}", str(exc))
        except (OSError, EOFError, lzma.LZMAError) as exc:
            # A truncated or corrupt archive: what was read before stays read.
            yield number + 1, b"", Problem(source, f"line {number + 1}", f"cannot read further: {exc}")


def _parse_line(stripped: bytes, source: str, locator: str) -> Any:
    try:
        return json.loads(stripped)
    except UnicodeDecodeError as exc:
        return Problem(source, locator, f"not UTF-8: {exc.reason} at byte {exc.start}", _preview(stripped))
    except json.JSONDecodeError as exc:
        return Problem(source, locator, f"invalid JSON: {exc.msg} at column {exc.colno}", _preview(stripped))
    except RecursionError:
        return Problem(source, locator, "invalid JSON: nested too deeply to parse", _preview(stripped))
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return Problem(source, locator, f"invalid JSON: {short_message(exc)}", _preview(stripped))


def _preview(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _file_time(path: str | os.PathLike[str]) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)


def _read_lines(
    path: str | os.PathLike[str],
    build: Callable[[dict[str, Any], Provenance | dict[str, Any], str, str], Event | Account],
    importer: str,
) -> Iterator[Parsed | Problem]:
    source = str(path)
    if not Path(path).is_file():
        raise ReaderError(f"no such file: {source}")
    fetched_at = _file_time(path)
    for number, raw, obj in iter_json_lines(path):
        locator = f"line {number}"
        if isinstance(obj, Problem):
            yield obj
            continue
        if not isinstance(obj, dict):
            yield Problem(source, locator, f"expected a JSON object, got {type(obj).__name__}", _preview(raw))
            continue
        try:
            # A plain dict: the record's own validation checks it once, as part of the record.
            default_provenance = {
                "platform": str(obj.get("platform") or "instagram"),
                "source": source,
                "fetched_at": fetched_at,
                "raw_sha256": sha256_bytes(raw),
                "locator": locator,
                "importer": importer,
            }
            record = build(obj, default_provenance, source, locator)
        except RecordError as exc:
            yield Problem(source, locator, exc.reason, _preview(raw))
            continue
        except Exception as exc:  # one bad record must not end the import
            yield Problem(source, locator, record_failure(exc), _preview(raw))
            continue
        yield Parsed(record, source, locator)


def _build_generic(
    obj: dict[str, Any], provenance: Provenance | dict[str, Any], source: str, locator: str
) -> Event | Account:
    """The record of one generic JSONL object; ``provenance`` is used when the object has none.

    ``provenance`` may be a plain dict (the importer's: validated once, with
    the record) or a :class:`Provenance` (the scan's sources).
    """
    data = dict(obj)
    record_type = data.pop("record_type", "event")
    if "provenance" not in data or data["provenance"] is None:
        data["provenance"] = provenance
    if record_type == "event" and isinstance(data.get("images"), list):
        data["images"] = [_anchor_image(image, source) for image in data["images"]]
    if record_type == "event":
        return Event.parse(data, source=source, locator=locator)
    if record_type == "account":
        if data.get("timeline"):
            raise RecordError(
                "an account line must not nest its timeline; write its events as their own lines",
                source=source,
                locator=locator,
            )
        return Account.parse(data, source=source, locator=locator)
    raise RecordError(
        f"unknown record_type {record_type!r}; expected 'event' or 'account'", source=source, locator=locator
    )


def _anchor_image(image: Any, source: str) -> Any:
    """Resolve a relative image path against the JSONL file's folder."""
    if isinstance(image, dict) and isinstance(image.get("path"), str):
        path = Path(image["path"])
        if not path.is_absolute():
            return {**image, "path": str((Path(source).parent / path).resolve())}
    return image


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[ReadItem]:
    """Read drugwatch's generic JSONL (events and accounts)."""
    return _read_lines(path, _build_generic, "jsonl")


_BENCH_FIELDS = {
    "id",
    "task",
    "source",
    "platform",
    "text",
    "author",
    "created_at",
    "labels",
    "selling",
    "group",
    "meta",
}


def _build_bench(obj: dict[str, Any], provenance: Provenance | dict[str, Any], source: str, locator: str) -> Event:
    missing = [name for name in ("id", "text") if name not in obj]
    if missing:
        raise RecordError(f"bench record lacks {', '.join(missing)}", source=source, locator=locator)
    unknown = sorted(set(obj) - _BENCH_FIELDS)
    if unknown:
        raise RecordError(f"unknown bench field(s): {', '.join(unknown)}", source=source, locator=locator)
    meta = dict(obj.get("meta") or {})
    meta.update({"group": obj.get("group"), "task": obj.get("task"), "source": obj.get("source")})
    bench_source = {"platform": obj.get("platform") or "unknown", "importer": "bench"}
    data = {
        "id": obj["id"],
        "platform": obj.get("platform") or "unknown",
        "text": obj.get("text"),
        "author": obj.get("author"),
        "created_at": obj.get("created_at"),
        "labels": obj.get("labels"),
        "selling": obj.get("selling"),
        "meta": meta,
        "provenance": (
            provenance.model_copy(update=bench_source)
            if isinstance(provenance, Provenance)
            else {**provenance, **bench_source}
        ),
    }
    return Event.parse(data, source=source, locator=locator)


def read_bench(path: str | os.PathLike[str]) -> Iterator[Parsed | Problem]:
    """Read a bench-kit JSONL file (``drugtype.jsonl``, ``selling.jsonl``)."""
    return _read_lines(path, _build_bench, "bench")


def load_bench_events(path: str | os.PathLike[str]) -> list[Event]:
    """All events of a bench file; raises :class:`ReaderError` on the first bad line.

    For experiments, where a bad line means the data set is not what the
    config names. Imports use :func:`read_bench` and quarantine instead.
    """
    events: list[Event] = []
    for item in read_bench(path):
        if isinstance(item, Problem):
            raise ReaderError(f"{item.source}, {item.locator}: {item.reason}")
        if not isinstance(item.record, Event):  # the bench builder makes events only
            raise ReaderError(f"{item.source}, {item.locator}: not an event")
        events.append(item.record)
    return events
