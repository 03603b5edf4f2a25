"""How a record that is already stored absorbs a new copy of itself.

Records with the same key (``platform:id`` for events, ``platform:username``
for accounts) are one record seen twice: once under a hashtag search and
again in a timeline, or in two exports. The rule, field by field:

* an empty incoming value (``None``, ``""``, empty list or dict) never
  erases a stored one;
* hashtags and images are unions (stored order first, then new ones;
  images are matched by SHA-256, else by URL, else by path);
* ``meta`` is a dict update (incoming keys win);
* every other non-empty incoming value replaces the stored one (the later
  import is the fresher view, e.g. new follower counts).

Provenance follows content: it is replaced only when the merge changed the
content, so it always names the payload the stored content came from.
"""

from __future__ import annotations

from typing import Any

from drugwatch.records import Account, Event, ImageRef, sha256_json


def content_digest(record: Event | Account) -> str:
    """SHA-256 of everything but provenance (and an account's timeline)."""
    return sha256_json(record.model_dump(mode="json", exclude={"provenance", "timeline"}))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == [] or value == {}


def _image_id(image: ImageRef) -> tuple[str, str]:
    if image.sha256:
        return ("sha256", image.sha256)
    if image.url:
        return ("url", image.url)
    return ("path", image.path or "")


def _merge_images(stored: tuple[ImageRef, ...], incoming: tuple[ImageRef, ...]) -> tuple[ImageRef, ...]:
    merged = list(stored)
    index = {_image_id(image): i for i, image in enumerate(merged)}
    for image in incoming:
        same = index.get(_image_id(image))
        if same is None and image.url:
            same = index.get(("url", image.url))
        if same is None:
            index[_image_id(image)] = len(merged)
            merged.append(image)
            continue
        old = merged[same]
        # Fill what the stored copy lacked (a downloaded path, a digest).
        merged[same] = old.model_copy(
            update={k: v for k, v in image.model_dump().items() if v is not None and getattr(old, k) is None}
        )
    return tuple(merged)


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
    if not update:
        return stored
    merged = stored.model_copy(update=update)
    if content_digest(merged) == content_digest(stored):
        return stored
    # Revalidate: a merge must not produce an invalid record (a post with a parent).
    merged = type(stored).model_validate(
        {**merged.model_dump(), "provenance": (incoming.provenance or stored.provenance)}
    )
    return merged
