"""Reading instaloader output: files written here exactly as instaloader writes them.

``save_structure`` mirrors ``instaloader/structures.py::save_structure_to_file``
and ``save_comments`` mirrors ``Instaloader.update_comments``; all values are
made up (demo_user_*, example.com, 555-01xx).
"""

from __future__ import annotations

import json
import lzma
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drugwatch.io.base import Parsed, Problem, ReaderError
from drugwatch.io.instaloader import read_instaloader
from drugwatch.records import Account, Event, sha256_bytes, sha256_json

VERSION = "4.14"
FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
BASE = "2024-05-01_13-45-00_UTC"  # instaloader's default filename pattern, {date_utc}_UTC


def save_structure(path: Path, node: object, node_type: str = "Post") -> Path:
    """Write ``node`` the way ``save_structure_to_file`` does (``.xz`` -> LZMA, else pretty JSON)."""
    structure = {"node": node, "instaloader": {"version": VERSION, "node_type": node_type}}
    if path.name.endswith(".xz"):
        with lzma.open(path, "wt", check=lzma.CHECK_NONE) as fp:
            json.dump(structure, fp=fp, separators=(",", ":"))
    else:
        with open(path, "w") as fp:
            json.dump(structure, fp=fp, indent=4, sort_keys=True)
    os.utime(path, (FETCHED.timestamp(), FETCHED.timestamp()))
    return path


def save_comments(directory: Path, base: str, comments: list[dict]) -> Path:
    """Write ``<base>_comments.json`` the way ``update_comments`` does."""
    path = directory / f"{base}_comments.json"
    path.write_text(json.dumps(comments, indent=4))
    os.utime(path, (FETCHED.timestamp() + 60, FETCHED.timestamp() + 60))
    return path


def owner(user_id: int, username: str) -> dict:
    # Profile._asdict() of a comment owner (GraphQL owner node).
    return {
        "id": str(user_id),
        "is_verified": False,
        "profile_pic_url": "https://example.com/p.jpg",
        "username": username,
    }


def sidecar_post(post_id: str = "3300000000000000001", shortcode: str = "DemoAbC01") -> dict:
    return {
        "__typename": "GraphSidecar",
        "id": post_id,
        "shortcode": shortcode,
        "display_url": "https://example.com/media/c1.jpg?se=7&x=1",
        "edge_media_to_caption": {"edges": [{"node": {"text": "fresh batch #DemoTag #testing_only text 555-0101"}}]},
        "taken_at_timestamp": 1714571100,
        "owner": {"id": "101", "username": "demo_user_1"},
        "is_video": False,
        "edge_media_preview_like": {"count": 12},
        "edge_media_to_comment": {"count": 5},
        "location": {"id": "77", "name": "Demo Town", "slug": "demo-town", "has_public_page": True},
        "edge_sidecar_to_children": {
            "edges": [
                {
                    "node": {
                        "__typename": "GraphImage",
                        "id": "1",
                        "display_url": "https://example.com/media/c1.jpg?se=7&x=1",
                        "is_video": False,
                    }
                },
                {
                    "node": {
                        "__typename": "GraphImage",
                        "id": "2",
                        "display_url": "https://example.com/media/c2.webp?se=7",
                        "is_video": False,
                    }
                },
                {
                    "node": {
                        "__typename": "GraphVideo",
                        "id": "3",
                        "display_url": "https://example.com/media/c3.jpg?se=7",
                        "is_video": True,
                        "video_url": "https://example.com/media/c3.mp4?se=7",
                    }
                },
            ]
        },
    }


# update_comments sorts comments by created_at (newest first) and answers by id (descending).
COMMENTS = [
    {
        "id": 18000000000000003,
        "created_at": 1714572000,
        "text": "price? @demo_user_1",
        "owner": owner(202, "demo_user_2"),
        "likes_count": 1,
        "answers": [
            {
                "id": 18000000000000005,
                "created_at": 1714572600,
                "text": "dm me",
                "owner": owner(101, "demo_user_1"),
                "likes_count": 0,
            },
            {
                "id": 18000000000000004,
                "created_at": 1714572300,
                "text": "same q #interested",
                "owner": owner(303, "demo_user_3"),
                "likes_count": 2,
            },
        ],
    },
    {
        "id": 18000000000000002,
        "created_at": 1714571700,
        "text": "nice",
        "owner": owner(404, "demo_user_4"),
        "likes_count": 0,
        "answers": [],
    },
]
EXPECTED_COMMENTS = {
    # id: (parent_id, author, created_at, text)
    "18000000000000003": ("3300000000000000001", "demo_user_2", 1714572000, "price? @demo_user_1"),
    "18000000000000005": ("18000000000000003", "demo_user_1", 1714572600, "dm me"),
    "18000000000000004": ("18000000000000003", "demo_user_3", 1714572300, "same q #interested"),
    "18000000000000002": ("3300000000000000001", "demo_user_4", 1714571700, "nice"),
}


