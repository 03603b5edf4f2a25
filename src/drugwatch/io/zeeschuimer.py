"""Read Zeeschuimer and 4CAT NDJSON exports of Instagram posts.

Matched against:

``digitalmethodsinitiative/zeeschuimer``
    ``js/zs-background.js`` (``parse_request``): each captured item is stored as
    ``{"nav_index", "item_id", "timestamp_collected" (Date.now(), milliseconds),
    "source_platform" (the module's domain, "instagram.com"),
    "source_platform_url" (the page), "source_url" (the captured request),
    "user_agent", "data": <the Instagram item>}`` plus Dexie's auto-increment
    ``id``; ``popup/interface.js`` (``get_blob``) exports these rows one
    ``JSON.stringify`` per line (``.ndjson``). ``modules/instagram.js``
    (``capture``): the items are Instagram v1 media items (``id``,
    ``media_type``, ``user``, ``code``, ``caption``, ``taken_at``, ...) with
    Zeeschuimer's own ``_zs_partial`` (caption or video missing),
    ``_zs_instagram_view`` and ``_zs_html_embedded_json``; older exports hold
    GraphQL nodes (``shortcode``, ``edge_media_to_caption``, ``owner``).
``digitalmethodsinitiative/4cat``
    ``backend/lib/search.py`` (import of a Zeeschuimer upload): a 4CAT dataset
    line is ``{**item["data"], "__import_meta": {every other key of the
    Zeeschuimer line}}``; Zeeschuimer's own import turns that back.
    ``datasources/instagram/search_instagram.py`` (``map_item``): ads
    (``product_type == "ad"`` or a ``link`` to ``https://www.facebook.com/ads/ig_redirect``)
    are refused; a GraphQL node (``__typename`` other than ``XDTMediaDict``) is
    read with ``shortcode``, ``edge_media_to_caption.edges[0].node.text``,
    ``taken_at_timestamp``, ``user``/``owner`` ``username``, ``display_url``,
    ``edge_sidecar_to_children``, ``edge_media_preview_like.count``,
    ``location.name``; a v1 item with ``code``, ``caption.text``, ``taken_at``,
    ``user``/``owner`` ``username``, ``image_versions2.candidates[0].url``,
    ``carousel_media``, ``video_versions``, ``like_count``, ``comment_count``
    (or a ``comments`` list), ``location.name``.

v1 comments in an item: 4CAT only counts a ``comments`` list; the
``preview_comments`` list, and a comment's ``parent_comment_id`` (set when a
preview comment is itself a reply), are not in these three tools' code but in
public typed models of the v1 media item (``preview_comments: List[Comment]``,
``Comment.pk / user / text / created_at / comment_like_count /
parent_comment_id``). Each comment is read with the fields instaloader's
iPhone comment code uses (``pk``, ``text``, ``created_at``, ``user.username``,
``comment_like_count``, replies in ``preview_child_comments``).

Mapping: each non-blank line is one item; the post becomes an :class:`Event`
(``id`` <- GraphQL ``id`` or v1 ``pk`` (else ``id``); text, time, author,
images and ``meta`` as in :func:`drugwatch.io.instaloader.post_fields`,
current web items included: ``display_uri`` images, ``media_type`` as a
string, ``play_count``, the video of each carousel child in
``carousel_videos``, the whole location in ``place``), and
every comment in it an :class:`Event` with ``kind="comment"``. Line-level
``meta``: ``export_format`` (``"zeeschuimer"`` or ``"4cat"``),
``source_platform_url``, ``zeeschuimer_partial``, ``zeeschuimer_view``.
Provenance: ``source`` = the file, ``locator`` = ``line N`` (comments:
``line N: data.preview_comments[0]``), ``fetched_at`` = ``timestamp_collected``
(else the file's mtime), ``raw_sha256`` = :func:`~drugwatch.records.sha256_json`
of the Instagram item (``data``; for 4CAT lines the item without
``__import_meta``, so both exports of one capture hash alike) or of the
comment object; ``importer="zeeschuimer"``.

Problems, one per line: invalid JSON, a line that is neither shape, a
``source_platform`` other than Instagram (``not an Instagram item:
tiktok.com``), an ad, an item without id. A comment without id is a Problem
for that comment only. Blank lines are not records and are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.io.base import Problem, ReaderError, ReadItem, guarded, record_failure
from drugwatch.io.instaloader import Origin, media_items
from drugwatch.io.jsonl import _preview, iter_json_lines

IMPORTER = "zeeschuimer"

_INSTAGRAM_PLATFORMS = frozenset({"instagram.com"})
_FACEBOOK_AD_LINK = "https://www.facebook.com/ads/"


class _LineError(ValueError):
    """A line that cannot yield a post; the message is the Problem's reason."""


