"""Names of the formats ``drugwatch import`` and ``drugwatch export`` know.

Kept apart from the readers and writers so the command line can list them
without importing the store, pandas or pyarrow.
"""

from __future__ import annotations

#: Input formats of ``drugwatch import`` (``auto`` picks one from the file).
IMPORT_FORMATS = ("jsonl", "bench", "instaloader", "zeeschuimer", "telegram", "csv")

#: Output formats of ``drugwatch export``.
EXPORT_FORMATS = ("jsonl", "parquet")
