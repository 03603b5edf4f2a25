"""Request coalescing on one worker thread: concurrent score requests share one scorer call.

A detector call has a fixed cost (feature extraction set-up, scikit-learn
input checks) that dwarfs the per-event cost: one event alone costs several
milliseconds, eight together little more. The :class:`ScoreQueue` scores one
group at a time; requests that arrive while a call is running wait and are
scored together in the next call (grouped by scorer so a reload never mixes
models, at most ``max_events`` events and ``max_chars`` characters of text).

Every call that reads text runs on the queue's worker thread, never on the
event loop: turning a request body into events (``Event.parse`` extracts
hashtags), scoring, summarizing and serializing the answer. The event loop
only moves bytes, so ``/health`` and the other requests are answered while a
long text is scored. Its price is the GIL: the loop waits up to a switch
interval (5 ms) for the busy worker each time it wakes, a few milliseconds
per request under load. One worker thread is enough: more would only share
the same GIL, and one thread bounds the text work of the process to one core.

Work that is not scoring (``/v1/inspect``, the dealer-account model) goes
through :meth:`ScoreQueue.run` on the same thread.

The cyclic garbage collector is paused while the worker runs a call. A
thread does not shield the loop from the collector: a collection holds the
GIL from start to end, and one over a long text's millions of young objects
(lexicon candidates, spans) held both threads for close to a second. Those
objects hold no cycles and are freed by reference counting when the call
ends; the collector runs again, as usual, once it is switched back on.

This changes no number: an :class:`~drugwatch.scoring.EventScorer` result
depends only on its own event and the models, never on the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from drugwatch.records import Event
from drugwatch.scoring import EventResult, EventScorer

T = TypeVar("T")


def text_chars(events: Sequence[Event]) -> int:
    """Characters the text layer reads for ``events``: texts and hashtags."""
    return sum(len(e.text) + sum(len(h) for h in e.hashtags) for e in events)


@dataclass
class _Job:
    scorer: EventScorer
    n_events: int
    chars: int
    #: Called on the worker thread: the events to score (may raise; the error is this job's only).
    prepare: Callable[[], list[Event]]
    #: Called on the worker thread with this job's results: what the request gets.
    finish: Callable[[list[EventResult]], Any]
    future: asyncio.Future[Any]


def _identity(results: list[EventResult]) -> list[EventResult]:
    return results


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back on after, if it was on)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    with gc_paused():
        return fn(*args)


def _run_group(scorer: EventScorer, jobs: list[_Job]) -> list[tuple[bool, Any]]:
    """On the worker thread: prepare each job, score them in one call, finish each.

    Returns one ``(ok, value)`` per job: its answer, or the exception that
    belongs to it (a bad request does not fail the others; a failed scorer
    call fails every job of the call).
    """
    with gc_paused():
        return _run_group_now(scorer, jobs)


def _run_group_now(scorer: EventScorer, jobs: list[_Job]) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = [(False, None)] * len(jobs)
    prepared: list[tuple[int, list[Event]]] = []
    for i, job in enumerate(jobs):
        try:
            prepared.append((i, job.prepare()))
        except Exception as exc:  # this request's input; handed back to it
            outcomes[i] = (False, exc)
    events = [e for _, evs in prepared for e in evs]
    try:
        results = scorer.score(events) if events else []
    except Exception as exc:
        for i, _ in prepared:
            outcomes[i] = (False, exc)
        return outcomes
    start = 0
    for i, evs in prepared:
        part = results[start : start + len(evs)]
        start += len(evs)
        try:
            outcomes[i] = (True, jobs[i].finish(part))
        except Exception as exc:
            outcomes[i] = (False, exc)
    return outcomes


class ScoreQueue:
    def __init__(
        self, max_events: int = 256, max_chars: int = 65_536, gather_turns: int = 3, linger_seconds: float = 0.002
    ) -> None:
        self.max_events = max_events
        #: A group takes more requests only while their text stays under this many characters,
        #: so one scorer call (and the wait of the requests behind it) stays bounded.
        self.max_chars = max_chars
        self.gather_turns = gather_turns
        self.linger_seconds = linger_seconds
        self._linger_target = 0
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: Calls made and events scored (``/health`` shows them).
        self.calls = 0
        self.events = 0

    async def score(self, scorer: EventScorer, events: list[Event]) -> list[EventResult]:
        """Score ``events`` (already parsed) in the next group."""
        return await self.submit(scorer, lambda: events, _identity, len(events), text_chars(events))

    async def submit(
        self,
        scorer: EventScorer,
        prepare: Callable[[], list[Event]],
        finish: Callable[[list[EventResult]], T],
        n_events: int,
        chars: int,
    ) -> T:
        """Score the events ``prepare()`` makes and return ``finish(results)``; both run on the worker thread.

        ``n_events`` and ``chars`` (what ``prepare`` will make, counted from the
        request) size the groups.
        """
        loop = asyncio.get_running_loop()
        job = _Job(scorer, n_events, chars, prepare, finish, loop.create_future())
        self._pending.append(job)
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            # A drainer of another (finished) loop cannot serve this one; its jobs died with it.
            self._pending = [j for j in self._pending if j.future.get_loop() is loop]
            self._drainer = loop.create_task(self._drain())
        return await job.future

    def _take(self) -> list[_Job]:
        """The next group: jobs of the first job's scorer, up to ``max_events`` events and ``max_chars``
        characters (a single job over either is a group of its own)."""
        self._pending = [j for j in self._pending if not j.future.done()]  # clients that went away
        if not self._pending:
            return []
        first = self._pending[0]
        taken: list[_Job] = []
        rest: list[_Job] = []
        size = chars = 0
        for job in self._pending:
            fits = size + job.n_events <= self.max_events and chars + job.chars <= self.max_chars
            if job.scorer is first.scorer and (not taken or fits):
                taken.append(job)
                size += job.n_events
                chars += job.chars
            else:
                rest.append(job)
        self._pending = rest
        return taken

    def _pending_events(self) -> int:
        return sum(j.n_events for j in self._pending)

    async def _linger(self, loop: asyncio.AbstractEventLoop) -> None:
        """Under concurrent load, wait briefly for the group to reach the size of the last round.

        A lone request (a round of one) is scored at once; when requests came
        in groups, the next group is given up to ``linger_seconds`` to fill:
        one call for eight events costs far less than three calls for them.
        """
        target = self._linger_target
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
            if not jobs:
                continue
            try:
                outcomes = await loop.run_in_executor(self._worker(), _run_group, jobs[0].scorer, jobs)
            except Exception as exc:  # the worker is gone (closing): every waiting request hears it
                outcomes = [(False, exc)] * len(jobs)
            self.calls += 1
            self.events += sum(j.n_events for j, (ok, _) in zip(jobs, outcomes) if ok)
            # The clients of this group and those already waiting form the next one. Counting only
            # this group would let two half groups alternate for good (one scored while the other
            # arrives), each call paying the fixed cost for half the events.
            self._linger_target = min(self.max_events, sum(j.n_events for j in jobs) + self._pending_events())
            for job, (ok, value) in zip(jobs, outcomes):
                if job.future.done():  # the client went away
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
            # Let the loop answer these and read the requests that came in
            # meanwhile, so that they form the next group: a request needs a
            # few loop turns (socket read, HTTP parse, task start) to get here.
            for _ in range(self.gather_turns):
                await asyncio.sleep(0)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run other text or model work (``/v1/inspect``, the account model) on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker(), _in_worker, fn, *args)

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
