"""CSV in, with a column mapping.

``mapping`` maps an :class:`~drugwatch.records.Event` field to a CSV column
(``{"text": "caption", "author": "user"}``); fields not mapped are looked
up under their own name. List fields (``hashtags``, ``labels``) are split
on ``|``, ``;`` or ``,``; ``selling`` reads true/false/1/0/yes/no; an empty
cell is a missing value. Columns that map to no field go into ``meta``.
Set ``record_type`` to ``"account"`` to read accounts instead of events.

Event ids: the ``id`` column (or the column ``--map id=...`` names); else,
with ``id_from`` (``--id-from``), one column's value, or for several columns
``csv-`` + the first 20 hex digits of the SHA-256 of their cells (so rows
that agree on those columns are one event, whatever else differs); else
``csv-`` + the SHA-256 of the whole row.
"""

from __future__ import annotations

import codecs
import csv
import lzma
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem, record_failure
from drugwatch.io.limits import MAX_LINE_BYTES, CappedReader, InputTooLarge, bounded_lines, open_input
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


class _PhysicalLines:
    """The file's physical lines decoded one by one, for :func:`csv.reader`.

    Each line is decoded on its own, so one invalid UTF-8 byte spoils only
    the line it is in (a decoder working on 8 KB blocks loses the block).
    A bad line is passed on with the bad bytes as lone surrogates
    (``surrogateescape``): the quoting around it still parses, and the row
    that contains it is quarantined by the caller, which checks
    :attr:`bad` for the lines the row spans. An overlong line is passed on
    as an empty line and marked bad the same way.
    """

    def __init__(self, handle: CappedReader, max_bytes: int) -> None:
        self._lines = bounded_lines(handle, max_bytes)
        self.bad: dict[int, str] = {}
        self.last = 0

    def __iter__(self) -> _PhysicalLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.last = line.number
        data = line.data
        if line.number == 1 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        if line.overlong:
            self.bad[line.number] = f"line {line.number} is longer than {MAX_LINE_BYTES} bytes ({line.length} bytes)"
            return "\n"
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad[line.number] = (
                f"line {line.number} is not UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start + 1} of the line"
            )
            return data.decode("utf-8", errors="surrogateescape")

    def problems_in(self, first: int, last: int) -> list[str]:
        """Reasons for the bad lines among ``first..last``, forgetting them."""
        return [self.bad.pop(n) for n in range(first, last + 1) if n in self.bad]


