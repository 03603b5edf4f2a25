"""Read instaloader's own JSON output: posts, their comments, profiles, story items.

Matched against the instaloader sources (repo ``instaloader/instaloader``):

``instaloader/structures.py``
    ``get_json_structure`` / ``save_structure_to_file``: a metadata file is
    ``{"node": <structure._asdict()>, "instaloader": {"version": ..., "node_type":
    "Post" | "Profile" | "StoryItem" | "Hashtag" | "FrozenNodeIterator"}}``; a
    name ending in ``.xz`` is LZMA-compressed (compact JSON), otherwise it is
    pretty-printed JSON. ``load_structure`` also accepts a top-level object with
    ``shortcode`` ("Post JSON created with Instaloader v3"), read here as a post
    node. ``Post`` reads ``id``, ``shortcode``/``code``, ``__typename``,
    ``edge_media_to_caption.edges[0].node.text`` or ``caption``, ``date`` or
    ``taken_at_timestamp``, ``owner`` (``id``, ``username``), ``display_url`` /
    ``display_src``, ``edge_sidecar_to_children.edges[].node`` (``display_url``,
    ``is_video``, ``video_url``), ``is_video``, ``video_url``,
    ``video_view_count``, ``edge_media_preview_like.count``,
    ``edge_media_to_comment`` / ``edge_media_to_parent_comment`` (``count`` and
    inline ``edges[].node`` comments with ``id``, ``created_at``, ``text``,
    ``owner``, ``edge_liked_by.count`` and replies in
    ``edge_threaded_comments.edges``), ``location`` (``id``, ``name``, ...),
    ``edge_media_to_tagged_user``, ``accessibility_caption``, ``title`` and
    ``iphone_struct`` (the v1 ``api/v1/media/<id>/info/`` item, saved inside the
    node). ``Post.from_iphone_struct`` builds the node from a v1 item (``pk`` ->
    ``id``, ``taken_at`` -> ``date``, ``caption.text`` -> ``caption``,
    ``image_versions2.candidates[0].url`` -> ``display_url``, ``carousel_media``
    -> ``edge_sidecar_to_children``, ``like_count`` ->
    ``edge_media_preview_like.count``). ``Profile._asdict`` / ``from_iphone_struct``:
    ``id`` (or ``pk``), ``username``, ``full_name``, ``biography``,
    ``edge_followed_by.count``, ``edge_follow.count``, ``is_private``,
    ``is_verified``, ``is_business_account``, ``business_category_name``,
    ``external_url``, ``profile_pic_url_hd``; ``edge_owner_to_timeline_media``
    is dropped by ``_asdict`` so the post count is usually absent. ``StoryItem``:
    ``id``, ``taken_at_timestamp``, ``expiring_at_timestamp``, ``owner``,
    ``__typename``, ``is_video``, ``display_resources[-1].src``,
    ``video_resources[-1].src``, caption as for posts. The iPhone comment
    endpoint (``Post._get_comments_via_iphone_endpoint``) gives v1 comments:
    ``pk``, ``created_at``, ``text``, ``user``, ``comment_like_count``,
    ``preview_child_comments``.

``instaloader/instaloader.py``
    ``save_metadata_json``: ``<filename>.json`` or ``<filename>.json.xz``
    (``compress_json``, the default). ``update_comments``:
    ``<filename>_comments.json``, always plain JSON, a list of top-level comments
    ``{"id", "created_at" (Unix seconds), "text", "owner" (Profile._asdict()),
    "likes_count", "answers": [same fields, no "answers"]}``. ``download_post``
    / ``download_pic``: images next to the JSON as ``<filename>.<ext>`` or, for
    sidecar children, ``<filename>_<n>.<ext>`` (n from 1), where ``<ext>`` is
    taken from the URL (the first ``.<a-z0-9>*?`` in it, else its last 3
    characters); other extensions (jpg, jpeg, png, webp, heic) are tried after
    it, since the file may come from a different (higher-quality) URL. Names
    from a ``--filename-pattern`` with ``{filename}`` are not matched. ``download_profiles``: the profile JSON is
    ``<dir>/<username>_<userid>.json[.xz]``. Resume files
    (``posts_download_loop``) are ``FrozenNodeIterator`` structures.

Mapping to drugwatch records:

* Post -> :class:`Event` (``kind="post"``): ``id`` <- ``id`` (else
  ``iphone_struct.pk``); ``text`` <- caption; ``created_at`` <- ``date`` /
  ``taken_at_timestamp`` (else ``iphone_struct.taken_at``); ``author`` <-
  ``owner.username`` (else ``iphone_struct.user.username``); ``images`` <- the
  sidecar children's ``display_url`` (else ``display_url`` / ``display_src``,
  else the v1 candidates), each with the sibling image file and its SHA-256
  when instaloader saved one; hashtags come from the caption (drugwatch's
  extractor). ``meta`` (keys present only when the node has the value):
  ``shortcode``, ``permalink``, ``typename``, ``media_type`` and
  ``product_type`` (v1), ``is_video``, ``video_url``, ``video_view_count``,
  ``play_count``, ``carousel_videos`` (``[{"position", "url"}]``: the video
  of each sidecar / carousel child that is a video; its image is the cover),
  ``likes``, ``comment_count``, ``location`` (its name), ``place`` (see
  :func:`place_fields`), ``owner_id``, ``tagged_users``,
  ``accessibility_caption``, ``title``, ``node_type``, ``instaloader_version``.
  Current web items are read too: ``display_uri`` as the image when the
  other image fields are missing, and ``media_type`` given as a string
  (``"2"``, ``"VIDEO"``).
* Every comment (``_comments.json`` entries and their ``answers``, inline
  GraphQL comment edges and their ``edge_threaded_comments``, v1
  ``preview_comments`` / ``comments`` and their ``preview_child_comments``) ->
  :class:`Event` (``kind="comment"``, ``parent_id`` = the post or comment it
  answers, ``post_id`` = the post), nested to any depth; ``meta``: ``likes``,
  ``owner_id``.
* Profile -> :class:`Account` (``followers``/``following`` from
  ``edge_followed_by``/``edge_follow`` else the v1 ``follower_count``/
  ``following_count``); ``meta``: ``is_verified``, ``is_business_account``,
  ``is_professional_account``, ``business_category_name``,
  ``category_name``, ``external_url``, ``bio_links`` (the ``url`` of each
  ``bio_links`` entry), ``business_email``, ``business_phone`` (from
  ``business_phone_number`` / v1 ``public_phone_country_code`` +
  ``public_phone_number`` / ``contact_phone_number``),
  ``business_address`` (``business_address_json`` read as a dict, or the v1
  ``city_name``/``address_street``/``zip``/``latitude``/``longitude``),
  ``profile_pic_url``.
* StoryItem -> :class:`Event` (``kind="post"``, ``meta["story_item"] =
  True``, ``expiring_at``, ``mentions`` (usernames from the
  ``GraphTappableMention`` tappable objects, or the v1 ``reel_mentions``),
  ``story_hashtags``, ``story_links`` (``story_cta_url``, v1 link stickers),
  ``linked_posts`` (``GraphTappableFeedMedia`` shortcodes), ``place`` (a
  ``GraphTappableLocation`` or v1 ``story_locations`` entry)).
* ``Hashtag`` and ``FrozenNodeIterator`` files hold no user content (a tag's
  description; a resume cursor) and yield nothing; the tag's posts are their
  own Post files. Other files (pictures, ``.txt`` captions, ``id``) are not
  instaloader JSON and are not read.

Provenance: ``source`` is the file the record came from (the comments file for
comments from ``_comments.json``), ``fetched_at`` that file's modification
time (instaloader does not record when it fetched), ``raw_sha256`` the
:func:`~drugwatch.records.sha256_json` of the node / comment object the record
was built from, ``locator`` the path inside the file (``node``,
``[2].answers[0]``, ``node.edge_media_to_parent_comment.edges[0].node``).

Size: a metadata or comments file is parsed whole, so it is read under
:func:`~drugwatch.io.limits.max_document_bytes` (``DRUGWATCH_MAX_DOCUMENT_BYTES``,
counted while an ``.xz`` is decompressed); a larger file is one Problem and
the other files are read. Any error while one record is built makes that
record a Problem; replies nested to any depth are walked without recursion.

Inline comments are also read from ``edge_media_preview_comment.edges``: 4CAT's
Instagram ``map_item`` reads that connection's ``count``; instaloader itself
does not use it. A comment appearing both inline in the post node and in
``_comments.json`` is yielded from both places (they are two raw records); the
importer merges them. A comment without an id is a Problem, and so are its
replies (the comment they answer cannot be named).

The record builders here (:func:`media_items`, :class:`Origin`) are shared
with :mod:`drugwatch.io.zeeschuimer`, whose items are the same Instagram
GraphQL nodes and v1 items.
"""

