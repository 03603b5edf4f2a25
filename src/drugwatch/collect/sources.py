"""Where a crawl gets its pages: the :class:`Source` protocol and :class:`ReplaySource`.

A source serves the five things every seed paper's collector asks Instagram
for, one *page* at a time so a crawl can checkpoint after each:

* a hashtag's feed, newest first (:meth:`Source.hashtag_page`);
* a post's comments with their replies to any depth (:meth:`Source.comments_page`);
* a profile with its bio and counts (:meth:`Source.profile`);
* a profile's timeline, newest first (:meth:`Source.timeline_page`), its
  followers and the accounts it follows (:meth:`Source.followers_page`,
  :meth:`Source.following_page`);
* an image's bytes (:meth:`Source.image`).

A page's ``next_cursor`` is plain JSON (saved in the checkpoint) or ``None``
at the end. Every request is charged to the source's
:class:`~drugwatch.collect.rate.RequestBudget` before it is made.

:class:`ReplaySource` serves a stored corpus (a :class:`~drugwatch.demo.DemoCorpus`,
a JSONL file, a :class:`~drugwatch.store.Store`) through the same interface,
for tests, simulations and re-crawls. Its cost model (one request per page)
is documented in ``docs/collect.md``; with ``redact=True`` (the default) it
serves what the platform would show and nothing more: no labels, no
``selling``, no ``dealer`` flag and none of the demo generator's truth in
``meta``, so a crawl over it cannot peek at the answers.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from drugwatch.collect.rate import (
    AuthError,
    NotFound,
    PrivateProfile,
    RateLimited,
    RequestBudget,
    TransientError,
)
from drugwatch.records import Account, Event, Provenance, sha256_json

T = TypeVar("T")

#: ``importer`` written into the provenance of every collected record.
IMPORTER = "drugwatch.collect"

#: Demo-generator truth kept in ``Event.meta``; never served by a redacting replay.
EVENT_TRUTH_META = frozenset(
    {
        "role",
        "depth",
        "mentions",
        "image_kind",
        "image_kinds",
        "image_labels",
        "image_text",
        "contacts",
        "obfuscation",
        "plain_text",
        "template",
    }
)
#: Demo-generator truth kept in ``Account.meta``.
ACCOUNT_TRUTH_META = frozenset(
    {"kind", "network", "network_link", "utc_offset_hours", "drugs", "contacts", "bio_contacts"}
)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a feed: its items and the cursor of the next page (``None`` at the end)."""

    items: tuple[T, ...]
    next_cursor: Any = None

    @property
    def last(self) -> bool:
        return self.next_cursor is None


@runtime_checkable
class Source(Protocol):
    """What a crawler needs from a platform; see the module docstring."""

    platform: str
    budget: RequestBudget

    def now(self) -> datetime:
        """The source's clock (UTC): what "3 months ago" is measured from."""
        ...

    def hashtag_page(self, tag: str, cursor: Any = None) -> Page[Event]: ...

    def comments_page(self, post: Event, cursor: Any = None) -> Page[Event]: ...

    def profile(self, username: str) -> Account: ...

    def timeline_page(self, username: str, cursor: Any = None) -> Page[Event]: ...

    def followers_page(self, username: str, cursor: Any = None) -> Page[str]: ...

    def following_page(self, username: str, cursor: Any = None) -> Page[str]: ...

    def image(self, event: Event, index: int = 0) -> bytes: ...


def _sort_time(event: Event) -> float:
    return event.created_at.timestamp() if event.created_at else float("-inf")


def _offset(cursor: Any) -> int:
    if cursor is None:
        return 0
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
        raise ValueError(f"a replay cursor is a non-negative page offset, got {cursor!r}")
    return cursor


