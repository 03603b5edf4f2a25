"""Record validation: errors say what is wrong and where."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from drugwatch import LABELS, Account, Event, ImageRef, Provenance, RecordError
from drugwatch.labels import check_labels


def test_labels_have_the_fixed_order() -> None:
    assert LABELS == (
        "non_drug",
        "marijuana",
        "codeine",
        "mdma",
        "xanax",
        "painkiller",
        "mushroom",
        "lsd",
        "cocaine",
        "other_drugs",
    )


def test_labels_are_canonicalised() -> None:
    assert check_labels(["xanax", "marijuana", "xanax"]) == ("marijuana", "xanax")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["weed"], "unknown label 'weed'"),
        (["non_drug", "xanax"], "'non_drug' is exclusive but was combined with: xanax"),
        ([], "labels is empty"),
        ("xanax", "got the string 'xanax'"),
    ],
)
def test_bad_labels_are_explained(labels, message) -> None:
    with pytest.raises(RecordError, match=message):
        Event.parse({"id": "1", "labels": labels}, source="posts.jsonl", locator="line 7")


def test_error_names_source_line_and_field() -> None:
    with pytest.raises(RecordError) as info:
        Event.parse({"id": "1", "selling": "maybe"}, source="posts.jsonl", locator="line 7")
    err = info.value
    assert err.source == "posts.jsonl" and err.locator == "line 7"
    assert str(err).startswith("posts.jsonl, line 7: field 'selling'")


def test_unknown_field_is_rejected_with_a_hint() -> None:
    with pytest.raises(RecordError, match="field 'captoin': unknown field"):
        Event.parse({"id": "1", "captoin": "hi"})


def test_comment_needs_a_parent_and_post_cannot_have_one() -> None:
    with pytest.raises(RecordError, match="a comment needs 'parent_id'"):
        Event.parse({"id": "c1", "kind": "comment"})
    with pytest.raises(RecordError, match="a post cannot have 'parent_id'"):
        Event.parse({"id": "p1", "parent_id": "p0"})
    with pytest.raises(RecordError, match="equals the event's own id"):
        Event.parse({"id": "c1", "kind": "comment", "parent_id": "c1"})


def test_threads_of_any_depth() -> None:
    post = Event(id="p", text="sunset")
    c3 = Event(id="c3", kind="comment", parent_id="c2", post_id="p")
    assert c3.parent_key == "instagram:c2" and c3.post_key == post.key


def test_times_are_utc_aware() -> None:
    assert Event(id="1", created_at="2024-05-01T13:45:00Z").created_at == datetime(2024, 5, 1, 13, 45, tzinfo=UTC)
    assert Event(id="1", created_at=1714571100).created_at == datetime(2024, 5, 1, 13, 45, tzinfo=UTC)
    assert Event(id="1", created_at="2024-05-01").created_at.tzinfo is UTC
    with pytest.raises(RecordError, match="cannot read 'yesterday' as a time"):
        Event.parse({"id": "1", "created_at": "yesterday"})


def test_hashtags_are_extracted_when_not_given() -> None:
    event = Event(id="1", text="hmu #Xanax#oxy and #2mgXanax #xanax")
    assert event.hashtags == ("xanax", "oxy", "2mgxanax")
    assert Event(id="2", text="#a", hashtags=["#B", "b"]).hashtags == ("b",)


def test_images_need_a_location_and_a_valid_digest() -> None:
    with pytest.raises(RecordError, match="an image needs a 'path' or a 'url'"):
        Event.parse({"id": "1", "images": [{"sha256": "a" * 64}]})
    with pytest.raises(RecordError, match="64 hex characters"):
        Event.parse({"id": "1", "images": [{"url": "https://example.com/x.jpg", "sha256": "abc"}]})
    assert ImageRef(path="x.jpg", sha256="A" * 64).sha256 == "a" * 64


def test_provenance_digest_is_checked() -> None:
    with pytest.raises(RecordError, match="provenance.raw_sha256"):
        Event.parse({"id": "1", "provenance": {"platform": "instagram", "source": "f", "raw_sha256": "xyz"}})
    prov = Provenance(platform="instagram", source="f.json", raw_sha256="0" * 64, fetched_at=0)
    assert prov.fetched_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_account_validation_and_ratio() -> None:
    with pytest.raises(RecordError, match="field 'followers': Input should be greater than or equal to 0"):
        Account.parse({"username": "a", "followers": -1})
    account = Account(username="demo_plug", followers=10, following=250)
    assert account.following_ratio == 25.0
    with pytest.raises(RecordError, match="is by 'someone_else'"):
        Account.parse({"username": "demo_plug", "timeline": [{"id": "1", "author": "someone_else"}]})


def test_records_are_immutable() -> None:
    event = Event(id="1", text="x")
    with pytest.raises(ValidationError, match="frozen"):
        event.text = "y"  # type: ignore[misc]


def test_parse_rejects_non_objects() -> None:
    with pytest.raises(RecordError, match="expected a JSON object for Event, got list"):
        Event.parse([1, 2], source="f.jsonl", locator="line 1")


def test_out_of_range_unix_time_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="out of range"):
        Event.parse({"id": "1", "created_at": 10**20})
