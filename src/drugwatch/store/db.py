"""Where the store lives, how to connect, and how its schema is migrated.

The default store is a SQLite file, no server needed:
``$DRUGWATCH_HOME/drugwatch.sqlite``, where ``DRUGWATCH_HOME`` defaults to
``$XDG_DATA_HOME/drugwatch`` (``~/.local/share/drugwatch``). The
environment variable ``DRUGWATCH_DB`` or the CLI option ``--db URL``
overrides it with any SQLAlchemy URL, e.g.
``postgresql+psycopg://user:pass@host/dbname`` for a team server, or a
plain file path (taken as SQLite).

The SQLite file is created readable by its owner only (mode 0600; SQLite
gives its ``-wal`` and ``-shm`` files the same mode), and folders it creates
are 0700: the store holds posts, bios and contact details. Engines hide SQL
parameters in error messages, so a failed statement never prints a record's
text to a log or terminal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from drugwatch.paths import data_home

MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    """``DRUGWATCH_DB`` if set, else the SQLite file in :func:`data_home`."""
    explicit = os.environ.get("DRUGWATCH_DB")
    if explicit:
        return resolve_url(explicit)
    return f"sqlite:///{data_home() / 'drugwatch.sqlite'}"


def resolve_url(url_or_path: str | None) -> str:
    """Turn ``--db`` input into a SQLAlchemy URL (a bare path means SQLite)."""
    if not url_or_path:
        return default_url()
    if "://" in url_or_path:
        url = make_url(url_or_path)
        if url.drivername in ("postgresql", "postgres"):
            # psycopg 3 is the driver we ship; psycopg2 may not be installed.
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the annotation app, a report) work during an import.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (its folder 0700) unless it exists.

    Done before SQLite opens the file, so it never exists with the process
    umask's wider mode, even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class RawJSON(str):
    """Text already serialised as JSON, written to a JSON column as it is.

    The store serialises a record's JSON columns itself, once for both the
    column and the record's content digest
    (:func:`drugwatch.store.repository.event_to_row`); every other value
    bound to a JSON column is serialised with :func:`json.dumps` as usual.
    """


def json_serializer(value: object) -> str:
    """The engines' JSON serializer: :class:`RawJSON` passes through, the rest goes to :func:`json.dumps`."""
    if isinstance(value, RawJSON):
        return str.__str__(value)
    return json.dumps(value)


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`); creates the SQLite file 0600."""
    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private_file(Path(database))
        engine = create_engine(url, hide_parameters=True, json_serializer=json_serializer)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, json_serializer=json_serializer)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The latest revision, written ``a+b`` when branches are not yet merged."""
    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    assert heads
    return "+".join(sorted(heads))


def current_revision(engine: Engine) -> str | None:
    """The database's revision, in the same ``a+b`` form as :func:`head_revision`."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (default: latest)."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
