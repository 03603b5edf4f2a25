"""Imports that lose nothing on hostile files.

Each test builds a small hostile input (a bad byte, a 5,000-digit integer,
nesting deeper than the parser goes, NUL characters, a decompression bomb,
an overlong line, a conflicting duplicate) and checks that the records
around it are stored, the bad one is in the quarantine file with its file
and line, the counts add up and the import run is recorded.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import logging
import lzma
import os
import shutil
import stat
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from test_io_instaloader import BASE, save_structure, sidecar_post
from test_io_zeeschuimer import v1_item, zeeschuimer_line

from drugwatch.io.base import Parsed, Problem, ReaderError
from drugwatch.io.export import export_store, write_jsonl
from drugwatch.io.importer import ImportReport, detect_format, import_path
from drugwatch.io.instaloader import read_instaloader
from drugwatch.io.jsonl import read_jsonl
from drugwatch.io.zeeschuimer import read_zeeschuimer
from drugwatch.records import Event
from drugwatch.store import Store

BIG_INT = "9" * 5000  # json.loads refuses integers of more than 4,300 digits
DEEP = "[" * 100_000 + "]" * 100_000  # far deeper than the parser's recursion limit


def _quarantine(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _import(path: Path, tmp_path: Path, store: Store | None = None, **kwargs) -> tuple[ImportReport, Store, Path]:
    store = store or Store(str(tmp_path / "store.sqlite"))
    qfile = tmp_path / f"q-{path.name}.jsonl"
    report = import_path(path, store, quarantine=qfile, **kwargs)
    report.check()
    return report, store, qfile


def _words(i: int) -> str:
    """A text no other ``i`` shares a word with (so no two count as near-duplicates)."""
    return " ".join(hashlib.sha256(f"{i}-{k}".encode()).hexdigest()[:8] for k in range(6))


def _event_line(i: int, **extra) -> str:
    return json.dumps({"id": f"p{i}", "text": _words(i), "author": f"demo_{i}", **extra})


# ---------------------------------------------------------------------------
# 1. CSV decoded line by line


def _csv_rows(n: int) -> list[bytes]:
    return [f"{i},{_words(i)},demo_{i}\n".encode() for i in range(n)]


def test_csv_one_bad_byte_quarantines_one_row(tmp_path: Path) -> None:
    rows = _csv_rows(1006)
    rows[500] = b"500,caption \xff with a bad byte,demo_500\n"
    path = tmp_path / "posts.csv"
    path.write_bytes(b"id,text,author\n" + b"".join(rows))
    report, store, qfile = _import(path, tmp_path)
    assert report.counts() == {
        "read": 1006,
        "imported": 1005,
        "near_duplicate": 0,
        "merged": 0,
        "unchanged": 0,
        "quarantined": 1,
    }
    [problem] = _quarantine(qfile)
    assert problem["locator"] == "line 502"  # the header is line 1, row 0 is line 2
    assert "not UTF-8: byte 0xff" in problem["reason"]
    assert problem["raw"] == "500,caption \\xff with a bad byte,demo_500"  # the byte is kept, readable
    ids = {event.id for event in store.iter_events()}
    assert ids == {str(i) for i in range(1006)} - {"500"}  # no id mangled, none lost
    assert store.get_event("instagram:501").text == _words(501)
    assert store.stats()["import_runs"] == 1


def test_csv_quoting_across_lines_still_works_and_a_bad_byte_inside_costs_one_row(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,text,author\n"  # with a byte-order mark
        b'1,"first line\nsecond line, with a comma",demo_1\n'
        b'2,"spans\nthree \xfe lines\nhere",demo_2\n'
        b'3,"quoted ""word""\nand more",demo_3\n'
    )
    report, store, qfile = _import(path, tmp_path)
    assert (report.read, report.imported, report.quarantined) == (3, 2, 1)
    assert store.get_event("instagram:1").text == "first line\nsecond line, with a comma"
    assert store.get_event("instagram:3").text == 'quoted "word"\nand more'
    [problem] = _quarantine(qfile)
    assert problem["locator"] == "lines 4-6" and "line 5 is not UTF-8: byte 0xfe" in problem["reason"]


def test_csv_bad_byte_in_the_header_names_it(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(b"id,te\xc3xt,author\n1,hello,demo_1\n")
    with pytest.raises(ReaderError, match=r"header row: line 1 is not UTF-8: byte 0xc3 at byte 6"):
        import_path(path, Store(str(tmp_path / "s.sqlite")), quarantine=tmp_path / "q.jsonl")


def test_csv_overlong_line_is_skipped_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drugwatch.io.csv_reader.MAX_LINE_BYTES", 1000)
    path = tmp_path / "long.csv"
    path.write_bytes(b"id,text,author\n1,short,demo_1\n2," + b"x" * 5000 + b",demo_2\n3,after,demo_3\n")
    report, store, qfile = _import(path, tmp_path)
    assert (report.read, report.imported, report.quarantined) == (3, 2, 1)
    [problem] = _quarantine(qfile)
    assert problem["locator"] == "line 3" and "longer than 1000 bytes (5010 bytes)" in problem["reason"]
    assert store.get_event("instagram:3").text == "after"


# ---------------------------------------------------------------------------
# 2. Any exception while building one record quarantines that record


def test_jsonl_huge_integer_and_deep_nesting_cost_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = [
        _event_line(1),
        '{"id": "p2", "text": "big", "meta": {"n": %s}}' % BIG_INT,
        _event_line(3),
        '{"id": "p4", "meta": %s}' % DEEP,
        '{"id": "p5", "meta": {"deep": %s}}' % ("[" * 600 + "1" + "]" * 600),  # parses; too deep to store
        _event_line(6),
    ]
    path.write_text("\n".join(lines) + "\n")
    report, store, qfile = _import(path, tmp_path)
    assert (report.read, report.imported, report.quarantined) == (6, 3, 3)
    assert {e.id for e in store.iter_events()} == {"p1", "p3", "p6"}
    problems = {p["locator"]: p for p in _quarantine(qfile)}
    assert set(problems) == {"line 2", "line 4", "line 5"}
    assert "4300" in problems["line 2"]["reason"]
    assert "nested too deeply" in problems["line 4"]["reason"]
    assert "Maximum serialization depth" in problems["line 5"]["reason"]
    assert problems["line 5"]["raw"].startswith('{"record_type": "event"')  # kept whole, re-importable
    assert store.stats()["import_runs"] == 1


def test_any_exception_in_a_builder_is_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(image, source):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr("drugwatch.io.jsonl._anchor_image", explode)
    path = tmp_path / "images.jsonl"
    path.write_text("\n".join([_event_line(1), _event_line(2, images=[{"path": "a.jpg"}]), _event_line(3)]) + "\n")
    report, store, qfile = _import(path, tmp_path)
    assert (report.imported, report.quarantined) == (2, 1)
    [problem] = _quarantine(qfile)
    assert problem["locator"] == "line 2" and "RuntimeError: unforeseen" in problem["reason"]


def test_instaloader_hostile_files_do_not_stop_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    save_structure(folder / f"{BASE}.json.xz", sidecar_post())
    (folder / "2024-05-02_10-00-00_UTC.json").write_text(
        '{"node": {"id": %s, "shortcode": "x"}, "instaloader": {"node_type": "Post"}}' % BIG_INT
    )
    (folder / "2024-05-03_10-00-00_UTC.json").write_text(
        '{"node": {"id": "5", "shortcode": "y", "x": %s}, "instaloader": {"node_type": "Post"}}' % DEEP
    )
    save_structure(folder / "2024-05-04_10-00-00_UTC.json", sidecar_post("3300000000000000004", "DemoAbC04"))
    report, store, qfile = _import(folder, tmp_path)
    assert report.quarantined == 2 and report.stored == 2
    assert {e.id for e in store.iter_events()} == {"3300000000000000001", "3300000000000000004"}
    reasons = {Path(p["source"]).name: p["reason"] for p in _quarantine(qfile)}
    assert "4300" in reasons["2024-05-02_10-00-00_UTC.json"]
    assert "nested too deeply" in reasons["2024-05-03_10-00-00_UTC.json"]


def test_instaloader_replies_nested_deep_are_read_without_recursion(tmp_path: Path) -> None:
    # A thread nested 150 deep (the JSON parser allows about 1,000): each
    # reply is one item, none lost, none recursed into. Past about 18 levels
    # a reply's locator is longer than provenance allows, so it is a Problem.
    depth = 150
    reply: dict = {"pk": f"c{depth}", "text": "deepest", "created_at": 1714572000, "user": {"username": "demo"}}
    for level in range(depth - 1, 0, -1):
        reply = {
            "pk": f"c{level}",
            "text": f"level {level}",
            "created_at": 1714572000,
            "user": {"username": "demo"},
            "preview_child_comments": [reply],
        }
    node = {**sidecar_post(), "iphone_struct": {"preview_comments": [reply]}}
    save_structure(tmp_path / f"{BASE}.json", node)
    items = list(read_instaloader(str(tmp_path / f"{BASE}.json")))
    assert len(items) == 1 + depth
    comments = [i.record for i in items if isinstance(i, Parsed) and i.record.kind == "comment"]
    assert [c.id for c in comments[:3]] == ["c1", "c2", "c3"] and comments[2].parent_id == "c2"
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(comments) + len(problems) == depth
    assert all("provenance.locator" in p.reason for p in problems)


def test_zeeschuimer_hostile_lines_cost_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "zs.ndjson"
    good1 = json.dumps(zeeschuimer_line(v1_item("3300000000000000101", "DemoZs101")))
    good2 = json.dumps(zeeschuimer_line(v1_item("3300000000000000102", "DemoZs102")))
    big = good1.replace('"3300000000000000101"', BIG_INT, 1)
    deep = good1[:-1] + ', "x": ' + DEEP + "}"
    path.write_text("\n".join([good1, big, deep, good2]) + "\n")
    items = list(read_zeeschuimer(path))
    problems = [i for i in items if isinstance(i, Problem) and ":" not in i.locator]  # whole lines
    assert [p.locator for p in problems] == ["line 2", "line 3"]
    report, store, qfile = _import(path, tmp_path)
    assert {p["locator"] for p in _quarantine(qfile)} >= {"line 2", "line 3"}
    posts = {e.id for e in store.iter_events() if e.kind == "post"}
    assert posts == {"3300000000000000101", "3300000000000000102"}


# ---------------------------------------------------------------------------
# 3. NUL characters: one rule on every store


def test_nul_characters_are_removed_on_every_store(
    store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "nul.jsonl"
    lines = [
        _event_line(1),
        json.dumps(
            {
                "id": "p2",
                "text": "call 555-0100\u0000 now",
                "author": "demo\u0000_2",
                "meta": {"note\u0000": ["a\u0000b", {"k": "\u0000"}]},
            }
        ),
        json.dumps({"record_type": "account", "username": "demo_3", "bio": "wickr demo\u0000_3"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    store = Store(store_url)
    with caplog.at_level(logging.DEBUG):
        report, store, qfile = _import(path, tmp_path, store=store)
    assert (report.imported, report.quarantined, report.nul_removed) == (3, 0, 2)
    event = store.get_event("instagram:p2")
    assert (event.text, event.author, event.meta) == ("call 555-0100 now", "demo_2", {"note": ["ab", {"k": ""}]})
    assert store.get_account("demo_3").bio == "wickr demo_3"
    assert "555-0100" not in caplog.text  # logged by place, never by content
    # The same file again changes nothing: the stored copy is the cleaned one.
    again = import_path(path, store, quarantine=tmp_path / "q2.jsonl")
    assert again.unchanged == 3


def test_a_record_that_is_only_nul_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_text(json.dumps({"record_type": "account", "username": "\u0000"}) + "\n" + _event_line(1) + "\n")
    report, store, qfile = _import(path, tmp_path)
    assert (report.imported, report.quarantined) == (1, 1)
    [problem] = _quarantine(qfile)
    assert problem["reason"].startswith("invalid once its NUL characters are removed: field 'username'")


def test_store_upsert_removes_nul_itself(store_url: str) -> None:
    store = Store(store_url)
    result = store.upsert([Event(id="n1", text="a\u0000b", meta={"x": "\u0000"})])
    assert result.nul_removed == 1 and store.get_event("instagram:n1").text == "ab"


def test_a_record_the_store_refuses_is_quarantined_without_its_text_in_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    real = store.upsert

    def picky(records, **options):
        records = list(records)
        if any(r.id == "p2" for r in records):
            orig = Exception('invalid input syntax\nCONTEXT: JSON data, line 1: {"text": "call 555-0100"')
            raise sa_exc.DataError("INSERT INTO events ...", None, orig)
        return real(records, **options)

    monkeypatch.setattr(store, "upsert", picky)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(_event_line(i) for i in range(1, 5)) + "\n")
    with caplog.at_level(logging.INFO):
        report, store, qfile = _import(path, tmp_path, store=store)
    assert (report.imported, report.quarantined) == (3, 1)
    [problem] = _quarantine(qfile)
    assert (
        problem["locator"] == "line 2"
        and problem["reason"] == "the store refused this record: Exception: invalid input syntax"
    )
    assert json.loads(problem["raw"])["id"] == "p2"
    assert "555-0100" not in caplog.text and "555-0100" not in problem["reason"]


def test_a_lost_connection_still_ends_the_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(str(tmp_path / "s.sqlite"))

    def gone(records, **options):
        raise sa_exc.OperationalError("INSERT ...", None, Exception("server closed the connection"))

    monkeypatch.setattr(store, "upsert", gone)
    path = tmp_path / "in.jsonl"
    path.write_text(_event_line(1) + "\n")
    with pytest.raises(sa_exc.OperationalError):
        import_path(path, store, quarantine=tmp_path / "q.jsonl")
    assert not (tmp_path / "q.jsonl").exists()  # nothing quarantined for a fault that is not the record's


def test_engine_errors_hide_parameters(tmp_path: Path) -> None:
    from sqlalchemy import text

    store = Store(str(tmp_path / "s.sqlite"))
    with pytest.raises(sa_exc.StatementError) as caught, store.engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:t)"), {"t": "call 555-0100"})
    assert "555-0100" not in str(caught.value)


# ---------------------------------------------------------------------------
# 4. Caps before reading into memory


def test_xz_bomb_is_refused_at_the_cap_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRUGWATCH_MAX_DOCUMENT_BYTES", "1MiB")
    folder = tmp_path / "download"
    folder.mkdir()
    bomb = (
        b'{"node": {"id": "1", "shortcode": "b", "pad": "'
        + b"a" * (64 * 2**20)
        + b'"}, "instaloader": {"node_type": "Post"}}'
    )
    (folder / "2024-05-01_00-00-00_UTC.json.xz").write_bytes(lzma.compress(bomb, preset=1))
    del bomb
    save_structure(folder / f"{BASE}.json", sidecar_post())
    tracemalloc.start()
    try:
        report, store, qfile = _import(folder, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # the 64 MiB document was never held
    assert report.imported == 1 and report.quarantined == 1
    [problem] = _quarantine(qfile)
    assert "expands to more than 1.0 MiB" in problem["reason"] and "DRUGWATCH_MAX_DOCUMENT_BYTES" in problem["reason"]


def test_plain_document_over_the_cap_is_refused_from_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUGWATCH_MAX_DOCUMENT_BYTES", "1000")
    path = save_structure(tmp_path / f"{BASE}.json", sidecar_post())
    [problem] = [i for i in read_instaloader(str(path)) if isinstance(i, Problem)]
    assert "over the 1000 bytes cap" in problem.reason


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)])
def test_compressed_jsonl_stops_at_the_decompressed_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix, compress
) -> None:
    lines = "".join(_event_line(i) + "\n" for i in range(1, 301)).encode()
    path = tmp_path / f"posts.jsonl{suffix}"
    path.write_bytes(compress(lines))
    assert detect_format(path) == "jsonl"
    report, store, _ = _import(path, tmp_path)
    assert report.imported == 300 and report.quarantined == 0  # under the cap: read as usual

    monkeypatch.setenv("DRUGWATCH_MAX_DECOMPRESSED_BYTES", "10000")
    report, store, qfile = _import(path, tmp_path, store=Store(str(tmp_path / "capped.sqlite")))
    assert report.quarantined == 1 and 0 < report.imported < 300
    [problem] = _quarantine(qfile)
    assert (
        "expands to more than 9.8 KiB" in problem["reason"] and "DRUGWATCH_MAX_DECOMPRESSED_BYTES" in problem["reason"]
    )
    assert problem["locator"] == f"line {report.imported + 1}"


def test_bad_size_setting_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUGWATCH_MAX_DECOMPRESSED_BYTES", "lots")
    path = tmp_path / "posts.jsonl.gz"
    path.write_bytes(gzip.compress(b"{}\n"))
    with pytest.raises(ReaderError, match="DRUGWATCH_MAX_DECOMPRESSED_BYTES='lots' is not a size"):
        import_path(path, Store(str(tmp_path / "s.sqlite")), quarantine=tmp_path / "q.jsonl")


def test_overlong_jsonl_line_is_never_held_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drugwatch.io.jsonl.MAX_LINE_BYTES", 100_000)
    path = tmp_path / "long.jsonl"
    with open(path, "w") as handle:
        handle.write(_event_line(1) + "\n")
        handle.write('{"id": "p2", "text": "' + "x" * 30_000_000 + '"}\n')
        handle.write(_event_line(3) + "\n")
    tracemalloc.start()
    try:
        report, store, qfile = _import(path, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # a 30 MB line, read in pieces and dropped
    assert (report.imported, report.quarantined) == (2, 1)
    [problem] = _quarantine(qfile)
    assert problem["locator"] == "line 2" and "longer than 100000 bytes (30000025 bytes)" in problem["reason"]
    assert store.get_event("instagram:p3") is not None


# ---------------------------------------------------------------------------
# 5. The same id twice in one file


def test_same_id_with_different_content_is_quarantined_not_merged(tmp_path: Path) -> None:
    path = tmp_path / "dups.jsonl"
    lines = [
        json.dumps({"id": "p1", "text": "the first text", "author": "demo_1"}),
        json.dumps({"id": "p2", "text": "another post"}),
        json.dumps({"id": "p1", "text": "the first text", "author": "demo_1"}),  # identical
        json.dumps({"id": "p2", "text": "another post", "author": "demo_2"}),  # fills a gap
        json.dumps({"id": "p1", "text": "a different text", "author": "demo_1"}),  # conflict
        json.dumps({"id": "p1", "text": "the first text", "meta": {"likes": 3}}),
        json.dumps({"id": "p1", "text": "the first text", "meta": {"likes": 4}}),  # conflict in meta
    ]
    path.write_text("\n".join(lines) + "\n")
    for batch_size in (2000, 1):  # first copy in the same batch, or already in the store
        report, store, qfile = _import(
            path, tmp_path, store=Store(str(tmp_path / f"s{batch_size}.sqlite")), batch_size=batch_size
        )
        assert (report.read, report.quarantined) == (7, 2)
        assert report.imported + report.merged + report.unchanged == 5
        assert store.get_event("instagram:p1").text == "the first text"  # the first text is not lost
        assert store.get_event("instagram:p2").author == "demo_2"
        problems = _quarantine(qfile)
        assert [p["locator"] for p in problems] == ["line 5", "line 7"]
        assert problems[0]["reason"] == "duplicate id with different content: text differ (first copy: line 1)"
        assert problems[1]["reason"].startswith("duplicate id with different content: meta.likes differ")
        assert json.loads(problems[0]["raw"])["text"] == "a different text"
        qfile.unlink()


def test_same_id_in_two_files_still_merges(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    second = tmp_path / "b.jsonl"
    first.write_text(json.dumps({"id": "p1", "text": "old text"}) + "\n")
    second.write_text(json.dumps({"id": "p1", "text": "new text"}) + "\n")
    store = Store(str(tmp_path / "s.sqlite"))
    _import(first, tmp_path, store=store)
    report, store, _ = _import(second, tmp_path, store=store)
    assert (report.merged, report.quarantined) == (1, 0)
    assert store.get_event("instagram:p1").text == "new text"


def test_csv_duplicate_ids_are_caught_too(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_text("id,text\n1,first\n2,other\n1,second\n")
    report, store, qfile = _import(path, tmp_path)
    assert (report.imported, report.quarantined) == (2, 1)
    assert store.get_event("instagram:1").text == "first"
    assert "duplicate id with different content: text differ (first copy: line 2)" == _quarantine(qfile)[0]["reason"]


# ---------------------------------------------------------------------------
# 6. Files only their owner can read


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_quarantine_and_export_files_are_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "new" / "store.sqlite"
        store = Store(str(db))
        path = tmp_path / "in.jsonl"
        path.write_text(_event_line(1) + "\n{broken\n")
        report = import_path(path, store, quarantine=tmp_path / "qdir" / "q.jsonl")
        export_store(store, tmp_path / "out.jsonl")
        export_store(store, tmp_path / "out.parquet", fmt="parquet", what="events")
        default_q = import_path(path, store)  # the default quarantine folder under DRUGWATCH_HOME
    finally:
        os.umask(old)
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700
    wal = db.with_name("store.sqlite-wal")
    assert wal.exists() and _mode(wal) == 0o600  # SQLite copies the database file's mode
    assert _mode(Path(report.quarantine_path)) == 0o600 and _mode(Path(report.quarantine_path).parent) == 0o700
    assert _mode(Path(default_q.quarantine_path)) == 0o600
    assert _mode(tmp_path / "out.jsonl") == 0o600 and _mode(tmp_path / "out.parquet") == 0o600


# ---------------------------------------------------------------------------
# 7. Export -> import keeps image paths working


def test_export_writes_image_paths_relative_to_its_folder_and_import_round_trips(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "images" / "p1.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(b"x")
    source = data / "in.jsonl"
    source.write_text(
        json.dumps({"id": "p1", "text": "t", "images": [{"path": "images/p1.jpg"}, {"path": str(outside)}]}) + "\n"
    )
    store = Store(str(tmp_path / "a.sqlite"))
    _import(source, tmp_path, store=store)
    stored = store.get_event("instagram:p1")
    assert stored.images[0].path == str((data / "images" / "p1.jpg").resolve())

    out = data / "export.jsonl"
    export_store(store, out)
    line = json.loads(out.read_text().splitlines()[0])
    assert [image["path"] for image in line["images"]] == ["images/p1.jpg", str(outside.resolve())]

    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    again = Store(str(tmp_path / "b.sqlite"))
    _import(moved / "export.jsonl", tmp_path, store=again)
    images = again.get_event("instagram:p1").images
    assert images[0].path == str((moved / "images" / "p1.jpg").resolve()) and Path(images[0].path).is_file()
    assert images[1].path == str(outside.resolve())


def test_write_jsonl_then_import_is_the_identity_for_images_under_the_folder(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    image = tmp_path / "img" / "a.png"
    image.write_bytes(b"png")
    event = Event(id="e1", text="x", images=[{"path": str(image.resolve())}])
    path = tmp_path / "events.jsonl"
    write_jsonl([event], path)
    [item] = list(read_jsonl(str(path)))
    assert item.record.images == event.images
