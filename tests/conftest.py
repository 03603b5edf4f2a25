"""Shared fixtures: an isolated data home, and SQLite / PostgreSQL stores.

PostgreSQL: ``DRUGWATCH_TEST_PG_URL`` names a server to use (CI sets it
after starting one). Without it, the fixture starts a throw-away server
with ``initdb``/``pg_ctl`` if PostgreSQL is installed, and otherwise skips
the PostgreSQL variants with the reason. ``DRUGWATCH_REQUIRE_PG=1`` turns
that skip into a failure (CI sets it, so a broken server cannot pass as a
skip).

Hypothesis: property tests draw new examples on every run, which is how
they find bugs. CI sets ``DRUGWATCH_HYPOTHESIS_PROFILE=ci``: the same
examples on every run (``derandomize``), so a red CI names a change, not a
lucky draw.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import settings

from drugwatch.store.pgtemp import PostgresUnavailable, temporary_database, temporary_server

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("DRUGWATCH_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's default store: each test gets its own data home."""
    home = tmp_path / "drugwatch-home"
    monkeypatch.setenv("DRUGWATCH_HOME", str(home))
    monkeypatch.delenv("DRUGWATCH_DB", raising=False)
    return home


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("DRUGWATCH_TEST_PG_URL")
    if url:
        yield url
        return
    with ExitStack() as stack:
        try:
            started = stack.enter_context(temporary_server())
        except (PostgresUnavailable, OSError, subprocess.TimeoutExpired) as exc:
            if os.environ.get("DRUGWATCH_REQUIRE_PG") == "1":
                pytest.fail(f"PostgreSQL required (DRUGWATCH_REQUIRE_PG=1) but could not be started: {exc}")
            pytest.skip(f"no PostgreSQL server for the store tests: {exc}")
        yield started


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    with temporary_database(pg_server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a store test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


# ---------------------------------------------------------------------------
# Headless Chromium (Debian's package, driven by Playwright; no browser download)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium() -> tuple[str, list[str]]:
    """``(executable, launch args)`` of Debian's Chromium for Playwright.

    Skips the test without a browser, or fails it when CI requires one
    (``DRUGWATCH_REQUIRE_BROWSER=1``).
    """
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed"
    if reason:
        if os.environ.get("DRUGWATCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required (DRUGWATCH_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(f"no browser: {reason}")
    return CHROMIUM, list(CHROMIUM_ARGS)