def _platform(value: Any) -> str:
    text = str(value).strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return text.split("/")[0].removeprefix("www.")


def _split(obj: dict[str, Any]) -> tuple[str, dict[str, Any], Any, str]:
    """``(export_format, capture metadata, Instagram item, locator prefix)`` of one line."""
    if "__import_meta" in obj:
        meta = obj["__import_meta"]
        if not isinstance(meta, dict):
            raise _LineError(f"'__import_meta' is a JSON {type(meta).__name__}, expected an object")
        item = {key: value for key, value in obj.items() if key != "__import_meta"}
        return "4cat", meta, item, ""
    if "data" in obj and ("source_platform" in obj or "item_id" in obj or "timestamp_collected" in obj):
        meta = {key: value for key, value in obj.items() if key != "data"}
        return "zeeschuimer", meta, obj["data"], "data"
    keys = ", ".join(sorted(map(str, obj))[:8]) or "(none)"
    raise _LineError(
        'neither a Zeeschuimer line ({"source_platform": ..., "data": {...}}) nor a 4CAT item '
        f'(with "__import_meta"); keys: {keys}'
    )


def _collected_at(meta: dict[str, Any]) -> datetime | None:
    value = meta.get("timestamp_collected")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None  # not a plausible time; the file's mtime is used instead


def _ad_reason(item: dict[str, Any]) -> str | None:
    if item.get("product_type") == "ad":
        return "an Instagram ad (product_type 'ad'), not a user post"
    link = item.get("link")
    if isinstance(link, str) and link.startswith(_FACEBOOK_AD_LINK):
        return f"an Instagram ad (link to {link.split('?')[0]}), not a user post"
    return None


def _line_items(obj: Any, raw: str, source: str, number: int, file_time: datetime) -> Iterator[ReadItem]:
    locator = f"line {number}"
    if not isinstance(obj, dict):
        yield Problem(source, locator, f"expected a JSON object, got {type(obj).__name__}", raw)
        return
    try:
        export_format, meta, item, prefix = _split(obj)
        if "source_platform" not in meta:
            raise _LineError("no 'source_platform'; cannot tell which site the item is from")
        platform = _platform(meta["source_platform"])
        if platform not in _INSTAGRAM_PLATFORMS:
            raise _LineError(f"not an Instagram item: {platform or repr(meta['source_platform'])}")
        if not isinstance(item, dict):
            raise _LineError(f"the Instagram item is a JSON {type(item).__name__}, expected an object")
        ad = _ad_reason(item)
        if ad:
            raise _LineError(ad)
    except _LineError as exc:
        yield Problem(source, locator, str(exc), raw)
        return
    except Exception as exc:  # one bad line must not end the import
        yield Problem(source, locator, record_failure(exc), raw)
        return
    origin = Origin(source, _collected_at(meta) or file_time, IMPORTER)
    extra = {
        "export_format": export_format,
        "source_platform_url": meta.get("source_platform_url"),
        "zeeschuimer_partial": item.get("_zs_partial"),
        "zeeschuimer_view": item.get("_zs_instagram_view"),
    }
    extra = {key: value for key, value in extra.items() if value is not None}
    inner = f"{locator}: {prefix}" if prefix else f"{locator}:"
    yield from media_items(item, origin, locator, extra_meta=extra, inner=inner)


def read_zeeschuimer(path: str | os.PathLike[str]) -> Iterator[ReadItem]:
    """Read a Zeeschuimer ``.ndjson`` export or a 4CAT Instagram NDJSON dataset.

    Raises :class:`ReaderError` only when the file cannot be opened.
    """
    file = Path(path)
    if not file.is_file():
        raise ReaderError(f"no such file: {file}")
    return _read(file)


def _read(file: Path) -> Iterator[ReadItem]:
    source = str(file)
    file_time = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    for number, raw, obj in iter_json_lines(file):
        if isinstance(obj, Problem):
            yield obj
            continue
        # The line as read is the Problem's raw: a line that broke the reader
        # may be one a JSON writer cannot print back.
        yield from guarded(_line_items(obj, _preview(raw), source, number, file_time), source, f"line {number}")
