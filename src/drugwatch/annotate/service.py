"""What the annotation app does, independent of HTTP: assignment, queues,
submissions, adjudication, final labels, export, hashtag weights and
active-learning order. Routers and the CLI call these functions.

Every write is one transaction whose first statement is a write (an
INSERT/UPDATE), so SQLite takes its write lock up front and concurrent
requests wait on the busy timeout instead of failing.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, case, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from drugwatch.annotate.evidence import OcrReading
from drugwatch.annotate.schema import (
    DEALER_LEVEL,
    LABEL_LEVELS,
    AdjudicationRow,
    AnnotationRow,
    AssignmentRow,
    HashtagWeightRow,
    UserRow,
)
from drugwatch.labels import LABELS, NON_DRUG, check_labels
from drugwatch.records import Event
from drugwatch.store.repository import row_to_event
from drugwatch.store.schema import AccountRow, EventRow

EXPORT_FORMATS = ("jsonl", "parquet")
_CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC)


class AnswerError(ValueError):
    """A submission that cannot be accepted. ``messages`` lists every problem
    at once (each says what to fix); ``str()`` joins them."""

    def __init__(self, messages: str | Sequence[str]) -> None:
        self.messages = (messages,) if isinstance(messages, str) else tuple(messages)
        super().__init__("; ".join(self.messages))


class TaskStateError(ValueError):
    """An action the task's state does not allow (undo after adjudication)."""


# ---------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class Answer:
    """One annotator's labels for one event: a label set per applicable level,
    and the dealer code (JMIR: a drug and contact information to buy)."""

    levels: Mapping[str, tuple[str, ...]]
    selling: bool

    @property
    def labels(self) -> tuple[str, ...]:
        return merge_levels(self.levels)


def required_levels(event: Event) -> tuple[str, ...]:
    """The DMML levels an event has: hashtags if it has any, image if it has
    one, and its text (the comment level) always."""
    levels = []
    if event.hashtags:
        levels.append("hashtag")
    if event.images:
        levels.append("image")
    levels.append("comment")
    return tuple(levels)


def merge_levels(levels: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The event's labels: the drugs named at any level, else ``non_drug``."""
    drugs = {label for labels in levels.values() for label in labels if label != NON_DRUG}
    return check_labels(sorted(drugs)) if drugs else (NON_DRUG,)


def parse_selling(selling: str | bool | None) -> bool | None:
    if isinstance(selling, bool):
        return selling
    if selling in ("1", "true", "yes", "on"):
        return True
    if selling in ("0", "false", "no", "off"):
        return False
    return None


def parse_answer(event: Event, levels: Mapping[str, Sequence[str]], selling: str | bool | None) -> Answer:
    """Validate form input: every applicable level needs at least one label,
    and the dealer question an answer. Every problem is reported at once."""
    parsed: dict[str, tuple[str, ...]] = {}
    errors: list[str] = []
    for level in required_levels(event):
        chosen = [label for label in levels.get(level, ()) if label]
        if not chosen:
            errors.append(f"choose at least one label at the {level} level ('non_drug' if it shows no drug)")
            continue
        try:
            parsed[level] = check_labels(chosen)
        except ValueError as exc:
            errors.append(f"{level} level: {exc}")
    extra = sorted(set(k for k, v in levels.items() if v) - set(required_levels(event)))
    if extra:
        errors.append(f"this event has no {' or '.join(extra)} to label")
    dealer = parse_selling(selling)
    if dealer is None:
        errors.append("answer the dealer question: does it offer a drug with contact information to buy? (yes/no)")
    if errors:
        raise AnswerError(errors)
    assert dealer is not None
    return Answer(parsed, dealer)


# ---------------------------------------------------------------------------
# Dialect-aware upsert


def _insert(engine_or_conn: Any, table: Any):
    name = engine_or_conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"the annotation app supports SQLite and PostgreSQL, not {name}")


# ---------------------------------------------------------------------------
# Assignment


def annotator_ids(engine: Engine, usernames: Sequence[str] | None = None) -> list[int]:
    query = select(UserRow.id, UserRow.username).where(UserRow.role == "annotator", UserRow.active.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(UserRow.id)).all()
    if usernames:
        known = {r.username: r.id for r in rows}
        missing = [u for u in usernames if u not in known]
        if missing:
            raise ValueError(f"not active annotators: {', '.join(missing)}")
        return [known[u] for u in usernames]
    return [r.id for r in rows]


