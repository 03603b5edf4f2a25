"""The import's fast paths store exactly what the plain ones would.

The importer builds each record's row once (with its NUL check), writes new
events through multi-row driver statements on SQLite, encodes canonical JSON
with a reused C encoder and hashes LSH bands with pre-keyed BLAKE2b states.
Each is checked here against the straightforward computation it replaces:
``json.dumps`` with sorted keys, :func:`~drugwatch.store.merge.content_digest`,
SQLAlchemy's ``insert()``, a fresh keyed hash per band.
"""

from __future__ import annotations

import gc
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from drugwatch import dedup
from drugwatch.io.importer import IMPORT_GC_THRESHOLD, import_path
from drugwatch.records import Account, Event, canonical_json
from drugwatch.store import Store
from drugwatch.store.merge import content_digest
from drugwatch.store.repository import _insert_returning, account_to_row, event_to_row, prepare_record
from drugwatch.store.schema import EventRow

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _reference_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _events() -> list[Event]:
    provenance = {"platform": "instagram", "source": "/data/a.jsonl", "fetched_at": WHEN, "locator": "line 1"}
    return [
        Event(id="1", text="xanax 2mg dm me #plug", author="a", created_at=WHEN, provenance=provenance),
        Event(
            id="2",
            text="été 🌅 \\u0000 written out, not a NUL",
            hashtags=("plug",),
            images=({"url": "https://example.com/x.jpg"},),
            labels=("xanax",),
            selling=True,
            meta={"n": 1.5, "deep": {"b": [1, None, True], "a": "x"}, "big": 10**30, "tiny": 1e-9},
        ),
        Event(id="3", kind="comment", parent_id="1", post_id="1", text="how much", meta={"k\u00f6": "v"}),
    ]


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, float("nan"), 'a\u0000"é\n', [], {}, {"b": [1, {"z": 1, "a": "é"}], "a": None}, WHEN],
)
def test_canonical_json_is_json_dumps_with_sorted_keys(value) -> None:
    assert canonical_json(value) == _reference_json(value)


def test_prepared_rows_are_the_rows_and_digests_of_the_plain_path() -> None:
    for event in _events():
        record, removed, row = prepare_record(event)
        assert record is event and not removed
        assert row == event_to_row(event)
        assert row["content_sha256"] == content_digest(event)
        data = event.model_dump(mode="json")
        for column in ("hashtags", "images", "meta", "provenance"):
            expected = None if data[column] is None else _reference_json(data[column])
            assert row[column] == expected
    account = Account(
        username="demo", full_name="Demo Shop", meta={"x": [1]}, provenance={"platform": "x", "source": "s"}
    )
    record, removed, row = prepare_record(account)
    assert record is account and not removed and row == account_to_row(account)
    assert row["content_sha256"] == content_digest(account)


@pytest.mark.parametrize(
    "event",
    [
        Event(id="n1", text="a\u0000b"),
        Event(id="n2", text="ok", meta={"k\u0000": "v\u0000"}),
        Event(id="n3", text="ok", provenance={"platform": "x", "source": "s\u0000", "locator": "line 1"}),
    ],
)
def test_a_nul_anywhere_is_removed_and_the_row_rebuilt(event: Event) -> None:
    record, removed, row = prepare_record(event)
    assert removed and record is not event
    assert "\u0000" not in record.model_dump_json() and "\\u0000" not in record.model_dump_json()
    assert row == event_to_row(record)


def test_the_sqlite_insert_stores_what_sqlalchemy_insert_stores(tmp_path: Path) -> None:
    rows = [{**event_to_row(e), "updated_at": WHEN} for e in _events()]
    stored = {}
    for name, fast in (("fast", True), ("plain", False)):
        with Store(str(tmp_path / f"{name}.sqlite")) as store, store.engine.begin() as conn:
            if fast:
                returned = _insert_returning(conn, EventRow.__table__, rows, ("key", "seq"))
            else:
                returned = [
                    tuple(r) for r in conn.execute(insert(EventRow).returning(EventRow.key, EventRow.seq), rows)
                ]
            assert sorted(returned) == [("instagram:1", 1), ("instagram:2", 2), ("instagram:3", 3)]
            stored[name] = [tuple(r) for r in conn.execute(select(EventRow).order_by(EventRow.seq))]
    assert stored["fast"] == stored["plain"]
    with Store(str(tmp_path / "other.sqlite")) as store, store.engine.begin() as conn:
        with pytest.raises(ValueError, match="same columns"):
            _insert_returning(conn, EventRow.__table__, [rows[0], {**rows[1], "extra": 1}], ("key", "seq"))