from __future__ import annotations

import json
import logging
import lzma
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.io.base import Parsed, Problem, ReaderError, ReadItem, guarded, record_failure, short_message
from drugwatch.io.limits import InputTooLarge, file_sha256, read_document
from drugwatch.records import Account, Event, RecordError, sha256_json

log = logging.getLogger(__name__)

IMPORTER = "instaloader"
PLATFORM = "instagram"

#: Raw text kept on a Problem (the quarantine writer truncates further).
MAX_RAW_CHARS = 1_000_000

_COMMENTS_SUFFIX = "_comments.json"
_STRUCTURE_SUFFIXES = (".json.xz", ".json")
#: Tried after the extension instaloader derives from the URL (the file may
#: have been saved from a higher-quality URL with another extension).
_FALLBACK_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "heic")
#: GraphQL connections that carry inline comments under ``edges[].node``.
_GRAPHQL_COMMENT_EDGES = ("edge_media_to_parent_comment", "edge_media_to_comment", "edge_media_preview_comment")
#: v1 item lists of comments.
_V1_COMMENT_LISTS = ("preview_comments", "comments")
#: Exceptions a malformed node can raise while being mapped (reported as a shape problem).
_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, IndexError, ValueError)

#: ``image_file(position, url)`` -> local file for that image, or ``None``.
#: ``position`` is 0 for a single image, n >= 1 for the n-th sidecar child.
ImageFinder = Callable[[int, str | None], Path | None]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the records of one payload come from (one file, or one NDJSON line)."""

    source: str
    fetched_at: datetime | None
    importer: str

    def provenance(self, raw: Any, locator: str) -> dict[str, Any]:
        return {
            "platform": PLATFORM,
            "source": self.source,
            "fetched_at": self.fetched_at,
            "raw_sha256": sha256_json(raw),
            "locator": locator,
            "importer": self.importer,
        }


# --------------------------------------------------------------------------
# small helpers


def raw_text(raw: Any) -> str:
    """The raw payload as text for :attr:`Problem.raw`."""
    try:
        text = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    except RecursionError:
        # Only a payload nested about a thousand levels deep gets here; the
        # file and locator still lead to it.
        return "<payload nested too deeply to print; see the source file at the locator>"
    return text[:MAX_RAW_CHARS]


def _id(value: Any) -> str | None:
    """A platform id as text; ``None`` when absent or not an id."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(node: dict[str, Any], key: str) -> Any:
    return _dict(node.get(key)).get("count")


