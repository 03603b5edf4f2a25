"""How a record that is already stored absorbs a new copy of itself.

Records with the same key (``platform:id`` for events, ``platform:username``
for accounts) are one record seen twice: once under a hashtag search and
again in a timeline, or in two exports. The rule, field by field:

* an empty incoming value (``None``, ``""``, empty list or dict) never
  erases a stored one;
* hashtags and images are unions (stored order first, then new ones). Two
  images are one when they share any identity: SHA-256, path, or URL, where
  an Instagram / Facebook CDN URL is known by its file name (the same picture
  comes under other hosts, sizes and signed query strings in each capture);
  images with two different SHA-256s are never one. The matched copy keeps
  what it had and gains what it lacked (a path, a digest, a URL);
* ``meta`` is a dict update (incoming keys win);
* every other non-empty incoming value replaces the stored one (the later
  import is the fresher view, e.g. new follower counts).

Provenance follows content and keeps every source: its own fields name the
payload the stored content came from (replaced only when the merge changed
the content), and ``provenance.also`` lists every other source the record
was imported from (one per ``(platform, importer, source)``, at most
:data:`~drugwatch.records.MAX_PROVENANCE`). A copy from a source not yet
listed is a change (``merged``) even when its content adds nothing; a copy
from a listed source that adds nothing leaves the record as it is
(``unchanged``), so imports stay idempotent.
"""

from __future__ import annotations

import os
from typing import Any, overload
from urllib.parse import urlsplit

from drugwatch.records import MAX_PROVENANCE, Account, Event, ImageRef, Provenance, SourceRef, sha256_json

#: Hosts whose image URLs name the same file under many hosts and query strings.
_CDN_SUFFIXES = (".cdninstagram.com", ".fbcdn.net")


def content_digest(record: Event | Account) -> str:
    """SHA-256 of everything but provenance (and an account's timeline)."""
    return sha256_json(record.model_dump(mode="json", exclude={"provenance", "timeline"}))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == [] or value == {}


def _image_ids(image: ImageRef) -> list[tuple[str, str]]:
    """Every identity of ``image``: its digest, its path, its URL (a CDN URL by file name)."""
    ids = []
    if image.sha256:
        ids.append(("sha256", image.sha256))
    if image.path:
        ids.append(("path", os.path.normpath(image.path)))
    if image.url:
        parts = urlsplit(image.url)
        host = (parts.hostname or "").lower()
        name = parts.path.rsplit("/", 1)[-1]
        if name and (host.endswith(_CDN_SUFFIXES) or host in ("cdninstagram.com", "fbcdn.net")):
            ids.append(("cdn-file", name))
        else:
            ids.append(("url", image.url.split("#", 1)[0]))
    return ids


def _merge_images(stored: tuple[ImageRef, ...], incoming: tuple[ImageRef, ...]) -> tuple[ImageRef, ...]:
    merged = list(stored)
    index: dict[tuple[str, str], int] = {}
    for i, image in enumerate(merged):
        for ident in _image_ids(image):
            index.setdefault(ident, i)
    for image in incoming:
        same = next(
            (
                index[ident]
                for ident in _image_ids(image)
                if ident in index
                and not (image.sha256 and merged[index[ident]].sha256 and image.sha256 != merged[index[ident]].sha256)
            ),
            None,
        )
        if same is None:
            same = len(merged)
            merged.append(image)
        else:
            old = merged[same]
            # Fill what the stored copy lacked (a downloaded path, a digest).
            merged[same] = old.model_copy(
                update={k: v for k, v in image.model_dump().items() if v is not None and getattr(old, k) is None}
            )
        for ident in _image_ids(merged[same]):
            index.setdefault(ident, same)
    return tuple(merged)


def merge_provenance(
    stored: Provenance | None, incoming: Provenance | None, *, content_changed: bool
) -> Provenance | None:
    """Both provenances in one: the content's source first, every other source in ``also``."""
    if incoming is None:
        return stored
    if stored is None:
        return incoming
    primary = (incoming if content_changed else stored).own
    also: dict[tuple[str, str | None, str], SourceRef] = {}
    dropped = stored.also_dropped + incoming.also_dropped
    # Oldest first: what the stored record had, then what the incoming copy brings.
    for ref in (*stored.also, stored.own, *incoming.also, incoming.own):
        if ref.identity != primary.identity:
            also.pop(ref.identity, None)  # the newest copy of a source stands for it, at the end
            also[ref.identity] = ref
    refs = list(also.values())
    if len(refs) > MAX_PROVENANCE - 1:
        dropped += len(refs) - (MAX_PROVENANCE - 1)
        refs = refs[len(refs) - (MAX_PROVENANCE - 1) :]
    return Provenance.model_validate({**primary.model_dump(), "also": refs, "also_dropped": dropped})


def _same_sources(a: Provenance | None, b: Provenance | None) -> bool:
    """Whether ``a`` names no source ``b`` lacks (the order of ``also`` aside)."""
    if a is None or b is None:
        return a is b
    return (
        a.identity == b.identity
        and {r.identity for r in a.also} == {r.identity for r in b.also}
        and a.also_dropped == b.also_dropped
    )


@overload
def merge_records(stored: Event, incoming: Event) -> Event: ...
@overload
def merge_records(stored: Account, incoming: Account) -> Account: ...
@overload
def merge_records(stored: Event | Account, incoming: Event | Account) -> Event | Account: ...
def merge_records(stored: Event | Account, incoming: Event | Account) -> Event | Account:
    """``stored`` updated with ``incoming`` (same key) under the module's rules."""
    if type(stored) is not type(incoming):
        raise TypeError(f"cannot merge {type(incoming).__name__} into {type(stored).__name__}")
    if stored.key != incoming.key:
        raise ValueError(f"cannot merge {incoming.key!r} into {stored.key!r}: different records")
    update: dict[str, Any] = {}
    for name in type(stored).model_fields:
        if name in ("provenance", "timeline"):
            continue
        new = getattr(incoming, name)
        old = getattr(stored, name)
        if _empty(new) or new == old:
            continue
        if name == "hashtags":
            update[name] = tuple(dict.fromkeys((*old, *new)))
        elif name == "images":
            update[name] = _merge_images(old, new)
        elif name == "meta":
            update[name] = {**old, **new}
        else:
            update[name] = new
    merged = stored.model_copy(update=update) if update else stored
    changed = merged is not stored and content_digest(merged) != content_digest(stored)
    provenance = merge_provenance(stored.provenance, incoming.provenance, content_changed=changed)
    if not changed and _same_sources(provenance, stored.provenance):
        return stored
    # Revalidate: a merge must not produce an invalid record (a post with a parent).
    return type(stored).model_validate({**(merged if changed else stored).model_dump(), "provenance": provenance})
