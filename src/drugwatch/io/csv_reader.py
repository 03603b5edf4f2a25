"""CSV in, with a column mapping.

``mapping`` maps an :class:`~drugwatch.records.Event` field to a CSV column
(``{"text": "caption", "author": "user"}``); fields not mapped are looked
up under their own name. List fields (``hashtags``, ``labels``) are split
on ``|``, ``;`` or ``,``; ``selling`` reads true/false/1/0/yes/no; an empty
cell is a missing value. Columns that map to no field go into ``meta``.
Set ``record_type`` to ``"account"`` to read accounts instead of events.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem
from drugwatch.records import Account, Event, Provenance, RecordError, sha256_bytes

_LIST_FIELDS = {"hashtags", "labels"}
_BOOL_FIELDS = {"selling", "dealer", "is_private"}
_INT_FIELDS = {"followers", "following", "posts_count"}
_SPLIT = re.compile(r"[|;,]")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _convert(name: str, cell: str) -> Any:
    cell = cell.strip()
    if cell == "":
        return None
    if name in _LIST_FIELDS:
        return [part.strip() for part in _SPLIT.split(cell) if part.strip()]
    if name in _BOOL_FIELDS:
        low = cell.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise RecordError(f"field '{name}': cannot read {cell!r} as true/false")
    if name in _INT_FIELDS:
        try:
            return int(float(cell.replace(",", "")))
        except ValueError:
            raise RecordError(f"field '{name}': cannot read {cell!r} as a number") from None
    return cell


def read_csv(
    path: str | os.PathLike[str],
    mapping: Mapping[str, str] | None = None,
    *,
    record_type: str = "event",
    platform: str = "instagram",
    delimiter: str = ",",
) -> Iterator[ReadItem]:
    """Read events (or accounts) from a CSV file with a header row."""
    source = str(path)
    if not Path(path).is_file():
        raise ReaderError(f"no such file: {source}")
    model: type[Event] | type[Account] = Event if record_type == "event" else Account
    if record_type not in ("event", "account"):
        raise ReaderError(f"record_type must be 'event' or 'account', got {record_type!r}")
    fields = set(model.model_fields) - {"provenance", "timeline", "meta"}
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise ReaderError(f"--map names unknown field(s) {', '.join(unknown)}; fields are: {', '.join(sorted(fields))}")
    fetched_at = datetime.fromtimestamp(os.stat(path).st_mtime, tz=timezone.utc)
    with open(path, newline="", encoding="utf-8-sig", errors="strict") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ReaderError(f"{source}: cannot read the header row: {exc}") from exc
        missing = sorted(col for col in mapping.values() if col not in header)
        if missing:
            raise ReaderError(f"{source}: mapped column(s) not in the header: {', '.join(missing)}")
        column_of = {name: mapping.get(name, name) for name in fields}
        used = {col for col in column_of.values() if col in header}
        while True:
            locator = f"line {reader.line_num + 1}"
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Problem(source, locator, f"unreadable CSV row: {exc}")
                continue
            locator = f"line {reader.line_num}"
            raw_text = delimiter.join(row)
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield Problem(source, locator, f"{len(row)} cells but the header has {len(header)} columns", raw_text)
                continue
            cells = dict(zip(header, row, strict=True))
            try:
                data: dict[str, Any] = {}
                for name, column in column_of.items():
                    if column in cells:
                        value = _convert(name, cells[column])
                        if value is not None:
                            data[name] = value
                data["meta"] = {col: val for col, val in cells.items() if col not in used and val != ""}
                data.setdefault("platform", platform)
                data["provenance"] = Provenance(
                    platform=data["platform"],
                    source=source,
                    fetched_at=fetched_at,
                    raw_sha256=sha256_bytes(raw_text.encode("utf-8")),
                    locator=locator,
                    importer="csv",
                )
                record = model.parse(data, source=source, locator=locator)
            except RecordError as exc:
                yield Problem(source, locator, exc.reason, raw_text)
                continue
            yield Parsed(record, source, locator)
