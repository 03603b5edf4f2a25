"""Tables derived from data files, kept on disk between processes.

A table that takes a noticeable part of a process's start-up to derive from
its source files (wordsegment's 333,000 unigram counts sorted for look-up,
say) is written once to ``data_home() / "cache"`` and read back by later
processes. Each file's name carries a fingerprint of everything the table is
derived from: the table's own format version, the Python version and byte
order (the files are ``marshal`` data and native arrays) and each source
file's path, size and modification time. A changed source therefore names
another file, and a table is never read from a stale one; files under the
same table name with another fingerprint are removed when a new one is
written.

Reading or writing the cache never fails a caller: an unreadable, corrupt or
unwritable cache only means the table is derived again in memory.
``DRUGWATCH_TABLE_CACHE=0`` turns the disk cache off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from drugwatch.paths import data_home, write_bytes_atomic

__all__ = ["cache_dir", "cached_table", "fingerprint"]

_KEY_CHARS = 20  # hex digits of the fingerprint in a file name


def cache_dir() -> Path:
    """Where the derived tables live: ``data_home() / "cache"``."""

    return data_home() / "cache"


def fingerprint(name: str, version: int, sources: Sequence[str | os.PathLike[str]]) -> str:
    """A digest of what table ``name`` (format ``version``) is derived from."""
    h = hashlib.sha1()
    h.update(f"{name}\0{version}\0{sys.version}\0{sys.byteorder}\0".encode())
    for source in sources:
        path = os.path.realpath(source)
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:_KEY_CHARS]


def cached_table(
    name: str,
    version: int,
    sources: Sequence[str | os.PathLike[str]],
    build: Callable[[], Any],
) -> Any:
    """The table ``build()`` returns, read from the disk cache when a process
    already built it from the same ``sources``.

    ``build`` must return plain data ``marshal`` can write (str, bytes,
    numbers, tuples, lists, dicts); bump ``version`` whenever ``build``
    changes what it returns.
    """
    if os.environ.get("DRUGWATCH_TABLE_CACHE", "1") == "0":
        return build()
    try:
        key = fingerprint(name, version, sources)
        folder = cache_dir()
    except OSError:
        return build()
    path = folder / f"{name}-{key}.marshal"
    try:
        with open(path, "rb") as handle:
            return marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        pass
    table = build()
    _write(folder, name, path, table)
    return table


def _write(folder: Path, name: str, path: Path, table: Any) -> None:
    """Write ``table`` to ``path`` atomically (a reader sees the old file or
    the whole new one) and remove the files of stale fingerprints."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, marshal.dumps(table), prefix=f".{name}-")
        for old in folder.glob(f"{name}-{'?' * _KEY_CHARS}.marshal"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        return
