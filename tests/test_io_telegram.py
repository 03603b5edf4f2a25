"""Reading Telegram: Telegram Desktop ``result.json`` and 4CAT Telegram NDJSON.

The exports are written here in the shapes ``export_output_json.cpp``
(``SerializeMessage``, ``writeDialogStart``, ``writeChatsStart``) and 4CAT's
``search_telegram.py`` (``serialize_obj``, ``map_item``) produce, with
made-up values only (demo_* names, 555-01xx numbers, example.com).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drugwatch.io.base import Parsed, Problem, ReaderError, Skipped
from drugwatch.io.importer import detect_format, folder_plan, import_path
from drugwatch.io.jsonstream import JsonStream, Malformed
from drugwatch.io.limits import open_input
from drugwatch.io.telegram import read_telegram
from drugwatch.records import Account, Event
from drugwatch.store import Store

CHAT_ID = 1500000001
GROUP_ID = 1500000002


def message(mid: int, text, *, sender: str = "user7001", name: str = "demo_seller", **extra) -> dict:
    base = {
        "id": mid,
        "type": "message",
        "date": "2024-05-01T14:00:00",
        "date_unixtime": str(1714572000 + mid),
        "from": name,
        "from_id": sender,
        "text": text,
    }
    if isinstance(text, list):
        base["text_entities"] = [part if isinstance(part, dict) else {"type": "plain", "text": part} for part in text]
    return {**base, **extra}


def channel_messages() -> list[dict]:
    return [
        {
            "id": 1,
            "type": "service",
            "date": "2024-05-01T13:00:00",
            "date_unixtime": "1714568400",
            "actor": "demo_shop",
            "actor_id": f"channel{CHAT_ID}",
            "action": "create_channel",
            "title": "demo shop",
            "text": "",
            "text_entities": [],
        },
        message(
            2,
            [
                "menu today ",
                {"type": "hashtag", "text": "#demoweed"},
                " order via ",
                {"type": "mention", "text": "@demo_bot"},
                " or ",
                {"type": "phone", "text": "555-0142"},
                " see ",
                {"type": "text_link", "text": "here", "href": "https://shop.example.com/menu"},
            ],
            sender=f"channel{CHAT_ID}",
            name="demo shop",
            photo="photos/photo_1@01-05-2024_14-00-02.jpg",
            width=800,
            height=600,
            edited="2024-05-01T15:00:00",
            edited_unixtime="1714575600",
        ),
        message(
            3,
            "price list in the video",
            sender=f"channel{CHAT_ID}",
            name="demo shop",
            file="video_files/clip.mp4",
            thumbnail="video_files/clip.mp4_thumb.jpg",
            media_type="video_file",
            mime_type="video/mp4",
            duration_seconds=12,
            width=640,
            height=360,
        ),
        message(
            4,
            "forwarded offer",
            sender=f"channel{CHAT_ID}",
            name="demo shop",
            forwarded_from="demo other shop",
            photo="(File not included. Change data exporting settings to download.)",
        ),
        message(
            5,
            "",
            sender=f"channel{CHAT_ID}",
            name="demo shop",
            contact_information={"first_name": "Demo", "last_name": "Contact", "phone_number": "+1 555 0199"},
        ),
        message(
            6,
            "pickup point",
            sender=f"channel{CHAT_ID}",
            name="demo shop",
            place_name="Demo Park",
            address="1 Example Street",
            location_information={"latitude": 52.37, "longitude": 4.89},
        ),
        {"id": 7, "type": "unsupported"},
    ]


def group_messages() -> list[dict]:
    return [
        message(10, "who has stock?", sender="user7002", name="demo_buyer"),
        message(11, "dm me", sender="user7001", name="demo_seller", reply_to_message_id=10),
        message(12, "how much", sender="user7002", name="demo_buyer", reply_to_message_id=11),
        message(
            13, "answering a message before the export", sender="user7003", name="demo_third", reply_to_message_id=3
        ),
        {
            "id": 14,
            "type": "service",
            "date": "2024-05-01T16:00:00",
            "date_unixtime": "1714579200",
            "actor": "demo_buyer",
            "actor_id": "user7002",
            "action": "pin_message",
            "message_id": 11,
            "text": "",
        },
        "not a message",
        {"type": "message", "date_unixtime": "1714579300", "text": "no id here"},
    ]


def write_full_export(folder: Path) -> Path:
    """A whole-account export ("Export Telegram data"): personal data first, then chats."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photos").mkdir()
    (folder / "photos" / "photo_1@01-05-2024_14-00-02.jpg").write_bytes(b"\xff\xd8demo-photo")
    (folder / "video_files").mkdir()
    (folder / "video_files" / "clip.mp4").write_bytes(b"demo-video")
    (folder / "video_files" / "clip.mp4_thumb.jpg").write_bytes(b"\xff\xd8demo-thumb")
    export = {
        "about": "Here is the data you requested. Remember: Telegram is ad free, ...",
        "personal_information": {
            "user_id": 7000,
            "first_name": "Demo",
            "last_name": "Owner",
            "phone_number": "+1 555 0100",
            "bio": "demo",
        },
        "contacts": {
            "about": "...",
            "list": [
                {
                    "user_id": 7005,
                    "first_name": "Demo",
                    "last_name": "Friend",
                    "phone_number": "+1 555 0101",
                    "date": "2024-01-01T00:00:00",
                }
            ],
        },
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {"name": "demo shop", "type": "public_channel", "id": CHAT_ID, "messages": channel_messages()},
                {"name": "demo group", "type": "private_supergroup", "id": GROUP_ID, "messages": group_messages()},
            ],
        },
    }
    path = folder / "result.json"
    # Telegram Desktop pretty-prints with one-space indentation.
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def items_of(path: Path) -> list:
    return list(read_telegram(path))