def parsed(items):
    return [item.record for item in items if isinstance(item, Parsed)]


def problems(items):
    return [item for item in items if isinstance(item, Problem)]


@pytest.mark.parametrize("suffix", [".json", ".json.xz"])
def test_round_trip_post_with_sidecar_and_comments(tmp_path: Path, suffix: str) -> None:
    node = sidecar_post()
    post_file = save_structure(tmp_path / f"{BASE}{suffix}", node)
    comments_file = save_comments(tmp_path, BASE, COMMENTS)
    (tmp_path / f"{BASE}_1.jpg").write_bytes(b"demo jpeg one")
    (tmp_path / f"{BASE}_2.webp").write_bytes(b"demo webp two")
    (tmp_path / f"{BASE}.txt").write_text("fresh batch #DemoTag\n")  # the caption file instaloader writes

    items = list(read_instaloader(tmp_path))

    assert problems(items) == []
    records = parsed(items)
    assert len(records) == 1 + len(EXPECTED_COMMENTS)
    post = records[0]
    assert isinstance(post, Event) and post.kind == "post"
    assert post.id == "3300000000000000001"
    assert post.text == "fresh batch #DemoTag #testing_only text 555-0101"
    assert post.hashtags == ("demotag", "testing_only")
    assert post.author == "demo_user_1"
    assert post.created_at == datetime.fromtimestamp(1714571100, tz=UTC)
    assert [image.url for image in post.images] == [
        "https://example.com/media/c1.jpg?se=7&x=1",
        "https://example.com/media/c2.webp?se=7",
        "https://example.com/media/c3.jpg?se=7",
    ]
    assert [image.path for image in post.images] == [
        str(tmp_path / f"{BASE}_1.jpg"),
        str(tmp_path / f"{BASE}_2.webp"),
        None,
    ]
    assert post.images[0].sha256 == sha256_bytes(b"demo jpeg one")
    assert post.images[1].sha256 == sha256_bytes(b"demo webp two")
    assert post.meta["shortcode"] == "DemoAbC01"
    assert post.meta["likes"] == 12
    assert post.meta["comment_count"] == 5
    assert post.meta["location"] == "Demo Town"
    assert post.meta["instaloader_version"] == VERSION
    assert post.provenance.raw_sha256 == sha256_json(node)
    assert post.provenance.source == str(post_file)
    assert post.provenance.locator == "node"
    assert post.provenance.importer == "instaloader"
    assert post.provenance.fetched_at == FETCHED

    comments = {record.id: record for record in records[1:]}
    assert set(comments) == set(EXPECTED_COMMENTS)
    for comment_id, (parent_id, author, created, text) in EXPECTED_COMMENTS.items():
        comment = comments[comment_id]
        assert comment.kind == "comment"
        assert comment.parent_id == parent_id
        assert comment.post_id == "3300000000000000001"
        assert comment.author == author
        assert comment.created_at == datetime.fromtimestamp(created, tz=UTC)
        assert comment.text == text
        assert comment.provenance.source == str(comments_file)
        assert comment.provenance.fetched_at.timestamp() == FETCHED.timestamp() + 60
    assert comments["18000000000000004"].hashtags == ("interested",)
    assert comments["18000000000000004"].meta["likes"] == 2
    assert comments["18000000000000005"].provenance.locator == "[0].answers[0]"
    assert comments["18000000000000005"].provenance.raw_sha256 == sha256_json(COMMENTS[0]["answers"][0])


def test_single_file_reads_its_comments_and_comments_file_alone(tmp_path: Path) -> None:
    post_file = save_structure(tmp_path / f"{BASE}.json.xz", sidecar_post())
    comments_file = save_comments(tmp_path, BASE, COMMENTS)

    from_post = list(read_instaloader(str(post_file)))
    assert len(parsed(from_post)) == 5 and problems(from_post) == []

    from_comments = parsed(read_instaloader(comments_file))
    assert {record.id for record in from_comments} == set(EXPECTED_COMMENTS)
    assert all(record.post_id == "3300000000000000001" for record in from_comments)


