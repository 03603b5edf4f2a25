"""Where drugwatch keeps its data, without loading the store (SQLAlchemy, Alembic).

>>> data_home().name  # doctest: +SKIP
'drugwatch'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home"]


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