def test_full_export_reads_messages_threads_entities_media_and_accounts(tmp_path: Path) -> None:
    path = write_full_export(tmp_path / "export")
    items = items_of(path)
    events = {i.record.id: i.record for i in items if isinstance(i, Parsed) and isinstance(i.record, Event)}
    accounts = {i.record.username: i.record for i in items if isinstance(i, Parsed) and isinstance(i.record, Account)}
    skipped = [i for i in items if isinstance(i, Skipped)]
    problems = [i for i in items if isinstance(i, Problem)]

    menu = events[f"{CHAT_ID}/2"]
    assert menu.platform == "telegram" and menu.kind == "post"
    assert menu.text == "menu today #demoweed order via @demo_bot or 555-0142 see here"
    assert menu.hashtags == ("demoweed",)
    assert menu.author == f"channel{CHAT_ID}"
    assert menu.created_at.isoformat() == "2024-05-01T14:00:02+00:00"
    assert menu.meta["links"] == ["https://shop.example.com/menu"]  # the hidden href, not "here"
    assert menu.meta["mentions"] == ["@demo_bot"] and menu.meta["phones"] == ["555-0142"]
    assert menu.meta["chat_type"] == "public_channel" and menu.meta["chat_name"] == "demo shop"
    assert menu.meta["edited_at"] == "1714575600"
    image = menu.images[0]
    assert Path(image.path).is_absolute() and Path(image.path).read_bytes() == b"\xff\xd8demo-photo"
    assert image.sha256 is not None
    assert menu.provenance.locator == "chats.list[0].messages[1] (id 2)"

    video = events[f"{CHAT_ID}/3"]
    assert [Path(i.path).name for i in video.images] == ["clip.mp4_thumb.jpg"]  # the cover of a video
    assert video.meta["media_type"] == "video_file" and video.meta["file"] == "video_files/clip.mp4"
    forwarded = events[f"{CHAT_ID}/4"]
    assert forwarded.meta["forwarded_from"] == {"name": "demo other shop"}
    assert forwarded.images == () and "not included" in forwarded.meta["media_not_included"]
    assert events[f"{CHAT_ID}/5"].meta["contact"]["phone_number"] == "+1 555 0199"
    assert events[f"{CHAT_ID}/6"].meta["location"] == "Demo Park"
    assert events[f"{CHAT_ID}/6"].meta["place"] == {
        "lat": 52.37,
        "lng": 4.89,
        "name": "Demo Park",
        "address": "1 Example Street",
    }

    # A reply thread: 11 answers 10, 12 answers 11; both belong to the thread of 10.
    reply, deeper = events[f"{GROUP_ID}/11"], events[f"{GROUP_ID}/12"]
    assert (reply.kind, reply.parent_id, reply.post_id) == ("comment", f"{GROUP_ID}/10", f"{GROUP_ID}/10")
    assert (deeper.kind, deeper.parent_id, deeper.post_id) == ("comment", f"{GROUP_ID}/11", f"{GROUP_ID}/10")
    # A reply to a message the export lacks stays a post and says what it answered.
    orphan = events[f"{GROUP_ID}/13"]
    assert orphan.kind == "post" and orphan.meta["reply_to_message_id"] == "3"

    assert accounts[f"channel{CHAT_ID}"].full_name == "demo shop"
    assert accounts["user7001"].full_name == "demo_seller" and accounts["user7001"].user_id == "7001"
    assert set(accounts) == {f"channel{CHAT_ID}", "user7001", "user7002", "user7003"}

    assert sorted(s.reason for s in skipped) == [
        "Telegram service message (create_channel)",
        "Telegram service message (pin_message)",
        "a message Telegram Desktop could not export ('unsupported')",
    ]
    assert sorted(p.locator for p in problems) == ["chats.list[1].messages[5]", "chats.list[1].messages[6]"]
    assert "no 'id'" in next(p.reason for p in problems if p.locator.endswith("[6]"))


