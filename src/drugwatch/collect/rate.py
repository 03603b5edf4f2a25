"""Request budget, backoff and the errors a collection source can raise.

Every request a source makes is charged to one :class:`RequestBudget`
(``budget.charge("hashtag")``) before it is sent; when the budget is spent
the charge raises :class:`BudgetExhausted` and the crawler stops cleanly.
For :class:`~drugwatch.collect.instagram.InstagramSource` the charge happens
in :class:`~drugwatch.collect.instagram.BudgetRateController`, i.e. once per
HTTP query instaloader sends (retries included); for
:class:`~drugwatch.collect.sources.ReplaySource` once per page of the cost
model in ``docs/collect.md``.

HTTP 429 ("too many requests") is answered by waiting: instaloader's own
rate controller already waits inside one query; when a query still fails
with 429 the crawler waits again with :class:`Backoff` (exponential, capped,
jittered from a seed so tests are deterministic) and retries the same page.
401/403 are not retried: the session is refused, and the crawler stops with
a message saying how to refresh it (the state is already checkpointed).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


class CollectError(Exception):
    """Base class of everything collection raises on purpose."""


class BudgetExhausted(CollectError):
    """The global request budget is spent; the crawl stops cleanly."""


class ItemError(CollectError):
    """One item (a hashtag page, a post's comments, a profile) failed; the crawl goes on."""


class NotFound(ItemError):
    """The item does not exist (deleted post, renamed profile, unknown hashtag)."""


class PrivateProfile(ItemError):
    """The profile is private and not followed by the session's account."""


class LoginRequired(ItemError):
    """Instagram serves this item to logged-in sessions only."""


class EndpointUnavailable(ItemError):
    """The platform endpoint that serves this item is gone (not a transient error)."""


class RateLimited(CollectError):
    """HTTP 429 that did not go away after the backoff schedule."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(CollectError):
    """HTTP 401/403 or a redirect to the login page: the session is refused."""


class TransientError(CollectError):
    """A 5xx or connection error worth one more try after a pause."""


@dataclass
class RequestBudget:
    """A global cap on requests, shared by every source of one crawl.

    ``limit=None`` means unlimited. ``used`` and ``by_kind`` are part of the
    crawl checkpoint, so a resumed crawl continues with what is left.
    """

    limit: int | None = None
    used: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"a request budget cannot be negative, got {self.limit}")
        self.by_kind = Counter(self.by_kind)

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    def charge(self, kind: str, n: int = 1) -> None:
        """Count ``n`` requests of ``kind``; raise :class:`BudgetExhausted` first if they do not fit."""
        if self.limit is not None and self.used + n > self.limit:
            raise BudgetExhausted(
                f"request budget of {self.limit} spent ({self.used} used); raise --budget to collect more"
            )
        self.used += n
        self.by_kind[kind] += n

    def to_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "used": self.used,
            "by_kind": dict(sorted(self.by_kind.items())),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take ``used`` and ``by_kind`` from a checkpoint (the limit stays this run's)."""
        self.used = int(data.get("used", 0))
        self.by_kind = Counter({str(k): int(v) for k, v in dict(data.get("by_kind", {})).items()})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base * factor**n`` seconds, capped at ``cap``, ``tries`` waits at most.

    ``jitter`` is the fraction of each delay drawn at random (seeded, so a
    test sees the same waits every time). ``sleep`` is injectable for tests.
    """

    base: float = 60.0
    factor: float = 2.0
    cap: float = 30 * 60.0
    tries: int = 5
    jitter: float = 0.1
    seed: int = 0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> Iterator[float]:
        rng = random.Random(self.seed)
        for n in range(self.tries):
            delay = min(self.base * self.factor**n, self.cap)
            yield delay * (1 - self.jitter + 2 * self.jitter * rng.random())

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)


def no_sleep(_seconds: float) -> None:
    """A sleep that returns at once (tests, simulations)."""
