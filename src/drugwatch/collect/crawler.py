"""The crawler: three hashtag strategies, a request budget, checkpoint and resume.

One :class:`Crawler` drives one :class:`~drugwatch.collect.sources.Source`
and writes into one :class:`~drugwatch.store.Store`. Each *step* makes one
page request: the next follow-up task if there is one (a drug-related
post's comments, its author's profile, then the author's timeline), else the
next hashtag page the strategy picks:

``fixed`` (Yang & Luo 2017)
    The seed hashtags in order, each feed to its end (or ``max_pages_per_tag``).
``jmir`` (Li et al. 2019)
    Loop 1: the seeds, each feed until its posts are older than the cutoff
    (default 3 months before the source's clock). Then the hashtags found on
    events judged drug-related in loop 1 (at least ``expand_min_count``
    events, at least ``expand_min_precision`` of their events judged
    drug-related, the ``expand_top`` most frequent) are searched the same way
    in loop 2, and the crawl ends.
``dmml`` (Hu et al. 2021)
    A frontier of hashtags weighted by how often they appear on events the
    judge calls trafficking (selling counts 1, a drug mention without a sale
    0.25), times the share of their events so judged (smoothed), halved for each page in a
    row that brought nothing new and drug-related, and changed by annotation
    feedback (:meth:`Crawler.feedback`: a tag labelled drug-related weighs
    double, one labelled not drug-related is never searched). After every
    page the best tag is picked again. It stops at ``target_dealers``
    suspected dealer accounts, at the budget, or when no tag is left.

The judge (:class:`Judge`) is a detector, never the ground truth: the
default :class:`LexiconJudge` calls an event drug-related when the lexicon
finds a drug in its text (``drugwatch.text.analyze``) and selling when it
also shows a contact (JMIR's dealer-post definition); :class:`DetectorJudge`
wraps a fitted selling detector; :class:`AnyJudge` combines judges (text
and image). An account is a *suspected dealer* once ``dealer_min_selling``
of its events (or its bio) are judged selling.

Robustness. After every page the crawl state (frontier, feed cursors,
follow-up queue, seen ids, counters, budget, errors) and the page's records
are written to the checkpoint file atomically (temp file, fsync, rename)
*before* the records are upserted: a kill -9 at any point either loses the
page (it is fetched again on resume) or leaves its records in the
checkpoint's write-ahead list, which a resume upserts again (the store's
upsert is idempotent). Nothing is lost, nothing duplicated. Per-item
errors (a deleted post, a private profile, a hashtag endpoint that is gone)
are logged, counted, and repeated in the summary; the crawl goes on. HTTP
429 and 5xx wait with :class:`~drugwatch.collect.rate.Backoff` and retry
the page; 401/403 stop the crawl with a clear message (resume later). The
checkpoint is deleted when the crawl completes (``done`` or ``target``); a
crawl stopped by its budget keeps it, so ``--resume --budget N`` continues.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from drugwatch.collect.rate import (
    Backoff,
    BudgetExhausted,
    CollectError,
    ItemError,
    RateLimited,
    TransientError,
)
from drugwatch.collect.sources import Page, Source
from drugwatch.records import Account, Event, ImageRef, sha256_bytes, sha256_json

log = logging.getLogger(__name__)

_R = TypeVar("_R")  # what a fetched request returns (a page, a profile or image bytes)

Strategy = Literal["fixed", "jmir", "dmml"]
FollowAuthors = Literal["drug", "selling", "none"]
STRATEGIES: tuple[str, ...] = ("fixed", "jmir", "dmml")

#: Seed hashtags: JMIR's four misspelled seeds plus drug names of the kind
#: Yang & Luo's expert dictionary lists. The same list seeds every strategy.
DEFAULT_SEEDS: tuple[str, ...] = (
    "xanaxangel",
    "percocert",
    "adderrall",
    "hydrocodoneacetaminophen",
    "xanax",
    "codeine",
    "lean",
    "percocet",
    "oxycodone",
    "mdma",
    "molly",
    "lsd",
    "shrooms",
    "cocaine",
    "weed",
)

#: Weight of an event judged drug-related but not selling in the ``dmml`` frontier.
DRUG_ONLY_EVIDENCE = 0.25
#: JMIR's loop-1 cutoff: posts older than this many days end a feed.
JMIR_CUTOFF_DAYS = 90.0
CHECKPOINT_VERSION = 1
#: Per-item error messages kept in the state (the count is always exact).
MAX_ERROR_MESSAGES = 500


class CheckpointError(CollectError):
    """A checkpoint is in the way (exists without --resume) or does not fit this crawl."""


# ---------------------------------------------------------------------------
# configuration


def _tag(text: str) -> str:
    tag = text.strip().lstrip("#").lower()
    if not tag:
        raise ValueError("an empty hashtag is not a seed")
    return tag


@dataclass(frozen=True)
class CrawlConfig:
    """What to crawl and how; part of the checkpoint (a resume must use the same).

    ``budget`` (requests) may change between runs of one crawl; everything
    else must not. ``cutoff_days=None`` means the strategy's default: 90 days
    for ``jmir``, no cutoff for the others.
    """

    strategy: Strategy = "dmml"
    seeds: tuple[str, ...] = DEFAULT_SEEDS
    budget: int | None = 1000
    cutoff_days: float | None = None
    max_pages_per_tag: int | None = None
    comments: bool = True
    follow_authors: FollowAuthors = "selling"
    timeline_posts: int = 200
    expand_top: int = 50
    expand_min_count: int = 2
    expand_min_precision: float = 0.5
    target_dealers: int | None = None
    dealer_min_selling: int = 2
    images: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; expected one of: {', '.join(STRATEGIES)}")
        seeds = tuple(dict.fromkeys(_tag(s) for s in self.seeds))
        if not seeds:
            raise ValueError("a crawl needs at least one seed hashtag")
        object.__setattr__(self, "seeds", seeds)
        if self.budget is not None and self.budget < 1:
            raise ValueError(f"budget must be at least 1 request, got {self.budget}")
        if self.cutoff_days is not None and self.cutoff_days <= 0:
            raise ValueError(f"cutoff_days must be positive, got {self.cutoff_days}")
        if self.max_pages_per_tag is not None and self.max_pages_per_tag < 1:
            raise ValueError(f"max_pages_per_tag must be at least 1, got {self.max_pages_per_tag}")
        if self.follow_authors not in ("drug", "selling", "none"):
            raise ValueError(f"follow_authors must be 'drug', 'selling' or 'none', got {self.follow_authors!r}")
        if self.timeline_posts < 0:
            raise ValueError(f"timeline_posts cannot be negative, got {self.timeline_posts}")
        if self.target_dealers is not None and self.target_dealers < 1:
            raise ValueError(f"target_dealers must be at least 1, got {self.target_dealers}")

    @property
    def effective_cutoff_days(self) -> float | None:
        if self.cutoff_days is not None:
            return self.cutoff_days
        return JMIR_CUTOFF_DAYS if self.strategy == "jmir" else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrawlConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["seeds"] = tuple(known.get("seeds", DEFAULT_SEEDS))
        return cls(**known)

    def identity(self) -> str:
        """Digest of everything a resume must keep the same (all but the budget)."""
        return sha256_json({k: v for k, v in self.to_json().items() if k != "budget"})


# ---------------------------------------------------------------------------
# judges


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the judge says about one event."""

    drug: bool
    selling: bool = False


