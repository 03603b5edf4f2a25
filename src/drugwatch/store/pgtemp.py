"""Throw-away PostgreSQL servers and databases for tests and benchmarks.

``temporary_server()`` starts a server with ``initdb``/``pg_ctl`` in a
temporary folder (trust auth, loopback only, fsync off) and removes it on
exit; as root it runs the server as the ``postgres`` user, since initdb
refuses root. ``temporary_database(server_url)`` creates a fresh database
on a server and drops it on exit. Never for real data.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No server could be started (PostgreSQL missing, or no user to run it as)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@contextmanager
def temporary_server(*, max_connections: int = 100) -> Iterator[str]:
    """Start a PostgreSQL server; yield its SQLAlchemy URL; stop and delete it."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable("PostgreSQL is not installed (no initdb/pg_ctl); apt-get install postgresql")
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="drugwatch-pg-"))
    try:
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root and runuser is missing")
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") from None
            shutil.chown(root, "postgres")
            os.chmod(root, 0o755)
            prefix = ["runuser", "-u", "postgres", "--"]
        data, port = root / "data", free_port()

        def run(command: list[str]) -> None:
            done = subprocess.run(prefix + command, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                message = done.stderr.strip() or done.stdout.strip()
                raise PostgresUnavailable(f"{Path(command[0]).name} failed: {message}")

        run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections={max_connections}"
        run([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"])
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def temporary_database(server_url: str, *, prefix: str = "dw_test") -> Iterator[str]:
    """Create an empty database on ``server_url``; yield its URL; drop it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from drugwatch.store.db import resolve_url

    admin_url = resolve_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
