"""Reading Zeeschuimer / 4CAT NDJSON: lines written here in the shapes those tools write.

``zeeschuimer_line`` mirrors the row ``js/zs-background.js::parse_request``
stores and ``popup/interface.js::get_blob`` exports; ``fourcat_line`` mirrors
4CAT's import (``{**item["data"], "__import_meta": {...}}``). All values are
made up (demo_user_*, example.com, 555-01xx).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drugwatch.io.base import Parsed, Problem, ReaderError
from drugwatch.io.zeeschuimer import read_zeeschuimer
from drugwatch.records import Event, sha256_json

COLLECTED_MS = 1717243200123  # 2024-06-01T12:00:00.123Z


def zeeschuimer_line(item: dict, platform: str = "instagram.com", row_id: int = 1) -> dict:
    return {
        "nav_index": "1:5:0",
        "item_id": item.get("id"),
        "timestamp_collected": COLLECTED_MS,
        "source_platform": platform,
        "source_platform_url": "https://www.instagram.com/explore/tags/demotag/",
        "source_url": "https://www.instagram.com/api/v1/tags/web_info/?tag_name=demotag",
        "user_agent": "Mozilla/5.0 (demo)",
        "data": item,
        "id": row_id,
    }


def fourcat_line(item: dict) -> dict:
    line = zeeschuimer_line(item)
    return {**line["data"], "__import_meta": {k: v for k, v in line.items() if k != "data"}}


def v1_comment(pk: str | None, text: str, username: str, created: int, parent: str | None = None) -> dict:
    comment = {
        "user_id": "9",
        "user": {"pk": "9", "username": username, "is_private": False},
        "type": 0,
        "text": text,
        "created_at": created,
        "created_at_utc": created,
        "content_type": "comment",
        "status": "Active",
        "media_id": "3300000000000000101",
        "comment_like_count": 1,
        "has_liked_comment": False,
    }
    if pk is not None:
        comment["pk"] = pk
    if parent is not None:
        comment["parent_comment_id"] = parent
    return comment


def v1_item(pk: str = "3300000000000000101", code: str = "DemoZs101") -> dict:
    return {
        "taken_at": 1714571100,
        "pk": pk,
        "id": f"{pk}_101",
        "media_type": 8,
        "code": code,
        "caption": {"pk": "1", "text": "menu below #DemoTag #test_only call 555-0103", "created_at": 1714571100},
        "user": {"pk": "101", "username": "demo_user_1", "full_name": "Demo One", "is_private": False},
        "like_count": 7,
        "comment_count": 3,
        "carousel_media": [
            {
                "id": "a",
                "media_type": 1,
                "image_versions2": {
                    "candidates": [{"url": "https://example.com/z/a.jpg", "width": 1080, "height": 1080}]
                },
            },
            {
                "id": "b",
                "media_type": 2,
                "image_versions2": {
                    "candidates": [{"url": "https://example.com/z/b.jpg", "width": 1080, "height": 1080}]
                },
                "video_versions": [{"url": "https://example.com/z/b.mp4", "type": 101}],
            },
        ],
        "location": {"pk": "5", "name": "Demo Harbour", "lat": 1.0, "lng": 2.0},
        "preview_comments": [
            v1_comment("17800000000000001", "how to order", "demo_user_2", 1714571200),
            v1_comment("17800000000000002", "check bio", "demo_user_1", 1714571300, parent="17800000000000001"),
            v1_comment(None, "lost id", "demo_user_3", 1714571400),
        ],
        "_zs_partial": False,
        "_zs_instagram_view": "search",
        "_zs_html_embedded_json": False,
    }


def graphql_item() -> dict:
    return {
        "__typename": "GraphImage",
        "id": "3300000000000000202",
        "shortcode": "DemoGq202",
        "edge_media_to_caption": {"edges": [{"node": {"text": "old style #graphql_demo"}}]},
        "taken_at_timestamp": 1600000000,
        "display_url": "https://example.com/z/g.jpg",
        "owner": {"id": "202", "username": "demo_user_2"},
        "is_video": False,
        "edge_media_preview_like": {"count": 3},
    }


def write_ndjson(path: Path, lines: list) -> Path:
    text = []
    for line in lines:
        text.append(line if isinstance(line, str) else json.dumps(line))
    path.write_text("\n".join(text) + "\n")
    return path


def parsed(items):
    return [item.record for item in items if isinstance(item, Parsed)]


def problems(items):
    return [item for item in items if isinstance(item, Problem)]


def test_v1_item_post_images_and_preview_comments(tmp_path: Path) -> None:
    item = v1_item()
    path = write_ndjson(tmp_path / "zeeschuimer-export-instagram.com.ndjson", [zeeschuimer_line(item)])
    items = list(read_zeeschuimer(path))

    assert len(items) == 4  # the post and three preview comments
    post, first, reply = parsed(items)
    assert isinstance(post, Event) and post.kind == "post"
    assert post.id == "3300000000000000101"
    assert post.text == "menu below #DemoTag #test_only call 555-0103"
    assert post.hashtags == ("demotag", "test_only")
    assert post.author == "demo_user_1"
    assert post.created_at == datetime.fromtimestamp(1714571100, tz=UTC)
    assert [image.url for image in post.images] == ["https://example.com/z/a.jpg", "https://example.com/z/b.jpg"]
    assert post.meta["shortcode"] == "DemoZs101"
    assert post.meta["permalink"] == "https://www.instagram.com/p/DemoZs101/"
    assert post.meta["likes"] == 7 and post.meta["comment_count"] == 3
    assert post.meta["location"] == "Demo Harbour"
    assert post.meta["export_format"] == "zeeschuimer"
    assert post.meta["zeeschuimer_partial"] is False
    assert post.meta["source_platform_url"] == "https://www.instagram.com/explore/tags/demotag/"
    prov = post.provenance
    assert prov.source == str(path) and prov.locator == "line 1" and prov.importer == "zeeschuimer"
    assert prov.fetched_at == datetime(2024, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert prov.raw_sha256 == sha256_json(item)

    assert (first.kind, first.parent_id, first.post_id, first.author, first.text) == (
        "comment",
        "3300000000000000101",
        "3300000000000000101",
        "demo_user_2",
        "how to order",
    )
    assert first.created_at == datetime.fromtimestamp(1714571200, tz=UTC)
    assert first.provenance.locator == "line 1: data.preview_comments[0]"
    assert first.provenance.raw_sha256 == sha256_json(item["preview_comments"][0])
    assert (reply.parent_id, reply.post_id) == ("17800000000000001", "3300000000000000101")

    [problem] = problems(items)
    assert (problem.source, problem.locator, problem.reason) == (
        str(path),
        "line 1: data.preview_comments[2]",
        "comment has no 'id'",
    )


def test_4cat_export_reads_like_zeeschuimer(tmp_path: Path) -> None:
    item = v1_item()
    zs = parsed(read_zeeschuimer(write_ndjson(tmp_path / "zs.ndjson", [zeeschuimer_line(item)])))
    fc = parsed(read_zeeschuimer(write_ndjson(tmp_path / "4cat.ndjson", [fourcat_line(item)])))
    assert [r.id for r in fc] == [r.id for r in zs]
    assert fc[0].provenance.raw_sha256 == zs[0].provenance.raw_sha256 == sha256_json(item)
    assert fc[0].meta["export_format"] == "4cat"
    assert fc[0].provenance.fetched_at == zs[0].provenance.fetched_at
    assert fc[1].provenance.locator == "line 1: preview_comments[0]"


def test_graphql_item(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "old.ndjson", [zeeschuimer_line(graphql_item())])
    [post] = parsed(read_zeeschuimer(path))
    assert (post.id, post.author, post.text) == ("3300000000000000202", "demo_user_2", "old style #graphql_demo")
    assert post.hashtags == ("graphql_demo",)
    assert post.images[0].url == "https://example.com/z/g.jpg" and post.images[0].path is None
    assert post.meta["shortcode"] == "DemoGq202" and post.meta["likes"] == 3


def test_bad_lines_are_problems_with_line_numbers(tmp_path: Path) -> None:
    no_id = v1_item()
    del no_id["pk"], no_id["id"]
    no_id["preview_comments"] = []
    ad = v1_item("3300000000000000303", "DemoAd303")
    ad["product_type"] = "ad"
    lines = [
        zeeschuimer_line(v1_item()),  # 1: post + 3 comments (one bad)
        "",  # 2: blank, not a record
        zeeschuimer_line({"id": "7300000000000000001", "desc": "a video"}, platform="tiktok.com"),  # 3
        '{"nav_index": "1:5:0", "data": {"pk": ',  # 4: truncated JSON
        zeeschuimer_line(no_id),  # 5: no id
        zeeschuimer_line(ad),  # 6: an ad
        {"hello": "world"},  # 7: neither shape
        [1, 2, 3],  # 8: not an object
        "   ",  # 9: blank
        fourcat_line(graphql_item()),  # 10: good
    ]
    path = write_ndjson(tmp_path / "mixed.ndjson", lines)
    items = list(read_zeeschuimer(path))

    raw_records = 4 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    assert len(items) == raw_records
    assert [r.id for r in parsed(items)] == [
        "3300000000000000101",
        "17800000000000001",
        "17800000000000002",
        "3300000000000000202",
    ]
    found = {p.locator: p.reason for p in problems(items)}
    assert found.pop("line 1: data.preview_comments[2]") == "comment has no 'id'"
    assert found.pop("line 3") == "not an Instagram item: tiktok.com"
    assert found.pop("line 4").startswith("invalid JSON")
    assert found.pop("line 5") == "post node has no 'id' (nor 'pk')"
    assert found.pop("line 6") == "an Instagram ad (product_type 'ad'), not a user post"
    assert found.pop("line 7").startswith("neither a Zeeschuimer line")
    assert found.pop("line 8") == "expected a JSON object, got list"
    assert found == {}
    assert all(p.source == str(path) and p.raw for p in problems(items))


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match="no such file"):
        read_zeeschuimer(tmp_path / "nope.ndjson")


@pytest.mark.parametrize("collected", [None, "soon", 10**30])
def test_fetched_at_falls_back_to_file_mtime(tmp_path: Path, collected: object) -> None:
    line = zeeschuimer_line(graphql_item())
    if collected is None:
        del line["timestamp_collected"]
    else:
        line["timestamp_collected"] = collected
    path = write_ndjson(tmp_path / "no_time.ndjson", [line])
    [post] = parsed(read_zeeschuimer(path))
    assert post.provenance.fetched_at == datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def test_current_web_item_shapes(tmp_path: Path) -> None:
    item = v1_item()
    item["media_type"] = "8"
    item["carousel_media"][1]["media_type"] = "VIDEO"  # web items may give the type as a string
    item["carousel_media"].append({"id": "c", "media_type": 1, "display_uri": "https://example.com/z/c.jpg"})
    item["location"] = {
        "pk": 5,
        "name": "Demo Harbour",
        "lat": "1.5",
        "lng": 2.0,
        "city": "Demo City",
        "address": "3 Example Quay",
        "short_name": "Harbour",
    }
    item["play_count"] = 321
    reel = {
        "pk": "3300000000000000111",
        "code": "DemoReel1",
        "taken_at": 1714571100,
        "media_type": "2",
        "display_uri": "https://example.com/z/reel.jpg",
        "video_versions": [{"url": "https://example.com/z/reel.mp4"}],
        "user": {"pk": "101", "username": "demo_user_1"},
        "caption": None,
        "play_count": 999,
    }
    path = write_ndjson(tmp_path / "web.ndjson", [zeeschuimer_line(item), zeeschuimer_line(reel, row_id=2)])
    posts = [r for r in parsed(read_zeeschuimer(path)) if r.kind == "post"]
    carousel, video = posts
    assert [i.url for i in carousel.images] == [
        "https://example.com/z/a.jpg",
        "https://example.com/z/b.jpg",
        "https://example.com/z/c.jpg",
    ]
    assert carousel.meta["carousel_videos"] == [{"position": 2, "url": "https://example.com/z/b.mp4"}]
    assert carousel.meta["is_video"] is False and carousel.meta["play_count"] == 321
    assert carousel.meta["place"] == {
        "id": "5",
        "name": "Demo Harbour",
        "lat": 1.5,
        "lng": 2.0,
        "city": "Demo City",
        "address": "3 Example Quay",
    }
    assert video.meta["is_video"] is True and video.meta["video_url"] == "https://example.com/z/reel.mp4"
    assert [i.url for i in video.images] == ["https://example.com/z/reel.jpg"]
    assert video.meta["play_count"] == 999
