"""Read Telegram: Telegram Desktop's JSON export and 4CAT's Telegram datasets.

Matched against:

``telegramdesktop/tdesktop``, ``Telegram/SourceFiles/export/output/export_output_json.cpp``
    ``result.json`` of "Export chat history" (one chat) is ``{"name", "type",
    "id", "messages": [...]}``; of "Export Telegram data" (everything) an
    object whose ``chats`` and ``left_chats`` hold ``{"about", "list": [<chat>,
    ...]}`` beside personal data (``about``, ``personal_information``,
    ``contacts``, ``sessions``, ...; not read). A chat ``type`` is
    ``personal_chat``, ``bot_chat``, ``private_group``, ``private_supergroup``,
    ``public_supergroup``, ``private_channel``, ``public_channel``,
    ``saved_messages`` or ``replies``; ``id`` is the bare peer id.
    ``SerializeMessage`` writes each message: ``id``, ``type`` (``message``,
    ``service`` for actions such as joins and pins, ``unsupported``),
    ``date`` (local time of the exporting computer, no offset),
    ``date_unixtime`` (Unix seconds as a string), ``edited`` /
    ``edited_unixtime``, ``from`` (display name) and ``from_id``
    (``user<id>``, ``channel<id>``, ``chat<id>``), ``author`` (a channel
    post's signature), ``forwarded_from`` (and ``forwarded_from_id`` in newer
    versions), ``saved_from``, ``reply_to_message_id`` (with
    ``reply_to_peer_id`` when the answered message is in another chat),
    ``via_bot``, media (``photo``; ``file`` with ``thumbnail``,
    ``media_type`` such as ``video_file``, ``animation``, ``voice_message``,
    ``sticker``; ``mime_type``, ``duration_seconds``, ``width``, ``height``;
    a path relative to the export folder, or a note in parentheses when the
    file was not downloaded), ``contact_information`` (``first_name``,
    ``last_name``, ``phone_number``), ``location_information``
    (``latitude``, ``longitude``) with ``place_name`` and ``address`` for a
    venue, ``poll``, ``invoice_information``, ``text`` (a string, or a list of
    strings and ``{"type", "text", "href"?, "user_id"?}`` parts) and
    ``text_entities`` (the same parts, always objects). Entity types read:
    ``link``, ``text_link`` (its ``href``), ``mention``, ``mention_name``,
    ``hashtag``, ``cashtag``, ``phone``, ``email``, ``bot_command``. Newer
    versions add ``reactions`` (``[{"type", "count", "emoji"}]``); ``views``
    and ``forwards`` are kept when present.

``digitalmethodsinitiative/4cat``, ``datasources/telegram/search_telegram.py``
    A dataset (``.ndjson``) holds one Telethon ``Message`` per line as
    ``serialize_obj`` writes it: ``_type``, ``id``, ``peer_id``
    (``{"_type": "PeerChannel", "channel_id"}``), ``date`` (Unix seconds),
    ``edit_date``, ``message`` (the text), ``entities``, ``from_id``,
    ``fwd_from`` (``date``, ``from_id``, ``from_name``), ``reply_to``
    (``reply_to_msg_id``, ``reply_to_top_id``), ``media``
    (``MessageMediaPhoto``, ``MessageMediaDocument``, ``MessageMediaWebPage``
    with ``webpage.url``, ``MessageMediaGeo``, ``MessageMediaVenue``,
    ``MessageMediaContact``, ``MessageMediaPoll``), ``views``, ``forwards``,
    ``replies``, ``reactions``, ``post_author``, ``_chat`` (``id``,
    ``title``, ``username``) and ``_sender`` (``id``, ``username``,
    ``first_name``, ``last_name``, ``title``, ``bot``). ``map_item`` turns it
    into the flat item of 4CAT's CSV (``id`` = ``<thread_id>-<message id>``,
    ``thread_id``, ``chat``, ``author``, ``author_username``,
    ``author_name``, ``body``, ``reply_to``, ``views``, ``reactions``,
    ``unix_timestamp``, ``unix_timestamp_edited``,
    ``author_forwarded_from_*``, ``link_attached``, ``attachment_type``,
    ``attachment_filename``); lines of that shape are read too.

Mapping: every message becomes an :class:`~drugwatch.records.Event` with
``platform="telegram"``, ``id`` = ``<chat id>/<message id>`` (message ids
are counted per chat; 4CAT's flat items use their ``thread_id``, often the
chat's username, instead of the numeric id); ``text`` the whole text;
``created_at`` from ``date_unixtime`` (else ``date``, read as UTC, with
``meta["local_time_read_as_utc"]``); ``author`` the sender's peer id
(``user123``, ``channel456``; a channel's own posts are by the channel);
``hashtags`` from the hashtag entities (else from the text). A reply to a
message of the same export is a comment (``parent_id`` the answered message,
``post_id`` the first message of its thread); a reply to a message the export
lacks stays a post with ``meta["reply_to_message_id"]``. ``images``: a
``photo``, an image ``file``, or a video's ``thumbnail``, as an absolute path
with its SHA-256 when the file is in the export folder (paths that leave the
folder are not followed). ``meta``: ``chat_id``, ``chat_name``, ``chat_type``,
``chat_username``, ``message_id``, ``permalink`` (public chats with a known
username), ``author_name``, ``author_username``, ``author_is_bot``,
``signature``, ``edited_at``, ``forwarded_from`` (``name``, ``id``,
``date``), ``saved_from``, ``via_bot``, ``links``, ``mentions``, ``phones``,
``emails``, ``cashtags``, ``bot_commands``, ``media_type``, ``mime_type``,
``file`` (the export's relative path), ``media_not_included`` (Telegram's
note when a file was not downloaded), ``media_missing`` (a path the folder
lacks), ``place`` (``lat``, ``lng``, ``name``, ``address``; the keys of
Instagram's ``place``) and ``location`` (a venue's name),
``contact`` (``first_name``, ``last_name``, ``phone_number``), ``poll``,
``invoice``, ``views``, ``forwards``, ``replies``, ``reactions`` and
``likes`` (their total), ``thread_top_id``.

Accounts: the first time a file names a sender, an
:class:`~drugwatch.records.Account` is read for it (``username`` = its peer
id, ``full_name`` its display name, ``meta["telegram_username"]`` when
known), and one for every channel (``channel<id>``, its title, ``chat_type``).

Not records: service messages (joins, pins, calls, title changes) and
messages Telegram Desktop could not export are counted as skipped
(:class:`~drugwatch.io.base.Skipped`) with their action, never dropped
unseen; lines of a 4CAT dataset that are not messages likewise.

Bounds: ``result.json`` is walked with :class:`~drugwatch.io.jsonstream.JsonStream`,
one message decoded at a time (at most :data:`MAX_MESSAGE_CHARS`), the rest
(contacts, sessions) skipped unread, so its size is not capped. Threads need
one entry per message of the chat being read (its thread root; about 150
bytes each), reset at each chat. A 4CAT dataset is read twice: once for its
replies (the same small map, for the whole file, since its messages come
newest first), once for its records; lines are capped as for every NDJSON.

Problems, each with its place (``chats.list[2].messages[17] (id 4711)``,
``line 12``): a message that is not an object, has no id, or whose fields do
not validate; a message over :data:`MAX_MESSAGE_CHARS` or nested too deeply
to decode (skipped, the walk goes on); text that is not
JSON (reading of that file stops there, with one Problem saying where).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem, Skipped, guarded, record_failure
from drugwatch.io.jsonl import _preview, iter_json_lines
from drugwatch.io.jsonstream import MAX_KEY_CHARS, BadValue, JsonStream, Malformed
from drugwatch.io.limits import MAX_LINE_BYTES, InputTooLarge, file_sha256, open_input
from drugwatch.records import Account, Event, RecordError, sha256_json

PLATFORM = "telegram"
IMPORTER = "telegram"

#: Longest message decoded from a ``result.json`` (characters of its JSON).
MAX_MESSAGE_CHARS = MAX_LINE_BYTES

_CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".bmp"})
_VIDEO_MEDIA = frozenset({"video_file", "animation", "video_message"})
_ENTITY_META = {
    "link": "links",
    "text_link": "links",
    "mention": "mentions",
    "mention_name": "mentions",
    "phone": "phones",
    "email": "emails",
    "cashtag": "cashtags",
    "bot_command": "bot_commands",
}
#: Telethon entity classes (4CAT datasets) and the Telegram Desktop type they match.
_TELETHON_ENTITIES = {
    "MessageEntityUrl": "link",
    "MessageEntityTextUrl": "text_link",
    "MessageEntityMention": "mention",
    "MessageEntityMentionName": "mention_name",
    "MessageEntityHashtag": "hashtag",
    "MessageEntityCashtag": "cashtag",
    "MessageEntityPhone": "phone",
    "MessageEntityEmail": "email",
    "MessageEntityBotCommand": "bot_command",
}
#: The keys a plain Telegram Desktop text message can have (``SerializeMessage``):
#: one with no other key has no media, place, contact, poll, reaction, forward,
#: signature, views or bot, so :func:`_desktop_extras` has nothing to read.
_PLAIN_MESSAGE_KEYS = frozenset(
    {
        "id",
        "type",
        "date",
        "date_unixtime",
        "edited",
        "edited_unixtime",
        "from",
        "from_id",
        "text",
        "text_entities",
        "reply_to_message_id",
    }
)
_PEER_PREFIX = re.compile(r"^(user|channel|chat)")
_PEER_KEYS = (
    ("PeerUser", "user_id", "user"),
    ("PeerChannel", "channel_id", "channel"),
    ("PeerChat", "chat_id", "chat"),
)


# --------------------------------------------------------------------------
# the common shape of one message, whatever the format


@dataclass
class _Chat:
    id: str | None
    name: str | None = None
    type: str | None = None
    username: str | None = None


@dataclass
class _Message:
    """One message, normalised from either format."""

    chat: _Chat
    id: str
    created_at: Any
    text: str
    author: str | None
    author_name: str | None = None
    author_username: str | None = None
    reply_to: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    hashtags: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Context:
    """What one file's records share: where it is, who was seen, thread roots."""

    source: str
    folder: Path
    fetched_at: datetime
    seen_accounts: set[str] = field(default_factory=set)


