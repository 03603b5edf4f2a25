"""The store suite, run on SQLite and on PostgreSQL (see conftest.store_url)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from drugwatch import Account, Event, ImageRef
from drugwatch.store import Store
from drugwatch.store import db as dbmod
from drugwatch.store.schema import load_all_tables

PROV = {"platform": "instagram", "source": "fixture.jsonl", "raw_sha256": "0" * 64}


def _event(i: str, text: str = "", **kw) -> Event:
    return Event(id=i, text=text, provenance=PROV, **kw)


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    yield s
    s.close()


def test_schema_matches_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    assert diff == []
    assert dbmod.current_revision(store.engine) == dbmod.head_revision()
    assert set(inspect(store.engine).get_table_names()) >= {
        "events",
        "accounts",
        "lsh_bands",
        "text_signatures",
        "import_runs",
    }


def test_upsert_is_idempotent(store: Store) -> None:
    records = [
        Account(username="demo_a", followers=3, following=9),
        _event("1", "first post #one", author="demo_a", labels=["non_drug"]),
        _event("2", "reply", kind="comment", parent_id="1", post_id="1", author="demo_b"),
    ]
    assert store.upsert(records).counts == {"imported": 3, "near_duplicate": 0, "merged": 0, "unchanged": 0}
    before = store.stats()
    assert store.upsert(records).counts == {"imported": 0, "near_duplicate": 0, "merged": 0, "unchanged": 3}
    after = store.stats()
    assert before == after
    assert store.get_event("instagram:1") == records[1]


def test_same_platform_id_merges(store: Store) -> None:
    store.upsert([_event("p", "caption #a", author="demo_a", images=[ImageRef(url="https://example.com/1.jpg")])])
    later = _event(
        "p",
        "",  # an empty text never erases the stored one
        hashtags=["b"],
        labels=["marijuana"],
        images=[ImageRef(url="https://example.com/1.jpg", sha256="a" * 64), ImageRef(url="https://example.com/2.jpg")],
        meta={"likes": 4},
    )
    assert store.upsert([later]).counts["merged"] == 1
    merged = store.get_event("instagram:p")
    assert merged.text == "caption #a" and merged.author == "demo_a"
    assert merged.hashtags == ("a", "b") and merged.labels == ("marijuana",)
    assert [(i.url, i.sha256) for i in merged.images] == [
        ("https://example.com/1.jpg", "a" * 64),
        ("https://example.com/2.jpg", None),
    ]
    assert merged.meta == {"likes": 4}
    # Accounts merge too: fresher counts replace old ones, an empty bio does not erase.
    store.upsert([Account(username="demo_a", bio="plug", followers=1)])
    assert store.upsert([Account(username="demo_a", followers=5)]).counts["merged"] == 1
    account = store.get_account("demo_a")
    assert (account.bio, account.followers) == ("plug", 5)
    assert [e.id for e in account.timeline] == ["p"]


def test_duplicates_inside_one_batch_are_folded(store: Store) -> None:
    result = store.upsert([_event("x", "a"), _event("x", "a"), _event("x", "a", labels=["non_drug"])])
    assert result.statuses == ["imported", "unchanged", "merged"]
    assert store.get_event("instagram:x").labels == ("non_drug",)


def test_repeated_accounts_inside_one_batch_are_folded(store: Store) -> None:
    result = store.upsert(
        [
            Account(username="demo_a", followers=3),
            Account(username="demo_b"),
            Account(username="demo_a", followers=3),
            Account(username="demo_a", bio="dm for menu"),
        ]
    )
    assert result.statuses == ["imported", "imported", "unchanged", "merged"]
    stored = store.get_account("demo_a", with_timeline=False)
    assert (stored.followers, stored.bio) == (3, "dm for menu")
    assert store.upsert([Account(username="demo_b"), Account(username="demo_a", following=1)]).statuses == [
        "unchanged",
        "merged",
    ]
    with pytest.raises(ValueError, match="carries a timeline"):
        store.upsert([Account(username="demo_c", timeline=(_event("t1", "hi", author="demo_c"),))])
    assert store.get_account("demo_c") is None


def test_rows_keep_json_values_and_the_content_digest(store: Store) -> None:
    """Rows are written from one encoding of each value; the digest is still content_digest's."""
    from sqlalchemy import select

    from drugwatch.store.merge import content_digest
    from drugwatch.store.schema import AccountRow, EventRow

    event = _event(
        "j1",
        "café ☕ menu",
        hashtags=["menü"],
        labels=None,
        author="demo_a",
        images=[ImageRef(url="https://example.com/a.jpg")],
        meta={"price": 12.5, "nested": {"z": [1, None, True], "a": "ü"}, "big": 2**62, "empty": {}},
    )
    account = Account(username="demo_a", full_name="Démo", followers=10, meta={"kind": "user", "n": [1.5]})
    store.upsert([event, account])
    assert store.get_event("instagram:j1") == event
    assert store.get_account("demo_a", with_timeline=False) == account
    with store.engine.connect() as conn:
        row = conn.execute(select(EventRow).where(EventRow.key == "instagram:j1")).one()
        assert row.content_sha256 == content_digest(event)
        assert row.labels is None and row.meta["nested"] == {"z": [1, None, True], "a": "ü"}
        assert row.provenance["source"] == "fixture.jsonl"
        arow = conn.execute(select(AccountRow).where(AccountRow.key == "instagram:demo_a")).one()
        assert arow.content_sha256 == content_digest(account)
        # SQL NULL, not the JSON literal null: "IS NULL" filters still find unlabelled events.
        unlabelled = conn.execute(select(EventRow.key).where(EventRow.labels.is_(None))).scalars().all()
    assert unlabelled == ["instagram:j1"]