def assign(
    engine: Engine,
    *,
    k: int,
    event_keys: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
    annotators: Sequence[str] | None = None,
) -> int:
    """Give each event ``k`` different annotators; returns the assignments made.

    Events are taken in store order (all of them, or ``event_keys``, or those
    of ``kinds``); an event that already has ``k`` assignments is left alone,
    so running it again assigns only what is new. Annotators are chosen by
    fewest assignments, rotating ties so that pairs vary (every pair gets
    events in common, which Cohen's kappa per pair needs). ``limit`` caps the
    number of events that get new assignments. Idempotent under races: the
    unique (event, annotator) constraint drops a second copy.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    users = annotator_ids(engine, annotators)
    if len(users) < k:
        raise ValueError(f"k={k} annotators per event, but only {len(users)} active annotator(s); add users first")
    query = select(EventRow.key).order_by(EventRow.seq)
    if kinds:
        query = query.where(EventRow.kind.in_(list(kinds)))
    with engine.connect() as conn:
        keys = [r.key for r in conn.execute(query)]
        have: dict[str, set[int]] = defaultdict(set)
        load: Counter[int] = Counter()
        for row in conn.execute(select(AssignmentRow.event_key, AssignmentRow.user_id)):
            have[row.event_key].add(row.user_id)
            load[row.user_id] += 1
    if event_keys is not None:
        wanted = set(event_keys)
        unknown = sorted(wanted - set(keys))
        if unknown:
            raise ValueError(f"no such event(s) in the store: {', '.join(unknown[:5])}")
        keys = [key for key in keys if key in wanted]
    position = {uid: i for i, uid in enumerate(users)}
    user_set = set(users)
    rows: list[dict[str, Any]] = []
    now = _now()
    n_events = 0
    for i, key in enumerate(keys):
        need = k - len(have[key] & user_set) if key in have else k
        if need <= 0:
            continue
        if limit is not None and n_events >= limit:
            break
        candidates = sorted(
            (u for u in users if u not in have[key]),
            key=lambda u: (load[u], (position[u] - i) % len(users)),
        )
        for uid in candidates[:need]:
            rows.append({"event_key": key, "user_id": uid, "status": "pending", "priority": 0.0, "created_at": now})
            load[uid] += 1
            have[key].add(uid)
        n_events += 1
    made = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        with engine.begin() as conn:
            stmt = (
                _insert(conn, AssignmentRow)
                .values(chunk)
                .on_conflict_do_nothing(index_elements=["event_key", "user_id"])
            )
            made += conn.execute(stmt).rowcount or 0
    return made


@dataclass(frozen=True)
class Task:
    id: int
    event_key: str
    user_id: int
    status: str
    note: str | None


def get_task(engine: Engine, assignment_id: int, user_id: int) -> Task | None:
    """The assignment if it belongs to ``user_id`` (annotators never see others')."""
    with engine.connect() as conn:
        row = conn.execute(
            select(AssignmentRow).where(AssignmentRow.id == assignment_id, AssignmentRow.user_id == user_id)
        ).first()
    return Task(row.id, row.event_key, row.user_id, row.status, row.note) if row else None


def next_task(engine: Engine, user_id: int, *, exclude: int | None = None) -> int | None:
    """The id of the user's next pending assignment (highest priority first),
    other than ``exclude`` (a task just saved as a draft)."""
    query = select(AssignmentRow.id).where(AssignmentRow.user_id == user_id, AssignmentRow.status == "pending")
    if exclude is not None:
        query = query.where(AssignmentRow.id != exclude)
    with engine.connect() as conn:
        return conn.execute(
            query.order_by(AssignmentRow.priority.desc(), AssignmentRow.id).limit(1)
        ).scalar_one_or_none()


#: Characters of an event's text read for a preview in the queue and history lists.
PREVIEW_CHARS = 160


def _preview(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def _listing_query():
    return select(
        AssignmentRow.id,
        AssignmentRow.event_key,
        AssignmentRow.status,
        AssignmentRow.priority,
        AssignmentRow.note,
        AssignmentRow.completed_at,
        EventRow.kind,
        EventRow.author,
        func.substr(EventRow.text, 1, PREVIEW_CHARS * 2).label("text"),
    ).join(EventRow, EventRow.key == AssignmentRow.event_key)


def queue(engine: Engine, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The user's pending tasks in labelling order: position, kind, a text
    preview, and whether a draft answer is saved. The reason for the order
    (model uncertainty, suggested labels) is joined by the caller from the
    stored suggestions."""
    with engine.connect() as conn:
        rows = conn.execute(
            _listing_query()
            .where(AssignmentRow.user_id == user_id, AssignmentRow.status == "pending")
            .order_by(AssignmentRow.priority.desc(), AssignmentRow.id)
            .limit(limit)
        ).all()
        drafts = _with_answers(conn, user_id, [r.event_key for r in rows])
    return [
        {**dict(r._mapping), "position": i + 1, "preview": _preview(r.text), "draft": r.event_key in drafts}
        for i, r in enumerate(rows)
    ]


def _with_answers(conn: Any, user_id: int, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        found.update(
            conn.execute(
                select(AnnotationRow.event_key)
                .distinct()
                .where(
                    AnnotationRow.user_id == user_id, AnnotationRow.event_key.in_(list(keys[start : start + _CHUNK]))
                )
            ).scalars()
        )
    return found


#: What the history page lists: finished tasks by state, and drafts (pending with a saved answer).
HISTORY_FILTERS = ("all", "done", "skipped", "flagged", "draft")


def history(
    engine: Engine,
    user_id: int,
    *,
    status: str = "all",
    kind: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The user's submitted, skipped, flagged and draft items, most recent first.

    ``q`` keeps items whose text contains it (case-insensitive, at most 200
    characters); each row carries a text preview and the user's own labels.
    """
    if status not in HISTORY_FILTERS:
        raise ValueError(f"unknown history filter {status!r}; expected one of: {', '.join(HISTORY_FILTERS)}")
    drafted = select(AnnotationRow.event_key).where(AnnotationRow.user_id == user_id).distinct()
    query = _listing_query().where(AssignmentRow.user_id == user_id)
    if status == "draft":
        query = query.where(AssignmentRow.status == "pending", AssignmentRow.event_key.in_(drafted))
    elif status == "all":
        query = query.where(or_(AssignmentRow.status != "pending", AssignmentRow.event_key.in_(drafted)))
    else:
        query = query.where(AssignmentRow.status == status)
    if kind:
        query = query.where(EventRow.kind == kind)
    if q:
        query = query.where(func.lower(EventRow.text).contains(q[:200].lower(), autoescape=True))
    query = query.order_by(
        AssignmentRow.completed_at.is_(None), AssignmentRow.completed_at.desc(), AssignmentRow.id.desc()
    )
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).all()
        answers: dict[str, dict[str, Any]] = defaultdict(dict)
        keys = [r.event_key for r in rows]
        for start in range(0, len(keys), _CHUNK):
            for a in conn.execute(
                select(AnnotationRow.event_key, AnnotationRow.level, AnnotationRow.labels, AnnotationRow.selling).where(
                    AnnotationRow.user_id == user_id, AnnotationRow.event_key.in_(keys[start : start + _CHUNK])
                )
            ):
                answers[a.event_key][a.level] = a.selling if a.level == DEALER_LEVEL else tuple(a.labels or ())
    out = []
    for r in rows:
        own = answers.get(r.event_key, {})
        levels = {level: own[level] for level in LABEL_LEVELS if level in own}
        out.append(
            {
                **dict(r._mapping),
                "preview": _preview(r.text),
                "state": "draft" if r.status == "pending" else r.status,
                "labels": merge_levels(levels) if levels else (),
                "selling": own.get(DEALER_LEVEL),
            }
        )
    return out


@dataclass(frozen=True)
class Neighbours:
    previous: int | None
    next: int | None


def neighbours(engine: Engine, task: Task) -> Neighbours:
    """Where the previous/next keys lead from ``task``.

    Previous: the item finished (submitted, skipped or flagged) just before
    this one, or the last finished item when this one is still pending.
    Next: the item finished just after this one, else the first pending item
    of the queue other than this one.
    """
    finished = (AssignmentRow.user_id == task.user_id) & (AssignmentRow.status != "pending")
    with engine.connect() as conn:
        here = conn.execute(select(AssignmentRow.completed_at).where(AssignmentRow.id == task.id)).scalar_one_or_none()
        newest_first = (AssignmentRow.completed_at.desc(), AssignmentRow.id.desc())
        if task.status == "pending" or here is None:
            previous = conn.execute(
                select(AssignmentRow.id).where(finished).order_by(*newest_first).limit(1)
            ).scalar_one_or_none()
            later = None
        else:
            before = or_(
                AssignmentRow.completed_at < here, and_(AssignmentRow.completed_at == here, AssignmentRow.id < task.id)
            )
            after = or_(
                AssignmentRow.completed_at > here, and_(AssignmentRow.completed_at == here, AssignmentRow.id > task.id)
            )
            previous = conn.execute(
                select(AssignmentRow.id).where(finished, before).order_by(*newest_first).limit(1)
            ).scalar_one_or_none()
            later = conn.execute(
                select(AssignmentRow.id)
                .where(finished, after)
                .order_by(AssignmentRow.completed_at, AssignmentRow.id)
                .limit(1)
            ).scalar_one_or_none()
        if later is None:
            later = conn.execute(
                select(AssignmentRow.id)
                .where(
                    AssignmentRow.user_id == task.user_id,
                    AssignmentRow.status == "pending",
                    AssignmentRow.id != task.id,
                )
                .order_by(AssignmentRow.priority.desc(), AssignmentRow.id)
                .limit(1)
            ).scalar_one_or_none()
    return Neighbours(previous, later)


def is_adjudicated(engine: Engine, event_key: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(AdjudicationRow.id).where(AdjudicationRow.event_key == event_key)).first() is not None
        )


def undo(engine: Engine, task: Task) -> str:
    """Put a submitted, skipped or flagged task back in the queue; returns its former status.

    A submitted answer stays as a draft (the form opens pre-filled). Refused
    once the event is adjudicated: the final labels were decided on the answers.
    """
    if task.status == "pending":
        return "pending"
    if task.status == "done" and is_adjudicated(engine, task.event_key):
        raise TaskStateError("this item is already adjudicated; its answer can no longer be withdrawn")
    with engine.begin() as conn:
        conn.execute(
            update(AssignmentRow)
            .where(AssignmentRow.id == task.id, AssignmentRow.status == task.status)
            .values(status="pending", note=None, completed_at=None)
        )
    return task.status


def save_draft(engine: Engine, task: Task, levels: Mapping[str, Sequence[str]], selling: bool | None) -> None:
    """Keep a partial answer of a pending task (the levels chosen so far); it
    is not an answer until submitted, so agreement and adjudication ignore it."""
    if task.status != "pending":
        raise TaskStateError("only an item still in the queue keeps a draft; undo the submission first")
    now = _now()
    rows: list[dict[str, Any]] = []
    for level in LABEL_LEVELS:
        chosen = [label for label in levels.get(level, ()) if label]
        if chosen:
            try:
                labels = check_labels(chosen)
            except ValueError as exc:
                raise AnswerError(f"{level} level: {exc}") from None
            rows.append({"level": level, "labels": list(labels), "selling": None})
    if selling is not None:
        rows.append({"level": DEALER_LEVEL, "labels": None, "selling": selling})
    with engine.begin() as conn:
        conn.execute(update(AssignmentRow).where(AssignmentRow.id == task.id).values(status="pending"))
        conn.execute(
            delete(AnnotationRow).where(
                AnnotationRow.event_key == task.event_key,
                AnnotationRow.user_id == task.user_id,
                AnnotationRow.level.not_in([r["level"] for r in rows]) if rows else true(),
            )
        )
        if rows:
            stmt = _insert(conn, AnnotationRow).values(
                [
                    {**r, "event_key": task.event_key, "user_id": task.user_id, "suggested": None, "updated_at": now}
                    for r in rows
                ]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["event_key", "user_id", "level"],
                set_={
                    "labels": stmt.excluded.labels,
                    "selling": stmt.excluded.selling,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            conn.execute(stmt)


# ---------------------------------------------------------------------------
# Project options (set by an admin in the app)

#: Option names and their defaults: ``suggestions`` shows the models'
#: suggestions (off for blind labelling, to avoid anchoring); ``blur_images``
#: blurs images until the annotator reveals them.
OPTION_DEFAULTS: dict[str, Any] = {"suggestions": True, "blur_images": False}


def get_options(engine: Engine) -> dict[str, Any]:
    from drugwatch.annotate.schema import OptionRow

    with engine.connect() as conn:
        stored = {r.name: r.value for r in conn.execute(select(OptionRow.name, OptionRow.value))}
    return {name: stored.get(name, default) for name, default in OPTION_DEFAULTS.items()}


def set_option(engine: Engine, name: str, value: Any) -> None:
    from drugwatch.annotate.schema import OptionRow

    if name not in OPTION_DEFAULTS:
        raise ValueError(f"unknown option {name!r}; expected one of: {', '.join(OPTION_DEFAULTS)}")
    if not isinstance(value, type(OPTION_DEFAULTS[name])):
        raise ValueError(f"option {name!r} takes a {type(OPTION_DEFAULTS[name]).__name__}, got {value!r}")
    with engine.begin() as conn:
        stmt = _insert(conn, OptionRow).values(name=name, value=value, updated_at=_now())
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}
            )
        )