def test_single_chat_export_and_the_import_counts(tmp_path: Path) -> None:
    folder = tmp_path / "ChatExport_2024-05-02"
    folder.mkdir()
    chat = {"name": "demo group", "type": "private_supergroup", "id": GROUP_ID, "messages": group_messages()}
    path = folder / "result.json"
    path.write_text(json.dumps(chat, indent=1), encoding="utf-8")
    assert detect_format(path) == "telegram"
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        report = import_path(path, store, quarantine=tmp_path / "q.jsonl")
        # 4 messages + 3 senders stored; the pin is skipped; two broken entries quarantined.
        assert report.counts() == {
            "read": 10,
            "imported": 7,
            "near_duplicate": 0,
            "merged": 0,
            "unchanged": 0,
            "quarantined": 2,
            "skipped": 1,
        }
        assert report.skipped_reasons == {"Telegram service message (pin_message)": 1}
        assert store.get_event(f"telegram:{GROUP_ID}/12").post_id == f"{GROUP_ID}/10"
        again = import_path(path, store, quarantine=tmp_path / "q2.jsonl")
        assert again.unchanged == 7 and again.imported == 0
    quarantined = [json.loads(line) for line in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert {q["locator"] for q in quarantined} == {"messages[5]", "messages[6]"}


def test_a_huge_message_and_broken_json_are_set_aside_with_their_place(tmp_path: Path, monkeypatch) -> None:
    import drugwatch.io.telegram as telegram

    monkeypatch.setattr(telegram, "MAX_MESSAGE_CHARS", 5_000)
    messages = [message(1, "first"), message(2, "x" * 20_000), message(3, "third")]
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps({"name": "demo", "type": "private_group", "id": 5, "messages": messages}), encoding="utf-8"
    )
    items = items_of(path)
    assert [i.record.id for i in items if isinstance(i, Parsed) and isinstance(i.record, Event)] == ["5/1", "5/3"]
    too_large = [i for i in items if isinstance(i, Problem)]
    assert len(too_large) == 1 and too_large[0].locator == "messages[1]" and "longer than" in too_large[0].reason

    text = path.read_text()
    path.write_text(text[: text.index('"third"') + 3], encoding="utf-8")  # cut inside message 3
    items = items_of(path)
    assert isinstance(items[-1], Problem) and "not read" in items[-1].reason
    assert "5/1" in {i.record.id for i in items if isinstance(i, Parsed) and isinstance(i.record, Event)}


