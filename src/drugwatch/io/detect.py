"""Which import format a file is: its name, and for JSON lines its first record.

Kept apart from :mod:`drugwatch.io.importer` (which loads the store) so that
``drugwatch scan`` can tell a file's format without loading SQLAlchemy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from drugwatch.io.base import ReaderError
from drugwatch.io.formats import IMPORT_FORMATS
from drugwatch.io.limits import MAX_LINE_BYTES, CappedReader, strip_compression

__all__ = ["detect_format", "peek_json"]


#: Lines looked at to find the first record when guessing a format.
_PEEK_LINES = 1000


def peek_json(path: Path) -> dict[str, Any] | None:
    """The first non-blank line as a JSON object, read with the usual line cap."""
    try:
        with CappedReader(path) as handle:
            for _ in range(_PEEK_LINES):
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return None
                if raw.strip():
                    if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                        return None
                    obj = json.loads(raw)
                    return obj if isinstance(obj, dict) else None
    except Exception:
        # Not readable as JSON lines: the reader will say why, record by record.
        return None
    return None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of ``path`` from its name and first record."""
    p = Path(path)
    if not p.exists():
        raise ReaderError(f"no such file or folder: {p}")
    if p.is_dir():
        return "instaloader"
    name = p.name.lower()
    if name.endswith((".json.xz", ".json")):
        from drugwatch.io.telegram import is_desktop_export

        return "telegram" if is_desktop_export(p) else "instaloader"
    name = strip_compression(name)
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        first = peek_json(p)
        if first is not None:
            if "source_platform" in first or "__import_meta" in first or ("item_id" in first and "data" in first):
                return "zeeschuimer"
            if "task" in first and "group" in first:
                return "bench"
            from drugwatch.io.telegram import is_fourcat_telegram

            if is_fourcat_telegram(first):
                return "telegram"
        return "zeeschuimer" if name.endswith(".ndjson") else "jsonl"
    raise ReaderError(f"cannot tell the format of {p.name}; pass --format ({', '.join(IMPORT_FORMATS)})")