def _printable(text: str) -> str:
    """Text with lone surrogates (undecodable bytes) written as ``\\xNN``, so it can be saved as UTF-8."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def read_csv(
    path: str | os.PathLike[str],
    mapping: Mapping[str, str] | None = None,
    *,
    record_type: str = "event",
    platform: str = "instagram",
    delimiter: str = ",",
    id_from: Sequence[str] | None = None,
) -> Iterator[ReadItem]:
    """Read events (or accounts) from a CSV file with a header row.

    The file is UTF-8 (a byte-order mark is skipped), decoded line by line:
    a row holding a byte that is not UTF-8, or a physical line longer than
    :data:`~drugwatch.io.limits.MAX_LINE_BYTES`, is quarantined and the rows
    around it are read. A bad header row stops the import with a
    :class:`ReaderError` naming the byte, since no row can be read without
    it. ``.gz``/``.bz2``/``.xz`` files are decompressed under
    :func:`~drugwatch.io.limits.max_decompressed_bytes`.
    """
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
    id_columns = tuple(col.strip() for col in id_from or () if col.strip())
    if id_columns and (model is not Event or "id" in mapping):
        raise ReaderError("--id-from names where event ids come from; do not combine it with --map id=... or accounts")
    fetched_at = datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)
    return _read(source, model, fields, mapping, platform, delimiter, fetched_at, id_columns)


def _read(
    source: str,
    model: type[Event] | type[Account],
    fields: set[str],
    mapping: dict[str, str],
    platform: str,
    delimiter: str,
    fetched_at: datetime,
    id_columns: tuple[str, ...] = (),
) -> Iterator[ReadItem]:
    with open_input(source) as handle:
        lines = _PhysicalLines(handle, MAX_LINE_BYTES)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ReaderError(f"{source}: cannot read the header row: {exc}") from exc
        except InputTooLarge as exc:
            raise ReaderError(f"{source}: {exc}") from exc
        bad_header = lines.problems_in(1, lines.last)
        if bad_header:
            raise ReaderError(f"{source}: cannot read the header row: {'; '.join(bad_header)}")
        missing = sorted(col for col in mapping.values() if col not in header)
        if missing:
            raise ReaderError(f"{source}: mapped column(s) not in the header: {', '.join(missing)}")
        missing = sorted(col for col in id_columns if col not in header)
        if missing:
            raise ReaderError(f"{source}: --id-from column(s) not in the header: {', '.join(missing)}")
        column_of = {name: mapping.get(name, name) for name in fields}
        if id_columns:
            column_of.pop("id", None)  # the id comes from id_columns, not from an "id" column
        used = {col for col in column_of.values() if col in header}
        while True:
            first = lines.last + 1
            locator = f"line {first}"
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.problems_in(first, lines.last)
                yield Problem(source, locator, f"unreadable CSV row: {exc}")
                continue
            except InputTooLarge as exc:
                yield Problem(source, locator, str(exc))
                return
            except (OSError, EOFError, lzma.LZMAError) as exc:
                yield Problem(source, locator, f"cannot read further: {exc}")
                return
            locator = f"line {first}" if lines.last == first else f"lines {first}-{lines.last}"
            raw_text = _printable(delimiter.join(row))
            bad = lines.problems_in(first, lines.last)
            if bad:
                yield Problem(source, locator, "; ".join(bad), raw_text)
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield Problem(source, locator, f"{len(row)} cells but the header has {len(header)} columns", raw_text)
                continue
            try:
                record = _record(
                    model, row, header, column_of, used, platform, source, locator, raw_text, fetched_at, id_columns
                )
                yield Parsed(record, source, locator)
            except RecordError as exc:
                yield Problem(source, locator, exc.reason, raw_text)
            except Exception as exc:  # one bad row must not end the import
                yield Problem(source, locator, record_failure(exc), raw_text)


def _record(
    model: type[Event] | type[Account],
    row: list[str],
    header: list[str],
    column_of: dict[str, str],
    used: set[str],
    platform: str,
    source: str,
    locator: str,
    raw_text: str,
    fetched_at: datetime,
    id_columns: tuple[str, ...] = (),
) -> Event | Account:
    cells = dict(zip(header, row, strict=True))
    data: dict[str, Any] = {}
    for name, column in column_of.items():
        if column in cells:
            value = _convert(name, cells[column])
            if value is not None:
                data[name] = value
    data["meta"] = {col: val for col, val in cells.items() if col not in used and val != ""}
    if id_columns:
        values = [cells[col].strip() for col in id_columns]
        if not any(values):
            raise RecordError(f"no id: the --id-from column(s) {', '.join(id_columns)} are empty in this row")
        if len(id_columns) == 1:
            data["id"] = values[0]
        else:
            # Unit separators keep ("ab", "c") and ("a", "bc") apart.
            data["id"] = "csv-" + sha256_bytes("\x1f".join(values).encode("utf-8"))[:20]
    elif model is Event and "id" not in data:
        # No id column (or an empty cell): the row's content names it, so the
        # same row imported twice is one event, and two different rows never merge.
        data["id"] = "csv-" + sha256_bytes(raw_text.encode("utf-8"))[:20]
    data.setdefault("platform", platform)
    data["provenance"] = Provenance(
        platform=data["platform"],
        source=source,
        fetched_at=fetched_at,
        raw_sha256=sha256_bytes(raw_text.encode("utf-8")),
        locator=locator,
        importer="csv",
    )
    return model.parse(data, source=source, locator=locator)
