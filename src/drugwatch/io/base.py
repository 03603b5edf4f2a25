"""What every reader yields: a parsed record or a problem, each with its location.

Readers never raise on a bad record and never drop one silently: each raw
record becomes exactly one :class:`Parsed`, one :class:`Problem`, or one
:class:`Skipped` (a raw item that is not a record by design, such as a
Telegram service message "X joined the group"), so the importer can prove
``read = imported + merged + unchanged + near-duplicate + quarantined +
skipped``. A reader may still raise :class:`ReaderError` when the whole
input cannot be read at all (missing file, unknown format).

Readers yield :class:`drugwatch.records.Event` and
:class:`drugwatch.records.Account` objects. An account's timeline, when a
format nests it, is yielded as separate events (the store keeps the
timeline as the account's events), so each event counts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from drugwatch.records import Account, Event, RecordError


class ReaderError(Exception):
    """The input as a whole cannot be read (missing, unreadable, wrong format)."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One record read successfully."""

    record: Event | Account
    source: str
    locator: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One raw record that could not be turned into a record.

    ``raw`` is the offending payload as text (truncated by the quarantine
    writer), so nothing is lost: the quarantine file can be fixed by hand and
    imported again.
    """

    source: str
    locator: str
    reason: str
    raw: str | None = None

    @classmethod
    def from_error(cls, error: RecordError, raw: str | None = None) -> Problem:
        return cls(source=error.source or "?", locator=error.locator or "?", reason=error.reason, raw=raw)


@dataclass(frozen=True, slots=True)
class Skipped:
    """One raw item that is not a record by design (not an error): counted, never stored.

    ``reason`` names what it is (``"Telegram service message (pin_message)"``);
    the import report counts skipped items by reason.
    """

    source: str
    locator: str
    reason: str


ReadItem = Parsed | Problem | Skipped


def short_message(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def record_failure(exc: BaseException) -> str:
    """The reason for a record whose building raised something unexpected.

    Names the exception class and the first line of its message only: the
    message of a deep recursion or a database error can carry the record's
    content, which belongs in the quarantine file's ``raw``, not in a reason.
    """
    return f"cannot read this record: {type(exc).__name__}: {short_message(exc)}"


def guarded(items: Iterator[ReadItem], source: str, locator: str) -> Iterator[ReadItem]:
    """``items`` until one raises; then one :class:`Problem` saying where reading stopped.

    For the parts of a reader that walk a whole payload (a post file and its
    inline comments, one NDJSON line): each record is guarded where it is
    built, and this catches what is left, so an unforeseen error costs the
    rest of one payload (kept whole in the quarantine file by its locator)
    instead of the import.
    """
    try:
        yield from items
    except Exception as exc:
        yield Problem(source, locator, f"reading stopped here: {type(exc).__name__}: {short_message(exc)}")


class Reader(Protocol):
    """A format reader: ``reader(path) -> Iterator[Parsed | Problem | Skipped]``."""

    def __call__(self, path: str) -> Iterator[ReadItem]: ...
