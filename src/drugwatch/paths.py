"""Where drugwatch keeps its data, without loading the store (SQLAlchemy, Alembic),
and how it writes a file so that a reader sees the old one or the whole new one.

>>> data_home().name  # doctest: +SKIP
'drugwatch'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["data_home", "write_bytes_atomic"]


def data_home() -> Path:
    """drugwatch's data directory (default store, demo corpus, models, runs).

    ``$DRUGWATCH_HOME`` if set, else ``$XDG_DATA_HOME/drugwatch`` (by default
    ``~/.local/share/drugwatch``).
    """
    explicit = os.environ.get("DRUGWATCH_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "drugwatch"


def write_bytes_atomic(target: Path, data: bytes, *, prefix: str = ".tmp-") -> None:
    """Write ``data`` to ``target`` through a temporary file in the same folder and
    ``os.replace``, so a reader sees the old file or the whole new one; the
    temporary file is removed if writing fails."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
