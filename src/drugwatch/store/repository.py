"""The store: events and accounts in SQLite (default) or PostgreSQL.

>>> store = Store("sqlite:///:memory:")          # doctest: +SKIP
>>> result = store.upsert([event1, event2])     # doctest: +SKIP
>>> result.counts                               # doctest: +SKIP
{'imported': 2, 'near_duplicate': 0, 'merged': 0, 'unchanged': 0}

``upsert`` is idempotent: writing the same records again changes nothing
and counts them as ``unchanged``. A record whose key is already stored is
merged (:mod:`drugwatch.store.merge`). Every new event's text is clustered
with the stored texts by MinHash/LSH (:mod:`drugwatch.dedup`); its
``cluster_id`` is the ``seq`` of the cluster's first event, and a new event
that joins an existing cluster is counted as ``near_duplicate``.

NUL characters (``\\u0000``) are removed from every string of a record,
dictionary keys included, before it is written, on every backend:
PostgreSQL cannot store them in text or JSONB, and a rule that held on
SQLite only would make the same import succeed on one store and fail on
the other. ``UpsertResult.nul_removed`` counts the records concerned.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, text, update

from drugwatch import dedup
from drugwatch.records import Account, Event, canonical_json, sha256_bytes
from drugwatch.store import db
from drugwatch.store.db import RawJSON
from drugwatch.store.merge import merge_records
from drugwatch.store.schema import AccountRow, EventRow, ImportRunRow, LshBandRow, TextSignatureRow

#: Keys per ``IN (...)`` query: under SQLite's default 32,766 variables and
#: PostgreSQL's 65,535 parameters with room to spare.
_IN_CHUNK = 900

STATUSES = ("imported", "near_duplicate", "merged", "unchanged")

_R = TypeVar("_R", bound=Event | Account)


def _nul_count(value: Any) -> int:
    """NUL characters in the strings (and dict keys) of a JSON-like value; iterative."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            count += item.count("\x00")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def _strip_nul(value: Any) -> Any:
    """A copy of a JSON-like value without NUL characters; iterative (meta nests deep)."""
    root = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = item.replace("\x00", "")
        elif isinstance(item, dict):
            copy = {(k.replace("\x00", "") if isinstance(k, str) else k): v for k, v in item.items()}
            parent[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, (list, tuple)):
            copy_list = list(item)
            parent[key] = copy_list
            stack.extend((copy_list, i) for i in range(len(copy_list)))
    return root[0]


def without_nul(record: _R) -> tuple[_R, bool]:
    """``record`` with NUL characters removed from all its strings, and whether any were.

    Returns the same object when there is none. An account's timeline is
    left as it is: it is not stored with the account.
    """
    record, removed, _ = prepare_record(record)
    return record, removed


def _strip_record_nul(record: _R) -> tuple[_R, bool]:
    """The exact count and removal of :func:`without_nul`, once a cheap check found a possible NUL."""
    exclude = {"timeline"} if isinstance(record, Account) else None
    data = record.model_dump(exclude=exclude)
    if not _nul_count(data):
        return record, False
    cleaned = _strip_nul(data)
    if isinstance(record, Account):
        cleaned["timeline"] = record.timeline
    return cast(_R, type(record).model_validate(cleaned)), True


def prepare_record(record: _R) -> tuple[_R, bool, dict[str, Any] | None]:
    """``(record without NUL characters, whether any were removed, its store row)``.

    The row is :func:`event_to_row` / :func:`account_to_row` of the returned
    record, built from the one dump that also looks for NUL characters (the
    canonical JSON writes NUL as the six characters ``\\u0000``, so one
    substring test rules out almost every record; a text holding those six
    characters itself goes on to the exact count). The row is ``None`` when
    the record cannot be dumped (nested deeper than pydantic's JSON mode
    goes): the NUL count then takes the slow way, and the store reports the
    record when it builds the row itself.
    """
    try:
        row, suspect = _row_and_nul_check(record)
    except ValueError:
        return (*_strip_record_nul(record), None)
    if not suspect:
        return record, False, row
    cleaned, removed = _strip_record_nul(record)
    if not removed:
        return record, False, row
    return cleaned, True, _row_and_nul_check(cleaned)[0]


def _row_and_nul_check(record: Event | Account) -> tuple[dict[str, Any], bool]:
    if isinstance(record, Event):
        return _event_row(record)
    if isinstance(record, Account):
        return _account_row(record)
    raise TypeError(f"Store.upsert takes Event and Account records, got {type(record).__name__}")