def test_bad_inputs_become_problems_and_good_records_still_come_through(tmp_path: Path) -> None:
    # good post with one id-less comment
    save_structure(tmp_path / f"{BASE}.json", sidecar_post())
    bad_comment = {
        "created_at": 1714571800,
        "text": "no id here",
        "owner": owner(505, "demo_user_5"),
        "likes_count": 0,
        "answers": [],
    }
    save_comments(tmp_path, BASE, [*COMMENTS, bad_comment])
    # truncated JSON
    truncated = tmp_path / "2024-05-02_10-00-00_UTC.json"
    save_structure(truncated, sidecar_post("3300000000000000002", "DemoAbC02"))
    truncated.write_text(truncated.read_text()[:200])
    # corrupt xz (not xz at all) and truncated xz
    corrupt = tmp_path / "2024-05-03_10-00-00_UTC.json.xz"
    corrupt.write_bytes(b"this is not an xz stream")
    cut = save_structure(tmp_path / "2024-05-03_11-00-00_UTC.json.xz", sidecar_post("3300000000000000003", "DemoAbC03"))
    cut.write_bytes(cut.read_bytes()[:60])
    # post node without id, with a comment of its own
    no_id = sidecar_post()
    del no_id["id"]
    no_id_file = save_structure(tmp_path / "2024-05-04_10-00-00_UTC.json", no_id)
    save_comments(tmp_path, "2024-05-04_10-00-00_UTC", [COMMENTS[1]])
    # a profile in a sub-directory, pictures and a hashtag file that hold no records
    (tmp_path / "demo_user_1").mkdir()
    profile = {
        "id": "101",
        "username": "demo_user_1",
        "full_name": "Demo One",
        "biography": "menu in bio, call 555-0102, demo@example.com",
        "edge_followed_by": {"count": 10},
        "edge_follow": {"count": 250},
        "is_private": False,
        "is_verified": False,
        "external_url": "https://example.com/demo",
    }
    profile_file = save_structure(tmp_path / "demo_user_1" / "demo_user_1_101.json.xz", profile, "Profile")
    (tmp_path / "demo_user_1" / "id").write_text("101\n")
    save_structure(tmp_path / "#demotag.json", {"name": "demotag", "id": "9"}, "Hashtag")

    items = list(read_instaloader(tmp_path))

    by_source: dict[str, list] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item)
    # raw records: 6 structures with content (good, truncated, corrupt xz, cut xz, no-id post, profile)
    # + 5 comments of the good post + 1 comment of the id-less post
    assert len(items) == 6 + 5 + 1
    assert len(parsed(items)) == 1 + 4 + 1  # good post, its 4 good comments, the profile

    [problem] = by_source[str(truncated)]
    assert isinstance(problem, Problem) and problem.reason.startswith("invalid JSON")
    assert problem.locator == "file"
    [problem] = by_source[str(corrupt)]
    assert problem.reason.startswith("corrupt xz file")
    [problem] = by_source[str(cut)]
    assert problem.reason.startswith("corrupt xz file")
    [problem] = by_source[str(no_id_file)]
    assert problem.reason == "post node has no 'id' (nor 'pk')" and problem.locator == "node"
    [orphan] = by_source[str(tmp_path / "2024-05-04_10-00-00_UTC_comments.json")]
    assert isinstance(orphan, Problem) and "has no 'id'" in orphan.reason
    comment_problems = [p for p in problems(by_source[str(tmp_path / f"{BASE}_comments.json")])]
    assert [(p.locator, p.reason) for p in comment_problems] == [("[2]", "comment has no 'id'")]
    assert "no id here" in comment_problems[0].raw

    [account_item] = by_source[str(profile_file)]
    account = account_item.record
    assert isinstance(account, Account)
    assert (account.username, account.user_id, account.followers, account.following) == ("demo_user_1", "101", 10, 250)
    assert account.bio.startswith("menu in bio")
    assert account.posts_count is None  # Profile._asdict drops edge_owner_to_timeline_media
    assert account.provenance.raw_sha256 == sha256_json(profile)


