"""Export the store to generic JSONL (re-importable) or Parquet (for analysis).

JSONL: accounts first, then events, one object per line with
``record_type``; importing the file into an empty store gives back the
same records. An image path under the export file's folder is written
relative to that folder (``images/p1.jpg``), and the JSONL reader anchors a
relative path at the folder of the file it reads, so the export and its
images can be moved or copied together and imported elsewhere; paths
outside the folder stay absolute. Parquet: one file per record type (``--what events`` or
``accounts``); list fields are Parquet lists, nested objects (images,
meta, provenance) JSON strings, times UTC timestamps. Both stream in
batches, so memory stays flat on large stores. Export files hold posts and
contact details: they are created with mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drugwatch.io.formats import EXPORT_FORMATS
from drugwatch.records import Account, Event

if TYPE_CHECKING:  # the store (SQLAlchemy, Alembic) loads only for a store export
    from drugwatch.store import Store

# The names live in formats.py so the command line lists them without loading pyarrow.


def _relative_image(image: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = image.get("path")
    if not path or not os.path.isabs(path):
        return image
    target = Path(os.path.normpath(path))
    for base in (folder, folder.resolve()):
        try:
            return {**image, "path": target.relative_to(base).as_posix()}
        except ValueError:
            continue
    return image  # not under the export's folder: only an absolute path still finds it


def record_line(record: Event | Account, *, images_relative_to: str | os.PathLike[str] | None = None) -> str:
    """One generic-JSONL line (without newline) for ``record``.

    With ``images_relative_to`` (a folder), an image path under that folder
    is written relative to it; the JSONL reader resolves it against the
    folder of the file it reads.
    """
    if isinstance(record, Account):
        data = {"record_type": "account", **record.model_dump(mode="json", exclude={"timeline"})}
    else:
        data = {"record_type": "event", **record.model_dump(mode="json")}
        if images_relative_to is not None and data["images"]:
            folder = Path(os.path.normpath(os.path.abspath(images_relative_to)))
            data["images"] = [_relative_image(image, folder) for image in data["images"]]
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


def _create_private(path: str | os.PathLike[str]) -> int:
    """A descriptor for ``path``, created or truncated, with mode 0600 when created."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def write_jsonl(records: Iterable[Event | Account], path: str | os.PathLike[str]) -> int:
    """Write records as generic JSONL; returns the number written.

    Image paths under the file's folder are written relative to it.
    """
    n = 0
    folder = Path(os.path.abspath(path)).parent
    with open(_create_private(path), "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record_line(record, images_relative_to=folder) + "\n")
            n += 1
    return n


def _event_columns() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("platform", pa.string()),
            ("id", pa.string()),
            ("kind", pa.string()),
            ("parent_id", pa.string()),
            ("post_id", pa.string()),
            ("text", pa.string()),
            ("hashtags", pa.list_(pa.string())),
            ("images", pa.string()),
            ("author", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("labels", pa.list_(pa.string())),
            ("selling", pa.bool_()),
            ("meta", pa.string()),
            ("provenance", pa.string()),
        ]
    )


def _account_columns() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("platform", pa.string()),
            ("username", pa.string()),
            ("user_id", pa.string()),
            ("full_name", pa.string()),
            ("bio", pa.string()),
            ("followers", pa.int64()),
            ("following", pa.int64()),
            ("posts_count", pa.int64()),
            ("is_private", pa.bool_()),
            ("dealer", pa.bool_()),
            ("meta", pa.string()),
            ("provenance", pa.string()),
        ]
    )


def _event_row(event: Event) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    return {
        "key": event.key,
        "platform": event.platform,
        "id": event.id,
        "kind": event.kind,
        "parent_id": event.parent_id,
        "post_id": event.post_id,
        "text": event.text,
        "hashtags": list(event.hashtags),
        "images": json.dumps(data["images"], ensure_ascii=False),
        "author": event.author,
        "created_at": event.created_at,
        "labels": list(event.labels) if event.labels is not None else None,
        "selling": event.selling,
        "meta": json.dumps(data["meta"], ensure_ascii=False),
        "provenance": json.dumps(data["provenance"], ensure_ascii=False),
    }


def _account_row(account: Account) -> dict[str, Any]:
    data = account.model_dump(mode="json", exclude={"timeline"})
    return {
        "key": account.key,
        **{
            k: data[k]
            for k in (
                "platform",
                "username",
                "user_id",
                "full_name",
                "bio",
                "followers",
                "following",
                "posts_count",
                "is_private",
                "dealer",
            )
        },
        "meta": json.dumps(data["meta"], ensure_ascii=False),
        "provenance": json.dumps(data["provenance"], ensure_ascii=False),
    }


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet(
    records: Iterable[Event] | Iterable[Account],
    path: str | os.PathLike[str],
    *,
    what: str = "events",
    batch_size: int = 10_000,
) -> int:
    """Write events or accounts to a Parquet file in row groups of ``batch_size``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _event_columns() if what == "events" else _account_columns()
    to_row = _event_row if what == "events" else _account_row
    n = 0
    with open(_create_private(path), "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
        for batch in _batched(records, batch_size):
            writer.write_table(pa.Table.from_pylist([to_row(r) for r in batch], schema=schema))
            n += len(batch)
        if n == 0:
            writer.write_table(schema.empty_table())
    return n


def export_store(
    store: Store, path: str | os.PathLike[str], *, fmt: str = "jsonl", what: str = "all"
) -> dict[str, int]:
    """Export ``store`` to ``path``; returns counts per record type.

    ``what`` is ``all`` (JSONL only), ``events`` or ``accounts``.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if what not in ("all", "events", "accounts"):
        raise ValueError(f"what must be all, events or accounts, not {what!r}")
    if fmt == "parquet":
        if what == "all":
            raise ValueError("Parquet holds one record type per file: pass --what events or --what accounts")
        source = store.iter_events() if what == "events" else store.iter_accounts()
        return {what: write_parquet(source, path, what=what)}
    counts = {"accounts": 0, "events": 0}

    def everything() -> Iterator[Event | Account]:
        if what in ("all", "accounts"):
            for account in store.iter_accounts():
                counts["accounts"] += 1
                yield account
        if what in ("all", "events"):
            for event in store.iter_events():
                counts["events"] += 1
                yield event

    write_jsonl(everything(), path)
    return counts