@dataclass
class UpsertResult:
    """What became of each record given to :meth:`Store.upsert`, in input order.

    ``nul_removed``: how many of the records had NUL characters removed.
    """

    statuses: list[str] = field(default_factory=list)
    nul_removed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(self.statuses)
        return {status: tally.get(status, 0) for status in STATUSES}


@dataclass
class _ClusterPlan:
    """What :meth:`Store._plan_clusters` found, for :meth:`Store._write_clusters` to store.

    ``cluster_of``: each item's cluster id; ``joined``: whether it joined a
    cluster that already had a member; ``renumbered``: stored clusters
    bridged by an item, ``(root, others)``; ``signatures`` and ``bands``:
    the rows for ``text_signatures`` and ``lsh_bands``.
    """

    cluster_of: dict[int, int]
    joined: dict[int, bool]
    renumbered: list[tuple[int, list[int]]]
    signatures: list[tuple[int, str, bytes]]
    bands: list[tuple[int, int, int]]


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run ``sql`` (``?`` placeholders, plain integers, strings and bytes) once per row of ``rows``.

    For the store's bulkiest writes (cluster ids, signatures, LSH bands:
    16 rows per new text) the rows go straight to the driver's
    ``executemany``: SQLAlchemy's per-row parameter handling costs more than
    the database's own work here. The placeholders are rewritten for the
    driver (``%s`` for psycopg); a driver with another paramstyle gets the
    same statement through SQLAlchemy.
    """
    if not rows:
        return
    style = conn.dialect.paramstyle
    if style == "qmark":
        conn.exec_driver_sql(sql, rows)
    elif style in ("format", "pyformat"):
        conn.exec_driver_sql(sql.replace("?", "%s"), rows)
    else:
        names = [f"p{i}" for i in range(sql.count("?"))]
        for name in names:
            sql = sql.replace("?", f":{name}", 1)
        conn.execute(text(sql), [dict(zip(names, row)) for row in rows])


def _select_in(conn: Connection, sql: str, values: Sequence[Any], size: int = _IN_CHUNK) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``?`` placeholders, one ``IN ({in})``) for ``values``, in chunks of ``size``.

    Sent as driver SQL, like :func:`_executemany`: SQLAlchemy's expanding
    ``IN`` names and renders one bound parameter per value, which costs more
    than the query. Returns plain tuples (no result processing: for integer,
    text and binary columns).
    """
    style = conn.dialect.paramstyle
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(values, size):
        if style in ("qmark", "format", "pyformat"):
            query = sql.replace("{in}", ",".join("?" * len(chunk)))
            result = conn.exec_driver_sql(query if style == "qmark" else query.replace("?", "%s"), tuple(chunk))
        else:
            statement = text(sql.replace("{in}", ":values")).bindparams(bindparam("values", expanding=True))
            result = conn.execute(statement, {"values": list(chunk)})
        rows.extend(tuple(row) for row in result)
    return rows


#: No previous value yet (see :func:`_driver_params`).
_UNSET = object()


