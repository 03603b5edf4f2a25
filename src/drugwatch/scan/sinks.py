"""Where scan results go: JSONL, Parquet or the database, plus the quarantine file.

Every sink can be resumed: :meth:`state` describes what is durably written
at a checkpoint, and a sink opened with that state first drops anything
written after it (bytes past the recorded size, Parquet parts past the
recorded count, database rows past the recorded position). So a scan killed
between two checkpoints and resumed writes each result exactly once.

Accounts met in the input (generic JSONL carries them) are kept beside the
results: ``<results>.accounts.jsonl`` for file outputs, the store's accounts
table for database output. The report reads them for Yang & Luo's account
figures.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from drugwatch.io.base import Problem
from drugwatch.io.export import record_line
from drugwatch.records import Account
from drugwatch.scoring import EventResult, ModelInfo

__all__ = [
    "DbSink",
    "JsonlSink",
    "ParquetSink",
    "QuarantineFile",
    "ResultSink",
    "accounts_path",
    "open_sink",
    "read_results",
    "result_schema",
    "result_to_row",
    "row_to_result",
]

#: Layout of a JSONL results file: 2 = a header line with the models, then results without them.
JSONL_FORMAT = 2

#: Raw payloads longer than this are cut in the quarantine file (as the importer does).
MAX_QUARANTINE_RAW = 20_000


def accounts_path(results: str | os.PathLike[str]) -> Path:
    """``results.jsonl`` -> ``results.accounts.jsonl`` (also for ``.parquet``)."""
    p = Path(results)
    return p.with_name(p.name.split(".")[0] + ".accounts.jsonl")


class ResultSink(Protocol):
    kind: str

    def open(self, state: dict[str, Any] | None) -> None: ...
    def write(self, position: int, result: EventResult) -> None: ...
    def write_account(self, account: Account) -> None: ...
    def flush(self) -> dict[str, Any]: ...
    def close(self, complete: bool) -> None: ...
    def identity(self) -> dict[str, Any]: ...
    def exists(self) -> bool: ...


class _Appender:
    """A text file appended to, resumable by byte size."""

    def __init__(self, path: Path):
        self.path = path
        self._handle: IO[bytes] | None = None

    def open(self, size: int | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if size is None:
            self._handle = open(self.path, "wb")
        else:
            self._handle = open(self.path, "r+b" if self.path.exists() else "wb")
            self._handle.truncate(size)
            self._handle.seek(size)

    def write_line(self, line: str) -> None:
        assert self._handle is not None, "open() first"
        self._handle.write(line.encode("utf-8") + b"\n")

    def flush(self) -> int:
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class QuarantineFile:
    """Records that could not be scanned, one JSON line each: source, locator, reason, raw.

    The same layout as the importer's quarantine file, so it can be fixed by
    hand and scanned again.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._file = _Appender(self.path)
        self.written = 0

    def open(self, state: dict[str, Any] | None) -> None:
        self._file.open(None if state is None else int(state["bytes"]))
        self.written = 0 if state is None else int(state.get("count", 0))

    def write(self, problem: Problem) -> None:
        raw = problem.raw
        if raw is not None and len(raw) > MAX_QUARANTINE_RAW:
            raw = raw[:MAX_QUARANTINE_RAW] + "…[truncated]"
        record = {"source": problem.source, "locator": problem.locator, "reason": problem.reason, "raw": raw}
        self._file.write_line(json.dumps(record, ensure_ascii=False))
        self.written += 1

    def flush(self) -> dict[str, Any]:
        return {"bytes": self._file.flush(), "count": self.written}

    def close(self, complete: bool) -> None:
        self._file.close()
        if complete and self.written == 0 and self.path.exists() and self.path.stat().st_size == 0:
            self.path.unlink()


# ---------------------------------------------------------------------------
# JSONL


