"""Alembic environment: runs on the connection drugwatch hands it.

drugwatch calls migrations from code (:func:`drugwatch.store.db.upgrade`),
passing an open connection in ``config.attributes["connection"]``; there is
no alembic.ini to keep in sync.
"""

from __future__ import annotations

from alembic import context

from drugwatch.store.schema import load_all_tables

config = context.config
target_metadata = load_all_tables()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("drugwatch migrations run through drugwatch.store.db.upgrade(), not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use drugwatch db upgrade")
run_migrations_online()