def _driver_params(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The column names of ``rows`` (dicts with the same keys) and each row's values, ready for the driver.

    Each value goes through its column type's own bind processor, so the
    driver stores what SQLAlchemy's ``insert()`` would. A value that is the
    very object the previous row had in that column (a batch's one
    ``updated_at``) reuses its processed form.
    """
    names = list(rows[0])
    processors = []
    for i, name in enumerate(names):
        process = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is None:
            continue
        # A JSON column's processor hands RawJSON text (and NULL) through unchanged; checked
        # here, those values then skip the call (five columns of every row).
        try:
            passes_raw = process(RawJSON("[]")) == "[]" and process(None) is None
        except (TypeError, ValueError):
            passes_raw = False  # not a column RawJSON is written to (a date, say)
        processors.append((i, process, passes_raw, [_UNSET, None]))
    out: list[list[Any]] = []
    for row in rows:
        if list(row) != names:
            raise ValueError(f"rows for {table.name} must all have the same columns, in the same order")
        values = list(row.values())
        for i, process, passes_raw, last in processors:
            value = values[i]
            if passes_raw and (value is None or type(value) is RawJSON):
                values[i] = None if value is None else str.__str__(value)
            elif value is last[0]:
                values[i] = last[1]
            else:
                values[i] = last[1] = process(value)
                last[0] = value
        out.append(values)
    return names, out


def _insert_returning(
    conn: Connection, table: Table, rows: list[dict[str, Any]], returning: tuple[str, str]
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) into ``table``; the ``returning`` columns of each new row.

    On SQLite the rows go to the driver as multi-row ``INSERT ... VALUES
    (...), (...) RETURNING`` statements of at most 900 parameters (under
    every SQLite's variable limit), values from :func:`_driver_params`.
    Other backends get SQLAlchemy's ``insert().returning()``.
    """
    if conn.dialect.name != "sqlite" or conn.dialect.paramstyle != "qmark":
        statement = insert(table).returning(*(table.c[name] for name in returning))
        return [tuple(row) for row in conn.execute(statement, rows).all()]
    names, params = _driver_params(conn, table, rows)
    per_statement = max(1, 900 // len(names))
    one = "(" + ",".join("?" * len(names)) + ")"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" RETURNING {', '.join(returning)}"
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(params, per_statement):
        flat = tuple(value for values in chunk for value in values)
        result = conn.exec_driver_sql(head + ",".join([one] * len(chunk)) + tail, flat)
        out.extend(tuple(row) for row in result)
    return out


#: SQLite's largest rowid; past it SQLite picks rowids at random.
_MAX_ROWID = 2**63 - 1


def _next_sqlite_rowids(conn: Connection, table: Table, column: str, count: int) -> int | None:
    """The first of the ``count`` rowids SQLite would give ``count`` new rows of ``table``, or ``None``.

    A rowid table without ``AUTOINCREMENT`` numbers a new row one past its
    largest rowid (1 when empty); rows inserted together are numbered in
    order. Known before the insert, the rows can go in with their rowids and
    everything computed from them (their clusters) in one statement each,
    as driver ``executemany`` without ``RETURNING``. The numbers cannot be
    taken by another connection meanwhile: SQLite has one writer, and a
    transaction whose snapshot is stale cannot start writing. ``None``
    (use ``RETURNING``) on other backends, for an ``AUTOINCREMENT`` table
    (it never reuses the number of a deleted last row) and near the rowid limit.
    """
    if conn.dialect.name != "sqlite" or conn.dialect.paramstyle != "qmark":
        return None
    definition = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,))
    sql = definition.scalar()
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return None
    last = conn.exec_driver_sql(f"SELECT max({column}) FROM {table.name}").scalar()
    first = 1 if last is None else int(last) + 1
    return first if first + count - 1 <= _MAX_ROWID else None


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with the driver's ``executemany`` (SQLite, qmark)."""
    names, params = _driver_params(conn, table, rows)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({','.join('?' * len(names))})"
    conn.exec_driver_sql(sql, [tuple(values) for values in params])


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone=True columns; they were written as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


#: The JSON string encoder of :func:`~drugwatch.records.canonical_json` (ensure_ascii=False).
_encode_string = json.encoder.encode_basestring


