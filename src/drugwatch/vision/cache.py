"""On-disk caches keyed by image SHA-256.

Layout: ``<root>/<kind>/<model id>/<sha[:2]>/<sha><suffix>``, where ``root``
defaults to ``$DRUGWATCH_HOME/cache``. One small file per image keeps the
cache safe to share between processes (a scan on several workers) without a
lock: files are written to a temporary name and renamed into place, so a
reader sees either nothing or a whole file. The model id in the path means a
new model or preprocessing never reads stale entries; delete the folder of an
old id to reclaim the space.
"""

from __future__ import annotations

import re
from pathlib import Path

from drugwatch.paths import write_bytes_atomic

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def default_cache_root() -> Path:
    """``$DRUGWATCH_HOME/cache`` (see :func:`drugwatch.store.db.data_home`)."""
    from drugwatch.store.db import data_home  # imported late: pulls in SQLAlchemy

    return data_home() / "cache"


class ShaCache:
    """Files named by SHA-256 under one folder."""

    def __init__(self, folder: Path, suffix: str):
        self.folder = Path(folder)
        self.suffix = suffix

    @classmethod
    def default(cls, kind: str, model_id: str, suffix: str, root: Path | None = None) -> ShaCache:
        return cls(Path(root or default_cache_root()) / kind / model_id, suffix)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.folder / sha256[:2] / f"{sha256}{self.suffix}"

    def read_bytes(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, sha256: str, data: bytes) -> Path:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data)
        return target

    def __contains__(self, sha256: str) -> bool:
        return self.path(sha256).is_file()
