"""Slang review: discovery over the store's events, and reviewers' decisions.

:func:`run_discovery` reads the text of the most recent stored events (at most
``limit``, newest first by store order, in keyset batches so no connection is
held while the text layer reads), runs :func:`drugwatch.lexicon.discover.
discover` over them, and replaces the undecided candidates of the previous run
with the new ones. Terms already accepted or rejected are never proposed again.

:func:`accept` writes a term to the user lexicon file through
:func:`drugwatch.lexicon.discover.append_user_entry` (the writer ``drugwatch
lexicon accept`` uses); :func:`reject` only records the decision. A decision
first claims the row (``proposed`` -> decided, in one UPDATE), so two reviewers
deciding the same term at once write it once; a failed write gives the claim
back.

A running process keeps its lexicon cached: accepted terms reach the text
layer (highlights, scans, the next discovery's vocabulary) in processes started
afterwards with ``DRUGWATCH_USER_LEXICON`` naming the file. Until then the
decision table keeps them out of new runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update

from drugwatch.annotate.schema import SlangTermRow
from drugwatch.labels import DRUG_LABELS
from drugwatch.store.schema import EventRow

#: Events read per database round trip.
BATCH = 1_000
#: Candidates kept per run at most.
MAX_TOP = 500
#: Decided terms listed on the page (most recent first).
DECIDED_SHOWN = 100
#: Kind written for accepted terms: discovery proposes street names.
ACCEPTED_KIND = "street"

_WRITE_LOCK = threading.Lock()
_TABLE = SlangTermRow.__table__


class SlangError(ValueError):
    """A decision that cannot be made; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RunResult:
    events_read: int
    proposed: int


def _now() -> datetime:
    return datetime.now(UTC)


def recent_texts(engine: Engine, limit: int) -> Iterator[tuple[str, str]]:
    """``(event key, text)`` of the ``limit`` most recently stored events with
    text, newest first. Keyset batches over the primary key: linear in
    ``limit``, one short read per batch."""
    after: int | None = None
    left = limit
    while left > 0:
        query = select(EventRow.seq, EventRow.key, EventRow.text).where(EventRow.text != "")
        if after is not None:
            query = query.where(EventRow.seq < after)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(EventRow.seq.desc()).limit(min(BATCH, left))).all()
        if not rows:
            return
        for row in rows:
            yield row.key, row.text
        left -= len(rows)
        after = rows[-1].seq


def decided_terms(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(SlangTermRow.term).where(SlangTermRow.status != "proposed")))


def run_discovery(engine: Engine, *, limit: int, top: int = 50, min_count: int = 3) -> RunResult:
    """Propose up to ``top`` new terms from the ``limit`` most recent events;
    the previous run's undecided candidates are replaced."""
    from drugwatch.annotate.service import _insert
    from drugwatch.lexicon.discover import discover

    top = max(1, min(top, MAX_TOP))
    decided = decided_terms(engine)
    counted = [0]

    def texts() -> Iterator[tuple[str, str]]:
        for pair in recent_texts(engine, limit):
            counted[0] += 1
            yield pair

    found = [
        c
        for c in discover(texts(), top=top + len(decided), min_count=min_count, max_texts=limit)
        if c.term not in decided
    ][:top]
    now = _now()
    rows = [
        {
            "term": c.term,
            "status": "proposed",
            "score": c.score,
            "in_context": c.in_context,
            "total": c.total,
            "next_to_drug": c.next_to_drug,
            "label_counts": dict(sorted(c.labels.items())),
            "examples": [[key, text] for key, text in c.examples],
            "events_read": counted[0],
            "proposed_at": now,
        }
        for c in found
    ]
    with engine.begin() as conn:
        conn.execute(delete(SlangTermRow).where(SlangTermRow.status == "proposed"))
        if rows:
            # A term decided while discovery ran keeps its decision.
            conn.execute(_insert(conn, SlangTermRow).on_conflict_do_nothing(index_elements=["term"]), rows)
    return RunResult(counted[0], len(rows))