def _scalar_json(value: Any) -> str:
    """``canonical_json(value)``, without a call into the encoder for the common scalars."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is str:
        return _encode_string(value)
    return canonical_json(value)


#: Per dump layout (its keys in dump order, and which are JSON columns): ``(key, '"key":', is_json)`` in key order.
_LAYOUTS: dict[tuple[tuple[str, ...], frozenset[str]], list[tuple[str, str, bool]]] = {}


def _layout(keys: tuple[str, ...], json_columns: frozenset[str]) -> list[tuple[str, str, bool]]:
    layout = _LAYOUTS.get((keys, json_columns))
    if layout is None:
        layout = [(key, _encode_string(key) + ":", key in json_columns) for key in sorted(keys)]
        if len(_LAYOUTS) < 64:  # a record type dumps one layout; the bound only guards odd callers
            _LAYOUTS[(keys, json_columns)] = layout
    return layout


def _digest_and_columns(
    data: dict[str, Any], json_columns: frozenset[str]
) -> tuple[str, dict[str, RawJSON | None], bool]:
    """The content digest of a dumped record (provenance removed), the text of its JSON columns, and a NUL check.

    Each value is encoded once: the canonical JSON of the whole dict is
    ``{`` + its ``"key":value`` pairs in key order + ``}``, so the digest
    equals :func:`~drugwatch.store.merge.content_digest` and each column's
    text is the canonical JSON of its value (``None`` stays SQL NULL). The
    third value says whether that text holds ``\\u0000`` (how JSON writes a
    NUL character): ``False`` means no string of ``data`` holds a NUL.
    """
    parts = []
    columns: dict[str, RawJSON | None] = {}
    for key, prefix, is_json in _layout(tuple(data), json_columns):
        value = data[key]
        if is_json:
            # No encoder call for null and [] (most records' labels and images): 1 µs a record.
            text = "null" if value is None else "[]" if type(value) is list and not value else canonical_json(value)
            columns[key] = None if value is None else RawJSON(text)
        elif value is None:
            text = "null"
        elif type(value) is str:
            text = _encode_string(value)
        else:
            text = _scalar_json(value)
        parts.append(prefix + text)
    canonical = "{" + ",".join(parts) + "}"
    return sha256_bytes(canonical.encode("utf-8")), columns, "\\u0000" in canonical


def _provenance_column(provenance: dict[str, Any] | None) -> tuple[RawJSON | None, bool]:
    if provenance is None:
        return None, False
    column = canonical_json(provenance)
    return RawJSON(column), "\\u0000" in column


_EVENT_JSON = frozenset({"hashtags", "images", "labels", "meta"})
_ACCOUNT_JSON = frozenset({"meta"})


def event_to_row(event: Event) -> dict[str, Any]:
    """The ``events`` row of ``event`` (without ``seq``, ``cluster_id``, ``updated_at``).

    Its JSON columns are :class:`~drugwatch.store.db.RawJSON` text: write it
    through an engine from :func:`drugwatch.store.db.make_engine`, whose JSON
    serializer passes such text through.
    """
    return _event_row(event)[0]


def _event_row(event: Event) -> tuple[dict[str, Any], bool]:
    """:func:`event_to_row` and whether the row may hold a NUL character (see :func:`prepare_record`)."""
    data = event.model_dump(mode="json")
    provenance, nul_in_provenance = _provenance_column(data.pop("provenance"))
    digest, columns, nul_in_content = _digest_and_columns(data, _EVENT_JSON)
    key = event.key
    row = {
        "key": key,
        "platform": event.platform,
        "id": event.id,
        "kind": event.kind,
        "parent_key": event.parent_key,
        "post_key": key if event.kind == "post" else event.post_key,
        "text": event.text,
        "author": event.author,
        "created_at": event.created_at,
        "selling": event.selling,
        **columns,
        "provenance": provenance,
        "content_sha256": digest,
    }
    return row, nul_in_content or nul_in_provenance


def row_to_event(row: Any) -> Event:
    parent_id = row.parent_key.split(":", 1)[1] if row.parent_key else None
    post_id = row.post_key.split(":", 1)[1] if row.post_key and row.kind == "comment" else None
    return Event.model_validate(
        {
            "id": row.id,
            "platform": row.platform,
            "kind": row.kind,
            "parent_id": parent_id,
            "post_id": post_id,
            "text": row.text,
            "hashtags": row.hashtags,
            "images": row.images,
            "author": row.author,
            "created_at": _aware(row.created_at),
            "labels": row.labels,
            "selling": row.selling,
            "meta": row.meta,
            "provenance": row.provenance,
        }
    )


def account_to_row(account: Account) -> dict[str, Any]:
    """The ``accounts`` row of ``account`` (its timeline is not stored with it)."""
    return _account_row(account)[0]


def _account_row(account: Account) -> tuple[dict[str, Any], bool]:
    """:func:`account_to_row` and whether the row may hold a NUL character (see :func:`prepare_record`)."""
    data = account.model_dump(mode="json", exclude={"timeline"})
    provenance, nul_in_provenance = _provenance_column(data.pop("provenance"))
    digest, columns, nul_in_content = _digest_and_columns(data, _ACCOUNT_JSON)
    row = {
        "key": account.key,
        "platform": account.platform,
        "username": account.username,
        "user_id": account.user_id,
        "full_name": account.full_name,
        "bio": account.bio,
        "followers": account.followers,
        "following": account.following,
        "posts_count": account.posts_count,
        "is_private": account.is_private,
        "dealer": account.dealer,
        **columns,
        "provenance": provenance,
        "content_sha256": digest,
    }
    return row, nul_in_content or nul_in_provenance


def row_to_account(row: Any, timeline: Sequence[Event] = ()) -> Account:
    return Account.model_validate(
        {
            "username": row.username,
            "platform": row.platform,
            "user_id": row.user_id,
            "full_name": row.full_name,
            "bio": row.bio,
            "followers": row.followers,
            "following": row.following,
            "posts_count": row.posts_count,
            "is_private": row.is_private,
            "dealer": row.dealer,
            "meta": row.meta,
            "provenance": row.provenance,
            "timeline": tuple(timeline),
        }
    )


class Store:
    """Events and accounts behind one SQLAlchemy engine.

    ``url`` is any SQLAlchemy URL or a file path (SQLite); ``None`` means the
    default store (:func:`drugwatch.store.db.default_url`). The schema is
    migrated to the latest revision on open unless ``migrate=False``.
    """

    def __init__(
        self, url: str | None = None, *, migrate: bool = True, near_duplicate_threshold: float = dedup.DEFAULT_THRESHOLD
    ):
        self.url = db.resolve_url(url)
        self.engine: Engine = db.make_engine(self.url)
        self.near_duplicate_threshold = near_duplicate_threshold
        if migrate:
            db.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    # -- writing -----------------------------------------------------------

    def upsert(
        self,
        records: Iterable[Event | Account],
        *,
        nul_free: bool = False,
        rows: Sequence[dict[str, Any] | None] | None = None,
    ) -> UpsertResult:
        """Insert or merge ``records`` in one transaction; see the module docstring.

        ``nul_free=True`` says the caller has already passed every record
        through :func:`prepare_record` (or :func:`without_nul`; the importer
        does, to report each record with its line), so the store does not
        look for NUL characters again. ``rows``, beside it, are the rows
        :func:`prepare_record` returned, one per record (``None`` where there
        is none), so a new record is not dumped a second time.
        """
        records = list(records)
        prepared: list[dict[str, Any] | None] = list(rows) if rows is not None else [None] * len(records)
        if len(prepared) != len(records):
            raise ValueError(f"upsert got {len(prepared)} rows for {len(records)} records")
        result = UpsertResult(statuses=[""] * len(records))
        for i, record in enumerate(records):
            if not nul_free and isinstance(record, (Event, Account)):
                records[i], removed, prepared[i] = prepare_record(record)
                result.nul_removed += removed
        events = [(i, r) for i, r in enumerate(records) if isinstance(r, Event)]
        accounts = [(i, r) for i, r in enumerate(records) if isinstance(r, Account)]
        if len(events) + len(accounts) != len(records):
            bad = next(r for r in records if not isinstance(r, (Event, Account)))
            raise TypeError(f"Store.upsert takes Event and Account records, got {type(bad).__name__}")
        with self.engine.begin() as conn:
            if events:
                self._upsert_events(conn, events, result, prepared)
            if accounts:
                self._upsert_accounts(conn, accounts, result, prepared)
        return result

    def _upsert_events(
        self, conn, items: list[tuple[int, Event]], result: UpsertResult, prepared: list[dict[str, Any] | None]
    ) -> None:
        now = _now()
        originals = dict(items)
        # Within one batch the same key may appear twice: fold later copies in.
        batch: dict[str, Event] = {}
        first_index: dict[str, int] = {}
        repeats: list[tuple[int, str]] = []
        for index, event in items:
            key = event.key
            if key in batch:
                merged = merge_records(batch[key], event)
                repeats.append((index, "unchanged" if merged is batch[key] else "merged"))
                batch[key] = merged
            else:
                batch[key] = event
                first_index[key] = index

        # Which keys are stored: one cheap query; the full rows only for those.
        found = [key for (key,) in _select_in(conn, "SELECT key FROM events WHERE key IN ({in})", list(batch))]
        stored: dict[str, Any] = {}
        for keys in _chunks(found):
            for row in conn.execute(select(EventRow).where(EventRow.key.in_(keys))):
                stored[row.key] = row

        new_rows: list[dict[str, Any]] = []
        changed_text: list[tuple[int, str]] = []
        for key, event in batch.items():
            index = first_index[key]
            row = stored.get(key)
            if row is None:
                # The prepared row is the first copy's; a copy merged into it in this batch makes a new one.
                ready = prepared[index] if event is originals[index] else None
                new_rows.append({**(ready if ready is not None else event_to_row(event)), "updated_at": now})
                continue
            existing = row_to_event(row)
            merged = merge_records(existing, event)
            if merged is existing:
                result.statuses[index] = "unchanged"
                continue
            values = {**event_to_row(merged), "updated_at": now}
            conn.execute(update(EventRow).where(EventRow.seq == row.seq).values(**values))
            result.statuses[index] = "merged"
            if merged.text != existing.text:
                changed_text.append((row.seq, merged.text))

        if new_rows:
            table = cast(Table, EventRow.__table__)
            first = _next_sqlite_rowids(conn, table, "seq", len(new_rows))
            if first is None:
                # RETURNING hands back each new row's seq with the insert itself
                # (SQLite 3.35+, PostgreSQL), sparing a second query by key.
                seqs: dict[str, int] = dict(_insert_returning(conn, table, new_rows, ("key", "seq")))
                plan = self._plan_clusters(conn, [(seqs[r["key"]], r["text"]) for r in new_rows])
                self._write_clusters(conn, plan, update_rows=True)
            else:
                # The seqs are known first, so each new row goes in with its cluster id.
                seqs = {r["key"]: first + i for i, r in enumerate(new_rows)}
                plan = self._plan_clusters(conn, [(seqs[r["key"]], r["text"]) for r in new_rows])
                for r in new_rows:
                    seq = seqs[r["key"]]
                    r["seq"] = seq
                    r["cluster_id"] = plan.cluster_of[seq]
                _insert_many(conn, table, new_rows)
                self._write_clusters(conn, plan, update_rows=False)
            for r in new_rows:
                joined = plan.joined.get(seqs[r["key"]], False)
                result.statuses[first_index[r["key"]]] = "near_duplicate" if joined else "imported"
        if changed_text:
            self._assign_clusters(conn, changed_text, replace=True)
        for index, status in repeats:
            result.statuses[index] = status

    def _assign_clusters(self, conn, items: list[tuple[int, str]], *, replace: bool = False) -> dict[int, bool]:
        """Cluster the stored events ``(seq, text)`` with each other and the stored texts; see :meth:`_plan_clusters`.

        With ``replace`` the items' own signatures and bands (of an older
        text) are removed first. Returns, per seq, whether it joined a
        cluster that already had a member.
        """
        if replace:
            seqs = [seq for seq, _ in items]
            for chunk in _chunks(seqs):
                conn.execute(delete(LshBandRow).where(LshBandRow.seq.in_(chunk)))
                conn.execute(delete(TextSignatureRow).where(TextSignatureRow.seq.in_(chunk)))
        plan = self._plan_clusters(conn, items)
        self._write_clusters(conn, plan, update_rows=True)
        return plan.joined

    def _plan_clusters(self, conn, items: list[tuple[int, str]]) -> _ClusterPlan:
        """Cluster ``(seq, text)`` items with each other and the stored texts; reads only.

        Exact duplicates of a stored fingerprint view join its cluster
        directly and are not indexed again (their bands would add nothing),
        which keeps buckets small when an advert is reposted thousands of
        times. Other texts are compared with the stored texts sharing an LSH
        band key. Made for new rows (seqs above every stored cluster id, no
        signature stored yet); :meth:`_assign_clusters` removes a changed
        text's old signature and bands before it calls this.
        """
        threshold = self.near_duplicate_threshold
        # Fingerprints first: a text whose view is already known (stored, or
        # earlier in this batch) joins that cluster without a MinHash.
        prints = {seq: dedup.fingerprint(text) for seq, text in items}
        nonempty = {seq: fp for seq, fp in prints.items() if not fp.empty}

        # Union-find over ints: a stored cluster is its cluster id (the seq of
        # a stored event, so smaller than every new seq), a new text its seq.
        # The root is always the smallest member.
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: int, b: int) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        stored_exact: dict[str, int] = {}
        for exact, seq, cluster in _select_in(
            conn,
            "SELECT s.exact, s.seq, e.cluster_id FROM text_signatures s JOIN events e ON e.seq = s.seq"
            " WHERE s.exact IN ({in})",
            sorted({fp.exact for fp in nonempty.values()}),
        ):
            cluster = seq if cluster is None else cluster
            stored_exact[exact] = min(cluster, stored_exact.get(exact, cluster))

        joined: dict[int, bool] = {}
        fresh_seqs: list[int] = []
        local_exact: dict[str, int] = {}
        for seq in sorted(nonempty):
            fp = nonempty[seq]
            twin = stored_exact.get(fp.exact, local_exact.get(fp.exact))
            if twin is not None:
                union(seq, twin)
                joined[seq] = True
            else:
                local_exact[fp.exact] = seq
                fresh_seqs.append(seq)
        fresh = dict(zip(fresh_seqs, dedup.signatures_of([nonempty[seq] for seq in fresh_seqs])))

        band_keys = {seq: sig.band_keys() for seq, sig in fresh.items()}
        bucket_members: dict[tuple[int, int], list[int]] = {}
        for seq, band, key in _select_in(
            conn,
            "SELECT seq, band, key FROM lsh_bands WHERE key IN ({in})",
            sorted({key for keys in band_keys.values() for key in keys}),
        ):
            bucket_members.setdefault((band, key), []).append(seq)
        stored_sigs: dict[int, dedup.Signature] = {}
        stored_cluster: dict[int, int] = {}
        candidates = sorted({m for members in bucket_members.values() for m in members} - set(fresh))
        for seq, exact, values, cluster in _select_in(
            conn,
            "SELECT s.seq, s.exact, s.hashvalues, e.cluster_id FROM text_signatures s JOIN events e ON e.seq = s.seq"
            " WHERE s.seq IN ({in})",
            candidates,
        ):
            stored_sigs[seq] = dedup.Signature.from_bytes(bytes(values), exact)
            stored_cluster[seq] = seq if cluster is None else cluster

        local_buckets: dict[tuple[int, int], list[int]] = {}
        for seq in sorted(fresh):
            sig = fresh[seq]
            matched = False
            for band, key in enumerate(band_keys[seq]):
                for other in bucket_members.get((band, key), ()):
                    cluster = stored_cluster.get(other)
                    if cluster is None or find(cluster) == find(seq):
                        continue
                    if sig.jaccard(stored_sigs[other]) >= threshold:
                        union(seq, cluster)
                        matched = True
                for other in local_buckets.get((band, key), ()):
                    if find(other) != find(seq) and sig.jaccard(fresh[other]) >= threshold:
                        union(seq, other)
                        matched = True
            joined[seq] = matched
            for band, key in enumerate(band_keys[seq]):
                local_buckets.setdefault((band, key), []).append(seq)

        # Stored clusters bridged by a new text are renumbered into the smallest.
        by_root: dict[int, set[int]] = {}
        for cluster in set(stored_cluster.values()) | set(stored_exact.values()):
            if cluster in parent:
                by_root.setdefault(find(cluster), set()).add(cluster)
        return _ClusterPlan(
            cluster_of={seq: find(seq) if seq in nonempty else seq for seq in prints},
            joined=joined,
            renumbered=[(root, sorted(clusters - {root})) for root, clusters in by_root.items()],
            signatures=[(seq, sig.exact, sig.to_bytes()) for seq, sig in fresh.items()],
            bands=[(seq, band, key) for seq in fresh for band, key in enumerate(band_keys[seq])],
        )

    def _write_clusters(self, conn, plan: _ClusterPlan, *, update_rows: bool) -> None:
        """Store ``plan``: renumbered clusters, signatures and bands, and with ``update_rows`` the items' cluster ids."""
        for root, others in plan.renumbered:
            for chunk in _chunks(others):
                conn.execute(update(EventRow).where(EventRow.cluster_id.in_(chunk)).values(cluster_id=root))
        if update_rows:
            _executemany(
                conn,
                "UPDATE events SET cluster_id = ? WHERE seq = ?",
                [(cluster, seq) for seq, cluster in plan.cluster_of.items()],
            )
        _executemany(conn, "INSERT INTO text_signatures (seq, exact, hashvalues) VALUES (?, ?, ?)", plan.signatures)
        _executemany(conn, "INSERT INTO lsh_bands (seq, band, key) VALUES (?, ?, ?)", plan.bands)

    def _upsert_accounts(
        self, conn, items: list[tuple[int, Account]], result: UpsertResult, prepared: list[dict[str, Any] | None]
    ) -> None:
        now = _now()
        originals = dict(items)
        for _, account in items:
            if account.timeline:
                raise ValueError(
                    f"account {account.key!r} carries a timeline; upsert its events as records of their own"
                )
        # As for events: later copies of a key in this batch fold into the first.
        batch: dict[str, Account] = {}
        first_index: dict[str, int] = {}
        repeats: list[tuple[int, str]] = []
        for index, account in items:
            if account.key in batch:
                merged = merge_records(batch[account.key], account)
                repeats.append((index, "unchanged" if merged is batch[account.key] else "merged"))
                batch[account.key] = merged
            else:
                batch[account.key] = account
                first_index[account.key] = index
        found = [key for (key,) in _select_in(conn, "SELECT key FROM accounts WHERE key IN ({in})", list(batch))]
        stored: dict[str, Any] = {}
        for keys in _chunks(found):
            for row in conn.execute(select(AccountRow).where(AccountRow.key.in_(keys))):
                stored[row.key] = row
        new_rows: list[dict[str, Any]] = []
        for key, account in batch.items():
            index = first_index[key]
            row = stored.get(key)
            if row is None:
                ready = prepared[index] if account is originals[index] else None
                new_rows.append({**(ready if ready is not None else account_to_row(account)), "updated_at": now})
                result.statuses[index] = "imported"
                continue
            existing = row_to_account(row)
            merged = merge_records(existing, account)
            if merged is existing:
                result.statuses[index] = "unchanged"
                continue
            conn.execute(
                update(AccountRow).where(AccountRow.key == key).values(**account_to_row(merged), updated_at=now)
            )
            result.statuses[index] = "merged"
        if new_rows:
            conn.execute(insert(AccountRow), new_rows)
        for index, status in repeats:
            result.statuses[index] = status

    def record_import(
        self, *, source: str, format: str, started_at: datetime, counts: dict[str, int], quarantine_path: str | None
    ) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                insert(ImportRunRow)
                .values(
                    source=source,
                    format=format,
                    started_at=started_at,
                    finished_at=_now(),
                    counts=counts,
                    quarantine_path=quarantine_path,
                )
                .returning(ImportRunRow.id)
            ).scalar_one()

    # -- reading -----------------------------------------------------------

    def get_record(self, record: Event | Account) -> Event | Account | None:
        """The stored record with ``record``'s key (an account without its timeline), or ``None``."""
        if isinstance(record, Account):
            with self.engine.connect() as conn:
                row = conn.execute(select(AccountRow).where(AccountRow.key == record.key)).first()
            return row_to_account(row) if row else None
        return self.get_event(record.key)

    def get_event(self, key: str) -> Event | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(EventRow).where(EventRow.key == key)).first()
        return row_to_event(row) if row else None

    def cluster_of(self, key: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(EventRow.cluster_id).where(EventRow.key == key)).scalar_one_or_none()

    def iter_events(
        self, *, batch_size: int = 1000, platform: str | None = None, author: str | None = None
    ) -> Iterator[Event]:
        """All events in insertion order, read in batches (bounded memory)."""
        last = 0
        while True:
            query = select(EventRow).where(EventRow.seq > last).order_by(EventRow.seq).limit(batch_size)
            if platform is not None:
                query = query.where(EventRow.platform == platform)
            if author is not None:
                query = query.where(EventRow.author == author)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield row_to_event(row)
            last = rows[-1].seq

    def iter_accounts(self) -> Iterator[Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(AccountRow).order_by(AccountRow.key)).all()
        for row in rows:
            yield row_to_account(row)

    def get_account(self, username: str, *, platform: str | None = None, with_timeline: bool = True) -> Account | None:
        """The account ``username`` with its timeline (its events in insertion order), or ``None``.

        Without ``platform`` the username is looked up on every platform (a
        Telegram account's username is its peer id, ``channel456`` or
        ``user123``); a username stored on several platforms is ambiguous
        and raises ``ValueError`` naming them.
        """
        query = select(AccountRow).where(AccountRow.username == username)
        if platform is not None:
            query = select(AccountRow).where(AccountRow.key == f"{platform}:{username}")
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(AccountRow.key).limit(10)).all()
        if not rows:
            return None
        if len(rows) > 1:
            platforms = ", ".join(row.platform for row in rows)
            raise ValueError(f"account {username!r} is stored on several platforms ({platforms}); pass platform=")
        row = rows[0]
        timeline = list(self.iter_events(platform=row.platform, author=username)) if with_timeline else []
        return row_to_account(row, timeline)

    def thread(self, key: str) -> list[Event]:
        """The event and its ancestors, root post first (for context and evidence)."""
        chain: list[Event] = []
        seen: set[str] = set()
        current: str | None = key
        while current and current not in seen:
            seen.add(current)
            event = self.get_event(current)
            if event is None:
                break
            chain.append(event)
            current = event.parent_key
        return chain[::-1]

    def stats(self) -> dict[str, Any]:
        """Counts for ``drugwatch db stats``."""
        with self.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
            by_kind = dict(conn.execute(select(EventRow.kind, func.count()).group_by(EventRow.kind)).all())
            by_platform = dict(conn.execute(select(EventRow.platform, func.count()).group_by(EventRow.platform)).all())
            clusters = conn.execute(select(func.count(func.distinct(EventRow.cluster_id)))).scalar_one()
            in_repeated = conn.execute(
                select(func.count()).select_from(
                    select(EventRow.cluster_id)
                    .where(EventRow.cluster_id.is_not(None))
                    .group_by(EventRow.cluster_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            ).scalar_one()
            labelled = conn.execute(
                select(func.count()).select_from(EventRow).where(EventRow.labels.is_not(None))
            ).scalar_one()
            selling = conn.execute(
                select(func.count()).select_from(EventRow).where(EventRow.selling.is_(True))
            ).scalar_one()
            accounts = conn.execute(select(func.count()).select_from(AccountRow)).scalar_one()
            dealers = conn.execute(
                select(func.count()).select_from(AccountRow).where(AccountRow.dealer.is_(True))
            ).scalar_one()
            imports = conn.execute(select(func.count()).select_from(ImportRunRow)).scalar_one()
        return {
            "url": self.display_url,
            "events": events,
            "posts": by_kind.get("post", 0),
            "comments": by_kind.get("comment", 0),
            "platforms": by_platform,
            "unique_texts": clusters,
            "repeated_clusters": in_repeated,
            "labelled_events": labelled,
            "selling_events": selling,
            "accounts": accounts,
            "dealer_accounts": dealers,
            "import_runs": imports,
            "schema_revision": db.current_revision(self.engine),
        }