def _edges(node: dict[str, Any], key: str) -> list[Any]:
    return _list(_dict(node.get(key)).get("edges"))


def _drop_none(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in meta.items() if value is not None}


#: Longest ``address_json`` string parsed (Instagram's are a few hundred characters).
_MAX_ADDRESS_JSON = 10_000


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _json_object(value: Any) -> dict[str, Any]:
    """A dict, or a JSON string holding one (``address_json``); ``{}`` otherwise."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and len(value) <= _MAX_ADDRESS_JSON:
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def place_fields(location: Any) -> dict[str, Any] | None:
    """``meta["place"]`` of an Instagram location (GraphQL or v1), or ``None``.

    Keys, each only when known: ``id`` (``id``/``pk``), ``name``
    (``name``/``short_name``), ``slug``, ``lat``, ``lng``, ``city``
    (``city``, else ``address_json.city_name``), ``address`` (``address``,
    else ``address_json.street_address``), ``zip``, ``region``,
    ``country_code`` (from ``address_json``), ``facebook_places_id``.
    """
    location = _dict(location)
    if not location:
        return None
    address = _json_object(location.get("address_json"))

    def text(value: Any) -> str | None:
        return value.strip() or None if isinstance(value, str) else None

    place = _drop_none(
        {
            "id": _id(location.get("id")) or _id(location.get("pk")),
            "name": text(location.get("name")) or text(location.get("short_name")),
            "slug": text(location.get("slug")),
            "lat": _number(location.get("lat")),
            "lng": _number(location.get("lng")),
            "city": text(location.get("city")) or text(address.get("city_name")),
            "address": text(location.get("address")) or text(address.get("street_address")),
            "zip": text(address.get("zip_code")),
            "region": text(address.get("region_name")),
            "country_code": text(address.get("country_code")),
            "facebook_places_id": _id(location.get("facebook_places_id")),
        }
    )
    return place or None


def _is_video_type(media_type: Any) -> bool | None:
    """v1 ``media_type`` (1 photo, 2 video, 8 carousel) given as a number or as a string ("2", "VIDEO")."""
    if media_type is None or isinstance(media_type, bool):
        return None
    if isinstance(media_type, (int, float)):
        return media_type == 2
    if isinstance(media_type, str):
        text = media_type.strip().upper()
        return text in ("2", "VIDEO", "REELS", "CLIPS")
    return None


def _video_of(child: dict[str, Any]) -> str | None:
    """The video URL of a sidecar / carousel child that is a video, else ``None``."""
    if child.get("is_video") is True or _is_video_type(child.get("media_type")):
        url = child.get("video_url")
        if url is None:
            versions = _list(child.get("video_versions"))
            url = _dict(versions[0]).get("url") if versions else None
        return url if isinstance(url, str) and url else None
    return None


def _carousel_videos(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    children = [_dict(_dict(edge).get("node")) for edge in _edges(node, "edge_sidecar_to_children")]
    children = children or [_dict(child) for child in _list(node.get("carousel_media"))]
    videos = [{"position": n, "url": url} for n, child in enumerate(children, start=1) if (url := _video_of(child))]
    return videos or None


def _first_candidate_url(item: dict[str, Any]) -> str | None:
    candidates = _list(_dict(item.get("image_versions2")).get("candidates"))
    if candidates and isinstance(candidates[0], dict):
        return candidates[0].get("url")
    return None


def _file_time(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _permalink(shortcode: Any) -> str | None:
    return f"https://www.instagram.com/p/{shortcode}/" if isinstance(shortcode, str) and shortcode else None


def _problem(origin: Origin, locator: str, reason: str, raw: Any) -> Problem:
    return Problem(source=origin.source, locator=locator, reason=reason, raw=raw_text(raw))


def _build(
    model: type[Event] | type[Account], data: dict[str, Any], origin: Origin, locator: str, raw: Any
) -> ReadItem:
    """``model.parse(data)`` as a Parsed, or a Problem saying why not."""
    try:
        return Parsed(model.parse(data, source=origin.source, locator=locator), origin.source, locator)
    except RecordError as exc:
        return Problem.from_error(exc, raw=raw_text(raw))
    except (OverflowError, OSError) as exc:
        # datetime.fromtimestamp on an absurd Unix time raises these, not ValueError.
        return _problem(origin, locator, f"a timestamp is out of range: {exc}", raw)
    except Exception as exc:  # one bad record must not end the import
        return _problem(origin, locator, record_failure(exc), raw)


# --------------------------------------------------------------------------
# posts


def _graphql_caption(node: dict[str, Any]) -> str | None:
    edges = _edges(node, "edge_media_to_caption")
    if edges:
        return _dict(_dict(edges[0]).get("node")).get("text")
    caption = node.get("caption")
    if isinstance(caption, dict):  # a v1 item
        return caption.get("text")
    if isinstance(caption, str):  # Post.from_iphone_struct, StoryItem
        return caption
    return None


def _image_urls(node: dict[str, Any]) -> list[tuple[int, str | None]]:
    """``(position, url)`` of a node's pictures: sidecar children from 1, else one at 0."""
    children = _edges(node, "edge_sidecar_to_children")
    if children:
        return [(n, _dict(_dict(edge).get("node")).get("display_url")) for n, edge in enumerate(children, start=1)]
    carousel = _list(node.get("carousel_media"))
    if carousel:
        return [
            (n, _first_candidate_url(_dict(child)) or _dict(child).get("display_uri"))
            for n, child in enumerate(carousel, start=1)
        ]
    url = node.get("display_url") or node.get("display_src") or _first_candidate_url(node) or node.get("display_uri")
    if url is None:
        resources = _list(node.get("display_resources"))  # StoryItem.url
        if resources:
            url = _dict(resources[-1]).get("src")
    return [(0, url)] if url else []