class JsonlSink:
    """A header line, then one :class:`EventResult` per line.

    The header (``{"record_type": "scan", "format": 2, "models": [...],
    "lexicon": "<fingerprint>"}``) names the models and the lexicon once; result lines leave :attr:`EventResult.models` out
    and :func:`read_results` puts it back. Files without a header (format 1,
    models on every line) are read too.
    """

    kind = "jsonl"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._results = _Appender(self.path)
        self._accounts = _Appender(accounts_path(self.path))
        #: ``{"models": [...]}`` of the run, set before :meth:`open`.
        self.run_info: dict[str, Any] = {}

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path.resolve())}

    def exists(self) -> bool:
        return self.path.exists()

    def open(self, state: dict[str, Any] | None) -> None:
        self._results.open(None if state is None else int(state["bytes"]))
        self._accounts.open(None if state is None else int(state["accounts_bytes"]))
        if state is None:
            header = {
                "record_type": "scan",
                "format": JSONL_FORMAT,
                "models": self.run_info.get("models", []),
                "lexicon": self.run_info.get("lexicon"),
            }
            self._results.write_line(json.dumps(header, ensure_ascii=False, separators=(",", ":")))

    def write(self, position: int, result: EventResult) -> None:
        self._results.write_line(result.to_json(models=False))

    def write_account(self, account: Account) -> None:
        self._accounts.write_line(record_line(account))

    def flush(self) -> dict[str, Any]:
        return {"bytes": self._results.flush(), "accounts_bytes": self._accounts.flush()}

    def close(self, complete: bool) -> None:
        self._results.close()
        self._accounts.close()


# ---------------------------------------------------------------------------
# Parquet

# ``vision``: per-image probabilities and the fused decision (null when no model read images; absent in files
# written before it existed, which read back as null).
_JSON_COLUMNS = ("lexicon_hits", "hashtags", "contacts", "images", "provenance", "models", "vision")


def result_schema() -> Any:
    """The Parquet/Arrow schema of scan results (nested fields as JSON strings)."""
    import pyarrow as pa

    from drugwatch.labels import LABELS

    return pa.schema(
        [
            ("format", pa.int32()),
            ("key", pa.string()),
            ("id", pa.string()),
            ("platform", pa.string()),
            ("kind", pa.string()),
            ("parent_id", pa.string()),
            ("post_id", pa.string()),
            ("author", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("text", pa.string()),
            ("normalized_text", pa.string()),
            ("ocr_text", pa.string()),
            ("selling_probability", pa.float64()),
            ("selling", pa.bool_()),
            *[(f"p_{label}", pa.float64()) for label in LABELS],
            ("drug_labels", pa.list_(pa.string())),
            ("lexicon_labels", pa.list_(pa.string())),
            ("buy_intent", pa.bool_()),
            *[(name, pa.string()) for name in _JSON_COLUMNS],
            ("annotated_labels", pa.list_(pa.string())),
            ("annotated_selling", pa.bool_()),
            # absent from files written without them: read back as null
            ("selling_review", pa.bool_()),
            ("language", pa.string()),
        ]
    )


def result_to_row(result: EventResult) -> dict[str, Any]:
    from drugwatch.labels import LABELS

    data = result.model_dump(mode="json")
    row = {
        k: data[k]
        for k in (
            "format",
            "key",
            "id",
            "platform",
            "kind",
            "parent_id",
            "post_id",
            "author",
            "text",
            "normalized_text",
            "ocr_text",
            "selling_probability",
            "selling",
            "drug_labels",
            "lexicon_labels",
            "buy_intent",
            "annotated_labels",
            "annotated_selling",
            "selling_review",
            "language",
        )
    }
    row["created_at"] = result.created_at
    probs = result.drug_probabilities
    for label in LABELS:
        row[f"p_{label}"] = None if probs is None else probs[label]
    for name in _JSON_COLUMNS:
        row[name] = json.dumps(data[name], ensure_ascii=False, separators=(",", ":"))
    return row


def row_to_result(row: dict[str, Any]) -> EventResult:
    from drugwatch.labels import LABELS

    data = {k: v for k, v in row.items() if not k.startswith("p_") and k not in _JSON_COLUMNS}
    for name in _JSON_COLUMNS:
        data[name] = json.loads(row[name]) if row.get(name) is not None else None
    if all(row.get(f"p_{label}") is None for label in LABELS):
        data["drug_probabilities"] = None
    else:
        data["drug_probabilities"] = {label: row[f"p_{label}"] for label in LABELS}
    if data.get("lexicon_labels") is None:
        data["lexicon_labels"] = ()
    return EventResult.model_validate(data)


class ParquetSink:
    """Results in one Parquet file, written as numbered parts and joined when the scan completes.

    Each flush writes the buffered results as ``<file>.parts/part-NNNNNN.parquet``;
    completion streams the parts into ``<file>`` (one row group per part)
    and removes them. A resumed scan keeps the parts its checkpoint counted.
    """

    kind = "parquet"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.parts = self.path.with_name(self.path.name + ".parts")
        self._accounts = _Appender(accounts_path(self.path))
        self._rows: list[dict[str, Any]] = []
        self._n_parts = 0

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path.resolve())}

    def exists(self) -> bool:
        return self.path.exists() or self.parts.exists()

    def open(self, state: dict[str, Any] | None) -> None:
        if state is None:
            shutil.rmtree(self.parts, ignore_errors=True)
            if self.path.exists():
                self.path.unlink()
            self._n_parts = 0
        else:
            self._n_parts = int(state["parts"])
            for part in self.parts.glob("part-*.parquet"):
                if int(part.stem.split("-")[1]) >= self._n_parts:
                    part.unlink()
        self.parts.mkdir(parents=True, exist_ok=True)
        self._accounts.open(None if state is None else int(state["accounts_bytes"]))

    def write(self, position: int, result: EventResult) -> None:
        self._rows.append(result_to_row(result))

    def write_account(self, account: Account) -> None:
        self._accounts.write_line(record_line(account))

    def flush(self) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._rows:
            table = pa.Table.from_pylist(self._rows, schema=result_schema())
            tmp = self.parts / f".part-{self._n_parts:06d}.tmp"
            pq.write_table(table, tmp)
            os.replace(tmp, self.parts / f"part-{self._n_parts:06d}.parquet")
            self._n_parts += 1
            self._rows = []
        return {"parts": self._n_parts, "accounts_bytes": self._accounts.flush()}

    def close(self, complete: bool) -> None:
        import pyarrow.parquet as pq

        self._accounts.close()
        self._rows = []
        if not complete:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with pq.ParquetWriter(str(tmp), result_schema()) as writer:
            wrote = False
            for index in range(self._n_parts):
                writer.write_table(pq.read_table(self.parts / f"part-{index:06d}.parquet"))
                wrote = True
            if not wrote:
                writer.write_table(result_schema().empty_table())
        os.replace(tmp, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)