#: Longer than this between showing an item and its answer is a break, not labelling time.
MAX_ITEM_SECONDS = 1800.0


def item_seconds(shown_at: str | None, now: float) -> float | None:
    """Seconds since ``shown_at`` (epoch seconds from the form), or ``None``
    when missing, malformed, in the future or over :data:`MAX_ITEM_SECONDS`."""
    try:
        elapsed = now - float(shown_at or "")
    except ValueError:
        return None
    return round(elapsed, 1) if 0.0 <= elapsed <= MAX_ITEM_SECONDS else None


def submit(engine: Engine, task: Task, answer: Answer, suggestion: Any = None, seconds: float | None = None) -> None:
    """Store ``answer`` for ``task`` and mark it done.

    Idempotent: the annotation rows are upserted on (event, annotator,
    level), so a retried POST rewrites the same rows. A level the answer no
    longer has (the event changed) is removed. ``suggestion`` (a
    :class:`drugwatch.annotate.suggest.Suggestion`) is what the page offered;
    it is saved beside each level's answer.
    """
    now = _now()

    def offered(level: str) -> Any:
        return suggestion.suggested_for(level) if suggestion is not None else None

    rows = [
        {
            "event_key": task.event_key,
            "user_id": task.user_id,
            "level": level,
            "labels": list(labels),
            "selling": None,
            "suggested": offered(level),
            "updated_at": now,
        }
        for level, labels in answer.levels.items()
    ]
    rows.append(
        {
            "event_key": task.event_key,
            "user_id": task.user_id,
            "level": DEALER_LEVEL,
            "labels": None,
            "selling": answer.selling,
            "suggested": offered(DEALER_LEVEL),
            "updated_at": now,
        }
    )
    with engine.begin() as conn:
        stmt = _insert(conn, AnnotationRow).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["event_key", "user_id", "level"],
            set_={
                "labels": stmt.excluded.labels,
                "selling": stmt.excluded.selling,
                "suggested": stmt.excluded.suggested,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        conn.execute(stmt)
        conn.execute(
            delete(AnnotationRow).where(
                AnnotationRow.event_key == task.event_key,
                AnnotationRow.user_id == task.user_id,
                AnnotationRow.level.not_in([r["level"] for r in rows]),
            )
        )
        conn.execute(
            update(AssignmentRow)
            .where(AssignmentRow.id == task.id)
            .values(
                status="done",
                completed_at=func.coalesce(AssignmentRow.completed_at, now),
                seconds=seconds if seconds is not None else AssignmentRow.seconds,
            )
        )


def pass_task(engine: Engine, task: Task, status: str, note: str | None = None) -> None:
    """Skip or flag: the task leaves the annotator's queue (its answers, if any, stay)."""
    if status not in ("skipped", "flagged", "pending"):
        raise ValueError(f"cannot set a task to {status!r}")
    with engine.begin() as conn:
        conn.execute(
            update(AssignmentRow)
            .where(AssignmentRow.id == task.id)
            .values(status=status, note=note or None, completed_at=_now())
        )


def own_answer(engine: Engine, task: Task) -> tuple[dict[str, list[str]], bool | None]:
    """What this annotator already answered (to pre-fill a revisited form)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AnnotationRow.level, AnnotationRow.labels, AnnotationRow.selling).where(
                AnnotationRow.event_key == task.event_key, AnnotationRow.user_id == task.user_id
            )
        ).all()
    levels = {r.level: list(r.labels or []) for r in rows if r.level != DEALER_LEVEL}
    selling = next((r.selling for r in rows if r.level == DEALER_LEVEL), None)
    return levels, selling


def progress(engine: Engine, user_id: int | None = None) -> list[dict[str, Any]]:
    """Per annotator: assignments by status, and the share finished."""
    query = (
        select(UserRow.id, UserRow.username, AssignmentRow.status, func.count(AssignmentRow.id).label("n"))
        .join(AssignmentRow, AssignmentRow.user_id == UserRow.id)
        .group_by(UserRow.id, UserRow.username, AssignmentRow.status)
    )
    if user_id is not None:
        query = query.where(UserRow.id == user_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    table: dict[int, dict[str, Any]] = {}
    for r in rows:
        entry = table.setdefault(
            r.id, {"user_id": r.id, "username": r.username, "pending": 0, "done": 0, "skipped": 0, "flagged": 0}
        )
        entry[r.status] = r.n
    timing = (
        select(AssignmentRow.user_id, func.avg(AssignmentRow.seconds), func.count(AssignmentRow.seconds))
        .where(AssignmentRow.status == "done", AssignmentRow.seconds.is_not(None))
        .group_by(AssignmentRow.user_id)
    )
    if user_id is not None:
        timing = timing.where(AssignmentRow.user_id == user_id)
    with engine.connect() as conn:
        seconds = {uid: (avg, n) for uid, avg, n in conn.execute(timing)}
    for entry in table.values():
        avg, n = seconds.get(entry["user_id"], (None, 0))
        entry["mean_seconds"] = round(float(avg), 1) if avg is not None else None
        entry["timed"] = n
        entry["total"] = entry["pending"] + entry["done"] + entry["skipped"] + entry["flagged"]
        entry["finished"] = (entry["total"] - entry["pending"]) / entry["total"] if entry["total"] else 0.0
    return sorted(table.values(), key=lambda e: e["username"])


# ---------------------------------------------------------------------------
# Answers of several annotators, disagreements, adjudication, final labels


def collect_answers(engine: Engine, event_keys: Iterable[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """event key -> annotator name -> level -> label tuple (or bool for the
    dealer level), from finished assignments only."""
    query = (
        select(
            AnnotationRow.event_key, UserRow.username, AnnotationRow.level, AnnotationRow.labels, AnnotationRow.selling
        )
        .join(UserRow, UserRow.id == AnnotationRow.user_id)
        .join(
            AssignmentRow,
            and_(AssignmentRow.event_key == AnnotationRow.event_key, AssignmentRow.user_id == AnnotationRow.user_id),
        )
        .where(AssignmentRow.status == "done")
    )
    answers: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    keys = None if event_keys is None else list(event_keys)
    chunks = [None] if keys is None else [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    with engine.connect() as conn:
        for chunk in chunks:
            q = query if chunk is None else query.where(AnnotationRow.event_key.in_(chunk))
            for r in conn.execute(q):
                value = bool(r.selling) if r.level == DEALER_LEVEL else tuple(r.labels or ())
                answers[r.event_key][r.username][r.level] = value
    return {e: {u: dict(levels) for u, levels in coders.items()} for e, coders in answers.items()}


def _status_counts(engine: Engine) -> dict[str, dict[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AssignmentRow.event_key, AssignmentRow.status, func.count()).group_by(
                AssignmentRow.event_key, AssignmentRow.status
            )
        ).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for key, status, n in rows:
        counts[key][status] = n
    return counts


def _adjudicated(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.event_key: r for r in conn.execute(select(AdjudicationRow))}


def answer_seconds(engine: Engine, event_key: str) -> dict[str, float | None]:
    """Annotator name -> seconds they spent on ``event_key`` (finished answers)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(UserRow.username, AssignmentRow.seconds)
            .join(UserRow, UserRow.id == AssignmentRow.user_id)
            .where(AssignmentRow.event_key == event_key, AssignmentRow.status == "done")
        ).all()
    return {r.username: r.seconds for r in rows}


