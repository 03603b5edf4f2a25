"""The scan's fast paths give what the plain pydantic paths give, to the byte.

Two shortcuts: plain JSONL event lines are built without validation
(``scan.sources._plain_event``) and results are built without validation
(``scoring.trusted_model``). Each is checked here against the pydantic path
it replaces, on records that take the shortcut and on records that must
take the validating path. The scan also freezes the collector's view of the
loaded models while it runs, and gives it back.
"""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from drugwatch.demo import generate_demo
from drugwatch.io.jsonl import _build_generic
from drugwatch.records import Event, ImageRef, Provenance, sha256_bytes
from drugwatch.scan import run_scan
from drugwatch.scan.sinks import _JSON_COLUMNS, read_results, result_to_row
from drugwatch.scan.sources import JsonlSource, _plain_event
from drugwatch.scoring import EventResult, EventScorer, train_default_detectors

# ---------------------------------------------------------------------------
# Plain event lines


def _provenance(obj: dict[str, Any], raw: bytes) -> Provenance:
    return Provenance(
        platform=str(obj.get("platform") or "instagram")[:64],
        source="/data/in.jsonl",
        fetched_at=datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
        raw_sha256=sha256_bytes(raw),
        locator="line 7",
        importer="jsonl",
    )


PLAIN_LINES: list[dict[str, Any]] = [
    {"record_type": "event", "id": "e1", "text": "5g speed, dm for prices", "author": "u1"},
    {"id": 12345, "text": "no record_type, numeric id", "created_at": "2024-05-01T13:45:00Z"},
    {"id": "e3", "text": "weed #Kush #kush #420 #", "created_at": 1714571100, "platform": "telegram"},
    {"id": "e4", "text": None, "author": None, "created_at": None, "labels": None, "selling": None},
    {"id": "e5", "text": "x", "labels": ["xanax", "marijuana", "xanax"], "selling": True},
    {"id": "e6", "text": "time with an offset", "created_at": "2024-05-01T13:45:00+02:00", "kind": "post"},
    {"id": "e7", "text": "unix seconds as text", "created_at": "1714571100.25"},
    {"id": "e8", "text": "date only", "created_at": "2024-05-01"},
    {"id": "e9", "text": "emoji 😀 and accents éè ✌️", "created_at": ""},
    {"id": "x" * 256, "text": "t" * 100_000, "author": "a" * 256, "platform": "p" * 64},
]

NOT_PLAIN_LINES: list[dict[str, Any]] = [
    {"id": "c1", "kind": "comment", "parent_id": "e1", "text": "a reply"},  # comments are checked by pydantic
    {"id": "h1", "text": "tags given", "hashtags": ["a"]},
    {"id": "m1", "text": "meta", "meta": {"group": 1}},
    {"id": "i1", "text": "image", "images": [{"url": "https://example.org/a.jpg"}]},
    {"record_type": "account", "username": "u1"},
    {"id": "b1", "text": "selling as a number", "selling": 1},
    {"id": True, "text": "boolean id"},
    {"id": "", "text": "empty id"},
    {"id": "x" * 257, "text": "id too long"},
    {"id": "t1", "text": "t" * 100_001},
    {"id": "p1", "text": "x", "platform": "p" * 65},
    {"id": "p2", "text": "x", "platform": ""},
    {"id": "a1", "text": "x", "author": 5},
    {"id": "l1", "text": "x", "labels": ["weed"]},
    {"id": "l2", "text": "x", "labels": "xanax"},
    {"id": "l3", "text": "x", "labels": [["nested"]]},
    {"id": "l4", "text": "x", "labels": ["non_drug", "xanax"]},
    {"id": "d1", "text": "x", "created_at": "yesterday"},
    {"id": "d2", "text": "x", "created_at": True},
    {"id": "d3", "text": "x", "created_at": 1e30},
    {"id": "k1", "text": "x", "kind": "story"},
    {"record_type": "post", "id": "r1", "text": "x"},
    {"id": "s1", "text": "lone \ud800 surrogate"},
]


def _event_and_fields(event: Event) -> tuple[Event, set[str], str]:
    return event, event.model_fields_set, event.model_dump_json()