# ---------------------------------------------------------------------------
# Database


class DbSink:
    """Results in the store's ``scan_results`` table under one ``scan_runs`` row.

    Accounts met in the input are upserted into the store's accounts.
    """

    kind = "db"

    def __init__(self, db: str | None = None, *, label: str | None = None):
        from drugwatch.store import Store

        self.store = Store(db)
        self.label = label
        self.run_id: int | None = None
        self._rows: list[dict[str, Any]] = []
        self._accounts: list[Account] = []
        self.run_info: dict[str, Any] = {}

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.store.display_url, "label": self.label}

    def exists(self) -> bool:
        return False  # every fresh scan is a new run

    def open(self, state: dict[str, Any] | None) -> None:
        from sqlalchemy import delete, insert

        from drugwatch.scan.schema import ScanResultRow, ScanRunRow

        with self.store.engine.begin() as conn:
            if state is None:
                inserted = conn.execute(
                    insert(ScanRunRow).values(
                        label=self.label,
                        status="running",
                        started_at=datetime.now(UTC),
                        info=self.run_info,
                        counts={},
                    )
                ).inserted_primary_key
                if inserted is None:
                    raise RuntimeError("the database returned no id for the new scan run")
                self.run_id = inserted[0]
            else:
                self.run_id = int(state["run_id"])
                conn.execute(
                    delete(ScanResultRow).where(
                        ScanResultRow.run_id == self.run_id, ScanResultRow.ordinal >= int(state["rows"])
                    )
                )
        self._written = 0 if state is None else int(state["rows"])

    def write(self, position: int, result: EventResult) -> None:
        self._rows.append(
            {
                "run_id": self.run_id,
                "ordinal": self._written + len(self._rows),
                "position": position,
                "event_key": result.key,
                "author": result.author,
                "created_at": result.created_at,
                "selling_probability": result.selling_probability,
                "selling": result.selling,
                "drug_labels": list(result.drug_labels) if result.drug_labels is not None else None,
                "result": result.model_dump(mode="json"),
            }
        )

    def write_account(self, account: Account) -> None:
        self._accounts.append(account)

    def flush(self) -> dict[str, Any]:
        from sqlalchemy import insert

        from drugwatch.scan.schema import ScanResultRow

        if self._rows:
            with self.store.engine.begin() as conn:
                conn.execute(insert(ScanResultRow), self._rows)
            self._written += len(self._rows)
            self._rows = []
        if self._accounts:
            self.store.upsert(self._accounts)
            self._accounts = []
        return {"run_id": self.run_id, "rows": self._written}

    def finish(self, counts: dict[str, Any]) -> None:
        from sqlalchemy import update

        from drugwatch.scan.schema import ScanRunRow

        with self.store.engine.begin() as conn:
            conn.execute(
                update(ScanRunRow)
                .where(ScanRunRow.id == self.run_id)
                .values(status="complete", finished_at=datetime.now(UTC), counts=counts)
            )

    def close(self, complete: bool) -> None:
        self._rows = []
        self._accounts = []