def test_band_keys_are_one_keyed_blake2b_per_band() -> None:
    for sig in dedup.signatures(["xanax bars for sale dm me now", "lovely sunset at the beach today", "ok"]):
        expected = [
            int.from_bytes(
                hashlib.blake2b(
                    sig.hashvalues[band * dedup.ROWS : (band + 1) * dedup.ROWS].tobytes(),
                    digest_size=8,
                    key=band.to_bytes(2, "little"),
                ).digest(),
                "little",
                signed=True,
            )
            >> 1
            for band in range(dedup.BANDS)
        ]
        assert sig.band_keys() == expected


def test_an_import_raises_the_gc_threshold_while_it_runs_and_restores_it(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps({"id": str(i), "text": f"text {i}"}) for i in range(5)) + "\n")
    before = gc.get_threshold()
    seen = []
    import drugwatch.io.importer as importer

    real_prepare = importer.prepare_record

    def spy(record):
        seen.append(gc.get_threshold()[0])
        return real_prepare(record)

    monkeypatch.setattr(importer, "prepare_record", spy)
    with Store(str(tmp_path / "db.sqlite")) as store:
        report = import_path(path, store, quarantine=tmp_path / "q.jsonl")
    assert report.stored == 5
    assert seen and all(threshold >= IMPORT_GC_THRESHOLD for threshold in seen)
    assert gc.get_threshold() == before


def test_same_input_same_store_whatever_the_batch_size(tmp_path: Path) -> None:
    """Batches split repeats, merges and near-duplicates differently; the stored rows do not change."""
    lines = []
    for i in range(60):
        lines.append({"id": f"p{i}", "text": f"xanax bars {i % 7} for sale dm me now fast", "author": f"u{i % 5}"})
        if i % 9 == 0:
            lines.append({"id": f"p{i}", "text": f"xanax bars {i % 7} for sale dm me now fast", "hashtags": ["x"]})
    lines.append({"record_type": "account", "username": "u1", "full_name": "U One"})
    lines.append({"id": "nul", "text": "a\u0000b"})
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    stored = {}
    for batch_size in (1, 7, 2000):
        with Store(str(tmp_path / f"b{batch_size}.sqlite")) as store:
            report = import_path(path, store, quarantine=tmp_path / f"q{batch_size}.jsonl", batch_size=batch_size)
            assert report.nul_removed == 1 and report.quarantined == 0
            with store.engine.connect() as conn:
                stored[batch_size] = [
                    (r.key, r.text, r.hashtags, r.meta, r.provenance, r.content_sha256, r.cluster_id)
                    for r in conn.execute(select(EventRow).order_by(EventRow.key))
                ]
    assert stored[1] == stored[7] == stored[2000]
    assert len({row[-1] for row in stored[2000]}) < len(stored[2000])  # near-duplicates share clusters


def _stored_events(store: Store) -> list[tuple]:
    with store.engine.connect() as conn:
        return [
            tuple(value for name, value in row._mapping.items() if name != "updated_at")
            for row in conn.execute(select(EventRow).order_by(EventRow.seq))
        ]


def test_rows_inserted_with_their_clusters_equal_rows_clustered_after_insert(tmp_path: Path, monkeypatch) -> None:
    """On SQLite new events go in with seq and cluster id known; the RETURNING-then-UPDATE path stores the same."""
    import drugwatch.store.repository as repository

    first = [{"id": f"p{i}", "text": f"xanax bars {i % 5} for sale dm me now fast {i % 3}"} for i in range(40)]
    first += [{"id": "e1", "text": ""}, {"id": "e2", "text": "🌅"}, {"id": "c1", "kind": "comment", "parent_id": "p1"}]
    # Changed texts (merged, re-clustered) and new near-duplicates of stored texts.
    second = [{"id": f"p{i}", "text": f"changed text {i % 2} entirely new words here"} for i in range(0, 40, 7)]
    second += [{"id": f"n{i}", "text": f"xanax bars {i % 5} for sale dm me now fast {i}"} for i in range(10)]
    files = []
    for name, lines in (("first", first), ("second", second)):
        files.append(tmp_path / f"{name}.jsonl")
        files[-1].write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    stored = {}
    for name in ("known", "returning"):
        if name == "returning":
            monkeypatch.setattr(repository, "_next_sqlite_rowids", lambda *args: None)
        with Store(str(tmp_path / f"{name}.sqlite")) as store:
            counts = [
                import_path(path, store, quarantine=tmp_path / f"q_{name}.jsonl", batch_size=size).counts()
                for path, size in zip(files, (7, 2000))
            ]
            assert counts[1]["merged"] == 6 and counts[1]["near_duplicate"] > 0
            stored[name] = _stored_events(store)
    assert stored["known"] == stored["returning"]
    assert len({row[-1] for row in stored["known"]}) < len(stored["known"])


