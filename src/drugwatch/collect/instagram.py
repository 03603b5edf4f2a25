"""``InstagramSource``: the :class:`~drugwatch.collect.sources.Source` protocol on instaloader.

Requests go through instaloader (4.16), with its rate controller replaced by
:class:`BudgetRateController`, which charges every query to the crawl's
:class:`~drugwatch.collect.rate.RequestBudget` before instaloader's own
sliding-window wait. Records are built with the same mapping functions
:mod:`drugwatch.io.instaloader` uses for instaloader's saved JSON
(:func:`~drugwatch.io.instaloader.media_items`,
:func:`~drugwatch.io.instaloader.comment_items`), so a crawled post and the
same post imported from an instaloader download are the same record.

Logging in: drugwatch never asks for or stores a password. Create a session
file with instaloader itself (``instaloader --login YOUR_ACCOUNT``, which
saves ``~/.config/instaloader/session-YOUR_ACCOUNT``) and pass
``session_user="YOUR_ACCOUNT"`` (CLI: ``--session YOUR_ACCOUNT``).

What each call asks Instagram for (as of instaloader 4.16):

``hashtag_page``
    First page: ``Hashtag.from_name`` (``i.instagram.com/api/v1/tags/web_info/``,
    login needed), whose ``recent`` sections hold v1 media items. Next pages:
    ``explore/tags/<tag>/?__a=1&__d=dis&max_id=<cursor>``, the query
    instaloader's ``SectionIterator`` sends. Instagram retired the
    ``explore/tags`` JSON endpoint in 2024 and answers it with 404 (instaloader
    issues #2144, #2206, #2402, still open upstream); that 404 becomes
    :class:`~drugwatch.collect.rate.EndpointUnavailable` with a message that
    says so, the crawl keeps the first page and goes on with other work. A
    404 on the first page means the tag is unknown or hidden (Instagram hides
    many drug tags) or the endpoint changed again: :class:`NotFound`.
``comments_page``
    ``api/v1/media/<id>/comments/?min_id=<cursor>`` (instaloader's iPhone
    comments endpoint, login needed), plus one
    ``.../comments/<pk>/child_comments/`` per comment whose replies are not
    all in ``preview_child_comments``.
``profile``
    ``Profile.from_username`` (the profile page; logged in, also the
    profile query for counts).
``timeline_page`` / ``followers_page`` / ``following_page``
    ``Profile.get_posts()`` / ``get_followers()`` / ``get_followees()``
    (instaloader ``NodeIterator``, 12 per page); the cursor is the frozen
    iterator (``FrozenNodeIterator``), so a resumed crawl thaws it. Within a
    process the live iterator is reused; after a resume, building the
    iterator to thaw costs instaloader's first query again and the last post
    of the previous page comes once more (the crawler skips what it has seen).
``image``
    The image URL on Instagram's CDN (charged as one request).

Errors: HTTP 429 that instaloader's own waits did not cure ->
:class:`RateLimited` (the crawler backs off and retries); 401/403, a
redirect to the login page, ``checkpoint_required`` -> :class:`AuthError`
(the crawl stops; refresh the session and resume); login needed ->
:class:`LoginRequired`; 404 / unknown profile -> :class:`NotFound`; private
profile -> :class:`PrivateProfile`; any other connection failure ->
:class:`TransientError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import instaloader
from instaloader import exceptions as il_exc
from instaloader.instaloader import get_default_session_filename

from drugwatch.collect.rate import (
    AuthError,
    BudgetExhausted,
    EndpointUnavailable,
    ItemError,
    LoginRequired,
    NotFound,
    PrivateProfile,
    RateLimited,
    RequestBudget,
    TransientError,
)
from drugwatch.collect.sources import IMPORTER, Page
from drugwatch.io.base import Parsed, Problem, ReadItem
from drugwatch.io.instaloader import (
    Origin,
    _account_record,
    _v1_comment,
    comment_items,
    media_items,
)
from drugwatch.records import Account, Event

log = logging.getLogger(__name__)

WEB = "https://www.instagram.com"

HASHTAG_ENDPOINT_GONE = (
    "Instagram answered 404 for the next page of #{tag} (explore/tags/{tag}/?__a=1&__d=dis). "
    "Instagram retired that endpoint in 2024 (instaloader issues #2144 and #2402); only the first page "
    "of a hashtag (api/v1/tags/web_info/) can be read with instaloader {version}. The crawl keeps the "
    "first page and goes on; upgrade instaloader when upstream fixes hashtag pagination."
)
LOGIN_HELP = (
    "create a session file with `instaloader --login YOUR_ACCOUNT` and pass --session YOUR_ACCOUNT "
    "(drugwatch never stores passwords)"
)


class BudgetRateController(instaloader.RateController):
    """instaloader's rate controller, charging every query to a :class:`RequestBudget` first.

    ``kind`` (set by :class:`InstagramSource` around each call) names the
    budget line (``hashtag``, ``comments``...); ``sleep`` is injectable so
    tests never wait; ``waits`` counts instaloader's own waits and 429s.
    """

    def __init__(
        self,
        context: instaloader.InstaloaderContext,
        budget: RequestBudget,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(context)
        self.budget = budget
        self.kind = "other"
        self._sleep = sleep
        self.waits = 0
        self.too_many_requests = 0

    def sleep(self, secs: float) -> None:
        self.waits += 1
        self._sleep(secs)

    def wait_before_query(self, query_type: str) -> None:
        self.budget.charge(self.kind)
        super().wait_before_query(query_type)

    def handle_429(self, query_type: str) -> None:
        self.too_many_requests += 1
        log.warning(
            "Instagram answered 429 Too Many Requests (%s); instaloader waits before retrying",
            query_type,
        )
        super().handle_429(query_type)


def _status_in(message: str, *codes: int) -> bool:
    return any(f"{code} " in message or message.startswith(str(code)) for code in codes)


@contextmanager
def instaloader_errors(what: str) -> Iterator[None]:
    """Turn instaloader's exceptions into drugwatch's collection errors with a message that says what to do."""
    try:
        yield
    except (BudgetExhausted, ItemError, RateLimited, AuthError, TransientError):
        raise
    except il_exc.TooManyRequestsException as exc:
        raise RateLimited(
            f"{what}: Instagram answered 429 Too Many Requests after instaloader's waits ({exc})"
        ) from exc
    except il_exc.QueryReturnedNotFoundException as exc:
        raise NotFound(f"{what}: 404 Not Found ({exc})") from exc
    except il_exc.ProfileNotExistsException as exc:
        raise NotFound(f"{what}: {exc}") from exc
    except il_exc.PrivateProfileNotFollowedException as exc:
        raise PrivateProfile(f"{what}: {exc}") from exc
    except il_exc.LoginRequiredException as exc:
        raise LoginRequired(f"{what}: Instagram serves this to logged-in sessions only ({exc}); {LOGIN_HELP}") from exc
    except il_exc.QueryReturnedForbiddenException as exc:
        raise AuthError(
            f"{what}: 403 Forbidden ({exc}); the session may be blocked: {LOGIN_HELP}, then --resume"
        ) from exc
    except il_exc.AbortDownloadException as exc:
        raise AuthError(
            f"{what}: Instagram stopped the session ({exc}); log in again in a browser if it asks for a "
            f"check, then {LOGIN_HELP} and run again with --resume"
        ) from exc
    except il_exc.ConnectionException as exc:
        message = str(exc)
        if _status_in(message, 429):  # instaloader wraps the last 429 of its retries
            raise RateLimited(
                f"{what}: Instagram answered 429 Too Many Requests after instaloader's waits ({message})"
            ) from exc
        if _status_in(message, 401, 403):
            raise AuthError(
                f"{what}: Instagram refused the session ({message}); {LOGIN_HELP}, then run again with --resume"
            ) from exc
        raise TransientError(f"{what}: {message}") from exc
    except il_exc.InstaloaderException as exc:
        raise ItemError(f"{what}: {type(exc).__name__}: {exc}") from exc
    except (KeyError, TypeError, IndexError) as exc:
        raise ItemError(
            f"{what}: unexpected response shape ({type(exc).__name__}: {exc}); Instagram may have changed this endpoint"
        ) from exc


class InstagramSource:
    """Instagram through instaloader; see the module docstring.

    ``session_user`` loads instaloader's session file for that account
    (``session_file`` overrides the default path); without it the source is
    anonymous and hashtag search and comments raise :class:`LoginRequired`.
    ``sleep`` is instaloader's short pause between requests; ``rate_sleep``
    the function the rate controller waits with (tests pass a no-op).
    """

    platform = "instagram"
    name = "instagram"

    def __init__(
        self,
        *,
        budget: RequestBudget | None = None,
        session_user: str | None = None,
        session_file: str | None = None,
        sleep: bool = True,
        rate_sleep: Callable[[float], None] = time.sleep,
        max_connection_attempts: int = 3,
        request_timeout: float = 300.0,
        user_agent: str | None = None,
    ):
        self.budget = budget if budget is not None else RequestBudget()
        self.controller: BudgetRateController | None = None

        def make_controller(context: instaloader.InstaloaderContext) -> BudgetRateController:
            self.controller = BudgetRateController(context, self.budget, sleep=rate_sleep)
            return self.controller

        self.loader = instaloader.Instaloader(
            sleep=sleep,
            quiet=True,
            user_agent=user_agent,
            download_pictures=False,
            download_videos=False,
            download_video_thumbnails=False,
            download_geotags=False,
            download_comments=False,
            save_metadata=False,
            compress_json=False,
            max_connection_attempts=max_connection_attempts,
            request_timeout=request_timeout,
            rate_controller=make_controller,
        )
        self.context = self.loader.context
        if session_user:
            try:
                self.loader.load_session_from_file(session_user, session_file)
            except FileNotFoundError:
                path = session_file or get_default_session_filename(session_user)
                raise AuthError(f"no instaloader session file for {session_user} at {path}; {LOGIN_HELP}") from None
        self._profiles: dict[str, instaloader.Profile] = {}
        self._iterators: dict[tuple[str, str], instaloader.NodeIterator[Any]] = {}

    # -- helpers -------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _charge_as(self, kind: str) -> None:
        assert self.controller is not None
        self.controller.kind = kind

    def _origin(self, url: str) -> Origin:
        return Origin(url, self.now(), IMPORTER)

    @staticmethod
    def _split(items: Iterable[ReadItem]) -> tuple[list[Any], list[str]]:
        records: list[Any] = []
        problems: list[str] = []
        for item in items:
            if isinstance(item, Parsed):
                records.append(item.record)
            elif isinstance(item, Problem):
                problems.append(f"{item.source} {item.locator}: {item.reason}")
            else:  # Skipped: not a record by design, and not a problem either
                log.info("%s %s: skipped (%s)", item.source, item.locator, item.reason)
        return records, problems

    def _require_login(self, what: str) -> None:
        if not self.context.is_logged_in:
            raise LoginRequired(f"{what}: Instagram serves this to logged-in sessions only; {LOGIN_HELP}")

    # -- hashtags ------------------------------------------------------------

    def hashtag_page(self, tag: str, cursor: Any = None) -> Page[Event]:
        tag = tag.lstrip("#").lower()
        what = f"#{tag}"
        self._charge_as("hashtag")
        url = f"{WEB}/explore/tags/{tag}/"
        with instaloader_errors(what):
            if cursor is None:
                hashtag = instaloader.Hashtag.from_name(self.context, tag)
                node = hashtag._node  # the web_info answer; _asdict() would drop the posts
            else:
                try:
                    data = self.context.get_json(f"explore/tags/{tag}/", {"__a": 1, "__d": "dis", "max_id": cursor})
                except il_exc.QueryReturnedNotFoundException as exc:
                    raise EndpointUnavailable(
                        HASHTAG_ENDPOINT_GONE.format(tag=tag, version=instaloader.__version__)
                    ) from exc
                node = data["data"]
            medias, next_cursor, graphql = self._hashtag_medias(node)
            records: list[Event] = []
            problems: list[str] = []
            page_no = "1" if cursor is None else f"max_id={cursor}"
            for n, media in enumerate(medias):
                if graphql:
                    post = instaloader.Post(self.context, media)
                else:
                    post = instaloader.Post.from_iphone_struct(self.context, media)
                got, bad = self._split(media_items(post._asdict(), self._origin(url), f"page {page_no} [{n}]"))
                records.extend(got)
                problems.extend(bad)
        for problem in problems:
            log.warning("%s: %s", what, problem)
        return Page(tuple(records), next_cursor)

    @staticmethod
    def _hashtag_medias(node: dict[str, Any]) -> tuple[list[dict[str, Any]], Any, bool]:
        """Media of a hashtag answer: ``recent`` sections (v1 items), else the old GraphQL edges."""
        recent = node.get("recent")
        if isinstance(recent, dict):
            medias = [
                item["media"] for section in recent.get("sections", []) for item in section["layout_content"]["medias"]
            ]
            return (
                medias,
                (recent.get("next_max_id") if recent.get("more_available") else None),
                False,
            )
        connection = node.get("edge_hashtag_to_media")
        if isinstance(connection, dict):
            info = connection.get("page_info", {})
            medias = [edge["node"] for edge in connection.get("edges", [])]
            return medias, (info.get("end_cursor") if info.get("has_next_page") else None), True
        raise KeyError("neither 'recent' nor 'edge_hashtag_to_media' in the hashtag answer")

    # -- comments ------------------------------------------------------------

    def comments_page(self, post: Event, cursor: Any = None) -> Page[Event]:
        what = f"comments of post {post.id}"
        self._require_login(what)
        self._charge_as("comments")
        shortcode = post.meta.get("shortcode")
        url = f"{WEB}/p/{shortcode}/" if shortcode else f"https://i.instagram.com/api/v1/media/{post.id}/comments/"
        params = {"can_support_threading": "true", "permalink_enabled": "false"}
        if cursor is not None:
            params["min_id"] = cursor
        with instaloader_errors(what):
            data = self.context.get_iphone_json(f"api/v1/media/{post.id}/comments/", params)
            comments = []
            for comment in data.get("comments", []):
                previews = comment.get("preview_child_comments") or []
                if comment.get("child_comment_count", 0) > len(previews):
                    answers = self.context.get_iphone_json(
                        f"api/v1/media/{post.id}/comments/{comment['pk']}/child_comments/",
                        {"max_id": ""},
                    )
                    comment = {
                        **comment,
                        "preview_child_comments": answers.get("child_comments", []),
                    }
                comments.append(comment)
            raws = [(f"comments[{i}]", c) for i, c in enumerate(comments)]
            records, problems = self._split(
                comment_items(raws, _v1_comment, self._origin(url), parent_id=post.id, post_id=post.id)
            )
        for problem in problems:
            log.warning("%s: %s", what, problem)
        return Page(tuple(records), data.get("next_min_id") or None)

    # -- profiles ------------------------------------------------------------

    def _profile(self, username: str) -> instaloader.Profile:
        profile = self._profiles.get(username)
        if profile is None:
            profile = instaloader.Profile.from_username(self.context, username)
            self._profiles[username] = profile
        return profile

    def profile(self, username: str) -> Account:
        what = f"profile {username}"
        self._charge_as("profile")
        with instaloader_errors(what):
            profile = self._profile(username)
            if self.context.is_logged_in:
                profile.followers  # noqa: B018 - the profile query fills in the counts
            node = profile._asdict()
        item = _account_record(node, self._origin(f"{WEB}/{username}/"), "profile", {})
        if not isinstance(item, Parsed):
            raise ItemError(f"{what}: {item.reason}")
        assert isinstance(item.record, Account)
        return item.record

    def _node_page(self, username: str, which: str, cursor: Any) -> tuple[list[Any], Any]:
        """One page (12 items) of a profile's NodeIterator, and the frozen iterator as the next cursor."""
        key = (username, which)
        iterator = self._iterators.get(key) if cursor is not None else None
        if iterator is None:
            profile = self._profile(username)
            start: dict[str, Callable[[], instaloader.NodeIterator[Any]]] = {
                "timeline": profile.get_posts,
                "followers": profile.get_followers,
                "following": profile.get_followees,
            }
            iterator = start[which]()
            if cursor is not None:
                iterator.thaw(instaloader.FrozenNodeIterator(**cursor))
            self._iterators[key] = iterator
        items = list(islice(iterator, instaloader.NodeIterator.page_length()))
        if len(items) < instaloader.NodeIterator.page_length():
            self._iterators.pop(key, None)
            return items, None
        frozen = iterator.freeze()._asdict()
        return items, frozen

    def timeline_page(self, username: str, cursor: Any = None) -> Page[Event]:
        what = f"timeline of {username}"
        self._charge_as("timeline")
        with instaloader_errors(what):
            posts, next_cursor = self._node_page(username, "timeline", cursor)
            records: list[Event] = []
            problems: list[str] = []
            for n, post in enumerate(posts):
                got, bad = self._split(
                    media_items(post._asdict(), self._origin(f"{WEB}/{username}/"), f"timeline [{n}]")
                )
                records.extend(e for e in got if isinstance(e, Event))
                problems.extend(bad)
        for problem in problems:
            log.warning("%s: %s", what, problem)
        return Page(tuple(records), next_cursor)

    def followers_page(self, username: str, cursor: Any = None) -> Page[str]:
        return self._names(username, "followers", cursor)

    def following_page(self, username: str, cursor: Any = None) -> Page[str]:
        return self._names(username, "following", cursor)

    def _names(self, username: str, which: str, cursor: Any) -> Page[str]:
        what = f"{which} of {username}"
        self._require_login(what)
        self._charge_as(which)
        with instaloader_errors(what):
            profiles, next_cursor = self._node_page(username, which, cursor)
            return Page(tuple(p.username for p in profiles), next_cursor)

    # -- images --------------------------------------------------------------

    def image(self, event: Event, index: int = 0) -> bytes:
        what = f"image {index} of {event.id}"
        url = event.images[index].url if index < len(event.images) else None
        if not url:
            raise NotFound(f"{what}: the event has no such image URL")
        # CDN downloads bypass instaloader's rate controller; charge them here.
        self.budget.charge("image")
        with instaloader_errors(what):
            response = self.context.get_raw(url)
            return response.content
