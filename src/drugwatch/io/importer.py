"""Import a file or folder into the store, quarantining what cannot be read.

Every raw record ends in exactly one bucket, so the counts always add up::

    read = imported + near_duplicate + merged + unchanged + quarantined

``imported``: new and not a near-duplicate of anything stored;
``near_duplicate``: new, stored, and in a cluster that already had a text;
``merged``: already stored (same platform id), updated by this copy;
``unchanged``: already stored, this copy added nothing (a re-import);
``quarantined``: written to the quarantine file with file, line and reason.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import IO, Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem
from drugwatch.store import Store
from drugwatch.store.db import data_home

FORMATS = ("jsonl", "bench", "instaloader", "zeeschuimer", "csv")

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
    quarantine_path: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def stored(self) -> int:
        return self.imported + self.near_duplicate + self.merged + self.unchanged

    def check(self) -> None:
        if self.read != self.stored + self.quarantined:
            raise AssertionError(f"import counts do not add up: {self.counts()}")

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "imported": self.imported,
            "near_duplicate": self.near_duplicate,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = dict(self.reasons.most_common())
        return data


def _peek_json(path: Path) -> dict[str, Any] | None:
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return None
                return obj if isinstance(obj, dict) else None
    return None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of ``path`` from its name and first record."""
    p = Path(path)
    if not p.exists():
        raise ReaderError(f"no such file or folder: {p}")
    if p.is_dir():
        return "instaloader"
    name = p.name.lower()
    if name.endswith((".json.xz", ".json")):
        return "instaloader"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        first = _peek_json(p)
        if first is not None:
            if "source_platform" in first or "__import_meta" in first or ("item_id" in first and "data" in first):
                return "zeeschuimer"
            if "task" in first and "group" in first:
                return "bench"
        return "zeeschuimer" if name.endswith(".ndjson") else "jsonl"
    raise ReaderError(f"cannot tell the format of {p.name}; pass --format ({', '.join(FORMATS)})")


def reader_for(fmt: str, csv_mapping: Mapping[str, str] | None = None) -> Callable[[str], Iterator[ReadItem]]:
    if fmt == "jsonl":
        from drugwatch.io.jsonl import read_jsonl

        return read_jsonl
    if fmt == "bench":
        from drugwatch.io.jsonl import read_bench

        return read_bench
    if fmt == "csv":
        from drugwatch.io.csv_reader import read_csv

        return partial(read_csv, mapping=csv_mapping)
    if fmt == "instaloader":
        from drugwatch.io.instaloader import read_instaloader

        return read_instaloader
    if fmt == "zeeschuimer":
        from drugwatch.io.zeeschuimer import read_zeeschuimer

        return read_zeeschuimer
    raise ReaderError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def default_quarantine_path(source: str | os.PathLike[str]) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return data_home() / "quarantine" / f"{Path(source).name}.{stamp}.jsonl"


class _Quarantine:
    """Opens the quarantine file on the first problem only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def write(self, problem: Problem) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")
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


def import_path(
    path: str | os.PathLike[str],
    store: Store,
    *,
    fmt: str = "auto",
    quarantine: str | os.PathLike[str] | None = None,
    csv_mapping: Mapping[str, str] | None = None,
    batch_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path`` into ``store`` and return the counts.

    Records are written in batches of ``batch_size``, each in one
    transaction, so an interrupted import keeps what it committed and a
    re-run completes it (the committed part counts as ``unchanged``).
    ``on_progress(n)`` is called after each batch with the records read so far.
    """
    source = str(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    read = reader_for(fmt, csv_mapping)
    report = ImportReport(source=source, format=fmt)
    qpath = Path(quarantine) if quarantine else default_quarantine_path(path)
    sink = _Quarantine(qpath)
    started = datetime.now(timezone.utc)
    batch: list[Parsed] = []

    def flush() -> None:
        if not batch:
            return
        result = store.upsert([item.record for item in batch])
        for status, count in result.counts.items():
            setattr(report, status, getattr(report, status) + count)
        batch.clear()
        if on_progress is not None:
            on_progress(report.read)

    try:
        for item in read(source):
            report.read += 1
            if isinstance(item, Problem):
                report.quarantined += 1
                report.reasons[_reason_kind(item.reason)] += 1
                sink.write(item)
                continue
            batch.append(item)
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


def _reason_kind(reason: str) -> str:
    """A short, groupable form of a reason for the summary table."""
    head = reason.split(";")[0]
    return head if len(head) <= 80 else head[:77] + "..."