@pytest.mark.parametrize("obj", PLAIN_LINES, ids=lambda o: str(o.get("id"))[:10])
def test_plain_event_equals_the_validated_event(obj: dict[str, Any]) -> None:
    raw = json.dumps(obj, ensure_ascii=False).encode()
    provenance = _provenance(obj, raw)
    fast = _plain_event(obj, raw, provenance)
    assert fast is not None, "a plain line takes the fast path"
    slow = _build_generic(obj, provenance, "/data/in.jsonl", "line 7")
    assert isinstance(slow, Event)
    assert _event_and_fields(fast) == _event_and_fields(slow)
    assert list(fast.__dict__) == list(Event.model_fields)
    assert fast.hashtags == slow.hashtags and fast.created_at == slow.created_at


@pytest.mark.parametrize("obj", NOT_PLAIN_LINES, ids=lambda o: str(o.get("id", o.get("username")))[:10])
def test_other_lines_take_the_validating_path(obj: dict[str, Any]) -> None:
    raw = json.dumps(obj).encode()
    assert _plain_event(obj, raw, _provenance(obj, raw)) is None


def test_escaped_and_encoded_surrogates_take_the_validating_path() -> None:
    obj = {"id": "s2", "text": "x"}
    assert _plain_event(obj, b'{"id": "s2", "text": "\\ud83d\\ude00"}', _provenance(obj, b"")) is None
    assert _plain_event(obj, b'{"id": "s2", "text": "\xed\xa0\x80"}', _provenance(obj, b"")) is None


def _old_read(path: Path) -> list[tuple[str, str, Any]]:
    """What the source read before the fast path: every line validated by ``_build_generic``."""
    out = []
    for item in JsonlSource(path).read(JsonlSource(path).splits()[0]):
        parsed = item.item
        record = getattr(parsed, "record", None)
        out.append((item.position, type(parsed).__name__, record if record is not None else parsed.reason))
    return out


def test_source_items_and_problems_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(obj, ensure_ascii=False) for obj in PLAIN_LINES + NOT_PLAIN_LINES]
    lines += ["{not json", "[1, 2]", '{"id": "s3", "text": "\\ud800"}']
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    fast = _old_read(path)
    monkeypatch.setattr("drugwatch.scan.sources._plain_event", lambda obj, raw, provenance: None)
    slow = _old_read(path)
    assert fast == slow
    reasons = {position: value for position, kind, value in fast if kind == "Problem"}
    n_plain = len(PLAIN_LINES)
    # every malformed line is reported with its line and why, the fast path's rejects included
    assert reasons[n_plain + 9] == "field 'id': String should have at most 256 characters"
    assert "unknown label 'weed'" in reasons[n_plain + 14]
    assert n_plain + 1 not in reasons  # a comment with its parent is read
    assert "unicode" in reasons[n_plain + len(NOT_PLAIN_LINES)] and "unicode" in reasons[len(lines)]
    assert len(reasons) == len(NOT_PLAIN_LINES) - 6 + 3  # c1, h1, m1, i1, the account and b1 are read


def test_a_platform_longer_than_provenance_takes_is_quarantined_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "p1", "text": "x", "platform": "p" * 65}) + "\n", encoding="utf-8")
    source = JsonlSource(path)
    [item] = list(source.read(source.splits()[0]))
    assert item.item.locator == "line 1"
    assert item.item.reason.startswith("provenance: field 'platform': String should have at most 64 characters")


# ---------------------------------------------------------------------------
# Results


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> EventScorer:
    corpus = generate_demo(seed=21, n_accounts=10, images=False)
    return EventScorer.from_directories(train_default_detectors(corpus.events, tmp_path_factory.mktemp("m")).values())


@pytest.fixture(scope="module")
def events() -> list[Event]:
    corpus = generate_demo(seed=5, n_accounts=6, images=False)
    extra = [
        Event(id="card", text="call me", meta={"contact": {"phone_number": "+1 555 010 9999"}}),
        Event(id="tags", text="no tags in the text", hashtags=["xanax", "plug"]),
        Event(
            id="img",
            text="pics #weed",
            images=[ImageRef(url="https://example.org/a.jpg", sha256="A" * 64)],
            created_at=datetime(2024, 5, 1, 0, 0, 0, 1, tzinfo=UTC),
        ),
        Event(id="c1", kind="comment", parent_id="x", post_id="x", text="wtb 2g, how much for it?", labels=["cocaine"]),
    ]
    return list(corpus.events) + extra