def test_nested_answers_at_any_depth(tmp_path: Path) -> None:
    # instaloader writes one level of answers; deeper ones are read the same way.
    deep = [
        {
            "id": 1,
            "created_at": 1714572000,
            "text": "a",
            "owner": owner(1, "demo_user_1"),
            "likes_count": 0,
            "answers": [
                {
                    "id": 2,
                    "created_at": 1714572001,
                    "text": "b",
                    "owner": owner(2, "demo_user_2"),
                    "likes_count": 0,
                    "answers": [
                        {
                            "id": 3,
                            "created_at": 1714572002,
                            "text": "c",
                            "owner": owner(3, "demo_user_3"),
                            "likes_count": 0,
                        }
                    ],
                },
                {
                    "text": "no id",
                    "created_at": 1714572003,
                    "owner": owner(4, "demo_user_4"),
                    "answers": [
                        {"id": 5, "created_at": 1714572004, "text": "orphan", "owner": owner(5, "demo_user_5")}
                    ],
                },
            ],
        }
    ]
    save_structure(tmp_path / f"{BASE}.json", sidecar_post())
    save_comments(tmp_path, BASE, deep)
    items = list(read_instaloader(tmp_path))
    parents = {r.id: r.parent_id for r in parsed(items) if r.kind == "comment"}
    assert parents == {"1": "3300000000000000001", "2": "1", "3": "2"}
    assert [(p.locator, p.reason) for p in problems(items)] == [
        ("[0].answers[1]", "comment has no 'id'"),
        ("[0].answers[1].answers[0]", "the comment this reply answers has no 'id'"),
    ]
    assert len(items) == 1 + 5


def test_inline_graphql_comments_with_threaded_replies(tmp_path: Path) -> None:
    node = sidecar_post()
    node["edge_media_to_parent_comment"] = {
        "count": 2,
        "edges": [
            {
                "node": {
                    "id": "17900000000000001",
                    "text": "how much",
                    "created_at": 1714571200,
                    "owner": {"id": "202", "username": "demo_user_2"},
                    "edge_liked_by": {"count": 3},
                    "edge_threaded_comments": {
                        "count": 1,
                        "edges": [
                            {
                                "node": {
                                    "id": "17900000000000002",
                                    "text": "check dm",
                                    "created_at": 1714571300,
                                    "owner": {"id": "101", "username": "demo_user_1"},
                                    "edge_liked_by": {"count": 0},
                                }
                            }
                        ],
                    },
                }
            },
            {"node": {"text": "id missing", "created_at": 1714571400, "owner": {"id": "9", "username": "demo_user_9"}}},
        ],
    }
    save_structure(tmp_path / f"{BASE}.json.xz", node)
    items = list(read_instaloader(tmp_path))
    records = {r.id: r for r in parsed(items)}
    assert records["17900000000000001"].parent_id == "3300000000000000001"
    assert records["17900000000000001"].meta["likes"] == 3
    reply = records["17900000000000002"]
    assert (reply.parent_id, reply.post_id, reply.author) == ("17900000000000001", "3300000000000000001", "demo_user_1")
    assert reply.provenance.locator == (
        "node.edge_media_to_parent_comment.edges[0].node.edge_threaded_comments.edges[0].node"
    )
    [problem] = problems(items)
    assert problem.locator == "node.edge_media_to_parent_comment.edges[1].node"
    assert len(items) == 4


