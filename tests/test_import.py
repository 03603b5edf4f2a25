"""Importing files: quarantine, counts that add up, idempotence, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from drugwatch.io.base import ReaderError
from drugwatch.io.export import export_store, write_jsonl
from drugwatch.io.importer import detect_format, import_path
from drugwatch.records import Account, Event
from drugwatch.store import Store


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = [
    {
        "record_type": "account",
        "username": "demo_plug",
        "bio": "wickr demo_plug",
        "followers": 12,
        "following": 800,
        "dealer": True,
    },
    {"id": "p1", "text": "fresh #bars in stock dm", "author": "demo_plug", "labels": ["xanax"], "selling": True},
    {"id": "c1", "kind": "comment", "parent_id": "p1", "post_id": "p1", "text": "how much?", "author": "demo_buyer"},
    {"id": "p2", "text": "lunch with friends", "author": "demo_friend", "labels": ["non_drug"], "selling": False},
]


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    lines = [json.dumps(GOOD[0]), json.dumps(GOOD[1]), ""]  # a blank line is not a record
    lines += [
        '{"id": "broken", "text": ',  # invalid JSON
        json.dumps({"id": "p9", "labels": ["weed"]}),  # unknown label
        json.dumps(["not", "an", "object"]),
        json.dumps({"record_type": "tweet", "id": "t"}),
        json.dumps(GOOD[2]),
        json.dumps(GOOD[3]),
        json.dumps({"id": "c9", "kind": "comment"}),  # comment without parent
    ]
    return _write(tmp_path / "mixed.jsonl", lines)


def test_quarantine_counts_add_up(mixed_file: Path, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    qfile = tmp_path / "q.jsonl"
    report = import_path(mixed_file, store, quarantine=qfile)
    assert report.counts() == {
        "read": 9,
        "imported": 4,
        "near_duplicate": 0,
        "merged": 0,
        "unchanged": 0,
        "quarantined": 5,
    }
    problems = [json.loads(line) for line in qfile.read_text().splitlines()]
    assert [(p["locator"], p["source"]) for p in problems] == [
        ("line 4", str(mixed_file)),
        ("line 5", str(mixed_file)),
        ("line 6", str(mixed_file)),
        ("line 7", str(mixed_file)),
        ("line 10", str(mixed_file)),
    ]
    assert "invalid JSON" in problems[0]["reason"]
    assert "unknown label 'weed'" in problems[1]["reason"]
    assert "expected a JSON object, got list" in problems[2]["reason"]
    assert "unknown record_type 'tweet'" in problems[3]["reason"]
    assert "a comment needs 'parent_id'" in problems[4]["reason"]
    # Nothing is lost: the raw payload is kept so it can be fixed and re-imported.
    assert problems[1]["raw"] == json.dumps({"id": "p9", "labels": ["weed"]})
    stats = store.stats()
    assert (stats["events"], stats["accounts"], stats["import_runs"]) == (3, 1, 1)


def test_import_is_idempotent(mixed_file: Path, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    import_path(mixed_file, store, quarantine=tmp_path / "q1.jsonl")
    events = list(store.iter_events())
    second = import_path(mixed_file, store, quarantine=tmp_path / "q2.jsonl")
    assert second.counts() == {
        "read": 9,
        "imported": 0,
        "near_duplicate": 0,
        "merged": 0,
        "unchanged": 4,
        "quarantined": 5,
    }
    assert list(store.iter_events()) == events


def test_jsonl_round_trip_loses_nothing(tmp_path: Path) -> None:
    records = [Account.model_validate({k: v for k, v in GOOD[0].items() if k != "record_type"})]
    records += [Event.model_validate(r) for r in GOOD[1:]]
    source = tmp_path / "in.jsonl"
    write_jsonl(records, source)
    first = Store(str(tmp_path / "a.sqlite"))
    import_path(source, first)
    out = tmp_path / "out.jsonl"
    assert export_store(first, out) == {"accounts": 1, "events": 3}
    second = Store(str(tmp_path / "b.sqlite"))
    report = import_path(out, second)
    assert report.counts()["imported"] == 4
    assert list(second.iter_events()) == list(first.iter_events())
    assert list(second.iter_accounts()) == list(first.iter_accounts())
    # Provenance travels: the re-imported events still point at the first file.
    assert {e.provenance.source for e in second.iter_events()} == {str(source)}


def test_parquet_export(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "a.sqlite"))
    store.upsert([Event.model_validate(r) for r in GOOD[1:]])
    out = tmp_path / "events.parquet"
    assert export_store(store, out, fmt="parquet", what="events") == {"events": 3}
    table = pq.read_table(out)
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert rows[0]["hashtags"] == ["bars"] and rows[0]["labels"] == ["xanax"] and rows[0]["selling"] is True
    assert rows[1]["parent_id"] == "p1" and rows[1]["labels"] is None
    with pytest.raises(ValueError, match="one record type per file"):
        export_store(store, out, fmt="parquet", what="all")


def test_csv_with_a_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "post_id,caption,user,tags,drug,extra\n"
        "1,fresh bars dm me,demo_plug,bars|xanax,xanax,a\n"
        "2,lunch,demo_friend,,non_drug,\n"
        "3,broken row\n"
        "4,bad label,demo_x,,weed,\n",
        encoding="utf-8",
    )
    store = Store(str(tmp_path / "a.sqlite"))
    report = import_path(
        path,
        store,
        csv_mapping={"id": "post_id", "text": "caption", "author": "user", "hashtags": "tags", "labels": "drug"},
        quarantine=tmp_path / "q.jsonl",
    )
    assert report.counts() == {
        "read": 4,
        "imported": 2,
        "near_duplicate": 0,
        "merged": 0,
        "unchanged": 0,
        "quarantined": 2,
    }
    event = store.get_event("instagram:1")
    assert (event.text, event.author, event.hashtags, event.labels, event.meta) == (
        "fresh bars dm me",
        "demo_plug",
        ("bars", "xanax"),
        ("xanax",),
        {"extra": "a"},
    )
    reasons = [json.loads(line)["reason"] for line in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert "2 cells but the header has 6 columns" in reasons[0] and "unknown label 'weed'" in reasons[1]


def test_bench_format_is_detected_and_keeps_groups(tmp_path: Path) -> None:
    row = {
        "id": "selling:x:1",
        "task": "selling",
        "source": "x",
        "platform": "twitter",
        "text": "hello",
        "author": None,
        "created_at": None,
        "labels": None,
        "selling": False,
        "group": "g_1",
        "meta": {"subsource": "sms_ham"},
    }
    path = _write(tmp_path / "bench.jsonl", [json.dumps(row)])
    assert detect_format(path) == "bench"
    store = Store(str(tmp_path / "a.sqlite"))
    assert import_path(path, store).imported == 1
    event = store.get_event("twitter:selling:x:1")
    assert event.meta["group"] == "g_1" and event.meta["subsource"] == "sms_ham" and event.selling is False


def test_unreadable_inputs_fail_clearly(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "a.sqlite"))
    with pytest.raises(ReaderError, match="no such file or folder"):
        import_path(tmp_path / "missing.jsonl", store)
    odd = tmp_path / "data.xml"
    odd.write_text("<x/>")
    with pytest.raises(ReaderError, match="cannot tell the format of data.xml"):
        import_path(odd, store)


def test_instaloader_to_store_to_jsonl_loses_nothing(tmp_path: Path) -> None:
    """instaloader JSON -> records -> store -> JSONL: every record and field survives."""
    from test_io_instaloader import BASE, COMMENTS, save_comments, save_structure, sidecar_post

    from drugwatch.io.base import Parsed
    from drugwatch.io.instaloader import read_instaloader

    folder = tmp_path / "download"
    folder.mkdir()
    save_structure(folder / f"{BASE}.json.xz", sidecar_post())
    save_comments(folder, BASE, COMMENTS)
    direct = [item.record for item in read_instaloader(str(folder)) if isinstance(item, Parsed)]
    assert sum(e.kind == "post" for e in direct) == 1 and sum(e.kind == "comment" for e in direct) >= 3

    store = Store(str(tmp_path / "a.sqlite"))
    report = import_path(folder, store)
    assert report.quarantined == 0 and report.read == len(direct)
    stored = {e.key: e for e in store.iter_events()}
    assert stored == {e.key: e for e in direct}

    out = tmp_path / "out.jsonl"
    export_store(store, out)
    again = Store(str(tmp_path / "b.sqlite"))
    import_path(out, again)
    assert {e.key: e for e in again.iter_events()} == stored
    comments = [e for e in stored.values() if e.kind == "comment"]
    assert comments and all(e.post_key in stored and e.parent_key in stored for e in comments)


def test_a_folder_of_mixed_files_reads_each_by_its_own_format(tmp_path: Path) -> None:
    from test_io_instaloader import BASE, save_comments, save_structure, sidecar_post
    from test_io_zeeschuimer import v1_item, write_ndjson, zeeschuimer_line

    from drugwatch.io.importer import import_path
    from drugwatch.store import Store

    folder = tmp_path / "export"
    (folder / "insta").mkdir(parents=True)
    save_structure(folder / "insta" / f"{BASE}.json", sidecar_post())
    save_comments(folder / "insta", BASE, [])
    (folder / "insta" / f"{BASE}.txt").write_text("caption file, a companion\n")
    (folder / "insta" / f"{BASE}_1.jpg").write_bytes(b"\xff\xd8\xff")
    write_ndjson(folder / "browser.ndjson", [zeeschuimer_line(v1_item())])
    (folder / "generic.jsonl").write_text(
        json.dumps({"record_type": "event", "id": "g1", "text": "plain event"}) + "\n", encoding="utf-8"
    )
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    report = import_path(folder, store, quarantine=tmp_path / "q.jsonl")
    assert report.format == "mixed"
    assert (
        report.read == report.imported + report.merged + report.near_duplicate + report.unchanged + report.quarantined
    )
    # The PDF is counted and named; the picture and the caption file are companions.
    problems = [json.loads(line) for line in (tmp_path / "q.jsonl").read_text().splitlines()]
    (pdf,) = [p for p in problems if p["locator"] == "file"]
    assert pdf["source"].endswith("notes.pdf") and "not a file drugwatch can import" in pdf["reason"]
    ids = {e.id for e in store.iter_events()}
    assert "g1" in ids and "3300000000000000001" in ids and "3300000000000000101" in ids

    # A named format reads the files it knows and counts the others.
    report = import_path(folder, store, fmt="zeeschuimer", quarantine=tmp_path / "q2.jsonl")
    assert report.format == "zeeschuimer"
    skipped = [json.loads(line) for line in (tmp_path / "q2.jsonl").read_text().splitlines()]
    assert {Path(p["source"]).name for p in skipped if p["locator"] == "file"} == {
        f"{BASE}.json",
        f"{BASE}_comments.json",
        "notes.pdf",
    }


def test_csv_without_an_id_column_and_with_a_platform(tmp_path: Path) -> None:
    from drugwatch.io.importer import import_path
    from drugwatch.store import Store

    csv_path = tmp_path / "channel.csv"
    csv_path.write_text(
        "author,text\nchan_demo,selling bars dm @plug_demo1\nchan_demo,weather is nice today\n"
        "chan_demo,weather is nice today\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    report = import_path(csv_path, store, quarantine=tmp_path / "q.jsonl", csv_platform="telegram")
    assert report.quarantined == 0 and report.read == 3
    events = list(store.iter_events())
    assert len(events) == 2  # the repeated row is the same event
    assert {e.platform for e in events} == {"telegram"}
    assert all(e.id.startswith("csv-") for e in events)
    again = import_path(csv_path, store, quarantine=tmp_path / "q.jsonl", csv_platform="telegram")
    assert again.unchanged == 3 and len(list(store.iter_events())) == 2


def test_instaloader_then_zeeschuimer_keeps_both_sources_and_one_copy_of_each_image(tmp_path: Path) -> None:
    from test_io_instaloader import BASE, save_structure
    from test_io_zeeschuimer import v1_item, write_ndjson, zeeschuimer_line

    post_id = "3300000000000000101"
    node = {
        "__typename": "GraphImage",
        "id": post_id,
        "shortcode": "DemoZs101",
        "taken_at_timestamp": 1714571100,
        "display_url": "https://scontent-ams2-1.cdninstagram.com/v/t51.2885-15/4401_n.jpg?stp=dst-jpg_e35&oh=aa",
        "edge_media_to_caption": {"edges": [{"node": {"text": "menu below #DemoTag"}}]},
        "owner": {"id": "101", "username": "demo_user_1"},
        "edge_media_preview_like": {"count": 7},
    }
    folder = tmp_path / "insta"
    folder.mkdir()
    save_structure(folder / f"{BASE}.json", node)
    (folder / f"{BASE}.jpg").write_bytes(b"\xff\xd8demo-picture")
    item = v1_item(pk=post_id)
    item["caption"]["text"] = "menu below #DemoTag"
    del item["carousel_media"], item["preview_comments"]
    item["media_type"] = 1
    # The same picture under another CDN host, size and signature.
    item["image_versions2"] = {
        "candidates": [
            {
                "url": "https://instagram.fxyz1-1.fna.fbcdn.net/v/t51.2885-15/4401_n.jpg?stp=dst-jpg_e15&efg=bb",
                "width": 640,
            }
        ]
    }
    ndjson = write_ndjson(tmp_path / "browser.ndjson", [zeeschuimer_line(item)])

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    import_path(folder, store, quarantine=tmp_path / "q.jsonl")
    report = import_path(ndjson, store, quarantine=tmp_path / "q.jsonl")
    assert report.merged == 1
    post = store.get_event(f"instagram:{post_id}")
    assert [ref.importer for ref in post.provenance.sources] == ["zeeschuimer", "instaloader"]
    assert post.provenance.also[0].source.endswith(f"{BASE}.json")
    [image] = post.images  # one picture, with the saved file, its digest and the first URL
    assert image.path.endswith(f"{BASE}.jpg") and image.sha256 is not None and "cdninstagram" in image.url
    assert post.meta["export_format"] == "zeeschuimer" and post.meta["shortcode"] == "DemoZs101"

    # Importing either source again adds nothing.
    assert import_path(ndjson, store, quarantine=tmp_path / "q.jsonl").unchanged == 1
    assert import_path(folder, store, quarantine=tmp_path / "q.jsonl").unchanged == 1
    assert len(store.get_event(f"instagram:{post_id}").provenance.sources) == 2


def test_a_copy_from_a_new_source_that_adds_nothing_still_records_the_source(tmp_path: Path) -> None:
    line = {"record_type": "event", "id": "p1", "text": "same words", "provenance": None}
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(line) + "\n")
    second.write_text(json.dumps(line) + "\n")
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    import_path(first, store)
    assert import_path(second, store).merged == 1
    sources = [Path(ref.source).name for ref in store.get_event("instagram:p1").provenance.sources]
    assert sources == ["a.jsonl", "b.jsonl"]
    assert import_path(first, store).unchanged == 1 and import_path(second, store).unchanged == 1
    # The list of sources survives an export and an import into another store.
    out = tmp_path / "out.jsonl"
    export_store(store, out)
    again = Store(f"sqlite:///{tmp_path / 'again.sqlite'}")
    import_path(out, again)
    kept = again.get_event("instagram:p1").provenance
    assert [Path(ref.source).name for ref in kept.sources][-1] == "b.jsonl"
    assert "a.jsonl" in {Path(ref.source).name for ref in kept.sources}


def test_telegram_export_round_trips_through_jsonl_on_another_path(tmp_path: Path) -> None:
    import shutil

    from test_io_telegram import write_full_export

    write_full_export(tmp_path / "export")
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    import_path(tmp_path / "export", store, quarantine=tmp_path / "q.jsonl")
    out = tmp_path / "bundle" / "records.jsonl"
    export_store(store, out)
    # The pictures travel with the bundle; the bundle moves to another place.
    for event in store.iter_events():
        for image in event.images:
            target = out.parent / "media" / Path(image.path).name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(image.path, target)
    rewritten = []
    for raw in out.read_text().splitlines():
        record = json.loads(raw)
        for image in record.get("images") or []:
            image["path"] = f"media/{Path(image['path']).name}"
        rewritten.append(json.dumps(record))
    out.write_text("\n".join(rewritten) + "\n")
    moved = tmp_path / "elsewhere"
    shutil.move(str(out.parent), moved)
    again = Store(f"sqlite:///{tmp_path / 'b.sqlite'}")
    report = import_path(moved / "records.jsonl", again, quarantine=tmp_path / "q2.jsonl")
    assert report.quarantined == 0
    before = {e.key: e for e in store.iter_events()}
    after = {e.key: e for e in again.iter_events()}
    assert set(after) == set(before)
    for key, event in before.items():
        assert after[key].model_dump(exclude={"images", "provenance"}) == event.model_dump(
            exclude={"images", "provenance"}
        )
        assert [i.sha256 for i in after[key].images] == [i.sha256 for i in event.images]
        assert all(Path(i.path).is_file() and Path(i.path).is_relative_to(moved) for i in after[key].images)
    assert {a.key for a in again.iter_accounts()} == {a.key for a in store.iter_accounts()}


def test_csv_ids_from_a_column_or_a_hash_of_chosen_columns(tmp_path: Path) -> None:
    csv_path = tmp_path / "channel.csv"
    csv_path.write_text(
        "msg,author,when,text,views\n"
        "m1,chan_demo,2024-05-01T10:00:00Z,selling bars dm @plug_demo1,10\n"
        "m1,chan_demo,2024-05-01T10:00:00Z,selling bars dm @plug_demo1,25\n"
        "m2,chan_demo,2024-05-01T11:00:00Z,weather is nice today,3\n"
        ",chan_demo,2024-05-01T12:00:00Z,no id here,1\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    report = import_path(csv_path, store, quarantine=tmp_path / "q.jsonl", csv_id_from=["msg"], csv_platform="telegram")
    # The two copies of m1 differ in a meta column only, so the second is a duplicate that conflicts;
    # the row without an id is quarantined saying why.
    assert sorted(e.id for e in store.iter_events()) == ["m1", "m2"]
    assert report.quarantined == 2
    reasons = [json.loads(line)["reason"] for line in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert any("--id-from column(s) msg are empty" in r for r in reasons)

    hashed = Store(f"sqlite:///{tmp_path / 'b.sqlite'}")
    report = import_path(csv_path, hashed, quarantine=tmp_path / "q2.jsonl", csv_id_from=["author", "when", "text"])
    ids = sorted(e.id for e in hashed.iter_events())
    assert len(ids) == 3 and all(i.startswith("csv-") for i in ids)  # the m1 rows agree on the chosen columns
    again = import_path(csv_path, hashed, quarantine=tmp_path / "q3.jsonl", csv_id_from=["author", "when", "text"])
    assert again.imported == 0 and len(list(hashed.iter_events())) == 3

    with pytest.raises(ReaderError, match="not in the header"):
        import_path(csv_path, hashed, csv_id_from=["nope"])