class Judge(Protocol):
    """Decides which events are drug-related (and selling) during a crawl."""

    name: str

    def judge(self, events: Sequence[Event]) -> list[Verdict]: ...


class LexiconJudge:
    """Drug-related when the lexicon names a drug; selling when a contact is shown too.

    Cheap (no model) and deterministic; verdicts are cached by text, so a
    text seen twice (a repost, a re-crawl) is analysed once.
    """

    name = "lexicon"
    #: Texts kept in the cache; it is emptied when full (a crawl rarely re-sees old texts).
    cache_size = 200_000

    def __init__(self) -> None:
        self._cache: dict[str, Verdict] = {}

    def judge_text(self, text: str) -> Verdict:
        verdict = self._cache.get(text)
        if verdict is None:
            from drugwatch.text.analyze import analyze

            view = analyze(text)
            drug = bool(view.labels)
            verdict = Verdict(drug=drug, selling=drug and view.has_contact)
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[text] = verdict
        return verdict

    def judge(self, events: Sequence[Event]) -> list[Verdict]:
        return [self.judge_text(event.text) for event in events]


class DetectorJudge:
    """A fitted selling detector as judge (``predict_proba(events)[:, 1] >= threshold``).

    Selling implies drug-related; ``drug_judge`` (default :class:`LexiconJudge`)
    adds the drug-related events that do not sell.
    """

    def __init__(self, detector: Any, *, threshold: float = 0.5, drug_judge: Judge | None = None):
        self.detector = detector
        self.threshold = threshold
        self.drug_judge = drug_judge if drug_judge is not None else LexiconJudge()
        self.name = f"{getattr(detector, 'name', type(detector).__name__)}@{threshold:g}"

    def judge(self, events: Sequence[Event]) -> list[Verdict]:
        if not events:
            return []
        proba = self.detector.predict_proba(list(events))
        drug = self.drug_judge.judge(events)
        return [
            Verdict(drug=bool(p[1] >= self.threshold) or d.drug, selling=bool(p[1] >= self.threshold))
            for p, d in zip(proba, drug, strict=True)
        ]