def _text(value: Any) -> str | None:
    if type(value) is str:  # the common case first: this runs some twenty times a message
        return value.strip() or None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _drop_empty(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` without its ``None``, ``""``, ``[]`` and ``{}`` values (``0``, ``False`` and ``()`` stay)."""
    return {
        key: value
        for key, value in meta.items()
        if value is not None and (value or not isinstance(value, (str, list, dict)))
    }


def _add_entity(meta_lists: dict[str, list[str]], hashtags: list[str], kind: str, text: str, href: Any) -> None:
    if kind == "hashtag":
        if text and text not in hashtags:
            hashtags.append(text)
        return
    name = _ENTITY_META.get(kind)
    if name is None:
        return
    value = _text(href) if kind == "text_link" else text
    if kind == "mention_name" and not value:
        value = text
    if value and value not in meta_lists.setdefault(name, []):
        meta_lists[name].append(value)


def _build(message: _Message, ctx: _Context, raw: Any, locator: str, post_id: str | None) -> ReadItem:
    """The Event of ``message`` (a comment when ``post_id`` is given), or a Problem."""
    meta = _drop_empty(
        {
            "chat_id": message.chat.id,
            "chat_name": message.chat.name,
            "chat_type": message.chat.type,
            "chat_username": message.chat.username,
            "message_id": message.id.rsplit("/", 1)[-1],
            "author_name": message.author_name,
            "author_username": message.author_username,
            **message.meta,
        }
    )
    data: dict[str, Any] = {
        "id": message.id,
        "platform": PLATFORM,
        "kind": "post",
        "text": message.text,
        "hashtags": message.hashtags or None,
        "images": message.images,
        "author": message.author,
        "created_at": message.created_at,
        "meta": meta,
        "provenance": {
            "platform": PLATFORM,
            "source": ctx.source,
            "fetched_at": ctx.fetched_at,
            "raw_sha256": sha256_json(raw),
            "locator": locator[:512],
            "importer": IMPORTER,
        },
    }
    if post_id is not None and message.reply_to is not None:
        data.update(kind="comment", parent_id=message.reply_to, post_id=post_id)
    elif message.reply_to is not None:
        meta["reply_to_message_id"] = message.reply_to.rsplit("/", 1)[-1]
    try:
        return Parsed(Event.parse(data, source=ctx.source, locator=locator), ctx.source, locator)
    except RecordError as exc:
        return Problem(ctx.source, locator, exc.reason, _raw_text(raw))
    except (OverflowError, OSError) as exc:
        return Problem(ctx.source, locator, f"a timestamp is out of range: {exc}", _raw_text(raw))


def _account(
    username: str, full_name: str | None, meta: dict[str, Any], ctx: _Context, raw: Any, locator: str
) -> ReadItem | None:
    """An Account the first time this file names ``username``; ``None`` after."""
    if username in ctx.seen_accounts:
        return None
    ctx.seen_accounts.add(username)
    data = {
        "username": username,
        "platform": PLATFORM,
        "user_id": _PEER_PREFIX.sub("", username) or None,
        "full_name": full_name,
        "meta": _drop_empty(meta),
        "provenance": {
            "platform": PLATFORM,
            "source": ctx.source,
            "fetched_at": ctx.fetched_at,
            "raw_sha256": sha256_json(raw),
            "locator": f"{locator}: account {username}"[:512],
            "importer": IMPORTER,
        },
    }
    where = f"{locator}: account {username}"
    try:
        return Parsed(Account.parse(data, source=ctx.source, locator=where), ctx.source, where)
    except RecordError as exc:
        return Problem(ctx.source, where, exc.reason, _raw_text(raw))


def _accounts_of(
    message: _Message, ctx: _Context, raw: Any, locator: str, sender_is_bot: bool | None
) -> Iterator[ReadItem]:
    chat = message.chat
    # Most messages name accounts already read: skip building their fields.
    if chat.type in _CHANNEL_TYPES and chat.id is not None and f"channel{chat.id}" not in ctx.seen_accounts:
        channel = _account(
            f"channel{chat.id}",
            chat.name,
            {"chat_type": chat.type, "telegram_username": chat.username, "kind": "channel"},
            ctx,
            raw,
            locator,
        )
        if channel is not None:
            yield channel
    if message.author and message.author not in ctx.seen_accounts:
        kind = re.match(r"[a-z]+", message.author)
        sender = _account(
            message.author,
            message.author_name,
            {
                "telegram_username": message.author_username,
                "is_bot": sender_is_bot,
                "kind": kind.group() if kind else None,
            },
            ctx,
            raw,
            locator,
        )
        if sender is not None:
            yield sender


def _raw_text(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)[:20_000]
    except (TypeError, ValueError, RecursionError):
        return "<message not printable; see the source file at the locator>"


def _media_file(relative: Any, ctx: _Context, meta: dict[str, Any]) -> Path | None:
    """The file a Telegram Desktop media path names, inside the export folder, or ``None`` (noted in meta)."""
    text = _text(relative)
    if text is None:
        return None
    if text.startswith("("):  # "(File not included. Change data exporting settings to download.)"
        meta["media_not_included"] = text.strip("()")
        return None
    candidate = Path(text)
    if candidate.is_absolute() or ".." in candidate.parts:
        meta["media_missing"] = text  # never follow a path out of the export folder
        return None
    path = ctx.folder / candidate
    if not path.is_file():
        meta["media_missing"] = text
        return None
    return path


def _image_ref(path: Path) -> dict[str, Any]:
    return {"path": str(path.absolute()), "sha256": file_sha256(path)}


# --------------------------------------------------------------------------
# Telegram Desktop


def _desktop_text(msg: dict[str, Any]) -> tuple[str, list[str], dict[str, list[str]]]:
    parts = msg.get("text_entities")
    if not isinstance(parts, list):
        parts = msg.get("text")
    if isinstance(parts, str):
        parts = [parts]
    pieces: list[str] = []
    hashtags: list[str] = []
    lists: dict[str, list[str]] = {}
    for part in _list(parts):
        if isinstance(part, str):
            pieces.append(part)
            continue
        if not isinstance(part, dict):
            part = {}
        value = part.get("text")
        text = value if isinstance(value, str) else ""
        pieces.append(text)
        kind = part.get("type")
        # Most parts are plain text, no entity (_add_entity would return at once):
        # not calling it halves this function's time (5 to 2.5 µs a message).
        if kind != "plain":
            _add_entity(lists, hashtags, str(kind or ""), text, part.get("href") or part.get("user_id"))
    return "".join(pieces), hashtags, lists


def _desktop_message(msg: dict[str, Any], chat: _Chat, ctx: _Context) -> tuple[_Message, bool | None]:
    message_id = _text(msg.get("id"))
    if message_id is None:
        raise RecordError("message has no 'id'")
    text, hashtags, lists = _desktop_text(msg)
    meta: dict[str, Any] = dict(lists)
    created: Any = _text(msg.get("date_unixtime"))
    if created is None and _text(msg.get("date")):
        created = msg["date"]
        meta["local_time_read_as_utc"] = True
    edited = _text(msg.get("edited_unixtime")) or _text(msg.get("edited"))
    if edited is not None:
        meta["edited_at"] = edited
    author = _text(msg.get("from_id"))
    if author is None and chat.type in _CHANNEL_TYPES:
        author = f"channel{chat.id}"
    # A plain text message (most of a chat) has none of the fields _desktop_extras
    # looks up; skipping its twenty-odd look-ups saves about 3 µs of this
    # function's 8 (bench_import.py's messages, text excluded): 1 % of an import.
    images = [] if _PLAIN_MESSAGE_KEYS.issuperset(msg) else _desktop_extras(msg, ctx, meta)
    reply = _text(msg.get("reply_to_message_id"))
    reply_peer = _text(msg.get("reply_to_peer_id"))
    if reply is not None and reply_peer is not None:
        meta["reply_to_peer_id"] = reply_peer  # another chat: not a thread of this one
        meta["reply_to_message_id"] = reply
        reply = None
    message = _Message(
        chat=chat,
        id=f"{chat.id}/{message_id}",
        created_at=created,
        text=text,
        author=author,
        author_name=_text(msg.get("from")) or (chat.name if author == f"channel{chat.id}" else None),
        reply_to=f"{chat.id}/{reply}" if reply is not None else None,
        meta=_drop_empty(meta),
        hashtags=hashtags,
        images=images,
    )
    return message, None


def _desktop_extras(msg: dict[str, Any], ctx: _Context, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The images of a message, and into ``meta`` its forward, media, place, contact, poll and reactions fields."""
    forwarded = _drop_empty({"name": _text(msg.get("forwarded_from")), "id": _text(msg.get("forwarded_from_id"))})
    meta.update(
        {
            "signature": _text(msg.get("author")),
            "forwarded_from": forwarded,
            "saved_from": _text(msg.get("saved_from")),
            "via_bot": _text(msg.get("via_bot")),
            "views": msg.get("views"),
            "forwards": msg.get("forwards"),
            "media_type": _text(msg.get("media_type")),
            "mime_type": _text(msg.get("mime_type")),
            "duration_seconds": msg.get("duration_seconds"),
            "sticker_emoji": _text(msg.get("sticker_emoji")),
        }
    )
    images = _desktop_images(msg, ctx, meta)
    location = _dict(msg.get("location_information"))
    if location or msg.get("place_name") or msg.get("address"):
        meta["place"] = _drop_empty(
            {
                "lat": location.get("latitude"),
                "lng": location.get("longitude"),
                "name": _text(msg.get("place_name")),
                "address": _text(msg.get("address")),
            }
        )
        meta["location"] = _text(msg.get("place_name"))
    contact = _dict(msg.get("contact_information"))
    if contact:
        meta["contact"] = _drop_empty(
            {key: _text(contact.get(key)) for key in ("first_name", "last_name", "phone_number")}
        )
        if _text(msg.get("contact_vcard")):
            meta["contact_vcard"] = msg["contact_vcard"]
    poll = _dict(msg.get("poll"))
    if poll:
        meta["poll"] = _drop_empty(
            {
                "question": _text(poll.get("question")),
                "total_voters": poll.get("total_voters"),
                "answers": [_text(_dict(a).get("text")) for a in _list(poll.get("answers"))],
            }
        )
    if msg.get("invoice_information") is not None:
        meta["invoice"] = msg["invoice_information"]
    reactions = [_dict(r) for r in _list(msg.get("reactions"))]
    if reactions:
        meta["reactions"] = [
            _drop_empty({"emoji": _text(r.get("emoji")) or _text(r.get("document_id")), "count": r.get("count")})
            for r in reactions
        ]
        meta["likes"] = sum(r["count"] for r in reactions if isinstance(r.get("count"), int))
    return images


def _desktop_images(msg: dict[str, Any], ctx: _Context, meta: dict[str, Any]) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = []
    photo = _media_file(msg.get("photo"), ctx, meta)
    if photo is not None:
        images.append(_image_ref(photo))
    if "file" in msg:
        meta["file"] = _text(msg.get("file"))
        found = _media_file(msg.get("file"), ctx, meta)
        mime = _text(msg.get("mime_type")) or ""
        media_type = _text(msg.get("media_type"))
        if (
            found is not None
            and media_type != "sticker"
            and (mime.startswith("image/") or (not mime and found.suffix.lower() in _IMAGE_SUFFIXES))
        ):
            images.append(_image_ref(found))
        elif media_type in _VIDEO_MEDIA or mime.startswith("video/"):
            thumb = _media_file(msg.get("thumbnail"), ctx, {})
            if thumb is not None:
                images.append(_image_ref(thumb))
    return images


def _thread_post(message: _Message, roots: dict[str, str]) -> str | None:
    """The post at the root of ``message``'s thread (recorded in ``roots``), ``None`` when it is a post."""
    if message.reply_to is None or message.reply_to not in roots:
        roots[message.id] = message.id
        return None
    root = roots[message.reply_to]
    roots[message.id] = root
    return root


def _desktop_items(msg: Any, chat: _Chat, ctx: _Context, locator: str, roots: dict[str, str]) -> Iterator[ReadItem]:
    if not isinstance(msg, dict):
        yield Problem(ctx.source, locator, f"expected a message object, got {type(msg).__name__}", _raw_text(msg))
        return
    kind = msg.get("type", "message")
    if kind == "service":
        action = _text(msg.get("action")) or "unnamed action"
        yield Skipped(ctx.source, locator, f"Telegram service message ({action})")
        return
    if kind == "unsupported":
        yield Skipped(ctx.source, locator, "a message Telegram Desktop could not export ('unsupported')")
        return
    if kind != "message":
        yield Problem(
            ctx.source, locator, f"unknown message type {kind!r}; expected message or service", _raw_text(msg)
        )
        return
    if chat.id is None:
        yield Problem(ctx.source, locator, "the chat this message is in has no 'id'", _raw_text(msg))
        return
    try:
        message, is_bot = _desktop_message(msg, chat, ctx)
    except RecordError as exc:
        yield Problem(ctx.source, locator, exc.reason, _raw_text(msg))
        return
    except OSError as exc:
        yield Problem(ctx.source, locator, f"cannot read a media file of this message: {exc}", _raw_text(msg))
        return
    except Exception as exc:  # one bad message must not end the import
        yield Problem(ctx.source, locator, record_failure(exc), _raw_text(msg))
        return
    yield from _accounts_of(message, ctx, msg, locator, is_bot)
    yield _build(message, ctx, msg, locator, _thread_post(message, roots))


def _chat_messages(stream: JsonStream, chat: _Chat, ctx: _Context, where: str) -> Iterator[ReadItem]:
    roots: dict[str, str] = {}
    for index in stream.items():
        locator = f"{where}messages[{index}]"
        try:
            msg = stream.read_value(MAX_MESSAGE_CHARS)
        except BadValue as exc:
            yield Problem(ctx.source, locator, f"message {exc}; not read (the walk goes on after it)")
            continue
        message_id = _text(msg.get("id")) if isinstance(msg, dict) else None
        if message_id is not None:
            locator = f"{locator} (id {message_id})"
        yield from guarded(_desktop_items(msg, chat, ctx, locator, roots), ctx.source, locator)


def _chat_items(stream: JsonStream, ctx: _Context, where: str) -> Iterator[ReadItem]:
    """Walk one chat object: its header (``name``, ``type``, ``id``, written before ``messages``) and messages."""
    chat = _Chat(id=None)
    for key in stream.keys():
        if key in ("name", "type", "id"):
            _set_header(stream, chat, key)
        elif key == "messages":
            yield from _chat_messages(stream, chat, ctx, where)
        else:
            stream.skip_value()


def _set_header(stream: JsonStream, chat: _Chat, key: str) -> None:
    try:
        setattr(chat, key, _text(stream.read_value(MAX_KEY_CHARS)))
    except BadValue:
        pass  # a 64K-character or unreadable name is not a name; the messages still read


def _chat_list(stream: JsonStream, ctx: _Context, name: str) -> Iterator[ReadItem]:
    for key in stream.keys():
        if key == "list":
            for index in stream.items():
                yield from _chat_items(stream, ctx, f"{name}.list[{index}].")
        else:
            stream.skip_value()


def _desktop_walk(stream: JsonStream, ctx: _Context) -> Iterator[ReadItem]:
    if stream.peek() != "{":
        raise Malformed('a Telegram Desktop export is a JSON object ({"chats": ...} or {"messages": [...]})')
    top = _Chat(id=None)
    for key in stream.keys():
        if key in ("chats", "left_chats"):
            yield from _chat_list(stream, ctx, key)
        elif key in ("name", "type", "id"):
            _set_header(stream, top, key)
        elif key == "messages":
            yield from _chat_messages(stream, top, ctx, "")
        else:
            stream.skip_value()


def _read_desktop(file: Path) -> Iterator[ReadItem]:
    ctx = _Context(str(file), file.parent, datetime.fromtimestamp(file.stat().st_mtime, tz=UTC))
    last = "file"
    try:
        with open_input(file) as handle:
            stream = JsonStream(handle)
            for item in _desktop_walk(stream, ctx):
                last = item.locator
                yield item
    except Malformed as exc:
        yield Problem(ctx.source, f"after {last}", f"{exc}; the rest of the file was not read")
    except InputTooLarge as exc:
        yield Problem(ctx.source, f"after {last}", str(exc))
    except OSError as exc:
        yield Problem(ctx.source, f"after {last}", f"cannot read further: {exc}")


# --------------------------------------------------------------------------
# 4CAT


def _peer(value: Any) -> str | None:
    """``{"_type": "PeerUser", "user_id": 5}`` -> ``user5``."""
    peer = _dict(value)
    for type_name, key, prefix in _PEER_KEYS:
        if peer.get("_type") == type_name or (key in peer and "_type" not in peer):
            ident = _text(peer.get(key))
            if ident is not None:
                return f"{prefix}{ident}"
    return None


def _telethon_text(msg: dict[str, Any]) -> tuple[str, list[str], dict[str, list[str]]]:
    """The text and its entities; Telethon offsets count UTF-16 code units."""
    value = msg.get("message")
    text = value if isinstance(value, str) else ""
    encoded = text.encode("utf-16-le")
    hashtags: list[str] = []
    lists: dict[str, list[str]] = {}
    for entity in _list(msg.get("entities")):
        entity = _dict(entity)
        kind = _TELETHON_ENTITIES.get(str(entity.get("_type")))
        offset, length = entity.get("offset"), entity.get("length")
        if kind is None or not isinstance(offset, int) or not isinstance(length, int):
            continue
        part = encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")
        if kind == "hashtag":
            part = part.lstrip("#")
        _add_entity(lists, hashtags, kind, part, entity.get("url") or entity.get("user_id"))
    return text, hashtags, lists


def _fourcat_chat(msg: dict[str, Any]) -> _Chat:
    peer = _dict(msg.get("peer_id"))
    chat_info = _dict(msg.get("_chat"))
    chat_id = None
    for _, key, _prefix in _PEER_KEYS:
        chat_id = chat_id or _text(peer.get(key))
    chat_id = chat_id or _text(chat_info.get("id"))
    kind = None
    if peer.get("_type") == "PeerChannel" or chat_info.get("_type") == "Channel":
        visibility = "public" if chat_info.get("username") else "private"
        if chat_info.get("broadcast"):
            kind = f"{visibility}_channel"
        elif chat_info.get("megagroup"):
            kind = f"{visibility}_supergroup"
        else:
            kind = "channel"  # Telethon did not say whether broadcast or group
    elif peer.get("_type") == "PeerChat":
        kind = "private_group"
    elif peer.get("_type") == "PeerUser":
        kind = "personal_chat"
    return _Chat(id=chat_id, name=_text(chat_info.get("title")), type=kind, username=_text(chat_info.get("username")))


def _fourcat_media(msg: dict[str, Any], meta: dict[str, Any]) -> None:
    media = _dict(msg.get("media"))
    kind = str(media.get("_type") or "")
    if not kind:
        return
    meta["media_type"] = kind.removeprefix("MessageMedia").lower() or None
    if kind == "MessageMediaDocument":
        meta["mime_type"] = _text(_dict(media.get("document")).get("mime_type"))
    elif kind == "MessageMediaWebPage":
        page = _dict(media.get("webpage"))
        url = _text(page.get("url"))
        if url and url not in meta.setdefault("links", []):
            meta["links"].append(url)
        meta["link_preview"] = _drop_empty(
            {"url": url, "title": _text(page.get("title")), "description": _text(page.get("description"))}
        )
    elif kind in ("MessageMediaGeo", "MessageMediaGeoLive", "MessageMediaVenue"):
        geo = _dict(media.get("geo"))
        meta["place"] = _drop_empty(
            {
                "lat": geo.get("lat"),
                "lng": geo.get("long"),
                "name": _text(media.get("title")),
                "address": _text(media.get("address")),
            }
        )
        meta["location"] = _text(media.get("title"))
    elif kind == "MessageMediaContact":
        contact = _dict(media.get("contact")) or media
        meta["contact"] = _drop_empty(
            {key: _text(contact.get(key)) for key in ("first_name", "last_name", "phone_number")}
        )
    elif kind == "MessageMediaPoll":
        poll = _dict(media.get("poll"))
        question = poll.get("question")
        meta["poll"] = _drop_empty(
            {"question": _text(question if not isinstance(question, dict) else question.get("text"))}
        )


def _fourcat_raw_message(msg: dict[str, Any], ctx: _Context) -> tuple[_Message, bool | None]:
    chat = _fourcat_chat(msg)
    message_id = _text(msg.get("id"))
    if message_id is None:
        raise RecordError("message has no 'id'")
    if chat.id is None:
        raise RecordError("message has no 'peer_id' or '_chat' naming its chat")
    text, hashtags, lists = _telethon_text(msg)
    meta: dict[str, Any] = dict(lists)
    sender = _dict(msg.get("_sender"))
    author = _peer(msg.get("from_id"))
    if author is None and chat.type in (*_CHANNEL_TYPES, "channel"):
        author = f"channel{chat.id}"
    if author is None and _text(sender.get("id")):
        author = f"{'channel' if sender.get('_type') == 'Channel' else 'user'}{sender['id']}"
    name: str | None = " ".join(
        part for part in (_text(sender.get("first_name")), _text(sender.get("last_name"))) if part
    )
    name = name or _text(sender.get("title"))
    if author == f"channel{chat.id}":
        name = name or chat.name
    fwd = _dict(msg.get("fwd_from"))
    if fwd:
        meta["forwarded_from"] = _drop_empty(
            {
                "name": _text(fwd.get("from_name")),
                "id": _peer(fwd.get("from_id")),
                "date": fwd.get("date"),
                "signature": _text(fwd.get("post_author")),
            }
        )
    reply = _dict(msg.get("reply_to"))
    reply_id = _text(reply.get("reply_to_msg_id"))
    reply_peer = _peer(reply.get("reply_to_peer_id"))
    if reply_id is not None and reply_peer is not None and _PEER_PREFIX.sub("", reply_peer) != chat.id:
        meta["reply_to_peer_id"] = reply_peer
        meta["reply_to_message_id"] = reply_id
        reply_id = None
    if _text(reply.get("reply_to_top_id")):
        meta["thread_top_id"] = _text(reply.get("reply_to_top_id"))
    reactions = [_dict(r) for r in _list(_dict(msg.get("reactions")).get("results"))]
    if reactions:
        meta["reactions"] = [
            _drop_empty(
                {
                    "emoji": _text(_dict(r.get("reaction")).get("emoticon")) or _text(r.get("reaction")),
                    "count": r.get("count"),
                }
            )
            for r in reactions
        ]
        meta["likes"] = sum(r["count"] for r in reactions if isinstance(r.get("count"), int))
    replies = _dict(msg.get("replies")).get("replies")
    meta.update(
        {
            "views": msg.get("views"),
            "forwards": msg.get("forwards"),
            "replies": replies,
            "signature": _text(msg.get("post_author")),
            "edited_at": msg.get("edit_date"),
            "permalink": f"https://t.me/{chat.username}/{message_id}" if chat.username else None,
        }
    )
    _fourcat_media(msg, meta)
    message = _Message(
        chat=chat,
        id=f"{chat.id}/{message_id}",
        created_at=msg.get("date"),
        text=text,
        author=author,
        author_name=name or None,
        author_username=_text(sender.get("username")),
        reply_to=f"{chat.id}/{reply_id}" if reply_id is not None else None,
        meta=_drop_empty(meta),
        hashtags=hashtags,
    )
    return message, sender.get("bot") if isinstance(sender.get("bot"), bool) else None


def _fourcat_mapped_message(item: dict[str, Any], ctx: _Context) -> tuple[_Message, bool | None]:
    thread = _text(item.get("thread_id")) or _text(item.get("chat"))
    raw_id = _text(item.get("id"))
    if thread is None or raw_id is None:
        raise RecordError("a 4CAT Telegram item needs 'id' and 'thread_id'")
    message_id = raw_id.removeprefix(f"{thread}-")
    chat = _Chat(id=thread, username=thread if not thread.lstrip("-").isdigit() else None)
    author_id = _text(item.get("author"))
    author = (
        f"user{author_id}" if author_id and author_id.isdigit() else (author_id or _text(item.get("author_username")))
    )
    meta: dict[str, Any] = {
        "views": item.get("views") if item.get("views") != "" else None,
        "reactions_text": _text(item.get("reactions")),
        "edited_at": _text(item.get("unix_timestamp_edited")),
        "links": [link for link in (_text(item.get("link_attached")),) if link],
        "mentions": [m for m in str(item.get("entities_mentioned") or "").split(",") if m],
        "linked_entities": [m for m in str(item.get("entities_linked") or "").split(",") if m],
        "forwarded_from": _drop_empty(
            {
                "name": _text(item.get("author_forwarded_from_name")),
                "username": _text(item.get("author_forwarded_from_username")),
                "id": _text(item.get("author_forwarded_from_id")),
                "date": _text(item.get("unix_timestamp_forwarded_from")),
            }
        ),
        "media_type": _text(item.get("attachment_type")),
        "file": _text(item.get("attachment_filename")),
        "permalink": f"https://t.me/{chat.username}/{message_id}" if chat.username else None,
    }
    reply = _text(item.get("reply_to"))
    is_bot = item.get("author_is_bot")
    message = _Message(
        chat=chat,
        id=f"{thread}/{message_id}",
        created_at=_text(item.get("unix_timestamp")) or _text(item.get("timestamp")),
        text=body if isinstance(body := item.get("body"), str) else "",
        author=author,
        author_name=_text(item.get("author_name")),
        author_username=_text(item.get("author_username")),
        reply_to=f"{thread}/{reply}" if reply else None,
        meta=_drop_empty(meta),
    )
    return message, (is_bot in (True, "yes")) if is_bot not in (None, "") else None


def is_fourcat_telegram(obj: Any) -> bool:
    """Whether a parsed NDJSON line is a 4CAT Telegram item (raw Telethon message or mapped item)."""
    if not isinstance(obj, dict):
        return False
    if obj.get("_type") in ("Message", "MessageService") and ("peer_id" in obj or "_chat" in obj):
        return True
    return "body" in obj and "thread_id" in obj and "unix_timestamp" in obj


def _fourcat_message(obj: dict[str, Any], ctx: _Context) -> tuple[_Message, bool | None] | None:
    if obj.get("_type") == "Message":
        return _fourcat_raw_message(obj, ctx)
    if "body" in obj and "thread_id" in obj:
        return _fourcat_mapped_message(obj, ctx)
    return None


def _fourcat_reply_map(file: Path) -> dict[str, str | None]:
    """First pass: each message's id and the id it answers (``None`` for none)."""
    ctx = _Context(str(file), file.parent, datetime.now(UTC))
    parents: dict[str, str | None] = {}
    for _number, _raw, obj in iter_json_lines(file):
        if not isinstance(obj, dict) or obj.get("_type") == "MessageService":
            continue
        try:
            shaped = _fourcat_message(obj, ctx)
        except Exception:  # the second pass reports this line
            continue
        if shaped is not None:
            parents[shaped[0].id] = shaped[0].reply_to
    return parents


def _root(message_id: str, parents: dict[str, str | None]) -> str | None:
    """The first message of ``message_id``'s thread within the file; ``None`` when a link is missing."""
    seen = {message_id}
    current = message_id
    while True:
        parent = parents.get(current)
        if parent is None:
            return current
        if parent not in parents or parent in seen:
            return None
        seen.add(parent)
        current = parent


def _fourcat_items(
    obj: Any, raw: bytes, number: int, ctx: _Context, parents: dict[str, str | None]
) -> Iterator[ReadItem]:
    locator = f"line {number}"
    if not isinstance(obj, dict):
        yield Problem(ctx.source, locator, f"expected a JSON object, got {type(obj).__name__}", _preview(raw))
        return
    if obj.get("_type") == "MessageService":
        action = _text(_dict(obj.get("action")).get("_type")) or "unnamed action"
        yield Skipped(ctx.source, locator, f"Telegram service message ({action})")
        return
    try:
        shaped = _fourcat_message(obj, ctx)
    except RecordError as exc:
        yield Problem(ctx.source, locator, exc.reason, _preview(raw))
        return
    except Exception as exc:  # one bad line must not end the import
        yield Problem(ctx.source, locator, record_failure(exc), _preview(raw))
        return
    if shaped is None:
        keys = ", ".join(sorted(map(str, obj))[:8]) or "(none)"
        reason = f"not a 4CAT Telegram message (no '_type': 'Message', nor 'body' and 'thread_id'); keys: {keys}"
        yield Problem(ctx.source, locator, reason, _preview(raw))
        return
    message, is_bot = shaped
    post_id = None
    if message.reply_to is not None and message.reply_to in parents:
        post_id = _root(message.reply_to, parents)
    yield from _accounts_of(message, ctx, obj, locator, is_bot)
    yield _build(message, ctx, obj, locator, post_id)


def _read_fourcat(file: Path) -> Iterator[ReadItem]:
    parents = _fourcat_reply_map(file)
    ctx = _Context(str(file), file.parent, datetime.fromtimestamp(file.stat().st_mtime, tz=UTC))
    for number, raw, obj in iter_json_lines(file):
        if isinstance(obj, Problem):
            yield obj
            continue
        yield from guarded(_fourcat_items(obj, raw, number, ctx, parents), ctx.source, f"line {number}")


# --------------------------------------------------------------------------
# entry points

_FIRST_KEY = re.compile(rb'^\s*\{\s*"([a-z_]+)"\s*:')


#: Chat types Telegram Desktop writes (``export_output_json.cpp``, ``TypeString``).
_CHAT_TYPE = re.compile(
    rb'"type"\s*:\s*"(?:personal_chat|bot_chat|private_group|private_supergroup|public_supergroup|'
    rb'private_channel|public_channel|saved_messages|replies|verify_codes)"'
)
#: The first message of a ``messages`` array as Telegram Desktop writes it: ``{"id": <n>, "type": "message"``.
_FIRST_MESSAGE = re.compile(rb'"messages"\s*:\s*\[\s*\{\s*"id"\s*:\s*-?\d+\s*,\s*"type"\s*:\s*"(?:message|service)"')
_MESSAGES = re.compile(rb'"messages"\s*:\s*\[')


def is_desktop_export(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts like a Telegram Desktop ``result.json``.

    A full export's first key is ``about``. A one-chat export is an object
    with a ``"messages": [`` array in its first 64 KiB and either a first key
    of ``name``, ``type``, ``id`` or ``messages``, a chat ``type`` Telegram
    Desktop writes (``public_channel``, ``private_supergroup``, ...), or a
    first message shaped as Telegram writes it (``{"id": 1, "type":
    "message"``), so a chat whose keys were reordered or preceded by others
    (a re-saved file, a newer export) is still recognised. Only the first
    64 KiB are read.
    """
    try:
        with open_input(path) as handle:
            head = handle.read(1 << 16)
    except Exception:
        return False
    match = _FIRST_KEY.match(head)
    if match is None:
        return False
    first = match.group(1)
    if first == b"about":
        return b'"instaloader"' not in head
    if _MESSAGES.search(head) is None:
        return False
    return (
        first in (b"name", b"type", b"id", b"messages")
        or _CHAT_TYPE.search(head) is not None
        or _FIRST_MESSAGE.search(head) is not None
    )


def read_telegram(path: str | os.PathLike[str]) -> Iterator[ReadItem]:
    """Read a Telegram Desktop ``result.json`` or a 4CAT Telegram ``.ndjson``.

    Raises :class:`ReaderError` only when the file is missing or is neither.
    """
    file = Path(path)
    if file.is_dir():
        candidate = file / "result.json"
        if not candidate.is_file():
            raise ReaderError(f"no result.json in {file}; pass the Telegram Desktop export's result.json")
        file = candidate
    if not file.is_file():
        raise ReaderError(f"no such file: {file}")
    name = file.name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    if name.endswith((".ndjson", ".jsonl")):
        return _read_fourcat(file)
    if name.endswith(".json"):
        if not is_desktop_export(file):
            raise ReaderError(f"{file.name} does not start like a Telegram Desktop export (result.json)")
        return _read_desktop(file)
    raise ReaderError(f"not a Telegram export: {file.name} (expected result.json or a 4CAT .ndjson)")
