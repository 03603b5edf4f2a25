"""Shared fixtures: an isolated data home, and SQLite / PostgreSQL stores.

PostgreSQL: ``DRUGWATCH_TEST_PG_URL`` names a server to use (CI sets it
after starting one). Without it, the fixture starts a throw-away server
with ``initdb``/``pg_ctl`` if PostgreSQL is installed, and otherwise skips
the PostgreSQL variants with the reason. ``DRUGWATCH_REQUIRE_PG=1`` turns
that skip into a failure (CI sets it, so a broken server cannot pass as a
skip).
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
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's default store: each test gets its own data home."""
    home = tmp_path / "drugwatch-home"
    monkeypatch.setenv("DRUGWATCH_HOME", str(home))
    monkeypatch.delenv("DRUGWATCH_DB", raising=False)
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class _TempPostgres:
    """A PostgreSQL server in a temporary folder, trust auth on loopback only."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl); apt-get install postgresql")
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="drugwatch-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as the postgres user.
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root and runuser is missing")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run the server") from None
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o755)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(self.prefix + command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def stop(self) -> None:
        subprocess.run(self.prefix + [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("DRUGWATCH_TEST_PG_URL")
    if url:
        yield url
        return
    try:
        server = _TempPostgres()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        if os.environ.get("DRUGWATCH_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required (DRUGWATCH_REQUIRE_PG=1) but could not be started: {exc}")
        pytest.skip(f"no PostgreSQL server for the store tests: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from drugwatch.store.db import resolve_url

    admin_url = resolve_url(pg_server_url)
    name = f"dw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a store test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")