class AnyJudge:
    """Several judges (e.g. text and image): an event is what any of them says it is."""

    def __init__(self, judges: Sequence[Judge]):
        if not judges:
            raise ValueError("AnyJudge needs at least one judge")
        self.judges = list(judges)
        self.name = "any(" + ",".join(j.name for j in self.judges) + ")"

    def judge(self, events: Sequence[Event]) -> list[Verdict]:
        verdicts = [j.judge(events) for j in self.judges]
        return [
            Verdict(drug=any(v.drug for v in row), selling=any(v.selling for v in row))
            for row in zip(*verdicts, strict=True)
        ]


# ---------------------------------------------------------------------------
# state and checkpoint


@dataclass
class CrawlState:
    """Everything a resumed crawl needs; saved after every page."""

    phase: str = "start"
    tag_queue: list[str] = field(default_factory=list)
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    seen_events: set[str] = field(default_factory=set)
    queued_accounts: set[str] = field(default_factory=set)
    tag_drug: Counter[str] = field(default_factory=Counter)
    tag_selling: Counter[str] = field(default_factory=Counter)
    tag_total: Counter[str] = field(default_factory=Counter)
    selling_by_author: Counter[str] = field(default_factory=Counter)
    dealers: set[str] = field(default_factory=set)
    feedback: dict[str, bool] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    error_counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    status: str = "running"
    steps: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "tag_queue": list(self.tag_queue),
            "feeds": self.feeds,
            "tasks": self.tasks,
            "seen_events": sorted(self.seen_events),
            "queued_accounts": sorted(self.queued_accounts),
            "tag_drug": dict(self.tag_drug),
            "tag_selling": dict(self.tag_selling),
            "tag_total": dict(self.tag_total),
            "selling_by_author": dict(self.selling_by_author),
            "dealers": sorted(self.dealers),
            "feedback": dict(sorted(self.feedback.items())),
            "counters": dict(self.counters),
            "error_counts": dict(self.error_counts),
            "errors": list(self.errors),
            "status": self.status,
            "steps": self.steps,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrawlState:
        return cls(
            phase=data["phase"],
            tag_queue=list(data["tag_queue"]),
            feeds={k: dict(v) for k, v in data["feeds"].items()},
            tasks=[dict(t) for t in data["tasks"]],
            seen_events=set(data["seen_events"]),
            queued_accounts=set(data["queued_accounts"]),
            tag_drug=Counter(data["tag_drug"]),
            tag_selling=Counter(data["tag_selling"]),
            tag_total=Counter(data["tag_total"]),
            selling_by_author=Counter(data["selling_by_author"]),
            dealers=set(data["dealers"]),
            feedback={k: bool(v) for k, v in data["feedback"].items()},
            counters=Counter(data["counters"]),
            error_counts=Counter(data["error_counts"]),
            errors=list(data["errors"]),
            status=data["status"],
            steps=int(data["steps"]),
        )