def test_iphone_struct_post_and_v3_json(tmp_path: Path) -> None:
    # The node Post.from_iphone_struct builds (hashtag posts in instaloader >= 4.9).
    media = {
        "pk": 3300000000000000009,
        "code": "DemoIph09",
        "media_type": 1,
        "taken_at": 1714580000,
        "caption": {"text": "restock #demo_only"},
        "has_liked": False,
        "like_count": 4,
        "image_versions2": {
            "candidates": [{"url": "https://example.com/media/i9.jpg?se=1", "width": 1080, "height": 1080}]
        },
        "user": {
            "pk": 606,
            "username": "demo_user_6",
            "is_private": False,
            "full_name": "Demo Six",
            "profile_pic_url": "https://example.com/p6.jpg",
        },
    }
    node = {
        "shortcode": "DemoIph09",
        "id": 3300000000000000009,
        "__typename": "GraphImage",
        "is_video": False,
        "date": 1714580000,
        "caption": "restock #demo_only",
        "title": None,
        "viewer_has_liked": False,
        "edge_media_preview_like": {"count": 4},
        "iphone_struct": media,
        "display_url": "https://example.com/media/i9.jpg?se=1",
        "owner": {
            "id": 606,
            "username": "demo_user_6",
            "is_private": False,
            "full_name": "Demo Six",
            "profile_pic_url_hd": "https://example.com/p6.jpg",
            "iphone_struct": media["user"],
        },
    }
    save_structure(tmp_path / f"{BASE}.json", node)
    (tmp_path / f"{BASE}.jpg").write_bytes(b"demo jpeg nine")
    # Instaloader v3 wrote the bare node; load_structure still accepts it.
    v3 = {
        "shortcode": "DemoOld01",
        "id": "3300000000000000010",
        "taken_at_timestamp": 1500000000,
        "owner": {"id": "707", "username": "demo_user_7"},
        "edge_media_to_caption": {"edges": []},
        "display_url": "https://example.com/media/old.jpg",
    }
    (tmp_path / "2017-07-14_02-40-00_UTC.json").write_text(json.dumps(v3))

    records = parsed(read_instaloader(tmp_path))
    assert [r.id for r in records] == ["3300000000000000010", "3300000000000000009"]
    old, post = records
    assert post.text == "restock #demo_only" and post.hashtags == ("demo_only",)
    assert post.author == "demo_user_6"
    assert post.created_at == datetime.fromtimestamp(1714580000, tz=UTC)
    assert post.images[0].path == str(tmp_path / f"{BASE}.jpg")
    assert post.meta["likes"] == 4
    assert old.text == "" and old.author == "demo_user_7" and old.provenance.locator == "document"


def test_story_item(tmp_path: Path) -> None:
    node = {
        "__typename": "GraphStoryImage",
        "id": "3300000000000000020",
        "taken_at_timestamp": 1714590000,
        "expiring_at_timestamp": 1714676400,
        "is_video": False,
        "display_resources": [
            {"src": "https://example.com/s_small.jpg", "config_width": 320},
            {"src": "https://example.com/s_big.jpg?se=2", "config_width": 1080},
        ],
        "owner": {"id": "101", "username": "demo_user_1"},
    }
    save_structure(tmp_path / f"{BASE}.json.xz", node, "StoryItem")
    [story] = parsed(read_instaloader(tmp_path))
    assert story.kind == "post" and story.meta["story_item"] is True
    assert story.images[0].url == "https://example.com/s_big.jpg?se=2"
    assert story.meta["expiring_at"] == 1714676400