def test_known_rowids_are_the_ones_sqlite_would_give(tmp_path: Path) -> None:
    """One past the largest seq, also after the last event was deleted (no AUTOINCREMENT on events)."""
    from sqlalchemy import delete

    from drugwatch.store.repository import _next_sqlite_rowids

    with Store(str(tmp_path / "db.sqlite")) as store:
        table = EventRow.__table__
        with store.engine.begin() as conn:
            assert _next_sqlite_rowids(conn, table, "seq", 3) == 1
        store.upsert(_events())
        with store.engine.begin() as conn:
            assert _next_sqlite_rowids(conn, table, "seq", 1) == 4
            conn.execute(delete(EventRow).where(EventRow.seq == 3))
            assert _next_sqlite_rowids(conn, table, "seq", 1) == 3
        store.upsert([Event(id="4", text="after a delete")])
        assert [row[0] for row in _stored_events(store)] == [1, 2, 3]


def test_telegram_plain_messages_skip_only_lookups_that_find_nothing(tmp_path: Path, monkeypatch) -> None:
    """A Telegram Desktop message with only plain-text keys skips the media, place and forward look-ups.

    With the shortcut off (every message takes the full path) the same export
    stores the same rows, accounts and quarantine, plain and rich messages alike.
    """
    import drugwatch.io.telegram as telegram
    from drugwatch.store.schema import AccountRow

    def message(mid: int, text, **extra) -> dict:
        base = {"id": mid, "type": "message", "date": "2024-05-01T14:00:00", "date_unixtime": str(1714572000 + mid)}
        return {**base, "from": "demo seller", "from_id": "user7001", "text": text, **extra}

    entities = [
        {"type": "plain", "text": "menu "},
        {"type": "hashtag", "text": "#Demo"},
        {"type": "plain", "text": " via "},
        {"type": "mention", "text": "@demo_bot"},
        {"type": "text_link", "text": "here", "href": "https://shop.example.com"},
        {"type": 5, "text": "odd type"},
        {"type": "plain"},
    ]
    messages = [
        message(1, "plain post #tag"),
        message(2, "a reply", reply_to_message_id=1, edited="2024-05-01T15:00:00", edited_unixtime="1714575600"),
        message(3, [part["text"] if part["type"] == "plain" and "text" in part else part for part in entities]),
        {**message(4, "x", text_entities=entities)},
        message(5, "reply to another chat", reply_to_message_id=1, reply_to_peer_id="channel99"),
        message(6, "forwarded", forwarded_from="demo other", views=7, reactions=[{"emoji": "👍", "count": 2}]),
        message(7, "venue", place_name="Demo Park", location_information={"latitude": 52.3, "longitude": 4.9}),
        message(8, "no file", photo="(File not included.)", poll={"question": "q", "answers": [{"text": "a"}]}),
        {"id": 9, "type": "message", "date": "2024-05-01T14:00:00", "text": "local time, channel post"},
        {"id": "9" * 300, "type": "message", "date_unixtime": "1714572000", "text": "id too long"},
        message(10, "bad time", date_unixtime="soon"),
    ]
    export = {"name": "demo channel", "type": "public_channel", "id": 1500000009, "messages": messages}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    stored = {}
    for name in ("shortcut", "full"):
        if name == "full":
            monkeypatch.setattr(telegram, "_PLAIN_MESSAGE_KEYS", frozenset())
        with Store(str(tmp_path / f"{name}.sqlite")) as store:
            quarantine = tmp_path / f"q_{name}.jsonl"
            report = import_path(path, store, quarantine=quarantine)
            with store.engine.connect() as conn:
                accounts = [
                    tuple(value for key, value in row._mapping.items() if key != "updated_at")
                    for row in conn.execute(select(AccountRow).order_by(AccountRow.key))
                ]
            lines = [json.loads(line) for line in quarantine.read_text().splitlines()]
            stored[name] = (
                report.counts(),
                _stored_events(store),
                accounts,
                [(q["locator"], q["reason"]) for q in lines],
            )
    assert stored["shortcut"] == stored["full"]
    counts, events, accounts, problems = stored["shortcut"]
    assert len(events) == 9 and len(accounts) == 2 and len(problems) == 2  # accounts: the channel, its one sender
    assert counts["read"] == counts["imported"] + counts["near_duplicate"] + counts["quarantined"] == 13


@pytest.mark.parametrize(
    "text",
    [
        "no link here 12 bars",
        "BUY at HTTPS://Shop.Example.com/x now",
        "hTtP://a.example b",
        "httpſ://long-s.example c",  # the long s matches "s" when case is ignored
        "WWW.example.com d",
        "www without a dot, http without a colon",
        "İstanbul ẞ KELVIN K http",
        "",
    ],
)
def test_fingerprint_looks_for_links_only_where_one_can_start(text: str) -> None:
    """The URL pattern is skipped on texts without "http" or "www."; the view is the one it gives when always run."""
    import re

    plain = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE).sub(" ", text.lower())
    plain = " ".join(re.sub(r"[^\w]+", " ", re.sub(r"\d+", "0", plain)).split())
    assert dedup.fingerprint_text(text) == plain