def _image_refs(urls: list[tuple[int, str | None]], image_file: ImageFinder | None) -> list[dict[str, Any]]:
    images = []
    for position, url in urls:
        found = image_file(position, url) if image_file is not None else None
        if found is None and not url:
            continue
        ref: dict[str, Any] = {"url": url or None}
        if found is not None:
            ref["path"] = str(found.absolute())  # not relative to wherever the import ran
            ref["sha256"] = file_sha256(found)
        images.append(ref)
    return images


def _is_v1(node: dict[str, Any]) -> bool:
    """A v1 API item (``code``, ``taken_at``, ``caption.text``) rather than a GraphQL node.

    instaloader's own nodes (including ``Post.from_iphone_struct``) carry
    ``shortcode``; v1 items carry ``code`` and ``taken_at``.
    """
    typename = node.get("__typename")
    graphql = ("shortcode", "edge_media_to_caption", "taken_at_timestamp", "date", "display_url")
    if any(key in node for key in graphql) or (isinstance(typename, str) and typename.startswith("Graph")):
        return False
    return any(
        key in node for key in ("code", "taken_at", "image_versions2", "media_type", "carousel_media", "display_uri")
    )


def post_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The :class:`Event` fields of a post node, GraphQL or v1 (id may be ``None``)."""
    iphone = _dict(node.get("iphone_struct"))
    if _is_v1(node):
        iphone, node = node, {}
    owner = (
        _dict(node.get("owner")) or _dict(node.get("user")) or _dict(iphone.get("user")) or _dict(iphone.get("owner"))
    )
    created = node.get("date", node.get("taken_at_timestamp"))
    if created is None:
        created = iphone.get("taken_at")
    text = _graphql_caption(node) if node else None
    if text is None and iphone:
        text = _graphql_caption(iphone)
    shortcode = node.get("shortcode") or node.get("code") or iphone.get("code")
    media_type = iphone.get("media_type")
    is_video = node.get("is_video")
    if is_video is None:
        is_video = _is_video_type(media_type)
    likes = _count(node, "edge_media_preview_like")
    if likes is None:
        likes = _count(node, "edge_liked_by")
    if likes is None:
        likes = iphone.get("like_count")
    comment_count = _count(node, "edge_media_to_comment")
    if comment_count is None:
        comment_count = _count(node, "edge_media_to_parent_comment")
    if comment_count is None:
        comment_count = iphone.get("comment_count")
    location = _dict(node.get("location")) or _dict(iphone.get("location"))
    video_url = node.get("video_url")
    if video_url is None:
        versions = _list(iphone.get("video_versions"))
        video_url = _dict(versions[0]).get("url") if versions else None
    tagged = [
        _dict(_dict(_dict(edge).get("node")).get("user")).get("username")
        for edge in _edges(node, "edge_media_to_tagged_user")
    ]
    meta = _drop_none(
        {
            "shortcode": shortcode,
            "permalink": _permalink(shortcode),
            "typename": node.get("__typename"),
            "media_type": media_type,
            "is_video": is_video,
            "video_url": video_url,
            "video_view_count": node.get("video_view_count", iphone.get("view_count")),
            "likes": likes,
            "comment_count": comment_count,
            "location": location.get("name") or location.get("short_name"),
            "place": place_fields(location),
            "play_count": iphone.get("play_count", iphone.get("ig_play_count", node.get("video_play_count"))),
            "carousel_videos": _carousel_videos(node) if node else _carousel_videos(iphone),
            "owner_id": _id(owner.get("id")) or _id(owner.get("pk")),
            "tagged_users": [name for name in tagged if name] or None,
            "accessibility_caption": node.get("accessibility_caption", iphone.get("accessibility_caption")),
            "title": node.get("title", iphone.get("title")),
            "product_type": iphone.get("product_type"),
        }
    )
    urls = _image_urls(node) if node else []
    if not urls and iphone:
        urls = _image_urls(iphone)
    return {
        "id": _id(node.get("id")) or _id(iphone.get("pk")) or _id(iphone.get("id")),
        "text": text,
        "created_at": created,
        "author": owner.get("username"),
        "meta": meta,
        "image_urls": urls,
    }


def _post_record(
    node: dict[str, Any],
    origin: Origin,
    locator: str,
    image_file: ImageFinder | None,
    extra_meta: dict[str, Any] | None,
) -> ReadItem:
    try:
        fields = post_fields(node)
        if fields["id"] is None:
            return _problem(origin, locator, "post node has no 'id' (nor 'pk')", node)
        meta = {**fields["meta"], **(extra_meta or {})}
        data = {
            "id": fields["id"],
            "platform": PLATFORM,
            "kind": "post",
            "text": fields["text"],
            "created_at": fields["created_at"],
            "author": fields["author"],
            "images": _image_refs(fields["image_urls"], image_file),
            "meta": meta,
            "provenance": origin.provenance(node, locator),
        }
    except _SHAPE_ERRORS as exc:
        return _problem(origin, locator, f"unexpected post node shape: {type(exc).__name__}: {exc}", node)
    except OSError as exc:
        return _problem(origin, locator, f"cannot read a saved image of this post: {exc}", node)
    except Exception as exc:  # one bad record must not end the import
        return _problem(origin, locator, record_failure(exc), node)
    return _build(Event, data, origin, locator, node)


# --------------------------------------------------------------------------
# comments


@dataclass(frozen=True, slots=True)
class _Comment:
    """One raw comment, normalised: its fields and its raw replies."""

    id: str | None
    text: Any
    created_at: Any
    author: Any
    meta: dict[str, Any]
    parent_id: str | None  # only where the payload names the parent itself (v1)
    replies: list[tuple[str, Any]]  # (locator, raw reply)


def _instaloader_comment(raw: dict[str, Any], locator: str) -> _Comment:
    """A ``_comments.json`` entry (``Instaloader.update_comments``)."""
    owner = _dict(raw.get("owner"))
    replies = [(f"{locator}.answers[{i}]", answer) for i, answer in enumerate(_list(raw.get("answers")))]
    return _Comment(
        id=_id(raw.get("id")),
        text=raw.get("text"),
        created_at=raw.get("created_at"),
        author=owner.get("username"),
        meta=_drop_none({"likes": raw.get("likes_count"), "owner_id": _id(owner.get("id") or owner.get("pk"))}),
        parent_id=None,
        replies=replies,
    )


def _graphql_comment(raw: dict[str, Any], locator: str) -> _Comment:
    """An inline comment node (``edge_media_to_comment.edges[].node``)."""
    owner = _dict(raw.get("owner"))
    replies = [
        (f"{locator}.edge_threaded_comments.edges[{i}].node", _dict(edge).get("node"))
        for i, edge in enumerate(_edges(raw, "edge_threaded_comments"))
    ]
    return _Comment(
        id=_id(raw.get("id")),
        text=raw.get("text"),
        created_at=raw.get("created_at"),
        author=owner.get("username"),
        meta=_drop_none({"likes": _count(raw, "edge_liked_by"), "owner_id": _id(owner.get("id"))}),
        parent_id=None,
        replies=replies,
    )


def _v1_comment(raw: dict[str, Any], locator: str) -> _Comment:
    """A v1 comment (``preview_comments[]``, iPhone comments endpoint)."""
    user = _dict(raw.get("user"))
    replies = [
        (f"{locator}.preview_child_comments[{i}]", child)
        for i, child in enumerate(_list(raw.get("preview_child_comments")))
    ]
    return _Comment(
        id=_id(raw.get("pk")) or _id(raw.get("id")),
        text=raw.get("text"),
        created_at=raw.get("created_at"),
        author=user.get("username"),
        meta=_drop_none({"likes": raw.get("comment_like_count"), "owner_id": _id(user.get("pk") or user.get("id"))}),
        parent_id=_id(raw.get("parent_comment_id")),
        replies=replies,
    )


CommentShape = Callable[[dict[str, Any], str], _Comment]


def comment_items(
    raws: list[tuple[str, Any]],
    shape: CommentShape,
    origin: Origin,
    *,
    parent_id: str | None,
    post_id: str | None,
    orphan_reason: str | None = None,
) -> Iterator[ReadItem]:
    """One :class:`Parsed` or :class:`Problem` per raw comment, replies included, depth first.

    ``parent_id`` is what the top-level comments answer (the post); when it or
    ``post_id`` is unknown every comment becomes a Problem giving
    ``orphan_reason``. Replies are walked with an explicit stack, so a thread
    nested as deep as the JSON parser allows costs no recursion.
    """
    stack: list[tuple[Iterator[tuple[str, Any]], str | None, str | None]] = [(iter(raws), parent_id, orphan_reason)]
    while stack:
        siblings, answers, orphan = stack[-1]
        step = next(siblings, None)
        if step is None:
            stack.pop()
            continue
        locator, raw = step
        if not isinstance(raw, dict):
            yield _problem(origin, locator, f"expected a comment object, got {type(raw).__name__}", raw)
            continue
        try:
            comment = shape(raw, locator)
        except _SHAPE_ERRORS as exc:
            yield _problem(origin, locator, f"unexpected comment shape: {type(exc).__name__}: {exc}", raw)
            continue
        except Exception as exc:  # one bad record must not end the import
            yield _problem(origin, locator, record_failure(exc), raw)
            continue
        answered = comment.parent_id or answers
        if post_id is None or answered is None:
            yield _problem(origin, locator, orphan or "the post this comment belongs to is unknown", raw)
        elif comment.id is None:
            yield _problem(origin, locator, "comment has no 'id'", raw)
        else:
            try:
                provenance = origin.provenance(raw, locator)
            except Exception as exc:  # e.g. a payload too deeply nested to hash
                yield _problem(origin, locator, record_failure(exc), raw)
            else:
                data = {
                    "id": comment.id,
                    "platform": PLATFORM,
                    "kind": "comment",
                    "parent_id": answered,
                    "post_id": post_id,
                    "text": comment.text,
                    "created_at": comment.created_at,
                    "author": comment.author,
                    "meta": comment.meta,
                    "provenance": provenance,
                }
                yield _build(Event, data, origin, locator, raw)
        if comment.replies:
            if comment.id is None:
                reason = orphan if post_id is None else "the comment this reply answers has no 'id'"
            else:
                reason = orphan
            stack.append((iter(comment.replies), comment.id, reason))


def _join(prefix: str, key: str) -> str:
    """``node`` + ``x`` -> ``node.x``; ``line 3:`` + ``x`` -> ``line 3: x``."""
    return f"{prefix} {key}" if prefix.endswith(":") else f"{prefix}.{key}"


def _inline_comment_items(node: dict[str, Any], origin: Origin, inner: str, post_id: str | None) -> Iterator[ReadItem]:
    thread = {"parent_id": post_id, "post_id": post_id}
    if not post_id:
        thread["orphan_reason"] = "the post node these comments are in has no 'id'"
    for key in _GRAPHQL_COMMENT_EDGES:
        raws = [
            (_join(inner, f"{key}.edges[{i}].node"), _dict(edge).get("node"))
            for i, edge in enumerate(_edges(node, key))
        ]
        yield from comment_items(raws, _graphql_comment, origin, **thread)
    iphone = _dict(node.get("iphone_struct"))
    for container, where in ((node, inner), (iphone, _join(inner, "iphone_struct"))):
        for key in _V1_COMMENT_LISTS:
            raws = [(_join(where, f"{key}[{i}]"), raw) for i, raw in enumerate(_list(container.get(key)))]
            yield from comment_items(raws, _v1_comment, origin, **thread)


def media_items(
    node: dict[str, Any],
    origin: Origin,
    locator: str,
    *,
    image_file: ImageFinder | None = None,
    extra_meta: dict[str, Any] | None = None,
    inner: str | None = None,
) -> Iterator[ReadItem]:
    """The post in an Instagram media node (GraphQL node or v1 item) and every comment inlined in it.

    ``locator`` locates the node; comment locators extend ``inner`` (default
    ``locator``): ``node`` -> ``node.edge_media_to_comment.edges[0].node``,
    ``line 3: data`` -> ``line 3: data.preview_comments[0]``, ``line 3:`` ->
    ``line 3: preview_comments[0]``.
    """
    yield _post_record(node, origin, locator, image_file, extra_meta)
    try:
        post_id = post_fields(node)["id"]
    except Exception:  # the post itself is a Problem already; its comments become orphans
        post_id = None
    yield from _inline_comment_items(node, origin, inner or locator, post_id)


# --------------------------------------------------------------------------
# profiles and story items


def _account_record(node: dict[str, Any], origin: Origin, locator: str, extra_meta: dict[str, Any]) -> ReadItem:
    try:
        return _account_record_unguarded(node, origin, locator, extra_meta)
    except Exception as exc:  # one bad record must not end the import
        return _problem(origin, locator, record_failure(exc), node)


def _account_record_unguarded(
    node: dict[str, Any], origin: Origin, locator: str, extra_meta: dict[str, Any]
) -> ReadItem:
    iphone = _dict(node.get("iphone_struct"))
    username = node.get("username") or iphone.get("username")
    if not username:
        return _problem(origin, locator, "profile node has no 'username'", node)
    data = {
        "username": username,
        "platform": PLATFORM,
        "user_id": _id(node.get("id")) or _id(node.get("pk")) or _id(iphone.get("pk")),
        "full_name": node.get("full_name", iphone.get("full_name")),
        "bio": node.get("biography", iphone.get("biography")),
        "followers": _first_present(
            _count(node, "edge_followed_by"), node.get("follower_count"), iphone.get("follower_count")
        ),
        "following": _first_present(
            _count(node, "edge_follow"), node.get("following_count"), iphone.get("following_count")
        ),
        "posts_count": _first_present(
            _count(node, "edge_owner_to_timeline_media"), node.get("media_count"), iphone.get("media_count")
        ),
        "is_private": node.get("is_private", iphone.get("is_private")),
        "meta": {**profile_meta(node, iphone), **extra_meta},
        "provenance": origin.provenance(node, locator),
    }
    return _build(Account, data, origin, locator, node)


def _first_present(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def profile_meta(node: dict[str, Any], iphone: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` of a profile (GraphQL ``Profile._asdict()`` or a v1 user); see the module docstring."""
    iphone = iphone or {}

    def get(key: str) -> Any:
        value = node.get(key)
        return iphone.get(key) if value is None else value

    links = [_dict(link).get("url") or _dict(link).get("lynx_url") for link in _list(get("bio_links"))]
    phone = get("business_phone_number") or get("contact_phone_number")
    if not phone and get("public_phone_number"):
        code = get("public_phone_country_code")
        phone = f"+{code} {get('public_phone_number')}" if code else get("public_phone_number")
    address = _json_object(get("business_address_json"))
    if not address:
        address = {key: get(key) for key in ("city_name", "address_street", "zip", "latitude", "longitude")}
    address = {key: value for key, value in address.items() if value not in (None, "")}
    return _drop_none(
        {
            "is_verified": get("is_verified"),
            "is_business_account": get("is_business_account")
            if get("is_business_account") is not None
            else get("is_business"),
            "is_professional_account": get("is_professional_account"),
            "business_category_name": get("business_category_name"),
            "category_name": get("category_name") or get("category"),
            "external_url": get("external_url"),
            "bio_links": [link for link in links if isinstance(link, str) and link] or None,
            "business_email": get("business_email") or get("public_email") or None,
            "business_phone": str(phone) if phone else None,
            "business_address": address or None,
            "profile_pic_url": get("profile_pic_url_hd") or get("profile_pic_url"),
        }
    )