def differing_levels(coders: Mapping[str, Mapping[str, Any]]) -> list[str]:
    levels = sorted({level for answer in coders.values() for level in answer})
    return [level for level in levels if len({answer.get(level) for answer in coders.values()}) > 1]


@dataclass(frozen=True)
class Disagreement:
    event_key: str
    n_done: int
    levels: tuple[str, ...]
    flags: tuple[str, ...] = ()


def disagreements(engine: Engine, *, min_annotators: int = 2) -> list[Disagreement]:
    """Events waiting for an adjudicator: all assignments finished, at least
    ``min_annotators`` answers that differ at some level, or flagged by an
    annotator; not adjudicated yet."""
    counts = _status_counts(engine)
    decided = _adjudicated(engine)
    ready = [key for key, c in counts.items() if key not in decided and not c.get("pending")]
    answers = collect_answers(engine, ready)
    with engine.connect() as conn:
        flags: dict[str, list[str]] = defaultdict(list)
        for r in conn.execute(
            select(AssignmentRow.event_key, AssignmentRow.note, UserRow.username)
            .join(UserRow, UserRow.id == AssignmentRow.user_id)
            .where(AssignmentRow.status == "flagged")
        ):
            flags[r.event_key].append(f"{r.username}: {r.note or '(no note)'}")
    out = []
    for key in ready:
        coders = answers.get(key, {})
        differ = differing_levels(coders) if len(coders) >= min_annotators else []
        if differ or flags.get(key):
            out.append(Disagreement(key, len(coders), tuple(differ), tuple(flags.get(key, ()))))
    return sorted(out, key=lambda d: d.event_key)