class ReplaySource:
    """A stored corpus served page by page, as if it were the platform.

    Cost model (one charge to ``budget`` per request): a hashtag page of up
    to ``hashtag_page_size`` posts (newest first), a comments page of up to
    ``comments_page_size`` top-level comments with all their replies, one
    profile, a timeline page of up to ``timeline_page_size`` posts, a
    followers/following page of up to ``network_page_size`` names, one image.

    ``faults`` maps a request number (the budget's count after charging, so
    the same request fails again after a resume) to an HTTP status: 429
    raises :class:`RateLimited`, 401/403 :class:`AuthError`, 404
    :class:`NotFound`, 5xx :class:`TransientError`. ``latency`` sleeps that
    many seconds per request (a slow network, for interruption tests).
    ``as_of`` is the replay's clock and every record's ``fetched_at``
    (default: one day after the newest event), so replays are reproducible.
    """

    platform = "instagram"

    def __init__(
        self,
        accounts: Iterable[Account],
        events: Iterable[Event],
        *,
        name: str = "replay",
        budget: RequestBudget | None = None,
        hashtag_page_size: int = 30,
        comments_page_size: int = 20,
        timeline_page_size: int = 12,
        network_page_size: int = 50,
        redact: bool = True,
        as_of: datetime | None = None,
        faults: Mapping[int, int] | None = None,
        latency: float = 0.0,
        images: Mapping[str, bytes] | None = None,
        image_root: str | Path | None = None,
    ):
        for label, size in (
            ("hashtag_page_size", hashtag_page_size),
            ("comments_page_size", comments_page_size),
            ("timeline_page_size", timeline_page_size),
            ("network_page_size", network_page_size),
        ):
            if size < 1:
                raise ValueError(f"{label} must be at least 1, got {size}")
        self.name = name
        self.budget = budget if budget is not None else RequestBudget()
        self.hashtag_page_size = hashtag_page_size
        self.comments_page_size = comments_page_size
        self.timeline_page_size = timeline_page_size
        self.network_page_size = network_page_size
        self.redact = redact
        self.faults = dict(faults or {})
        self.latency = latency
        self._images = dict(images or {})
        self._image_root = Path(image_root) if image_root is not None else None

        self._accounts: dict[str, Account] = {a.username: a for a in accounts}
        self._events: dict[str, Event] = {}
        self._by_tag: dict[str, list[str]] = defaultdict(list)
        self._by_author: dict[str, list[str]] = defaultdict(list)
        self._top_comments: dict[str, list[str]] = defaultdict(list)
        self._replies: dict[str, list[str]] = defaultdict(list)
        newest: datetime | None = None
        for event in events:
            self._events[event.id] = event
            if event.created_at and (newest is None or event.created_at > newest):
                newest = event.created_at
        ordered = sorted(self._events.values(), key=lambda e: (-_sort_time(e), e.id))
        for event in ordered:
            if event.kind == "post":
                for tag in event.hashtags:
                    self._by_tag[tag].append(event.id)
                if event.author:
                    self._by_author[event.author].append(event.id)
        for event in reversed(ordered):  # comments oldest first, as a thread reads
            if event.kind != "comment":
                continue
            if event.parent_id == event.post_id or event.parent_id not in self._events:
                self._top_comments[event.post_id or event.parent_id or ""].append(event.id)
            else:
                self._replies[event.parent_id or ""].append(event.id)
        self._comment_counts: dict[str, int] = defaultdict(int)
        for event in self._events.values():
            if event.kind == "comment" and event.post_id:
                self._comment_counts[event.post_id] += 1
        self._as_of = as_of or ((newest + timedelta(days=1)) if newest else datetime(2000, 1, 1, tzinfo=UTC))

    # -- constructors -------------------------------------------------------

    @classmethod
    def from_corpus(cls, corpus: Any, **options: Any) -> ReplaySource:
        """Serve a :class:`~drugwatch.demo.DemoCorpus` (its images too, when it has them)."""
        options.setdefault("name", f"demo-{corpus.seed}-{len(corpus.accounts)}")
        options.setdefault("images", corpus.images)
        return cls(corpus.accounts, corpus.events, **options)

    @classmethod
    def from_jsonl(cls, path: str | Path, **options: Any) -> ReplaySource:
        """Serve drugwatch's generic JSONL (``drugwatch demo`` writes one); bad lines are skipped."""
        from drugwatch.io.base import Parsed
        from drugwatch.io.jsonl import read_jsonl

        accounts: list[Account] = []
        events: list[Event] = []
        for item in read_jsonl(path):
            if isinstance(item, Parsed):
                if isinstance(item.record, Account):
                    accounts.append(item.record)
                else:
                    events.append(item.record)
        options.setdefault("name", Path(path).stem)
        options.setdefault("image_root", Path(path).parent)
        return cls(accounts, events, **options)

    @classmethod
    def from_store(cls, store: Any, **options: Any) -> ReplaySource:
        """Serve what a :class:`~drugwatch.store.Store` holds (a re-crawl of an earlier collection)."""
        accounts = [a for a in store.iter_accounts()]
        events = list(store.iter_events())
        options.setdefault("name", "store")
        return cls(accounts, events, **options)

    # -- the Source protocol ------------------------------------------------

    def now(self) -> datetime:
        return self._as_of

    def hashtag_page(self, tag: str, cursor: Any = None) -> Page[Event]:
        tag = tag.lstrip("#").lower()
        self._request("hashtag")
        start = _offset(cursor)
        ids = self._by_tag.get(tag, [])
        if not ids and start == 0:
            # Instagram shows an empty or missing tag page; a page with no posts is the honest answer.
            return Page((), None)
        chunk = ids[start : start + self.hashtag_page_size]
        where = f"explore/tags/{tag}/"
        items = tuple(
            self._serve(self._events[i], where, f"page {start // self.hashtag_page_size + 1} item {n}")
            for n, i in enumerate(chunk)
        )
        end = start + len(chunk)
        return Page(items, end if end < len(ids) else None)

    def comments_page(self, post: Event, cursor: Any = None) -> Page[Event]:
        self._request("comments")
        if post.id not in self._events:
            raise NotFound(f"post {post.id} is gone (404)")
        start = _offset(cursor)
        top = self._top_comments.get(post.id, [])
        chunk = top[start : start + self.comments_page_size]
        where = f"p/{post.meta.get('shortcode') or post.id}/comments/"
        items: list[Event] = []
        page_no = start // self.comments_page_size + 1

        def walk(comment_id: str) -> None:
            items.append(self._serve(self._events[comment_id], where, f"page {page_no} comment {comment_id}"))
            for reply in self._replies.get(comment_id, []):
                walk(reply)

        for comment_id in chunk:
            walk(comment_id)
        end = start + len(chunk)
        return Page(tuple(items), end if end < len(top) else None)

    def profile(self, username: str) -> Account:
        self._request("profile")
        account = self._accounts.get(username)
        if account is None:
            raise NotFound(f"profile {username} does not exist (404)")
        data = account.model_dump(mode="json", exclude={"provenance", "timeline"})
        if self.redact:
            data["dealer"] = None
            data["meta"] = {k: v for k, v in data["meta"].items() if k not in ACCOUNT_TRUTH_META}
        return Account.model_validate({**data, "provenance": self._provenance(data, f"{username}/", "profile")})

    def timeline_page(self, username: str, cursor: Any = None) -> Page[Event]:
        self._request("timeline")
        account = self._accounts.get(username)
        if account is None:
            raise NotFound(f"profile {username} does not exist (404)")
        if account.is_private:
            raise PrivateProfile(f"profile {username} is private")
        start = _offset(cursor)
        ids = self._by_author.get(username, [])
        chunk = ids[start : start + self.timeline_page_size]
        page_no = start // self.timeline_page_size + 1
        items = tuple(
            self._serve(self._events[i], f"{username}/", f"timeline page {page_no} item {n}")
            for n, i in enumerate(chunk)
        )
        end = start + len(chunk)
        return Page(items, end if end < len(ids) else None)

    def followers_page(self, username: str, cursor: Any = None) -> Page[str]:
        return self._network_page(username, "followers", cursor)

    def following_page(self, username: str, cursor: Any = None) -> Page[str]:
        return self._network_page(username, "following", cursor)

    def image(self, event: Event, index: int = 0) -> bytes:
        self._request("image")
        original = self._events.get(event.id)
        if original is None or index >= len(original.images):
            raise NotFound(f"event {event.id} has no image {index}")
        ref = original.images[index]
        if ref.path and ref.path in self._images:
            return self._images[ref.path]
        if ref.path and self._image_root is not None:
            path = self._image_root / ref.path
            if path.is_file():
                return path.read_bytes()
        raise NotFound(f"image {index} of event {event.id} is not in the replayed corpus")

    # -- internals ----------------------------------------------------------

    def _request(self, kind: str) -> None:
        self.budget.charge(kind)
        if self.latency:
            time.sleep(self.latency)
        status = self.faults.get(self.budget.used)
        if status is None:
            return
        what = f"replayed request {self.budget.used} ({kind})"
        if status == 429:
            raise RateLimited(f"{what}: 429 Too Many Requests")
        if status in (401, 403):
            raise AuthError(f"{what}: {status} {'Unauthorized' if status == 401 else 'Forbidden'}")
        if status == 404:
            raise NotFound(f"{what}: 404 Not Found")
        raise TransientError(f"{what}: {status}")

    def _network_page(self, username: str, which: str, cursor: Any) -> Page[str]:
        self._request(which)
        account = self._accounts.get(username)
        if account is None:
            raise NotFound(f"profile {username} does not exist (404)")
        if account.is_private:
            raise PrivateProfile(f"profile {username} is private")
        names = [str(n) for n in account.meta.get(f"{which}_list", [])]
        start = _offset(cursor)
        chunk = names[start : start + self.network_page_size]
        end = start + len(chunk)
        return Page(tuple(chunk), end if end < len(names) else None)

    def _provenance(self, raw: dict[str, Any], where: str, locator: str) -> Provenance:
        return Provenance(
            platform=self.platform,
            source=f"replay:{self.name}/{where}",
            fetched_at=self._as_of,
            raw_sha256=sha256_json(raw),
            locator=locator,
            importer=IMPORTER,
        )

    def _serve(self, event: Event, where: str, locator: str) -> Event:
        data = event.model_dump(mode="json", exclude={"provenance"})
        if self.redact:
            data["labels"] = None
            data["selling"] = None
            data["meta"] = {k: v for k, v in data["meta"].items() if k not in EVENT_TRUTH_META}
        if event.kind == "post":
            # The platform shows a post's comment count (replies included) with the post.
            data["meta"]["comment_count"] = self._comment_counts.get(event.id, 0)
        # A crawler sees an image URL, not a local file; the digest comes with the download.
        data["images"] = [
            {"url": image.get("url") or f"replay://{self.name}/{image.get('path')}"} for image in data["images"]
        ]
        return Event.model_validate({**data, "provenance": self._provenance(data, where, locator)})