def story_meta(node: dict[str, Any]) -> dict[str, Any]:
    """Mentions, hashtags, links and the place of a story item (GraphQL tappable objects or v1 stickers).

    Read from the node and from its ``iphone_struct`` (the v1 item instaloader saves beside it).
    """
    mentions: list[str] = []
    hashtags: list[str] = []
    links: list[str] = []
    posts: list[str] = []
    place = None
    for container in (node, _dict(node.get("iphone_struct"))):
        for tappable in _list(container.get("tappable_objects")):
            tappable = _dict(tappable)
            kind = tappable.get("__typename")
            if kind == "GraphTappableMention" and isinstance(tappable.get("username"), str):
                mentions.append(tappable["username"])
            elif kind == "GraphTappableHashtag" and isinstance(tappable.get("name"), str):
                hashtags.append(tappable["name"])
            elif kind == "GraphTappableLocation":
                place = place or place_fields(tappable)
            elif kind == "GraphTappableFeedMedia":
                code = _dict(tappable.get("media")).get("shortcode")
                if isinstance(code, str):
                    posts.append(code)
        for mention in _list(container.get("reel_mentions")):
            username = _dict(_dict(mention).get("user")).get("username")
            if isinstance(username, str):
                mentions.append(username)
        for tag in _list(container.get("story_hashtags")):
            name = _dict(_dict(tag).get("hashtag")).get("name")
            if isinstance(name, str):
                hashtags.append(name)
        for sticker in _list(container.get("story_link_stickers")):
            url = _dict(_dict(sticker).get("story_link")).get("url")
            if isinstance(url, str):
                links.append(url)
        for located in _list(container.get("story_locations")):
            place = place or place_fields(_dict(located).get("location"))
        if isinstance(container.get("story_cta_url"), str):
            links.append(container["story_cta_url"])
    return _drop_none(
        {
            "mentions": list(dict.fromkeys(mentions)) or None,
            "story_hashtags": list(dict.fromkeys(hashtags)) or None,
            "story_links": list(dict.fromkeys(links)) or None,
            "linked_posts": list(dict.fromkeys(posts)) or None,
            "place": place,
        }
    )


