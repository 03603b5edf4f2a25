"""Tables of scan results, on the store's SQLAlchemy ``Base`` (migration ``0004_scan``).

``scan_runs`` has one row per ``drugwatch scan --output db`` run (status,
input and models, final counts); ``scan_results`` one row per scored event
of a run, with the columns a report filters on and the whole
:class:`~drugwatch.scoring.EventResult` as JSON. ``ordinal`` numbers a run's
results in scan order; a resumed run deletes rows past its checkpoint by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from drugwatch.store.schema import Base, JSONType, SeqType


class ScanRunRow(Base):
    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    label: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    info: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class ScanResultRow(Base):
    __tablename__ = "scan_results"
    __table_args__ = (
        Index("ix_scan_results_event", "event_key"),
        Index("ix_scan_results_author", "run_id", "author"),
    )

    run_id: Mapped[int] = mapped_column(SeqType, ForeignKey("scan_runs.id", ondelete="CASCADE"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    event_key: Mapped[str] = mapped_column(String(330), nullable=False)
    author: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    selling_probability: Mapped[float | None] = mapped_column(Float)
    selling: Mapped[bool | None] = mapped_column(Boolean)
    drug_labels: Mapped[list[str] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