def test_near_duplicates_cluster_across_imports(store: Store) -> None:
    advert = "Xanax 2mg bars in stock, {n} for ${p}, discreet shipping, wickr: demo_plug"
    first = store.upsert([_event("a1", advert.format(n=100, p=150)), _event("s1", "sunset at the beach")])
    assert first.counts["near_duplicate"] == 0
    second = store.upsert([_event("a2", advert.format(n=300, p=400)), _event("a3", advert.format(n=50, p=90).upper())])
    assert second.statuses == ["near_duplicate", "near_duplicate"]
    cluster = store.cluster_of("instagram:a1")
    assert store.cluster_of("instagram:a2") == store.cluster_of("instagram:a3") == cluster
    assert store.cluster_of("instagram:s1") != cluster
    assert store.stats()["unique_texts"] == 2


def _words(first: int, last: int) -> str:
    # Letters only: the fingerprint view collapses digits.
    return " ".join(f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(first, last + 1))


def test_a_new_text_bridges_two_clusters(store: Store) -> None:
    # Word 3-shingles: A~B Jaccard 0.65 (< 0.7, apart); C~A and C~B 0.81 (together).
    a, b, c = _words(1, 30), _words(7, 36), _words(4, 33)
    store.upsert([_event("a", a)])
    store.upsert([_event("b", b)])
    assert store.cluster_of("instagram:a") != store.cluster_of("instagram:b")
    assert store.upsert([_event("c", c)]).statuses == ["near_duplicate"]
    assert store.cluster_of("instagram:a") == store.cluster_of("instagram:b") == store.cluster_of("instagram:c")


def test_a_changed_text_is_reclustered(store: Store) -> None:
    store.upsert([_event("l", _words(1, 30)), _event("r", "a holiday in spain with friends and family")])
    assert store.cluster_of("instagram:r") != store.cluster_of("instagram:l")
    assert store.upsert([_event("r", _words(2, 31))]).statuses == ["merged"]
    assert store.cluster_of("instagram:r") == store.cluster_of("instagram:l")


def test_thread_walks_to_the_root(store: Store) -> None:
    store.upsert(
        [
            _event("p", "harmless post"),
            _event("c1", "nice", kind="comment", parent_id="p", post_id="p"),
            _event("c2", "dm me for bars", kind="comment", parent_id="c1", post_id="p"),
        ]
    )
    assert [e.id for e in store.thread("instagram:c2")] == ["p", "c1", "c2"]


def test_iter_events_streams_in_order(store: Store) -> None:
    store.upsert([_event(str(i), f"text number {i} " * (i % 3 + 1)) for i in range(25)])
    assert [e.id for e in store.iter_events(batch_size=7)] == [str(i) for i in range(25)]


def test_rejects_foreign_objects(store: Store) -> None:
    with pytest.raises(TypeError, match="takes Event and Account records, got dict"):
        store.upsert([{"id": "1"}])


def test_url_resolution(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DRUGWATCH_HOME", str(tmp_path / "home"))
    assert dbmod.default_url() == f"sqlite:///{tmp_path / 'home' / 'drugwatch.sqlite'}"
    monkeypatch.setenv("DRUGWATCH_DB", "postgresql://u:p@localhost/x")
    assert dbmod.default_url() == "postgresql+psycopg://u:p@localhost/x"
    assert dbmod.resolve_url(str(tmp_path / "f.db")) == f"sqlite:///{tmp_path / 'f.db'}"
