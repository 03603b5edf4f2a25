"""Database tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` create them.

Records are stored close to their JSON shape: scalar fields that queries
filter on get columns; lists and dicts (hashtags, images, labels, meta,
provenance) are JSON columns (JSONB on PostgreSQL). ``content_sha256`` is
the digest of the record's content (everything but provenance), so an
import can tell "unchanged" from "merged" without comparing field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# none_as_null: a Python None is SQL NULL (not the JSON literal null), so
# "IS NULL" filters work (e.g. unlabelled events).
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(330), unique=True, nullable=False)
    platform: Mapped[str] = mapped_column(String(64), nullable=False)
    id: Mapped[str] = mapped_column(String(256), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    parent_key: Mapped[str | None] = mapped_column(String(330))
    post_key: Mapped[str | None] = mapped_column(String(330))
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    hashtags: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    images: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    author: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    labels: Mapped[list[str] | None] = mapped_column(JSONType)
    selling: Mapped[bool | None] = mapped_column(Boolean)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    cluster_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_events_author", "platform", "author"),
        Index("ix_events_parent", "parent_key"),
        Index("ix_events_post", "post_key"),
        Index("ix_events_cluster", "cluster_id"),
    )


class AccountRow(Base):
    __tablename__ = "accounts"

    key: Mapped[str] = mapped_column(String(330), primary_key=True)
    platform: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(256), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(256))
    full_name: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    followers: Mapped[int | None] = mapped_column(BigInteger)
    following: Mapped[int | None] = mapped_column(BigInteger)
    posts_count: Mapped[int | None] = mapped_column(BigInteger)
    is_private: Mapped[bool | None] = mapped_column(Boolean)
    dealer: Mapped[bool | None] = mapped_column(Boolean)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class TextSignatureRow(Base):
    """The MinHash signature of an event's text (see :mod:`drugwatch.dedup`)."""

    __tablename__ = "text_signatures"

    seq: Mapped[int] = mapped_column(
        SeqType, ForeignKey("events.seq", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    exact: Mapped[str] = mapped_column(String(40), nullable=False)
    hashvalues: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (Index("ix_text_signatures_exact", "exact"),)


class LshBandRow(Base):
    """One LSH band key of a signature; texts sharing a (band, key) are candidates."""

    __tablename__ = "lsh_bands"

    seq: Mapped[int] = mapped_column(
        SeqType, ForeignKey("events.seq", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (Index("ix_lsh_bands_key", "key", "band"),)


class ImportRunRow(Base):
    """One run of ``drugwatch import``: what was read and what became of it."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    format: Mapped[str] = mapped_column(String(32), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    quarantine_path: Mapped[str | None] = mapped_column(Text)


#: Modules whose tables live beside their stage's code but on the same
#: :data:`Base`, so one Alembic history covers the whole database. The store
#: does not import them (that would make every stage load every other);
#: :func:`load_all_tables` does, for migrations and schema checks.
TABLE_MODULES = (
    "drugwatch.annotate.schema",
    "drugwatch.scan.schema",
    "drugwatch.api.schema",
    "drugwatch.accounts.schema",
)


def load_all_tables() -> MetaData:
    """Import every stage's table module and return the full :attr:`Base.metadata`."""
    import importlib

    for name in TABLE_MODULES:
        importlib.import_module(name)
    return Base.metadata
