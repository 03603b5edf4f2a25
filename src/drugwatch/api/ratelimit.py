"""Per-key rate limits: one token bucket per API key, in this process.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per
second; each request takes one. An empty bucket answers with the seconds
until the next token, which the API sends as ``Retry-After`` with a 429.

The buckets live in the process: with several workers each enforces its
own limit (a key gets ``workers × rate`` in total). That is the documented
trade-off for a service with no shared cache; put a gateway in front for
a global limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1; got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: int, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from ``key_id``'s bucket.

        Returns 0.0 when allowed, else the seconds to wait before the bucket
        holds ``cost`` tokens again (nothing is taken then).
        """
        cost = min(float(cost), float(self.burst))
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