def _story_record(
    node: dict[str, Any], origin: Origin, locator: str, image_file: ImageFinder, extra_meta: dict[str, Any]
) -> ReadItem:
    video_resources = _list(node.get("video_resources"))
    meta = {
        "story_item": True,
        "expiring_at": node.get("expiring_at_timestamp"),
        "video_url": _dict(video_resources[-1]).get("src") if video_resources else None,
        **story_meta(node),
        **extra_meta,
    }
    return _post_record(node, origin, locator, image_file, _drop_none(meta))


# --------------------------------------------------------------------------
# files


def _instaloader_extension(url: str) -> str:
    """The extension ``Instaloader.download_pic`` gives a file downloaded from ``url``."""
    match = re.search(r"\.[a-z0-9]*\?", url)
    return url[-3:] if match is None else match.group(0)[1:-1]


def _image_finder(metadata_file: Path) -> ImageFinder:
    base = _strip_structure_suffix(metadata_file.name)

    def find(position: int, url: str | None) -> Path | None:
        stem = base if position == 0 else f"{base}_{position}"
        extensions = [_instaloader_extension(url)] if url else []
        extensions += [ext for ext in _FALLBACK_IMAGE_EXTENSIONS if ext not in extensions]
        for ext in extensions:
            candidate = metadata_file.with_name(f"{stem}.{ext}")
            if candidate.is_file():
                return candidate
        return None

    return find


