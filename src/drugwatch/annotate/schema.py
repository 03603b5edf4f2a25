"""Tables of the annotation app, on the store's SQLAlchemy ``Base``.

Migration ``0002_annotation`` creates them. Uniqueness does the work that
code would otherwise have to get right under concurrency:

* one assignment per (event, annotator);
* one annotation per (event, annotator, level): a retried or repeated
  submission updates the row instead of adding one;
* one adjudication per event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from drugwatch.store.schema import Base, JSONType, SeqType

#: Roles, from least to most privileged for display only: each route names the
#: roles it admits; there is no implicit hierarchy.
ROLES = ("annotator", "adjudicator", "admin")

#: DMML's three label levels, plus JMIR's binary dealer code.
LABEL_LEVELS = ("hashtag", "image", "comment")
DEALER_LEVEL = "dealer"
LEVELS = (*LABEL_LEVELS, DEALER_LEVEL)

#: Assignment states. ``done``: labelled; ``skipped``: the annotator passed
#: (it leaves their queue); ``flagged``: passed with a note for the admins.
ASSIGNMENT_STATUSES = ("pending", "done", "skipped", "flagged")


class UserRow(Base):
    __tablename__ = "annotate_users"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SessionRow(Base):
    """A login session. ``id`` is the SHA-256 of the cookie's token, so a
    database dump does not hand out live sessions."""

    __tablename__ = "annotate_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(SeqType, ForeignKey("annotate_users.id", ondelete="CASCADE"), nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_annotate_sessions_user", "user_id"),)


class AssignmentRow(Base):
    __tablename__ = "annotate_assignments"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(330), ForeignKey("events.key", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(SeqType, ForeignKey("annotate_users.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    #: Queue order, highest first (active learning); ties by id.
    priority: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("event_key", "user_id", name="uq_annotate_assignment"),
        Index("ix_annotate_assignments_queue", "user_id", "status", "priority"),
    )


class AnnotationRow(Base):
    """One annotator's answer at one level: ``labels`` for the three DMML
    levels, ``selling`` for the dealer level."""

    __tablename__ = "annotate_annotations"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(330), ForeignKey("events.key", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(SeqType, ForeignKey("annotate_users.id", ondelete="CASCADE"), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    labels: Mapped[list[str] | None] = mapped_column(JSONType)
    selling: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("event_key", "user_id", "level", name="uq_annotate_annotation"),
        Index("ix_annotate_annotations_event", "event_key"),
    )


class AdjudicationRow(Base):
    """The final labels of an event, decided by an adjudicator."""

    __tablename__ = "annotate_adjudications"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(330), ForeignKey("events.key", ondelete="CASCADE"), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(SeqType, ForeignKey("annotate_users.id", ondelete="CASCADE"), nullable=False)
    #: ``{"hashtag": [...], "image": [...], "comment": [...]}``; a level the
    #: event does not have is missing.
    levels: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    labels: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    selling: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class HashtagWeightRow(Base):
    """Feedback to the crawler: how often a hashtag led to drug events."""

    __tablename__ = "annotate_hashtag_weights"

    tag: Mapped[str] = mapped_column(String(256), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    n_events: Mapped[int] = mapped_column(Integer, nullable=False)
    n_drug: Mapped[int] = mapped_column(Integer, nullable=False)
    n_selling: Mapped[int] = mapped_column(Integer, nullable=False)
    label_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