def test_not_instaloader_json_is_a_problem_and_unknown_paths_raise(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    [problem] = list(read_instaloader(tmp_path))
    assert problem.source == str(other) and problem.reason.startswith("not an instaloader JSON")

    with pytest.raises(ReaderError, match="no such file"):
        read_instaloader(tmp_path / "missing")
    empty = tmp_path / "pictures_only"
    empty.mkdir()
    (empty / f"{BASE}.jpg").write_bytes(b"x")
    with pytest.raises(ReaderError, match="no instaloader JSON files"):
        read_instaloader(empty)
    with pytest.raises(ReaderError, match="not an instaloader JSON file"):
        read_instaloader(empty / f"{BASE}.jpg")


def test_orphan_comments_file_without_post(tmp_path: Path) -> None:
    save_comments(tmp_path, BASE, COMMENTS)
    items = list(read_instaloader(tmp_path))
    assert len(items) == 4
    assert all(isinstance(item, Problem) and "no post file" in item.reason for item in items)


def test_absurd_timestamps_are_problems_not_crashes(tmp_path: Path) -> None:
    node = sidecar_post()
    node["taken_at_timestamp"] = 10**30
    save_structure(tmp_path / f"{BASE}.json", node)
    bad_time = {**COMMENTS[1], "created_at": -(10**18)}
    save_comments(tmp_path, BASE, [bad_time, {**COMMENTS[1], "id": 18000000000000009, "created_at": "yesterday"}])
    items = list(read_instaloader(tmp_path))
    assert len(items) == 3 and parsed(items) == []
    reasons = [p.reason for p in problems(items)]
    assert "out of range" in reasons[0] and "created_at" in reasons[0]
    assert "out of range" in reasons[1] and "created_at" in reasons[1]
    assert reasons[2].startswith("field 'created_at': cannot read 'yesterday' as a time")
    # the comments still name the post they belong to
    assert "18000000000000002" in problems(items)[1].raw


def test_location_is_kept_whole(tmp_path: Path) -> None:
    node = sidecar_post()
    node["location"] = {
        "id": "770001",
        "has_public_page": True,
        "name": "Demo Square",
        "slug": "demo-square",
        "lat": 52.3676,
        "lng": 4.9041,
        "address_json": json.dumps(
            {
                "street_address": "1 Example Street",
                "zip_code": "1000 AA",
                "city_name": "Demo City",
                "region_name": "",
                "country_code": "NL",
            }
        ),
    }
    save_structure(tmp_path / f"{BASE}.json", node)
    post = next(r for r in parsed(read_instaloader(tmp_path)) if r.kind == "post")
    assert post.meta["location"] == "Demo Square"  # the name, as before
    assert post.meta["place"] == {
        "id": "770001",
        "name": "Demo Square",
        "slug": "demo-square",
        "lat": 52.3676,
        "lng": 4.9041,
        "city": "Demo City",
        "address": "1 Example Street",
        "zip": "1000 AA",
        "country_code": "NL",
    }


def test_profile_business_fields(tmp_path: Path) -> None:
    node = {
        "id": "101",
        "username": "demo_user_1",
        "full_name": "Demo One",
        "biography": "menu in link",
        "edge_followed_by": {"count": 1200},
        "edge_follow": {"count": 80},
        "is_private": False,
        "is_verified": False,
        "is_business_account": True,
        "is_professional_account": True,
        "business_category_name": "Shopping & Retail",
        "category_name": "Shopping & retail",
        "external_url": "https://shop.example.com",
        "bio_links": [
            {
                "title": "menu",
                "lynx_url": "https://l.instagram.com/?u=x",
                "url": "https://shop.example.com/menu",
                "link_type": "external",
            }
        ],
        "business_email": "orders@example.com",
        "business_phone_number": "+15550142",
        "business_address_json": json.dumps(
            {
                "city_name": "Demo City",
                "street_address": "2 Example Road",
                "zip_code": "",
                "latitude": 52.1,
                "longitude": 5.1,
            }
        ),
        "profile_pic_url_hd": "https://example.com/p.jpg",
    }
    save_structure(tmp_path / "demo_user_1_101.json", node, "Profile")
    [account] = parsed(read_instaloader(tmp_path))
    assert isinstance(account, Account) and account.followers == 1200 and account.following == 80
    meta = account.meta
    assert meta["bio_links"] == ["https://shop.example.com/menu"]
    assert meta["category_name"] == "Shopping & retail" and meta["is_professional_account"] is True
    assert meta["business_email"] == "orders@example.com" and meta["business_phone"] == "+15550142"
    assert meta["business_address"] == {
        "city_name": "Demo City",
        "street_address": "2 Example Road",
        "latitude": 52.1,
        "longitude": 5.1,
    }


def test_story_mentions_hashtags_links_and_place(tmp_path: Path) -> None:
    node = {
        "__typename": "GraphStoryImage",
        "id": "3300000000000000021",
        "taken_at_timestamp": 1714590000,
        "is_video": False,
        "display_resources": [{"src": "https://example.com/s.jpg", "config_width": 1080}],
        "owner": {"id": "101", "username": "demo_user_1"},
        "story_cta_url": "https://shop.example.com/story",
        "tappable_objects": [
            {
                "__typename": "GraphTappableMention",
                "username": "demo_user_2",
                "full_name": "Demo Two",
                "is_private": False,
            },
            {"__typename": "GraphTappableHashtag", "name": "demotag"},
            {"__typename": "GraphTappableLocation", "id": "770001", "name": "Demo Square"},
            {"__typename": "GraphTappableFeedMedia", "media": {"shortcode": "DemoAbC01"}},
        ],
        "iphone_struct": {"reel_mentions": [{"user": {"username": "demo_user_3"}}]},
    }
    save_structure(tmp_path / f"{BASE}.json", node, "StoryItem")
    [story] = parsed(read_instaloader(tmp_path))
    assert story.meta["mentions"] == ["demo_user_2", "demo_user_3"]
    assert story.meta["story_hashtags"] == ["demotag"]
    assert story.meta["story_links"] == ["https://shop.example.com/story"]
    assert story.meta["linked_posts"] == ["DemoAbC01"]
    assert story.meta["place"] == {"id": "770001", "name": "Demo Square"}
