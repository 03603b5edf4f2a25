"""Login throttling per account and per address, and a bound on concurrent
password hashes.

* **Failures in a window.** Each sign-in attempt is counted against the
  account name it names and the address it comes from (an IPv6 address by
  its /64, since one machine usually holds a whole /64). When ``limit``
  attempts of a key fall within ``window_s`` seconds, the next one is refused
  with 429 and ``Retry-After`` (the seconds until the oldest of them leaves
  the window) before any password is checked. An attempt counts from the
  moment it starts, so a burst of parallel requests cannot slip past the
  limit while the first hashes run; a successful sign-in removes its own
  attempt and clears the account's count (not the address's: one valid
  account must not reset the count of an address guessing others).
* **No account oracle.** Names that do not exist are counted and refused
  exactly like names that do, and a refused request does no work, so neither
  the answer nor its timing tells whether an account exists.
* **Bounded hashing.** At most ``max_hashes`` argon2 verifications run at
  once (each takes ``DRUGWATCH_ARGON2_MEMORY_KIB``, 64 MiB by default); a
  request that cannot get a slot within ``hash_wait_s`` (2 s) is answered 503
  with ``Retry-After: 1`` instead of queueing, and while it waits it holds no
  worker thread.

The counts live in memory and are per process: with ``--workers N`` an
address may make up to N times the limit, and a restart forgets them. At most
``max_keys`` keys are kept (least recently used dropped first), so a flood of
invented names costs bounded memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Attempt", "LoginGuard", "address_key"]

#: How often a sign-in waiting for a hash slot looks again.
_POLL_S = 0.02


def address_key(host: str | None) -> str:
    """The key an address is counted under: an IPv4 address as is, an IPv6
    address by its /64 network, anything else (a test client) as given."""
    if not host:
        return "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:128]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Attempt:
    """A started sign-in attempt: the keys it was counted under and when."""

    keys: tuple[str, ...]
    at: float
    account_key: str


class LoginGuard:
    """Failure windows per account and per address, and the hash semaphore."""

    def __init__(
        self,
        *,
        account_limit: int = 5,
        address_limit: int = 30,
        window_s: float = 900.0,
        max_hashes: int = 4,
        hash_wait_s: float = 2.0,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if account_limit < 1 or address_limit < 1 or max_hashes < 1 or window_s <= 0:
            raise ValueError("login limits, window and max_hashes must be positive")
        self.account_limit = account_limit
        self.address_limit = address_limit
        self.window_s = window_s
        self.max_hashes = max_hashes
        self.hash_wait_s = hash_wait_s
        self.max_keys = max_keys
        self.clock = clock
        self._hashes = threading.BoundedSemaphore(max_hashes)
        self._lock = threading.Lock()
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()

    # -- failure windows ---------------------------------------------------

    def _limit(self, key: str) -> int:
        return self.account_limit if key.startswith("u:") else self.address_limit

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._attempts.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._attempts[key]
            return None
        return times

    def _forget_old(self, now: float) -> None:
        # Least recently touched first: stop at the first key still in its window.
        while self._attempts:
            key, times = next(iter(self._attempts.items()))
            if times and times[-1] > now - self.window_s and len(self._attempts) <= self.max_keys:
                break
            del self._attempts[key]

    def start(self, account: str, address: str) -> Attempt | int:
        """Count an attempt for ``account`` from ``address``; or, when either
        is over its limit, the seconds to wait (nothing is counted then)."""
        now = self.clock()
        keys = ("u:" + account.casefold(), "a:" + address)
        with self._lock:
            wait = 0.0
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= self._limit(key):
                    wait = max(wait, times[-self._limit(key)] + self.window_s - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            for key in keys:
                times = self._attempts.setdefault(key, deque())
                times.append(now)
                self._attempts.move_to_end(key)
            self._forget_old(now)
        return Attempt(keys=keys, at=now, account_key=keys[0])

    def cancel(self, attempt: Attempt) -> None:
        """Uncount an attempt whose password was never checked."""
        with self._lock:
            for key in attempt.keys:
                times = self._attempts.get(key)
                if times is not None:
                    try:
                        times.remove(attempt.at)
                    except ValueError:
                        pass
                    if not times:
                        del self._attempts[key]

    def succeeded(self, attempt: Attempt) -> None:
        """A right password: the attempt is no failure and the account starts afresh."""
        self.cancel(attempt)
        with self._lock:
            self._attempts.pop(attempt.account_key, None)

    # -- hashing -----------------------------------------------------------

    def hash_slot(self) -> bool:
        """Take one of the ``max_hashes`` slots, waiting in this thread up to
        ``hash_wait_s``; ``False`` when none came free. Give it back with
        :meth:`release_hash`."""
        return self._hashes.acquire(timeout=self.hash_wait_s)

    async def acquire_hash(self) -> bool:
        """:meth:`hash_slot` for a coroutine: polls without holding a thread
        (a threading semaphore, so that every event loop and thread of the
        process shares the same bound)."""
        deadline = time.monotonic() + self.hash_wait_s
        while not self._hashes.acquire(blocking=False):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_S)
        return True

    def release_hash(self) -> None:
        self._hashes.release()
