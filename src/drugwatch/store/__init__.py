"""Storage of events and accounts: SQLite by default, PostgreSQL by URL."""

from drugwatch.store.db import data_home, default_url, resolve_url
from drugwatch.store.repository import STATUSES, Store, UpsertResult

__all__ = ["Store", "UpsertResult", "STATUSES", "data_home", "default_url", "resolve_url"]