def _pydantic_json(result: EventResult, *, models: bool = True) -> str:
    exclude = set() if models else {"models"}
    for name in ("vision", "selling_review", "language"):
        if getattr(result, name) is None:
            exclude.add(name)
    data = result.model_dump(mode="json", exclude=exclude or None)
    if models:
        data["models"] = [info.dump() for info in result.models]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _models_in_declaration_order(model: BaseModel) -> None:
    assert list(model.__dict__) == list(type(model).model_fields), type(model).__name__
    for value in model.__dict__.values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, BaseModel):
                _models_in_declaration_order(item)


def test_built_results_equal_validated_results_and_dump_the_same(scorer: EventScorer, events: list[Event]) -> None:
    results = scorer.score(events)
    assert (
        any(r.contacts for r in results) and any(r.lexicon_hits for r in results) and any(r.hashtags for r in results)
    )
    for result in results:
        _models_in_declaration_order(result)
        validated = EventResult.model_validate(result.model_dump())
        assert result == validated
        for models in (True, False):
            assert result.to_json(models=models) == _pydantic_json(result, models=models)
            assert result.to_json(models=models) == validated.to_json(models=models)


def test_results_read_back_dump_the_same(scorer: EventScorer, events: list[Event]) -> None:
    for result in scorer.score(events[:40]):
        back = EventResult.from_json(result.to_json())  # pydantic's own time zone object: the pydantic path
        assert back.to_json() == _pydantic_json(back) == result.to_json()


def test_scan_files_equal_the_pydantic_dump(scorer: EventScorer, events: list[Event], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    objs = [{"record_type": "event", **e.model_dump(mode="json")} for e in events] + PLAIN_LINES[:-1]
    source.write_text("\n".join(json.dumps(obj, ensure_ascii=False) for obj in objs) + "\n", encoding="utf-8")
    run_scan(source, tmp_path / "out.jsonl", scorer=scorer)
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[1:]
    results = list(read_results(tmp_path / "out.jsonl"))
    assert len(lines) == len(results) == len(objs)
    for line, result in zip(lines, results):
        assert line == _pydantic_json(result, models=False)
        row = result_to_row(result)
        data = result.model_dump(mode="json")
        for name in _JSON_COLUMNS:
            assert row[name] == json.dumps(data[name], ensure_ascii=False, separators=(",", ":"))


def test_the_scan_gives_the_collector_its_objects_back(
    scorer: EventScorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "e1", "text": "hi"}) + "\n", encoding="utf-8")
    gc.unfreeze()  # an earlier test's freeze (the API server freezes at start) would hide the scan's
    assert gc.get_freeze_count() == 0
    run_scan(source, tmp_path / "a.jsonl", scorer=scorer)
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a caller's own freeze (a server before it forks) is left as it is
    calls: list[str] = []
    real = gc.freeze, gc.unfreeze
    try:
        # the frozen count itself may fall while the scan runs (a frozen object
        # freed by its last reference leaves the permanent generation): record calls
        monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
        monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
        run_scan(source, tmp_path / "b.jsonl", scorer=scorer)
        assert calls == [] and gc.get_freeze_count() > 0
    finally:
        monkeypatch.undo()
        real[1]()
    assert gc.freeze is real[0]
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_a_file_name_that_is_not_unicode_is_reported_per_line(tmp_path: Path) -> None:
    path = tmp_path / "in-\udcff.jsonl"  # a Latin-1 byte in a UTF-8 file system's name
    path.write_text(json.dumps({"id": "e1", "text": "x"}) + "\n", encoding="utf-8")
    source = JsonlSource(path)
    [item] = list(source.read(source.splits()[0]))
    assert item.item.locator == "line 1"
    assert item.item.reason.startswith("provenance: field 'source'")