def majority(coders: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, list[str]], bool | None]:
    """Per level, the labels most annotators chose (a starting point for the adjudicator).

    A level where no label has a majority (two annotators who disagree) starts
    from the labels with the most votes, ``non_drug`` left out when a drug
    label ties with it, so the form is never submitted blank by default.
    """
    n = len(coders)
    levels: dict[str, list[str]] = {}
    for level in LABEL_LEVELS:
        votes = Counter(label for answer in coders.values() for label in answer.get(level, ()) or ())
        if any(level in answer for answer in coders.values()):
            chosen = [label for label in LABELS if votes[label] * 2 > n]
            if not chosen and votes:
                top = max(votes.values())
                chosen = [label for label in LABELS if votes[label] == top]
                if len(chosen) > 1 and "non_drug" in chosen:
                    chosen.remove("non_drug")
            levels[level] = chosen
    dealer_votes = [answer[DEALER_LEVEL] for answer in coders.values() if DEALER_LEVEL in answer]
    selling = None if not dealer_votes else sum(dealer_votes) * 2 > len(dealer_votes)
    return levels, selling


def adjudicate(engine: Engine, event_key: str, user_id: int, answer: Answer, note: str | None = None) -> None:
    """Record the final labels of an event (a second decision replaces the first)."""
    values = {
        "event_key": event_key,
        "user_id": user_id,
        "levels": {level: list(labels) for level, labels in answer.levels.items()},
        "labels": list(answer.labels),
        "selling": answer.selling,
        "note": note or None,
        "created_at": _now(),
    }
    with engine.begin() as conn:
        stmt = _insert(conn, AdjudicationRow).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["event_key"],
            set_={
                name: stmt.excluded[name] for name in ("user_id", "levels", "labels", "selling", "note", "created_at")
            },
        )
        conn.execute(stmt)


@dataclass(frozen=True)
class FinalLabel:
    event_key: str
    levels: Mapping[str, tuple[str, ...]]
    labels: tuple[str, ...]
    selling: bool
    source: str  # "adjudicated" or "consensus"
    n_annotators: int


def final_labels(engine: Engine, *, min_annotators: int = 2) -> list[FinalLabel]:
    """Adjudicated events, and events on which all (>= ``min_annotators``)
    finished annotators agree at every level, nothing pending or flagged."""
    counts = _status_counts(engine)
    decided = _adjudicated(engine)
    out: list[FinalLabel] = []
    answers = collect_answers(
        engine, [k for k, c in counts.items() if k not in decided and not c.get("pending") and not c.get("flagged")]
    )
    for key, row in decided.items():
        levels = {level: tuple(labels) for level, labels in row.levels.items()}
        out.append(
            FinalLabel(
                key, levels, tuple(row.labels), bool(row.selling), "adjudicated", counts.get(key, {}).get("done", 0)
            )
        )
    for key, coders in answers.items():
        if len(coders) < min_annotators or differing_levels(coders):
            continue
        first = next(iter(coders.values()))
        if DEALER_LEVEL not in first:
            continue
        levels = {level: tuple(first[level]) for level in LABEL_LEVELS if level in first}
        out.append(FinalLabel(key, levels, merge_levels(levels), bool(first[DEALER_LEVEL]), "consensus", len(coders)))
    return sorted(out, key=lambda f: f.event_key)


def events_by_key(engine: Engine, keys: Sequence[str]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), _CHUNK):
            for row in conn.execute(select(EventRow).where(EventRow.key.in_(list(keys[start : start + _CHUNK])))):
                found[row.key] = row_to_event(row)
    return found


def training_records(engine: Engine, *, min_annotators: int = 2) -> list[dict[str, Any]]:
    """Final labels as bench-format records (what ``drugwatch train`` reads:
    ``id, platform, task, source, text, author, created_at, labels, selling,
    group, meta``); ``group`` is the author so CV folds keep accounts apart."""
    from drugwatch.annotate.suggest import stored_suggestions

    finals = final_labels(engine, min_annotators=min_annotators)
    events = events_by_key(engine, [f.event_key for f in finals])
    suggestions = stored_suggestions(engine, [f.event_key for f in finals])
    records = []
    for final in finals:
        event = events.get(final.event_key)
        if event is None:
            continue
        records.append(
            {
                "id": event.id,
                "platform": event.platform,
                "task": "annotate",
                "source": "drugwatch-annotate",
                "text": event.text,
                "author": event.author,
                "created_at": event.created_at.isoformat() if event.created_at else None,
                "labels": list(final.labels),
                "selling": final.selling,
                "group": event.author or event.key,
                "meta": {
                    "key": event.key,
                    "kind": event.kind,
                    "hashtags": list(event.hashtags),
                    "levels": {level: list(labels) for level, labels in final.levels.items()},
                    "label_source": final.source,
                    "n_annotators": final.n_annotators,
                    **_suggestion_meta(suggestions.get(final.event_key), final),
                },
            }
        )
    return records