class Checkpoint:
    """A JSON file written atomically: temp file in the same folder, fsync, rename, fsync folder."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"cannot read the checkpoint {self.path}: {exc}") from None

    def save(self, payload: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # some platforms cannot open a folder; the rename is still atomic
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def _record_to_json(record: Event | Account) -> dict[str, Any]:
    kind = "event" if isinstance(record, Event) else "account"
    return {"type": kind, "data": record.model_dump(mode="json")}


def _record_from_json(item: Mapping[str, Any]) -> Event | Account:
    model = Event if item["type"] == "event" else Account
    return model.model_validate(item["data"])


# ---------------------------------------------------------------------------
# summary


@dataclass(frozen=True)
class CrawlSummary:
    """What a crawl did, for the end-of-run report."""

    strategy: str
    status: str
    judge: str
    requests: int
    requests_by_kind: dict[str, int]
    budget: int | None
    pages: int
    counters: dict[str, int]
    suspected_dealers: int
    tags_searched: dict[str, int]
    error_count: int
    error_counts: dict[str, int]
    errors: list[str]
    elapsed_s: float
    resumed: bool
    checkpoint: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def format(self, max_errors: int = 20) -> str:
        counters = self.counters
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.requests_by_kind.items()))
        of_budget = f" of {self.budget}" if self.budget else ""
        lines = [
            f"strategy {self.strategy} ({self.status}); judge {self.judge}",
            f"requests {self.requests}{of_budget} ({kinds})",
            (
                f"new events {counters.get('events_new', 0)} (posts {counters.get('posts_new', 0)}, "
                f"comments {counters.get('comments_new', 0)}); accounts {counters.get('accounts', 0)}"
            ),
            (
                f"judged drug-related {counters.get('drug_events', 0)}, selling "
                f"{counters.get('selling_events', 0)}; suspected dealer accounts {self.suspected_dealers}"
            ),
            f"hashtags searched {len(self.tags_searched)}",
        ]
        if self.error_count:
            lines.append(
                f"{self.error_count} item errors ("
                + ", ".join(f"{k} {v}" for k, v in sorted(self.error_counts.items()))
                + "):"
            )
            lines.extend(f"  {message}" for message in self.errors[:max_errors])
            if self.error_count > max_errors:
                lines.append(f"  ... and {self.error_count - max_errors} more")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# the crawler


class Crawler:
    """One crawl: ``Crawler(source, store, config, checkpoint=path).run()``.

    ``checkpoint=None`` keeps the state in memory only (simulations,
    benchmarks). With a checkpoint path that already exists the constructor
    raises :class:`CheckpointError` unless ``resume=True``, which continues
    from it (or starts afresh if the file is missing). ``backoff`` governs
    the waits after 429/5xx; ``on_page(crawler)`` is called after every
    committed page (progress bars, feedback).
    """

    def __init__(
        self,
        source: Source,
        store: Any,
        config: CrawlConfig,
        *,
        judge: Judge | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        resume: bool = False,
        backoff: Backoff | None = None,
        on_page: Callable[[Crawler], None] | None = None,
        images_dir: str | os.PathLike[str] | None = None,
    ):
        self.source = source
        self.store = store
        self.config = config
        self.judge = judge if judge is not None else LexiconJudge()
        self.checkpoint = Checkpoint(checkpoint) if checkpoint is not None else None
        self.backoff = backoff if backoff is not None else Backoff()
        self.on_page = on_page
        self.images_dir = Path(images_dir) if images_dir is not None else None
        if config.images and self.images_dir is None:
            raise ValueError("config.images=True needs images_dir (where downloaded images go)")
        self.budget = source.budget
        self.budget.limit = config.budget
        self.resumed = False
        self._fetching = False
        self.state = CrawlState()
        if self.checkpoint is not None and self.checkpoint.exists():
            if not resume:
                raise CheckpointError(
                    f"a checkpoint of an unfinished crawl exists at {self.checkpoint.path}; "
                    "resume it (--resume) or delete it to start over (--restart)"
                )
            self._restore(self.checkpoint.load())
        if self.state.phase == "start":
            self._begin()

    # -- lifecycle ----------------------------------------------------------

    def _begin(self) -> None:
        self.state.phase = {"fixed": "seeds", "jmir": "loop1", "dmml": "expand"}[self.config.strategy]
        self.state.tag_queue = list(self.config.seeds)

    def _restore(self, payload: Mapping[str, Any]) -> None:
        if payload.get("version") != CHECKPOINT_VERSION:
            raise CheckpointError(
                f"checkpoint {self.checkpoint.path if self.checkpoint else ''} has version "
                f"{payload.get('version')!r}; this drugwatch reads version {CHECKPOINT_VERSION}"
            )
        saved = CrawlConfig.from_json(payload["config"])
        if saved.identity() != self.config.identity():
            raise CheckpointError(
                "the checkpoint belongs to a different crawl (strategy, seeds or options differ): "
                f"it was {saved.strategy} with seeds {', '.join(saved.seeds)}; run with the same options "
                "(only --budget may change) or --restart"
            )
        self.state = CrawlState.from_json(payload["state"])
        self.budget.restore(payload["budget"])
        pending = [_record_from_json(item) for item in payload.get("pending", [])]
        if pending:
            # The write-ahead records of the last checkpointed page: upsert is idempotent.
            self.store.upsert(pending)
        if self.state.status != "running":
            self.state.status = "running"
        self.resumed = True
        log.info(
            "resuming crawl from %s after %d pages",
            self.checkpoint.path if self.checkpoint else "",
            self.state.steps,
        )

    def _save(self, records: Sequence[Event | Account]) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.save(
            {
                "version": CHECKPOINT_VERSION,
                "config": self.config.to_json(),
                "source": getattr(self.source, "name", type(self.source).__name__),
                "judge": self.judge.name,
                "budget": self.budget.to_json(),
                "state": self.state.to_json(),
                "pending": [_record_to_json(r) for r in records],
            }
        )

    def _commit(self, records: Sequence[Event | Account]) -> None:
        self.state.steps += 1
        self._save(records)
        if records:
            self.store.upsert(records)
        if self.on_page is not None:
            self.on_page(self)

    def run(self, max_steps: int | None = None) -> CrawlSummary:
        """Crawl until done, the target, the budget, or ``max_steps`` pages; return the summary.

        :class:`~drugwatch.collect.rate.AuthError`, :class:`RateLimited` (after
        the backoff) and ``KeyboardInterrupt`` propagate; the checkpoint
        already holds every finished page, so the same call with
        ``resume=True`` continues.
        """
        started = time.monotonic()
        taken = 0
        while max_steps is None or taken < max_steps:
            stop = self._stop_reason()
            if stop is not None:
                self._finish(stop)
                break
            action = self._next_action()
            if action is None:
                self._finish("done")
                break
            self._fetching = True
            try:
                records = self._step(action)
            except BudgetExhausted:
                self._finish("budget")
                break
            except CollectError:
                # 429 after every wait, 401/403: nothing of the page was absorbed, so the
                # checkpoint can count the requests spent on it before the crawl stops.
                if self._fetching:
                    self._save([])
                raise
            self._commit(records)
            taken += 1
        return self.summary(elapsed=time.monotonic() - started)

    def _stop_reason(self) -> str | None:
        if self.config.target_dealers is not None and len(self.state.dealers) >= self.config.target_dealers:
            return "target"
        if self.budget.exhausted:
            return "budget"
        return None

    def _finish(self, status: str) -> None:
        self.state.status = status
        if self.checkpoint is None:
            return
        if status in ("done", "target"):
            self.checkpoint.delete()
        else:
            self._save([])

    def summary(self, elapsed: float = 0.0) -> CrawlSummary:
        return CrawlSummary(
            strategy=self.config.strategy,
            status=self.state.status,
            judge=self.judge.name,
            requests=self.budget.used,
            requests_by_kind=dict(sorted(self.budget.by_kind.items())),
            budget=self.config.budget,
            pages=self.state.steps,
            counters=dict(sorted(self.state.counters.items())),
            suspected_dealers=len(self.state.dealers),
            tags_searched={t: f["pages"] for t, f in self.state.feeds.items() if f.get("pages")},
            error_count=sum(self.state.error_counts.values()),
            error_counts=dict(sorted(self.state.error_counts.items())),
            errors=list(self.state.errors),
            elapsed_s=round(elapsed, 3),
            resumed=self.resumed,
            checkpoint=str(self.checkpoint.path) if self.checkpoint else None,
        )

    # -- annotation feedback ------------------------------------------------

    def feedback(self, tags: Mapping[str, bool]) -> None:
        """Annotators' verdict on hashtags: ``True`` drug-related (weighs double), ``False`` never search.

        Saved with the next checkpoint. Affects the ``dmml`` frontier; for
        ``fixed`` and ``jmir`` a tag labelled ``False`` is skipped.
        """
        for tag, label in tags.items():
            self.state.feedback[_tag(tag)] = bool(label)

    # -- choosing the next request -------------------------------------------

    def _feed(self, tag: str) -> dict[str, Any]:
        return self.state.feeds.setdefault(
            tag,
            {
                "cursor": None,
                "pages": 0,
                "done": False,
                "posts": 0,
                "drug_posts": 0,
                "empty_streak": 0,
            },
        )

    def _open(self, tag: str) -> bool:
        feed = self.state.feeds.get(tag)
        return self.state.feedback.get(tag) is not False and not (feed and feed["done"])

    def _next_action(self) -> dict[str, Any] | None:
        if self.state.tasks:
            return self.state.tasks[0]
        tag = self._next_tag()
        return None if tag is None else {"kind": "hashtag", "tag": tag}

    def _next_tag(self) -> str | None:
        if self.config.strategy == "dmml":
            return self._best_frontier_tag()
        while True:
            for tag in self.state.tag_queue:
                if self._open(tag):
                    return tag
            if self.config.strategy == "jmir" and self.state.phase == "loop1":
                self.state.phase = "loop2"
                self.state.tag_queue = self._loop2_tags()
                log.info("JMIR loop 2: %d hashtags found in loop 1", len(self.state.tag_queue))
                continue
            return None

    def _loop2_tags(self) -> list[str]:
        searched = set(self.state.feeds)
        found = [
            tag
            for tag, drug in self.state.tag_drug.items()
            if tag not in searched
            and drug >= self.config.expand_min_count
            and drug / max(self.state.tag_total[tag], 1) >= self.config.expand_min_precision
            and self.state.feedback.get(tag) is not False
        ]
        found.sort(key=lambda t: (-self.state.tag_drug[t], t))
        return found[: self.config.expand_top]

    def frontier(self) -> list[tuple[str, float]]:
        """The ``dmml`` frontier, best first: ``(tag, weight)`` for every tag that could be searched."""
        candidates = set(self.config.seeds) | {t for t, d in self.state.tag_drug.items() if d > 0}
        candidates |= {t for t, d in self.state.tag_selling.items() if d > 0}
        candidates |= {t for t, label in self.state.feedback.items() if label}
        scored = []
        for tag in candidates:
            if not self._open(tag):
                continue
            weight = self._weight(tag)
            if weight > 0:
                scored.append((tag, weight))
        # Ties (at the start: every seed) go in the seed list's order, the expert's priority.
        order = {tag: i for i, tag in enumerate(self.config.seeds)}
        scored.sort(key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]))
        return scored

    def _weight(self, tag: str) -> float:
        # DMML's events are trafficking events: a selling verdict is full evidence,
        # a drug mention without a sale (news, personal use) a quarter of it.
        selling = self.state.tag_selling[tag]
        evidence = selling + DRUG_ONLY_EVIDENCE * (self.state.tag_drug[tag] - selling)
        total = self.state.tag_total[tag]
        prior = 1.0 if tag in self.config.seeds else 0.0
        label = self.state.feedback.get(tag)
        if label:
            prior += 1.0
        weight = (evidence + prior) * (evidence + 1) / (total + 2)
        if label:
            weight *= 2
        feed = self.state.feeds.get(tag)
        if feed:
            weight *= 0.5 ** feed["empty_streak"]
        return weight

    def _best_frontier_tag(self) -> str | None:
        frontier = self.frontier()
        return frontier[0][0] if frontier else None

    # -- one step -------------------------------------------------------------

    def _fetch(self, request: Callable[[], _R], what: str) -> _R:
        delays = iter(self.backoff.delays())
        while True:
            try:
                result = request()
                self._fetching = False
                return result
            except (RateLimited, TransientError) as exc:
                delay = next(delays, None)
                if delay is None:
                    raise RateLimited(
                        f"{what}: still failing after {self.backoff.tries} waits ({exc}); every finished page is "
                        "checkpointed: wait, then run the same command with --resume"
                    ) from exc
                self.state.counters["backoff_waits"] += 1
                log.warning("%s: %s; waiting %.0f s before retrying", what, exc, delay)
                self.backoff.wait(delay)

    def _item_error(self, what: str, exc: Exception) -> None:
        kind = type(exc).__name__
        message = f"{what}: {exc}"
        log.warning("%s", message)
        self.state.error_counts[kind] += 1
        if len(self.state.errors) < MAX_ERROR_MESSAGES:
            self.state.errors.append(message)

    def _step(self, action: dict[str, Any]) -> list[Event | Account]:
        kind = action["kind"]
        src = self.source
        if kind == "hashtag":
            tag = action["tag"]
            feed = self._feed(tag)
            what = f"#{tag} page {feed['pages'] + 1}"
            try:
                page = self._fetch(lambda: src.hashtag_page(tag, feed["cursor"]), what)
            except ItemError as exc:
                self._item_error(what, exc)
                feed["done"] = True
                return []
            return self._absorb_hashtag(tag, feed, page)
        # follow-up tasks: the action is self.state.tasks[0]
        if kind == "comments":
            post = Event(
                id=action["post_id"],
                meta={"shortcode": action["shortcode"]} if action.get("shortcode") else {},
            )
            what = f"comments of post {action['post_id']}"
            try:
                page = self._fetch(lambda: src.comments_page(post, action.get("cursor")), what)
            except ItemError as exc:
                self._item_error(what, exc)
                self.state.tasks.pop(0)
                return []
            records = self._absorb_events(page.items, "comments")
            self._advance_task(page.next_cursor)
            return records
        if kind == "profile":
            username = action["username"]
            what = f"profile {username}"
            try:
                account = self._fetch(lambda: src.profile(username), what)
            except ItemError as exc:
                self._item_error(what, exc)
                self.state.tasks.pop(0)
                return []
            self.state.tasks.pop(0)
            assert isinstance(account, Account)
            self.state.counters["accounts"] += 1
            if account.bio and self.judge.judge([Event(id=f"bio:{username}", text=account.bio)])[0].selling:
                self._selling_evidence(username)
            if self.config.timeline_posts > 0 and not account.is_private:
                self.state.tasks.append({"kind": "timeline", "username": username, "cursor": None, "taken": 0})
            return [account]
        if kind == "timeline":
            username = action["username"]
            what = f"timeline of {username} page {action['taken'] // 12 + 1}"
            try:
                page = self._fetch(lambda: src.timeline_page(username, action.get("cursor")), what)
            except ItemError as exc:
                self._item_error(what, exc)
                self.state.tasks.pop(0)
                return []
            room = self.config.timeline_posts - action["taken"]
            items = page.items[:room]
            action["taken"] += len(items)
            records = self._absorb_events(items, "timeline")
            done = action["taken"] >= self.config.timeline_posts
            self._advance_task(None if done else page.next_cursor)
            return records
        raise ValueError(f"unknown crawl task {kind!r} in the checkpoint")

    def _advance_task(self, cursor: Any) -> None:
        if cursor is None:
            self.state.tasks.pop(0)
        else:
            self.state.tasks[0]["cursor"] = cursor

    def _absorb_hashtag(self, tag: str, feed: dict[str, Any], page: Page[Event]) -> list[Event | Account]:
        feed["pages"] += 1
        self.state.counters["hashtag_pages"] += 1
        posts = list(page.items)
        reached_cutoff = False
        cutoff_days = self.config.effective_cutoff_days
        if cutoff_days is not None:
            cutoff = self.source.now() - timedelta(days=cutoff_days)
            kept = [p for p in posts if p.created_at is None or p.created_at >= cutoff]
            reached_cutoff = len(kept) < len(posts)
            posts = kept
        before = self.state.counters["drug_posts_new"]
        records = self._absorb_events(posts, f"#{tag}")
        gained = self.state.counters["drug_posts_new"] - before
        feed["posts"] += len(posts)
        feed["drug_posts"] += gained
        feed["empty_streak"] = 0 if gained else feed["empty_streak"] + 1
        feed["cursor"] = page.next_cursor
        limit = self.config.max_pages_per_tag
        if page.last or reached_cutoff or (limit is not None and feed["pages"] >= limit):
            feed["done"] = True
        return records

    def _selling_evidence(self, username: str) -> None:
        self.state.selling_by_author[username] += 1
        if self.state.selling_by_author[username] >= self.config.dealer_min_selling:
            self.state.dealers.add(username)

    def _absorb_events(self, events: Sequence[Event], via: str) -> list[Event | Account]:
        """Judge the new events of a page, update the frontier, queue follow-ups; return records to write."""
        state = self.state
        # One event may come twice in a page (a pinned post); judge each once.
        unique: dict[str, Event] = {}
        for event in events:
            if event.key not in state.seen_events:
                unique.setdefault(event.key, event)
        fresh = list(unique.values())
        verdicts = self.judge.judge(fresh)
        records: list[Event | Account] = list(events)
        for event, verdict in zip(fresh, verdicts, strict=True):
            state.seen_events.add(event.key)
            state.counters["events_new"] += 1
            state.counters[f"{event.kind}s_new"] += 1
            for tag in event.hashtags:
                state.tag_total[tag] += 1
                if verdict.drug:
                    state.tag_drug[tag] += 1
                if verdict.selling:
                    state.tag_selling[tag] += 1
            if not verdict.drug:
                continue
            state.counters["drug_events"] += 1
            if event.kind == "post":
                state.counters["drug_posts_new"] += 1
            if verdict.selling:
                state.counters["selling_events"] += 1
                if event.author:
                    self._selling_evidence(event.author)
            if event.kind == "post" and self.config.comments and event.meta.get("comment_count") != 0:
                # A post that shows zero comments costs no request (instaloader skips it too).
                state.tasks.append(
                    {
                        "kind": "comments",
                        "post_id": event.id,
                        "shortcode": event.meta.get("shortcode"),
                        "cursor": None,
                    }
                )
            follow = self.config.follow_authors
            wanted = follow == "drug" or (follow == "selling" and verdict.selling)
            if wanted and event.author and event.author not in state.queued_accounts:
                state.queued_accounts.add(event.author)
                state.tasks.append({"kind": "profile", "username": event.author})
        if self.config.images:
            records = [self._with_images(r) if isinstance(r, Event) and r.key in unique else r for r in records]
        return records

    def _with_images(self, event: Event) -> Event:
        """Download the images of a drug-related event (one request each) and point the record at them."""
        if not event.images or not self.judge.judge([event])[0].drug:
            return event
        assert self.images_dir is not None
        refs = []
        for index, ref in enumerate(event.images):
            what = f"image {index} of {event.id}"
            try:
                data = self._fetch(functools.partial(self.source.image, event, index), what)
            except ItemError as exc:
                self._item_error(what, exc)
                refs.append(ref)
                continue
            except (BudgetExhausted, RateLimited) as exc:
                self._item_error(what, exc)
                refs.append(ref)
                continue
            assert isinstance(data, bytes)
            digest = sha256_bytes(data)
            target = self.images_dir / digest[:2] / f"{digest}.jpg"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".tmp")
                tmp.write_bytes(data)
                os.replace(tmp, target)
            self.state.counters["images"] += 1
            refs.append(ImageRef(url=ref.url, path=str(target), sha256=digest))
        return event.model_copy(update={"images": tuple(refs)})


# ---------------------------------------------------------------------------
# helpers for callers


def default_checkpoint_path(config: CrawlConfig, source_name: str, home: Path | None = None) -> Path:
    """``$DRUGWATCH_HOME/crawls/<strategy>-<digest>.json``: one file per crawl identity and source."""
    from drugwatch.store.db import data_home

    digest = sha256_json({"config": config.identity(), "source": source_name})[:12]
    return (home or data_home()) / "crawls" / f"{config.strategy}-{digest}.json"


def tag_feedback_from_events(events: Iterable[Event], min_events: int = 2) -> dict[str, bool]:
    """Hashtag labels from annotated events: a tag is drug-related when more than half of its labelled events are.

    Only events with ``labels`` (annotations) count; tags with fewer than
    ``min_events`` labelled events get no label.
    """
    drug: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for event in events:
        if event.labels is None:
            continue
        for tag in event.hashtags:
            total[tag] += 1
            if event.is_drug:
                drug[tag] += 1
    return {tag: drug[tag] * 2 > n for tag, n in total.items() if n >= min_events}


def dealer_events_per_1000(found: int, requests: int) -> float:
    """Dealer events found per 1,000 requests (0 when no request was made)."""
    return 0.0 if requests <= 0 else math.floor(found * 1000 / requests * 10 + 0.5) / 10


def collect(
    source: Source,
    store: Any,
    config: CrawlConfig,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    restart: bool = False,
    feedback: Mapping[str, bool] | None = None,
    judge: Judge | None = None,
    backoff: Backoff | None = None,
    on_page: Callable[[Crawler], None] | None = None,
    images_dir: str | os.PathLike[str] | None = None,
) -> CrawlSummary:
    """Run one crawl to its end (``drugwatch collect``); see :class:`Crawler`.

    ``restart=True`` deletes an existing checkpoint first; ``feedback`` are
    annotators' hashtag labels (:meth:`Crawler.feedback`).
    """
    if restart and checkpoint is not None:
        Checkpoint(checkpoint).delete()
    crawler = Crawler(
        source,
        store,
        config,
        judge=judge,
        checkpoint=checkpoint,
        resume=resume,
        backoff=backoff,
        on_page=on_page,
        images_dir=images_dir,
    )
    if feedback:
        crawler.feedback(feedback)
    return crawler.run()


def read_feedback(path: str | os.PathLike[str]) -> dict[str, bool]:
    """Hashtag labels from a file: JSON ``{"tag": true, ...}`` or lines ``tag yes|no`` (``# `` starts a comment)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        return {_tag(k): bool(v) for k, v in data.items()}
    labels: dict[str, bool] = {}
    truthy = {"1", "yes", "y", "true", "drug", "drug_related"}
    falsy = {"0", "no", "n", "false", "not_drug", "non_drug"}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("# "):  # a comment; "#tag yes" is a label
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1].lower() not in truthy | falsy:
            raise ValueError(f"{path}, line {number}: expected '<hashtag> yes|no', got {line!r}")
        labels[_tag(parts[0])] = parts[1].lower() in truthy
    return labels
