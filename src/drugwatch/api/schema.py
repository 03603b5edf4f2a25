"""The API-key table, on the store's SQLAlchemy ``Base`` (migration ``0005_api``).

A key is shown once, when it is created; the table keeps its public
``prefix`` (for lookup and for logs) and the SHA-256 of the whole token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from drugwatch.store.schema import Base, JSONType, SeqType

#: What a key may do. There is no implicit hierarchy: ``admin`` alone does not
#: allow scoring; give a key every scope it needs.
SCOPES = ("score", "inspect", "admin")


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    #: Public part of the token (``dwk_<prefix>_...``); unique, used for lookup and in logs.
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    #: Hex SHA-256 of the whole token.
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