def test_the_stream_reads_values_split_across_chunks(tmp_path: Path, monkeypatch) -> None:
    import drugwatch.io.jsonstream as jsonstream

    monkeypatch.setattr(jsonstream, "_CHUNK", 7)  # every value straddles a chunk boundary
    doc = {
        "skip": {"deep": ['a\\"b', {"x": [1, 2, "]}"]}], "n": 12345678901234},
        "id": 987654321,
        "messages": [
            {"id": 1, "text": "caf\u00e9 \u2615 \\u escaped"},
            {"id": 2, "text": ["a", {"type": "bold", "text": "b"}]},
        ],
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    seen = {}
    with open_input(path) as handle:
        stream = JsonStream(handle)
        for key in stream.keys():
            if key == "messages":
                seen[key] = [stream.read_value(1000) for _ in stream.items()]
            elif key == "id":
                seen[key] = stream.read_value(1000)
            else:
                stream.skip_value()
    assert seen == {"id": 987654321, "messages": doc["messages"]}
    path.write_text('{"a": [1, 2,, 3]}', encoding="utf-8")
    with open_input(path) as handle, pytest.raises(Malformed):
        stream = JsonStream(handle)
        for _ in stream.keys():
            stream.read_value(1000)


def raw_message(mid: int, text: str, *, reply_to: int | None = None, sender: dict | None = None, **extra) -> dict:
    """A Telethon Message as 4CAT's ``serialize_obj`` writes it."""
    msg = {
        "_type": "Message",
        "id": mid,
        "peer_id": {"_type": "PeerChannel", "channel_id": GROUP_ID},
        "date": 1714572000 + mid,
        "message": text,
        "out": False,
        "mentioned": False,
        "from_id": {"_type": "PeerUser", "user_id": (sender or {}).get("id", 7001)},
        "fwd_from": None,
        "reply_to": None,
        "media": None,
        "entities": [],
        "views": None,
        "forwards": None,
        "replies": None,
        "edit_date": None,
        "post_author": None,
        "grouped_id": None,
        "reactions": None,
        "_chat": {
            "_type": "Channel",
            "id": GROUP_ID,
            "title": "demo group",
            "username": "demo_group",
            "broadcast": False,
            "megagroup": True,
        },
        "_sender": sender
        or {
            "_type": "User",
            "id": 7001,
            "username": "demo_seller",
            "first_name": "Demo",
            "last_name": "Seller",
            "bot": False,
        },
        "message_markdown": text,
    }
    if reply_to is not None:
        msg["reply_to"] = {"_type": "MessageReplyHeader", "reply_to_msg_id": reply_to, "reply_to_top_id": None}
    msg.update(extra)
    return msg


def test_fourcat_dataset_newest_first_with_threads_entities_and_media(tmp_path: Path) -> None:
    buyer = {"_type": "User", "id": 7002, "username": "demo_buyer", "first_name": "Demo", "bot": False}
    text = "menu 🍁 #demoweed call 555-0142 https://shop.example.com"
    lines = [
        raw_message(22, "how much", reply_to=21, sender=buyer),
        raw_message(21, "dm me", reply_to=20),
        raw_message(
            20,
            text,
            views=120,
            entities=[
                {"_type": "MessageEntityHashtag", "offset": 8, "length": 9},
                {"_type": "MessageEntityPhone", "offset": 23, "length": 8},
                {"_type": "MessageEntityUrl", "offset": 32, "length": 24},
            ],
            media={"_type": "MessageMediaGeo", "geo": {"_type": "GeoPoint", "lat": 52.1, "long": 5.1}},
            reactions={
                "_type": "MessageReactions",
                "results": [
                    {"_type": "ReactionCount", "reaction": {"_type": "ReactionEmoji", "emoticon": "🔥"}, "count": 3}
                ],
            },
        ),
        {
            "_type": "MessageService",
            "id": 19,
            "peer_id": {"_type": "PeerChannel", "channel_id": GROUP_ID},
            "action": {"_type": "MessageActionChatJoinedByLink"},
        },
        {"something": "else"},
    ]
    path = tmp_path / "telegram-search.ndjson"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    assert detect_format(path) == "telegram"
    items = items_of(path)
    events = {i.record.id: i.record for i in items if isinstance(i, Parsed) and isinstance(i.record, Event)}
    post = events[f"{GROUP_ID}/20"]
    assert post.hashtags == ("demoweed",) and post.meta["phones"] == ["555-0142"]
    assert post.meta["links"] == ["https://shop.example.com"]
    assert post.meta["views"] == 120 and post.meta["likes"] == 3
    assert post.meta["place"] == {"lat": 52.1, "lng": 5.1}
    assert post.meta["permalink"] == "https://t.me/demo_group/20"
    assert post.author == "user7001" and post.meta["author_username"] == "demo_seller"
    # Newest first in the file, yet the thread is whole: 22 -> 21 -> 20.
    assert (events[f"{GROUP_ID}/22"].parent_id, events[f"{GROUP_ID}/22"].post_id) == (
        f"{GROUP_ID}/21",
        f"{GROUP_ID}/20",
    )
    assert [type(i).__name__ for i in items].count("Skipped") == 1
    assert [i.locator for i in items if isinstance(i, Problem)] == ["line 5"]
    usernames = {i.record.username for i in items if isinstance(i, Parsed) and isinstance(i.record, Account)}
    assert usernames == {"user7001", "user7002"}


def test_fourcat_mapped_items_are_read(tmp_path: Path) -> None:
    item = {
        "id": "demo_group-31",
        "thread_id": "demo_group",
        "chat": "demo_group",
        "author": 7001,
        "author_username": "demo_seller",
        "author_name": "Demo Seller",
        "author_is_bot": "no",
        "body": "fresh stock, dm",
        "reply_to": "",
        "views": 40,
        "reactions": "🔥🔥",
        "timestamp": "2024-05-01 14:00:00",
        "unix_timestamp": 1714572000,
        "unix_timestamp_edited": "",
        "author_forwarded_from_name": "",
        "link_attached": "https://shop.example.com",
        "attachment_type": "photo",
        "attachment_filename": "demo_group-31.jpeg",
    }
    path = tmp_path / "mapped.ndjson"
    path.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    events = [i.record for i in items_of(path) if isinstance(i, Parsed) and isinstance(i.record, Event)]
    assert [(e.id, e.author, e.text) for e in events] == [("demo_group/31", "user7001", "fresh stock, dm")]
    assert events[0].meta["links"] == ["https://shop.example.com"] and events[0].meta["media_type"] == "photo"


def test_a_telegram_export_folder_reads_result_json_and_passes_over_its_media(tmp_path: Path) -> None:
    write_full_export(tmp_path / "export")
    (tmp_path / "export" / "files").mkdir()
    (tmp_path / "export" / "files" / "menu.pdf").write_bytes(b"%PDF demo")
    (tmp_path / "export" / "export_results.html").write_text("<html></html>")
    plan, unreadable = folder_plan(tmp_path / "export")
    assert [(fmt, [p.name for p in files]) for fmt, files in plan] == [("telegram", ["result.json"])]
    assert unreadable == []
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        report = import_path(tmp_path / "export", store, fmt="telegram", quarantine=tmp_path / "q.jsonl")
        assert report.format == "telegram" and report.skipped == 3 and report.quarantined == 2
        assert report.read == report.stored + report.quarantined + report.skipped


def test_read_telegram_refuses_what_is_not_telegram(tmp_path: Path) -> None:
    other = tmp_path / "post.json"
    other.write_text(json.dumps({"node": {"id": "1"}, "instaloader": {"node_type": "Post"}}))
    assert detect_format(other) == "instaloader"
    with pytest.raises(ReaderError, match="Telegram Desktop"):
        read_telegram(other)
    with pytest.raises(ReaderError, match="no such file"):
        read_telegram(tmp_path / "missing.json")


def test_a_message_nested_too_deeply_costs_only_itself(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    first, last = json.dumps(message(1, "first")), json.dumps(message(3, "third"))
    text = f'{{"name": "demo", "type": "private_group", "id": 5, "messages": [{first}, {{"id": 2, "text": {deep}}}, {last}]}}'
    path = tmp_path / "result.json"
    path.write_text(text, encoding="utf-8")
    items = items_of(path)
    assert [i.record.id for i in items if isinstance(i, Parsed) and isinstance(i.record, Event)] == ["5/1", "5/3"]
    [problem] = [i for i in items if isinstance(i, Problem)]
    assert problem.locator == "messages[1]" and "nested too deeply" in problem.reason


def test_older_exports_without_text_entities_still_give_entities(tmp_path: Path) -> None:
    old = {
        "id": 1,
        "type": "message",
        "date": "2021-03-01T10:00:00",
        "from": "demo_seller",
        "from_id": "user7001",
        "text": [
            "order at ",
            {"type": "link", "text": "https://shop.example.com"},
            " ",
            {"type": "hashtag", "text": "#demo"},
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "demo", "type": "personal_chat", "id": 9, "messages": [old]}), encoding="utf-8")
    [event] = [i.record for i in items_of(path) if isinstance(i, Parsed) and isinstance(i.record, Event)]
    assert event.text == "order at https://shop.example.com #demo"
    assert event.meta["links"] == ["https://shop.example.com"] and event.hashtags == ("demo",)
    # No date_unixtime: the local time is read as UTC, and the record says so.
    assert event.created_at.isoformat() == "2021-03-01T10:00:00+00:00" and event.meta["local_time_read_as_utc"] is True


def test_the_import_command_reads_telegram_and_prints_what_it_skipped(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from drugwatch.cli import app

    write_full_export(tmp_path / "export")
    result = CliRunner().invoke(
        app,
        [
            "import",
            str(tmp_path / "export" / "result.json"),
            "--db",
            str(tmp_path / "db.sqlite"),
            "--quarantine",
            str(tmp_path / "q.jsonl"),
        ],
    )
    assert result.exit_code == 3, result.output  # two broken messages were quarantined
    assert "(telegram)" in result.output and "skipped as not records" in result.output
    assert "Telegram service message (pin_message)" in result.output
    listed = CliRunner().invoke(app, ["import", "--help"])
    assert "telegram" in listed.output


def test_a_one_chat_export_whose_first_key_is_not_the_chat_header_is_still_telegram(tmp_path: Path) -> None:
    from drugwatch.io.telegram import is_desktop_export

    messages = [m for m in group_messages() if isinstance(m, dict) and "id" in m]
    # A newer or re-saved export: other keys before the header, the header after them.
    extra_first = {"exported_with": "demo tool", "name": "demo group", "type": "private_supergroup", "id": GROUP_ID}
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**extra_first, "messages": messages}, indent=1), encoding="utf-8")
    assert detect_format(path) == "telegram"
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        report = import_path(path, store, quarantine=tmp_path / "q.jsonl")
        assert report.format == "telegram"
        assert report.imported == 7 and report.skipped == 1
        assert store.get_event(f"telegram:{GROUP_ID}/12").post_id == f"{GROUP_ID}/10"
    # No chat type before the messages either: the first message's shape says Telegram.
    bare = tmp_path / "bare" / "result.json"
    bare.parent.mkdir()
    bare.write_text(json.dumps({"exported_with": "x", "messages": messages, "id": GROUP_ID}), encoding="utf-8")
    assert is_desktop_export(bare)
    assert folder_plan(bare.parent)[0] == [("telegram", [bare])]
    # A "messages" list alone is not enough.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"data": 1, "messages": ["hello", "world"]}), encoding="utf-8")
    assert not is_desktop_export(other)
