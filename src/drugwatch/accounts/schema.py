"""Tables of account scoring and linking, on the store's SQLAlchemy ``Base``.

Migration ``0003_accounts`` creates them.

* ``account_runs``: one row per ``drugwatch accounts score`` or ``link`` run
  (what ran, with which model and parameters, and its counts);
* ``account_scores``: one dealer score per (run, account), with the feature
  values and evidence the model read;
* ``account_networks``: one suspected network per (run, network id): member
  account keys and the evidence that links them (shared contacts, advert
  clusters, event keys).

Results are never overwritten: a new run adds rows, and readers take the
latest run (:func:`drugwatch.accounts.service.latest_scores`).
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

RUN_KINDS = ("score", "link")


class AccountRunRow(Base):
    __tablename__ = "account_runs"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    model: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AccountScoreRow(Base):
    __tablename__ = "account_scores"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(SeqType, ForeignKey("account_runs.id", ondelete="CASCADE"), nullable=False)
    account_key: Mapped[str] = mapped_column(String(330), nullable=False)
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    dealer: Mapped[bool] = mapped_column(Boolean, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    features: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    __table_args__ = (
        UniqueConstraint("run_id", "account_key", name="uq_account_score"),
        Index("ix_account_scores_account", "account_key"),
    )


class AccountNetworkRow(Base):
    __tablename__ = "account_networks"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(SeqType, ForeignKey("account_runs.id", ondelete="CASCADE"), nullable=False)
    network_id: Mapped[str] = mapped_column(String(32), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    accounts: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    contacts: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    summary: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("run_id", "network_id", name="uq_account_network"),)


__all__ = ["RUN_KINDS", "AccountNetworkRow", "AccountRunRow", "AccountScoreRow"]