def open_sink(output: str, *, fmt: str = "auto", db: str | None = None, label: str | None = None) -> ResultSink:
    """The sink for ``output``: a ``.jsonl`` or ``.parquet`` path, or ``db`` for the store."""
    if output == "db" or fmt == "db":
        return DbSink(db, label=label)
    name = output.lower()
    if fmt == "parquet" or (fmt == "auto" and name.endswith((".parquet", ".pq"))):
        return ParquetSink(output)
    if fmt == "jsonl" or (fmt == "auto" and name.endswith((".jsonl", ".ndjson"))):
        return JsonlSink(output)
    raise ValueError(f"cannot tell the output format of {output!r}; use .jsonl, .parquet or 'db'")


# ---------------------------------------------------------------------------
# Reading results back


def read_results(
    path_or_db: str | os.PathLike[str], *, db: str | None = None, run_id: int | None = None, batch_size: int = 2000
) -> Iterator[EventResult]:
    """Stream the results of a scan: a JSONL or Parquet file, or ``"db"`` (latest complete run, or ``run_id``)."""
    if str(path_or_db) == "db":
        yield from _read_db_results(db, run_id, batch_size)
        return
    path = Path(path_or_db)
    if not path.is_file():
        raise FileNotFoundError(f"no scan results at {path}")
    if path.name.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=batch_size):
            for row in batch.to_pylist():
                yield row_to_result(row)
        return
    with open(path, "rb") as handle:
        models: tuple[ModelInfo, ...] = ()
        for line in handle:
            if line.startswith(b'{"record_type":"scan"'):
                header = json.loads(line)
                if header.get("format") != JSONL_FORMAT:
                    raise ValueError(
                        f"{path}: scan results format {header.get('format')!r}; "
                        f"this drugwatch reads format {JSONL_FORMAT}"
                    )
                models = tuple(ModelInfo.model_validate(m) for m in header.get("models", []))
            elif line.strip():
                result = EventResult.from_json(line)
                yield result.model_copy(update={"models": models}) if models and not result.models else result


def latest_run(db: str | None) -> int:
    from sqlalchemy import select

    from drugwatch.scan.schema import ScanRunRow
    from drugwatch.store import Store

    store = Store(db)
    with store.engine.connect() as conn:
        run = conn.execute(
            select(ScanRunRow.id).where(ScanRunRow.status == "complete").order_by(ScanRunRow.id.desc()).limit(1)
        ).scalar_one_or_none()
    if run is None:
        raise LookupError(f"no complete scan run in {store.display_url}; run `drugwatch scan ... --output db`")
    return int(run)


def _read_db_results(db: str | None, run_id: int | None, batch_size: int) -> Iterator[EventResult]:
    from sqlalchemy import select

    from drugwatch.scan.schema import ScanResultRow
    from drugwatch.store import Store

    run = run_id if run_id is not None else latest_run(db)
    store = Store(db)
    last = -1
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(ScanResultRow.ordinal, ScanResultRow.result)
                .where(ScanResultRow.run_id == run, ScanResultRow.ordinal > last)
                .order_by(ScanResultRow.ordinal)
                .limit(batch_size)
            ).all()
        if not rows:
            return
        for row in rows:
            yield EventResult.model_validate(row.result)
        last = rows[-1].ordinal
