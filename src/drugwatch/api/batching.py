"""Request coalescing: concurrent score requests share one scorer call.

A detector call has a fixed cost (feature extraction set-up, scikit-learn
input checks) that dwarfs the per-event cost: one event alone costs several
milliseconds, eight together little more. The :class:`ScoreQueue` scores one
group at a time; requests that arrive while a call is running wait and are
scored together in the next call (at most ``max_events`` events, grouped by
scorer so a reload never mixes models).

Small groups (up to ``inline_events``, the usual case) are scored on the
event loop's own thread. Handing them to a worker thread would make the two
threads fight for the GIL: every socket call of the loop then waits up to a
switch interval (5 ms) for the busy scoring thread, which costs more than
the scoring. Large groups (big batch or account requests) go to a worker
thread so the loop keeps answering meanwhile.

This changes no number: an :class:`~drugwatch.scoring.EventScorer` result
depends only on its own event and the models, never on the batch.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drugwatch.records import Event
from drugwatch.scoring import EventResult, EventScorer

T = TypeVar("T")


@dataclass
class _Job:
    scorer: EventScorer
    events: list[Event]
    future: asyncio.Future[list[EventResult]]


class ScoreQueue:
    def __init__(self, max_events: int = 256, inline_events: int = 32, gather_turns: int = 3,
                 linger_seconds: float = 0.002) -> None:
        self.max_events = max_events
        self.inline_events = inline_events
        self.gather_turns = gather_turns
        self.linger_seconds = linger_seconds
        self._last_group = 0
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: Calls made and events scored (``/health`` shows them).
        self.calls = 0
        self.events = 0

    async def score(self, scorer: EventScorer, events: list[Event]) -> list[EventResult]:
        loop = asyncio.get_running_loop()
        job = _Job(scorer, events, loop.create_future())
        self._pending.append(job)
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            # A drainer of another (finished) loop cannot serve this one; its jobs died with it.
            self._pending = [j for j in self._pending if j.future.get_loop() is loop]
            self._drainer = loop.create_task(self._drain())
        return await job.future

    def _take(self) -> list[_Job]:
        """The next group: jobs of the first job's scorer, up to ``max_events`` events."""
        first = self._pending[0]
        taken, rest, size = [], [], 0
        for job in self._pending:
            if job.scorer is first.scorer and (not taken or size + len(job.events) <= self.max_events):
                taken.append(job)
                size += len(job.events)
            else:
                rest.append(job)
        self._pending = rest
        return taken

    def _pending_events(self) -> int:
        return sum(len(j.events) for j in self._pending)

    async def _linger(self, loop: asyncio.AbstractEventLoop) -> None:
        """Under concurrent load, wait briefly for the group to reach the last group's size.

        A lone request (last group of one) is scored at once; when requests
        came in groups, the next group is given up to ``linger_seconds`` to fill:
        one call for eight events costs far less than three calls for them.
        """
        target = self._last_group
        if target <= 1 or self.linger_seconds <= 0:
            return
        deadline = loop.time() + self.linger_seconds
        while self._pending_events() < target and loop.time() < deadline:
            await asyncio.sleep(0.0005)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await self._linger(loop)
            jobs = self._take()
            events = [e for job in jobs for e in job.events]
            try:
                if len(events) <= self.inline_events:
                    results = jobs[0].scorer.score(events)
                else:
                    results = await loop.run_in_executor(self._worker(), jobs[0].scorer.score, events)
            except Exception as exc:  # handed to each waiting request, never lost
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.calls += 1
            self.events += len(events)
            self._last_group = len(events)
            start = 0
            for job in jobs:
                part = results[start:start + len(job.events)]
                start += len(job.events)
                if not job.future.done():  # the client may have gone away
                    job.future.set_result(part)
            # Let the loop answer these and read the requests that came in
            # meanwhile, so that they form the next group: a request needs a
            # few loop turns (socket read, HTTP parse, task start) to get here.
            for _ in range(self.gather_turns):
                await asyncio.sleep(0)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run other model work (the account model) on the same worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker(), fn, *args)

    def stats(self) -> dict[str, Any]:
        return {"calls": self.calls, "events": self.events, "pending": self._pending_events()}

    def _worker(self) -> ThreadPoolExecutor:
        # Made on first use (again after close): an app may be started and stopped
        # more than once (tests enter its lifespan repeatedly).
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drugwatch-score")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