def _strip_structure_suffix(name: str) -> str:
    for suffix in _STRUCTURE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_comments_file(path: Path) -> bool:
    return path.name.endswith(_COMMENTS_SUFFIX)


def _is_structure_file(path: Path) -> bool:
    return path.name.endswith(_STRUCTURE_SUFFIXES) and not _is_comments_file(path)


def _post_files_for(comments_file: Path) -> list[Path]:
    base = comments_file.name[: -len(_COMMENTS_SUFFIX)]
    return [comments_file.with_name(base + suffix) for suffix in (".json", ".json.xz")]


def _comments_file_for(structure_file: Path) -> Path:
    return structure_file.with_name(_strip_structure_suffix(structure_file.name) + _COMMENTS_SUFFIX)


def _load(path: Path) -> Any | Problem:
    """The JSON in ``path`` (LZMA when the name ends in ``.xz``), or a Problem saying why not.

    The file is read under :func:`~drugwatch.io.limits.max_document_bytes`
    (counted while decompressing), so a small ``.xz`` that expands to
    gigabytes is refused at the cap instead of being read whole.
    """
    source = str(path)
    try:
        data = read_document(path)
    except InputTooLarge as exc:
        return Problem(source, "file", str(exc))
    except (lzma.LZMAError, EOFError) as exc:
        return Problem(source, "file", f"corrupt xz file: {exc}")
    except OSError as exc:
        return Problem(source, "file", f"cannot read: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(source, "file", f"not UTF-8 text: {exc.reason} at byte {exc.start}")
    del data
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(
            source, "file", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", text[:MAX_RAW_CHARS]
        )
    except RecursionError:
        return Problem(source, "file", "invalid JSON: nested too deeply to parse", text[:MAX_RAW_CHARS])
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return Problem(source, "file", f"invalid JSON: {short_message(exc)}", text[:MAX_RAW_CHARS])


@dataclass(frozen=True, slots=True)
class _Structure:
    node_type: str
    node: Any
    version: str | None
    locator: str


def _unwrap(obj: Any) -> _Structure | str:
    """The structure in a loaded metadata file, or why it is not one (``load_structure``)."""
    if isinstance(obj, dict) and "node" in obj and isinstance(obj.get("instaloader"), dict):
        header = obj["instaloader"]
        if "node_type" in header:
            return _Structure(str(header["node_type"]), obj["node"], header.get("version"), "node")
    if isinstance(obj, dict) and "shortcode" in obj:
        return _Structure("Post", obj, None, "document")  # Instaloader v3 post JSON
    return (
        'not an instaloader JSON: expected {"node": {...}, "instaloader": {"node_type": ...}}, '
        f"got {_describe_json(obj)}"
    )


def _describe_json(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(sorted(map(str, obj))[:8])
        return f"an object with keys {keys or '(none)'}"
    return f"a JSON {type(obj).__name__}"


def _structure_items(path: Path) -> tuple[list[ReadItem], str | None, str | None]:
    """Records of one metadata file, the post id its comments answer, and why there is none."""
    try:
        return _structure_items_unguarded(path)
    except Exception as exc:  # one bad file must not end a folder's import
        reason = f"cannot read this file: {type(exc).__name__}: {short_message(exc)}"
        return [Problem(str(path), "file", reason)], None, f"{path.name} could not be read"


def _structure_items_unguarded(path: Path) -> tuple[list[ReadItem], str | None, str | None]:
    origin = Origin(str(path), _file_time(path), IMPORTER)
    loaded = _load(path)
    if isinstance(loaded, Problem):
        return [loaded], None, f"the post file {path.name} could not be read ({loaded.reason})"
    structure = _unwrap(loaded)
    if isinstance(structure, str):
        problem = Problem(origin.source, "file", structure, raw_text(loaded))
        return [problem], None, f"{path.name} is {structure}"
    node, locator = structure.node, structure.locator
    extra = _drop_none({"node_type": structure.node_type, "instaloader_version": structure.version})
    if structure.node_type in ("Hashtag", "FrozenNodeIterator"):
        log.info("%s: a %s holds no posts, comments or accounts; nothing to import", path, structure.node_type)
        return [], None, f"{path.name} is a {structure.node_type}, not a post"
    if not isinstance(node, dict):
        reason = f"'node' is a JSON {type(node).__name__}, expected an object"
        return [_problem(origin, locator, reason, node)], None, reason
    if structure.node_type == "Post":
        records = media_items(node, origin, locator, image_file=_image_finder(path), extra_meta=extra)
        items = list(guarded(records, origin.source, locator))
        try:
            post_id = post_fields(node)["id"]
        except Exception:  # reported by media_items as the post's Problem
            post_id = None
        return items, post_id, None if post_id else f"the post in {path.name} has no 'id'"
    if structure.node_type == "Profile":
        return [_account_record(node, origin, locator, extra)], None, f"{path.name} is a profile, not a post"
    if structure.node_type == "StoryItem":
        story = _story_record(node, origin, locator, _image_finder(path), extra)
        return [story], None, "story items have no comments"
    reason = (
        f"unknown instaloader node_type {structure.node_type!r}; "
        "expected Post, Profile, StoryItem, Hashtag or FrozenNodeIterator"
    )
    return [Problem(origin.source, "file", reason, raw_text(loaded))], None, reason


def _comments_items(path: Path, post_id: str | None, orphan_reason: str | None) -> Iterator[ReadItem]:
    try:
        origin = Origin(str(path), _file_time(path), IMPORTER)
    except OSError as exc:
        yield Problem(str(path), "file", f"cannot read: {exc.strerror or exc}")
        return
    loaded = _load(path)
    if isinstance(loaded, Problem):
        yield loaded
        return
    if not isinstance(loaded, list):
        reason = f"a comments file holds a JSON list, got {_describe_json(loaded)}"
        yield Problem(origin.source, "file", reason, raw_text(loaded))
        return
    raws = [(f"[{i}]", raw) for i, raw in enumerate(loaded)]
    comments = comment_items(
        raws, _instaloader_comment, origin, parent_id=post_id, post_id=post_id, orphan_reason=orphan_reason
    )
    yield from guarded(comments, origin.source, "file")


def _post_id_for_comments(comments_file: Path, post_files: list[Path]) -> tuple[str | None, str | None]:
    existing = [p for p in post_files if p.is_file()]
    if not existing:
        names = " or ".join(p.name for p in post_files)
        return None, f"no post file ({names}) next to {comments_file.name}, so the post is unknown"
    _, post_id, reason = _structure_items(existing[0])
    return post_id, reason


def _files_under(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).parts)


def _read_directory(files: list[Path]) -> Iterator[ReadItem]:
    present = set(files)
    claimed: set[Path] = set()
    for path in files:
        if _is_structure_file(path):
            items, post_id, reason = _structure_items(path)
            yield from items
            comments = _comments_file_for(path)
            if comments in present and comments not in claimed:
                claimed.add(comments)
                yield from _comments_items(comments, post_id, reason)
        elif _is_comments_file(path) and path not in claimed:
            if any(p in present for p in _post_files_for(path)):
                continue  # read with its post file (the walk reaches it too)
            claimed.add(path)
            post_id, reason = _post_id_for_comments(path, _post_files_for(path))
            yield from _comments_items(path, post_id, reason)


def read_instaloader(path: str | os.PathLike[str]) -> Iterator[ReadItem]:
    """Read instaloader output: one metadata file, one ``_comments.json``, or a directory tree.

    A post file is read with the ``<name>_comments.json`` next to it. A
    directory is walked recursively in sorted order. Raises
    :class:`ReaderError` when ``path`` does not exist, is not an instaloader
    JSON file, or is a directory without any.
    """
    root = Path(path)
    if root.is_dir():
        files = _files_under(root)
        if not any(_is_structure_file(p) or _is_comments_file(p) for p in files):
            raise ReaderError(f"no instaloader JSON files (.json, .json.xz, _comments.json) under {root}")
        return _read_directory(files)
    if not root.is_file():
        raise ReaderError(f"no such file or directory: {root}")
    if _is_comments_file(root):
        post_id, reason = _post_id_for_comments(root, _post_files_for(root))
        return _comments_items(root, post_id, reason)
    if not _is_structure_file(root):
        raise ReaderError(f"not an instaloader JSON file (.json, .json.xz or _comments.json): {root}")
    return _read_file(root)


def _read_file(path: Path) -> Iterator[ReadItem]:
    items, post_id, reason = _structure_items(path)
    yield from items
    comments = _comments_file_for(path)
    if comments.is_file():
        yield from _comments_items(comments, post_id, reason)