def _utc(value: datetime | None) -> datetime | None:
    """Stored times as UTC (SQLite gives them back naive, PostgreSQL in the session's zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_dict(row: Any) -> dict[str, Any]:
    labels = row.label_counts or {}
    likely = max(sorted(labels), key=labels.__getitem__) if labels else None
    return {
        "term": row.term,
        "status": row.status,
        "score": row.score,
        "in_context": row.in_context,
        "total": row.total,
        "next_to_drug": row.next_to_drug,
        "labels": labels,
        "likely_label": likely if likely in DRUG_LABELS else None,
        "examples": [(key, text) for key, text in row.examples],
        "events_read": row.events_read,
        "proposed_at": _utc(row.proposed_at),
        "label": row.label,
        "ambiguous": row.ambiguous,
        "decided_at": _utc(row.decided_at),
    }


def candidates(engine: Engine) -> list[dict[str, Any]]:
    """The undecided candidates, best first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_TABLE)
            .where(SlangTermRow.status == "proposed")
            .order_by(SlangTermRow.score.desc(), SlangTermRow.term)
            .limit(MAX_TOP)
        ).all()
    return [_row_dict(r) for r in rows]


def decided(engine: Engine, limit: int = DECIDED_SHOWN) -> list[dict[str, Any]]:
    """The most recent decisions."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_TABLE)
            .where(SlangTermRow.status != "proposed")
            .order_by(SlangTermRow.decided_at.desc(), SlangTermRow.term)
            .limit(limit)
        ).all()
    return [_row_dict(r) for r in rows]


def _claim(engine: Engine, term: str, values: dict[str, Any]) -> Any:
    """Move ``term`` from proposed to a decision; the row as it was proposed."""
    with engine.begin() as conn:
        claimed = conn.execute(
            update(SlangTermRow).where(SlangTermRow.term == term, SlangTermRow.status == "proposed").values(**values)
        ).rowcount
        row = conn.execute(select(_TABLE).where(SlangTermRow.term == term)).first()
    if not claimed:
        if row is None:
            raise SlangError(404, f"“{term}” is not a proposed term; run discovery again")
        raise SlangError(409, f"“{term}” was already {row.status}")
    assert row is not None
    return row


def _unclaim(engine: Engine, term: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(SlangTermRow)
            .where(SlangTermRow.term == term)
            .values(status="proposed", label=None, ambiguous=None, decided_by=None, decided_at=None)
        )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """One writer of the user lexicon at a time: threads of this process by a
    lock, other processes (several workers) by ``flock`` on a side file where
    the platform has it."""
    with _WRITE_LOCK:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one process at a time is the user's care
            yield
            return
        with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def accept(
    engine: Engine, term: str, label: str, *, ambiguous: bool, user_id: int, username: str, lexicon_path: Path | None
) -> Path:
    """Write ``term`` with ``label`` to the user lexicon file and record the
    decision; returns the file written."""
    from drugwatch.lexicon.discover import append_user_entry

    if lexicon_path is None:
        raise SlangError(
            409,
            "no user lexicon file is configured: set DRUGWATCH_USER_LEXICON to the file accepted "
            "terms go to (the text layer reads it by the same variable), then restart the app",
        )
    if label not in DRUG_LABELS:
        raise SlangError(422, f"label “{label}”: an accepted term names a drug, one of {', '.join(DRUG_LABELS)}")
    path = Path(lexicon_path).expanduser()
    row = _claim(
        engine,
        term,
        {"status": "accepted", "label": label, "ambiguous": ambiguous, "decided_by": user_id, "decided_at": _now()},
    )
    note = f"slang review: accepted by {username}; {row.in_context} of {row.total} texts in drug or sale context"
    try:
        with _file_lock(path):
            append_user_entry(path, term, label, kind=ACCEPTED_KIND, ambiguous=ambiguous, note=note)
    except (OSError, ValueError) as exc:
        _unclaim(engine, term)
        raise SlangError(
            409 if isinstance(exc, OSError) else 422, f"could not write “{term}” to {path}: {exc}"
        ) from None
    return path


def reject(engine: Engine, term: str, *, user_id: int) -> None:
    """Record that ``term`` is not drug slang: it is not proposed again."""
    _claim(
        engine,
        term,
        {"status": "rejected", "label": None, "ambiguous": None, "decided_by": user_id, "decided_at": _now()},
    )
