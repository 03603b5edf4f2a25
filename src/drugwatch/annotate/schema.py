"""Tables of the annotation app, on the store's SQLAlchemy ``Base``.

Migrations ``0002_annotation``, ``0006_annotate_suggestions`` and ``0007_annotate_slang`` create them. Uniqueness does the work that
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
    #: Seconds from the item page being shown to the answer (the last one
    #: submitted); ``None`` when unknown or longer than the cap (a break).
    seconds: Mapped[float | None] = mapped_column(Float)

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
    #: What the model suggested at this level when the answer was saved (the
    #: label list, or ``[true]``/``[false]`` for the dealer level); ``None``
    #: when no suggestion was shown. Kept apart from ``labels`` so that people's
    #: agreement and the model's acceptance rate can both be reported.
    suggested: Mapped[list[Any] | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("event_key", "user_id", "level", name="uq_annotate_annotation"),
        Index("ix_annotate_annotations_event", "event_key"),
    )


class AdjudicationRow(Base):
    """The final labels of an event, decided by an adjudicator."""

    __tablename__ = "annotate_adjudications"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(
        String(330), ForeignKey("events.key", ondelete="CASCADE"), unique=True, nullable=False
    )
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


class SuggestionRow(Base):
    """The models' reading of an event, computed once and shown to every
    annotator of it (unless the project turned suggestions off)."""

    __tablename__ = "annotate_suggestions"

    event_key: Mapped[str] = mapped_column(String(330), ForeignKey("events.key", ondelete="CASCADE"), primary_key=True)
    #: ``{label: probability}`` over the 10 labels, or ``None`` without a drug-type model.
    drug_probabilities: Mapped[dict[str, float] | None] = mapped_column(JSONType)
    #: The suggested label set (``decide`` of the drug-type model; ``["non_drug"]`` when it names no drug).
    labels: Mapped[list[str] | None] = mapped_column(JSONType)
    selling_probability: Mapped[float | None] = mapped_column(Float)
    selling: Mapped[bool | None] = mapped_column(Boolean)
    #: ``1 - |2p - 1|`` of the least certain column: the active-learning score.
    uncertainty: Mapped[float | None] = mapped_column(Float)
    #: Names and versions of the models, e.g. ``drugwatch.selling.v1@1``.
    models: Mapped[str] = mapped_column(String(512), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OptionRow(Base):
    """Per-project switches an admin sets in the app (``suggestions``, ``blur_images``)."""

    __tablename__ = "annotate_options"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


#: States of a proposed slang term. ``proposed``: from the last discovery run,
#: waiting for a decision (replaced by the next run); ``accepted``: written to
#: the user lexicon; ``rejected``: never proposed again.
SLANG_STATUSES = ("proposed", "accepted", "rejected")


class SlangTermRow(Base):
    """A word discovery proposed as drug slang, with the reviewer's decision
    (:mod:`drugwatch.annotate.slang`). Decided rows are kept so that a term
    is reviewed once."""

    __tablename__ = "annotate_slang_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="proposed")
    score: Mapped[float] = mapped_column(Float, nullable=False)
    #: Texts in drug or sale context that hold the term, all texts that hold
    #: it, and those where it sits right next to a drug word, dose or price.
    in_context: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    next_to_drug: Mapped[int] = mapped_column(Integer, nullable=False)
    #: ``{label: texts}``: the drugs its texts name.
    label_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    #: ``[[event key, text], ...]``: a few example texts (their first 200 characters).
    examples: Mapped[list[Any]] = mapped_column(JSONType, nullable=False)
    #: Events the run that proposed it read.
    events_read: Mapped[int] = mapped_column(Integer, nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: The decision: the label and ambiguity written to the user lexicon (accepted only).
    label: Mapped[str | None] = mapped_column(String(32))
    ambiguous: Mapped[bool | None] = mapped_column(Boolean)
    decided_by: Mapped[int | None] = mapped_column(SeqType, ForeignKey("annotate_users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_annotate_slang_status", "status", "score"),)