def _suggestion_meta(suggestion: Any, final: FinalLabel) -> dict[str, Any]:
    """What the models suggested for an exported event, and whether the final labels agree."""
    if suggestion is None:
        return {}
    labels_ok = None if suggestion.labels is None else set(suggestion.labels) == set(final.labels)
    selling_ok = None if suggestion.selling is None else suggestion.selling == final.selling
    return {
        "suggestion": {
            "models": suggestion.models,
            "labels": list(suggestion.labels) if suggestion.labels is not None else None,
            "selling": suggestion.selling,
            "selling_probability": suggestion.selling_probability,
            "labels_match_final": labels_ok,
            "selling_matches_final": selling_ok,
        }
    }


def export_labels(engine: Engine, path: str | os.PathLike[str], *, fmt: str = "jsonl", min_annotators: int = 2) -> int:
    """Write the final labels to ``path`` (JSONL in the bench format, or Parquet); returns the count."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(EXPORT_FORMATS)}")
    records = training_records(engine, min_annotators=min_annotators)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return len(records)
    import pyarrow as pa
    import pyarrow.parquet as pq

    strings = pa.list_(pa.string())
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("platform", pa.string()),
            ("key", pa.string()),
            ("kind", pa.string()),
            ("text", pa.string()),
            ("author", pa.string()),
            ("created_at", pa.string()),
            ("hashtags", strings),
            ("labels", strings),
            ("selling", pa.bool_()),
            ("hashtag_labels", strings),
            ("image_labels", strings),
            ("comment_labels", strings),
            ("label_source", pa.string()),
            ("n_annotators", pa.int32()),
            ("group", pa.string()),
        ]
    )
    rows = [
        {
            "id": r["id"],
            "platform": r["platform"],
            "key": r["meta"]["key"],
            "kind": r["meta"]["kind"],
            "text": r["text"],
            "author": r["author"],
            "created_at": r["created_at"],
            "hashtags": r["meta"]["hashtags"],
            "labels": r["labels"],
            "selling": r["selling"],
            "hashtag_labels": r["meta"]["levels"].get("hashtag"),
            "image_labels": r["meta"]["levels"].get("image"),
            "comment_labels": r["meta"]["levels"].get("comment"),
            "label_source": r["meta"]["label_source"],
            "n_annotators": r["meta"]["n_annotators"],
            "group": r["group"],
        }
        for r in records
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), str(path))
    return len(rows)


# ---------------------------------------------------------------------------
# Feedback to the crawler


def recompute_hashtag_weights(engine: Engine, *, min_annotators: int = 2) -> int:
    """Rebuild the hashtag weights from the final labels; returns the tag count.

    A tag's weight is the Laplace-smoothed share of its final-labelled events
    that show a drug, ``(n_drug + 1) / (n_events + 2)``: one event cannot make
    a tag certain, and an unseen tag sits at 0.5. The hashtag-level label is
    used where the event has one (DMML labels hashtags themselves), else the
    event's labels.
    """
    finals = final_labels(engine, min_annotators=min_annotators)
    events = events_by_key(engine, [f.event_key for f in finals])
    stats: dict[str, dict[str, Any]] = {}
    for final in finals:
        event = events.get(final.event_key)
        if event is None:
            continue
        labels = final.levels.get("hashtag") or final.labels
        drug = any(label != NON_DRUG for label in labels)
        for tag in event.hashtags:
            entry = stats.setdefault(tag, {"n_events": 0, "n_drug": 0, "n_selling": 0, "labels": Counter()})
            entry["n_events"] += 1
            entry["n_drug"] += int(drug)
            entry["n_selling"] += int(final.selling)
            entry["labels"].update(labels)
    now = _now()
    rows = [
        {
            "tag": tag[:256],
            "weight": (s["n_drug"] + 1) / (s["n_events"] + 2),
            "n_events": s["n_events"],
            "n_drug": s["n_drug"],
            "n_selling": s["n_selling"],
            "label_counts": dict(sorted(s["labels"].items())),
            "updated_at": now,
        }
        for tag, s in stats.items()
    ]
    with engine.begin() as conn:
        conn.execute(delete(HashtagWeightRow))
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(HashtagWeightRow), rows[start : start + _CHUNK])
    return len(rows)


def hashtag_weights(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(HashtagWeightRow).order_by(HashtagWeightRow.weight.desc(), HashtagWeightRow.tag)
        ).all()
    return [
        {
            "tag": r.tag,
            "weight": round(r.weight, 6),
            "n_events": r.n_events,
            "n_drug": r.n_drug,
            "n_selling": r.n_selling,
            "labels": r.label_counts,
        }
        for r in rows
    ]


# ---------------------------------------------------------------------------
# Active learning

Scorer = Callable[[list[Event]], Any]


def load_scorer(model_dir: str | os.PathLike[str]) -> Scorer:
    """Every probability of the models at ``model_dir``: one saved detector, or
    a folder of ``selling/`` and ``drugtype/`` (see :class:`drugwatch.annotate.suggest.Suggester`)."""
    from drugwatch.annotate.suggest import Suggester

    return Suggester.load(model_dir).probabilities


def uncertainty(probabilities: Sequence[Sequence[float] | float]) -> list[float]:
    """Per row, how unsure the model is about its least certain column:
    ``1 - |2p - 1|`` (1 at p = 0.5, 0 at p in {0, 1}). A row may be a single probability."""
    out = []
    for row in probabilities:
        values = [float(p) for p in row] if isinstance(row, Sized) else [float(row)]
        out.append(max((1.0 - abs(2.0 * p - 1.0) for p in values), default=0.0))
    return out


def _features(event: Event, cluster: int | None) -> frozenset[str]:
    feats = {f"#{tag}" for tag in event.hashtags}
    if event.author:
        feats.add(f"@{event.author}")
    if cluster is not None:
        feats.add(f"c{cluster}")
    return frozenset(feats)


def diverse_order(
    scores: Sequence[float], features: Sequence[frozenset[str]], *, diversity: float = 0.5, pool: int = 500
) -> list[int]:
    """Indices in labelling order: greedy maximal marginal relevance.

    Each step takes the item maximizing ``(1 - diversity) * score -
    diversity * max Jaccard(item, already taken)``, so a run of near-copies
    (same author, same hashtags, same text cluster) does not fill the top of
    the queue. Only the ``pool`` most uncertain items are reordered this way
    (quadratic cost); the rest follow by score.
    """
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    head, tail = order[:pool], order[pool:]
    similarity = {i: 0.0 for i in head}
    chosen: list[int] = []
    while similarity:
        best = max(similarity, key=lambda i: ((1 - diversity) * scores[i] - diversity * similarity[i], -i))
        chosen.append(best)
        del similarity[best]
        fb = features[best]
        for i in similarity:
            fi = features[i]
            if fb and fi:
                jac = len(fb & fi) / len(fb | fi)
                if jac > similarity[i]:
                    similarity[i] = jac
    return chosen + tail


def prioritize(engine: Engine, scorer: Scorer, *, diversity: float = 0.5, limit: int = 20_000) -> int:
    """Order every pending assignment by model uncertainty with diversity;
    returns the number of events ranked."""
    with engine.connect() as conn:
        keys = [
            r.event_key
            for r in conn.execute(
                select(AssignmentRow.event_key)
                .where(AssignmentRow.status == "pending")
                .group_by(AssignmentRow.event_key)
                .limit(limit)
            )
        ]
        clusters = {}
        for start in range(0, len(keys), _CHUNK):
            for r in conn.execute(
                select(EventRow.key, EventRow.cluster_id).where(EventRow.key.in_(keys[start : start + _CHUNK]))
            ):
                clusters[r.key] = r.cluster_id
    if not keys:
        return 0
    found = events_by_key(engine, keys)
    keys = [k for k in keys if k in found]
    events = [found[k] for k in keys]
    scores = uncertainty(scorer(events))
    order = diverse_order(scores, [_features(e, clusters.get(e.key)) for e in events], diversity=diversity)
    ranked = [(keys[i], float(len(order) - rank)) for rank, i in enumerate(order)]
    with engine.begin() as conn:
        conn.execute(
            update(AssignmentRow)
            .where(AssignmentRow.event_key == _bind("k"), AssignmentRow.status == "pending")
            .values(priority=_bind("p")),
            [{"k": key, "p": priority} for key, priority in ranked],
        )
    return len(ranked)


def _bind(name: str):
    from sqlalchemy import bindparam

    return bindparam(name)


# ---------------------------------------------------------------------------
# What the item page shows


@dataclass(frozen=True)
class ThreadItem:
    event: Event
    depth: int
    is_target: bool


@dataclass(frozen=True)
class ItemContext:
    event: Event
    levels: tuple[str, ...]
    thread: tuple[ThreadItem, ...]
    bio: str | None
    account: Any = None
    ocr_text: str = ""
    ocr_note: str | None = None
    #: OCR lines left out for low confidence or as fragments ("M", "2", "..").
    ocr_dropped: int = 0
    #: Mean recognition confidence of the lines shown; ``None`` when the source recorded none.
    ocr_confidence: float | None = None
    hashtags: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: For a comment: the root post, whose image is context (DMML scores a
    #: piggybacked comment with its post's image).
    post: Event | None = None


#: Characters of stored OCR text read for the page.
MAX_OCR_CHARS = 16_384


def _ocr(event: Event, run_ocr: bool, min_confidence: float = 0.8) -> OcrReading:
    """The image text worth showing (see :mod:`drugwatch.annotate.evidence`)."""
    from drugwatch.annotate.evidence import OcrReading, readable_lines, readable_text

    for key in ("ocr_text", "ocr"):
        value = event.meta.get(key)
        if isinstance(value, str) and value.strip():
            return readable_text(value[:MAX_OCR_CHARS])
    if not event.images:
        return OcrReading("")
    if not run_ocr:
        return OcrReading("", note="OCR is off (DRUGWATCH_ANNOTATE_OCR=0).")
    try:
        from drugwatch.vision.ocr import event_ocr_results

        results = event_ocr_results(event)
    except Exception as exc:  # a missing engine must not take the page down
        return OcrReading("", note=f"OCR unavailable: {exc}")
    return readable_lines(((line.text, line.confidence) for result in results for line in result.lines), min_confidence)


def item_context(
    engine: Engine,
    event_key: str,
    *,
    run_ocr: bool = False,
    max_thread: int = 200,
    media: MediaLibrary | None = None,
    ocr_min_confidence: float = 0.8,
) -> ItemContext | None:
    """The event with its thread (root post and comments, the event marked),
    its author's bio, its image text and its hashtags' categories. With
    ``media``, OCR reads only the images the app would serve."""
    from drugwatch.text.hashtags import analyze_hashtag

    events = events_by_key(engine, [event_key])
    event = events.get(event_key)
    if event is None:
        return None
    root = event.post_key or event.key
    with engine.connect() as conn:
        rows = conn.execute(
            select(EventRow)
            .where((EventRow.key == root) | (EventRow.post_key == root))
            .order_by(case((EventRow.key == root, 0), else_=1), EventRow.created_at, EventRow.seq)
            .limit(max_thread)
        ).all()
        account = (
            conn.execute(select(AccountRow).where(AccountRow.key == f"{event.platform}:{event.author}")).first()
            if event.author
            else None
        )
    thread_events = [row_to_event(r) for r in rows]
    if all(e.key != event.key for e in thread_events):
        thread_events.append(event)
    parents = {e.key: e.parent_key for e in thread_events}

    def depth(key: str) -> int:
        d, seen = 0, set()
        while parents.get(key) and key not in seen:
            seen.add(key)
            key = parents[key]  # type: ignore[assignment]
            d += 1
        return d

    thread = tuple(ThreadItem(e, min(depth(e.key), 8), e.key == event.key) for e in thread_events)
    ocr = _ocr(_servable_images(event, media) if run_ocr else event, run_ocr, ocr_min_confidence)
    tags = []
    for tag in event.hashtags:
        try:
            analysis = analyze_hashtag(tag)
            tags.append({"tag": tag, "kind": analysis.kind, "labels": sorted(analysis.labels)})
        except Exception:  # an odd tag must not break the page
            tags.append({"tag": tag, "kind": "other", "labels": []})
    return ItemContext(
        event=event,
        levels=required_levels(event),
        thread=thread,
        bio=account.bio if account is not None else None,
        account=account,
        ocr_text=ocr.text,
        ocr_note=ocr.note,
        ocr_dropped=ocr.dropped,
        ocr_confidence=ocr.confidence,
        hashtags=tuple(tags),
        post=next((e for e in thread_events if e.key == root and e.key != event.key), None),
    )


# ---------------------------------------------------------------------------
# Media: event images, served only from allowed roots

#: Magic bytes of the image formats the app serves, and their content types.
IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SNIFF_BYTES = 12
_MAX_IMAGE_PATH = 4096
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def sniff_image(head: bytes) -> str | None:
    """The content type of an image starting with ``head`` (JPEG, PNG, GIF or
    WebP), or ``None`` when it does not look like one of them."""
    for magic, content_type in IMAGE_SIGNATURES:
        if head.startswith(magic):
            return content_type
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class OpenImage:
    """An image file opened for serving: the handle (the caller closes it),
    its size in bytes, its content type and its resolved path."""

    handle: Any
    size: int
    content_type: str
    path: Path


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


class MediaLibrary:
    """Where the app may read event images from, and the check that opens them.

    An image path recorded on an event is only a claim: imported records can
    name ``/etc/passwd``, ``../../secret`` or a symlink out of the folder. A
    path is served only when, with every symlink resolved, it lies inside an
    allowed root, is not one of the ``denied`` files (the store, the app's
    secret), is a regular file and starts with the magic bytes of a JPEG, PNG,
    GIF or WebP image. The allowed roots are the ``configured`` directories
    (``DRUGWATCH_MEDIA_ROOTS``) and the folders imports came from: for each
    ``import_runs.source`` that exists, the folder itself or the folder of the
    file. A relative image path is looked up under each root in turn.

    The import roots are recomputed only when ``import_runs`` changes: each
    request reads the table's row count and largest id (one row per import,
    so a small table), and only a change re-resolves the sources.
    """

    def __init__(
        self,
        engine: Engine,
        configured: Iterable[str | os.PathLike[str]] = (),
        denied: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.engine = engine
        # Kept even while missing: a folder mounted after the start counts once it is there.
        self.configured = tuple(dict.fromkeys(_real(p) for p in configured))
        self.denied = frozenset(_real(p) for p in denied)
        self._marker: tuple[int, int | None] | None = None
        self._roots: tuple[Path, ...] = self.configured
        self._lock = threading.Lock()

    def roots(self) -> tuple[Path, ...]:
        """The allowed roots: configured first, then import folders, without repeats."""
        from drugwatch.store.schema import ImportRunRow

        with self.engine.connect() as conn:
            count, last = conn.execute(select(func.count(), func.max(ImportRunRow.id))).one()
            if (count, last) == self._marker:
                return self._roots
            sources = conn.execute(select(ImportRunRow.source).distinct()).scalars().all()
        roots = dict.fromkeys(self.configured)
        for source in sources:
            root = self._import_root(source)
            if root is not None:
                roots.setdefault(root)
        with self._lock:
            self._roots = tuple(roots)
            self._marker = (count, last)
        return self._roots

    @staticmethod
    def _import_root(source: str) -> Path | None:
        # A relative source is taken from the server's working folder, as the
        # import took it from its own. A source missing when the roots are
        # computed gives no root: its folder is unknown (file or folder?).
        if not source or "\x00" in source:
            return None
        real = _real(source)
        if real.is_dir():
            root = real
        elif real.is_file():
            root = real.parent
        else:
            return None
        # An import from "/" would allow every image on the machine: such a
        # root has to be configured on purpose instead.
        return None if root == Path(root.anchor) else root

    def candidates(self, recorded: str) -> list[Path]:
        """Where ``recorded`` may resolve to, each resolved and inside a root."""
        if not recorded or "\x00" in recorded or len(recorded) > _MAX_IMAGE_PATH:
            return []
        roots = self.roots()
        path = Path(recorded)
        tries = [path] if path.is_absolute() else [root / path for root in roots]
        found = []
        for candidate in tries:
            real = _real(candidate)
            if real in self.denied or not any(real.is_relative_to(root) for root in roots):
                continue
            found.append(real)
        return found

    def open(self, recorded: str | None) -> OpenImage | None:
        """The image at ``recorded`` opened for reading, or ``None`` when it is
        outside the roots, missing, not a regular file or not an image."""
        for real in self.candidates(recorded or ""):
            try:
                # O_NOFOLLOW: a symlink swapped in after the check is refused;
                # O_NONBLOCK: a FIFO does not hang the request.
                fd = os.open(real, _OPEN_FLAGS)
            except OSError:
                continue
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    os.close(fd)
                    continue
                handle = os.fdopen(fd, "rb")
            except OSError:
                os.close(fd)
                continue
            try:
                content_type = sniff_image(handle.read(_SNIFF_BYTES))
                handle.seek(0)
            except OSError:
                content_type = None
            if content_type is None:
                handle.close()
                continue
            return OpenImage(handle=handle, size=info.st_size, content_type=content_type, path=real)
        return None

    def allowed_path(self, recorded: str | None) -> Path | None:
        """The resolved path of a servable image (closed again): for readers such as OCR."""
        image = self.open(recorded)
        if image is None:
            return None
        image.handle.close()
        return image.path


def open_image(engine: Engine, media: MediaLibrary, event_key: str, index: int) -> OpenImage | None:
    """The ``index``-th image of an event, opened, if :class:`MediaLibrary` allows it."""
    event = events_by_key(engine, [event_key]).get(event_key)
    if event is None or not 0 <= index < len(event.images):
        return None
    return media.open(event.images[index].path)


def _servable_images(event: Event, media: MediaLibrary | None) -> Event:
    """``event`` with image paths replaced by their resolved form, or dropped
    where the media check refuses them (all of them without ``media``), so OCR
    reads only what /media would serve; cached OCR, keyed by SHA-256, still applies."""
    if not event.images:
        return event
    images = []
    for image in event.images:
        real = media.allowed_path(image.path) if media is not None else None
        images.append(image.model_copy(update={"path": str(real) if real is not None else None}))
    return event.model_copy(update={"images": images})


def can_see_event(engine: Engine, user_id: int, role: str, event_key: str) -> bool:
    """Adjudicators and admins see every event; an annotator those assigned to
    them and the root posts of the comments assigned to them."""
    if role in ("adjudicator", "admin"):
        return True
    with engine.connect() as conn:
        return (
            conn.execute(
                select(AssignmentRow.id)
                .join(EventRow, EventRow.key == AssignmentRow.event_key)
                .where(AssignmentRow.user_id == user_id, or_(EventRow.key == event_key, EventRow.post_key == event_key))
                .limit(1)
            ).first()
            is not None
        )
