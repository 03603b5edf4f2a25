"""The bench kit's image records (``dev/images.jsonl``) as events.

One record per line: ``{"id", "file", "drug": bool, "source", "meta"}``,
with ``file`` relative to the JSONL's folder (see the kit's README). Each
record becomes an :class:`~drugwatch.records.Event` with an empty text and
one image (``ImageRef(path=<folder>/<file>)``), so every event-reading part
of drugwatch (experiments, scan, report) takes it without a special case:

* ``labels``: ``["other_drugs"]`` for ``drug: true`` (a drug of unknown
  type: the kit only says "drug", and its drug class includes cigarettes
  and alcohol), ``["non_drug"]`` for ``false``;
* ``meta["image_drug"]``: the record's ``drug`` flag (the image's own truth,
  which the image targets of :mod:`drugwatch.vision.evaluation` read);
* ``meta["group"]``: the file name's stem (the kit names files by the SHA-1
  of their content, which is the kit's split group);
* ``platform``: ``"bench"``; ``selling`` stays unknown.

``file`` must be a relative path that stays inside the JSONL's folder
(no absolute path, no ``..``): a scan input names images, it does not get
to point the reader at arbitrary files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from drugwatch.records import Event, ImageRef, Provenance, RecordError

__all__ = ["IMAGE_RECORD_FIELDS", "image_record_event", "is_image_record", "load_image_events", "read_image_records"]

#: Fields an image record may carry.
IMAGE_RECORD_FIELDS = frozenset({"id", "file", "drug", "source", "meta", "group", "task", "platform"})


def is_image_record(obj: Mapping[str, Any]) -> bool:
    """Whether a JSON object is a kit image record (a ``file`` and no ``text``)."""
    return "file" in obj and "text" not in obj


def _image_path(file: Any, base_dir: Path, source: str, locator: str) -> str:
    if not isinstance(file, str) or not file.strip():
        raise RecordError("image record: 'file' must be a non-empty string", source=source, locator=locator)
    if len(file) > 4096:
        raise RecordError("image record: 'file' is longer than 4096 characters", source=source, locator=locator)
    pure = PurePosixPath(file.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (len(file) > 1 and file[1] == ":"):
        raise RecordError(
            f"image record: 'file' must be relative to the JSONL's folder, without '..': {file!r}",
            source=source,
            locator=locator,
        )
    return str(base_dir / Path(*pure.parts))


def image_record_event(
    obj: Mapping[str, Any],
    base_dir: str | os.PathLike[str],
    *,
    source: str = "images.jsonl",
    locator: str = "",
    provenance: Provenance | None = None,
) -> Event:
    """One kit image record as an event (mapping in the module docstring); :class:`RecordError` if malformed."""
    missing = [name for name in ("id", "file") if name not in obj]
    if missing:
        raise RecordError(f"image record lacks {', '.join(missing)}", source=source, locator=locator)
    unknown = sorted(set(obj) - IMAGE_RECORD_FIELDS)
    if unknown:
        raise RecordError(f"unknown image record field(s): {', '.join(unknown)}", source=source, locator=locator)
    drug = obj.get("drug")
    if drug is not None and not isinstance(drug, bool):
        raise RecordError(
            f"image record: 'drug' must be true, false or null, got {drug!r}", source=source, locator=locator
        )
    path = _image_path(obj["file"], Path(base_dir), source, locator)
    meta = dict(obj.get("meta") or {}) if isinstance(obj.get("meta"), Mapping) else {}
    meta.update(
        {
            "group": str(obj.get("group") or PurePosixPath(str(obj["file"])).stem),
            "source": obj.get("source"),
            "image_drug": drug,
        }
    )
    data: dict[str, Any] = {
        "id": obj["id"],
        "platform": str(obj.get("platform") or "bench"),
        "text": "",
        "images": [ImageRef(path=path)],
        "labels": None if drug is None else (["other_drugs"] if drug else ["non_drug"]),
        "meta": meta,
    }
    if provenance is not None:
        data["provenance"] = provenance.model_copy(update={"platform": data["platform"], "importer": "images"})
    return Event.parse(data, source=source, locator=locator)


def read_image_records(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Read a kit image JSONL: a ``Parsed`` event or a ``Problem`` per non-blank line (bounded line length)."""
    from drugwatch.io.base import Parsed, Problem
    from drugwatch.io.jsonl import iter_json_lines

    path = Path(path)
    base_dir = path.resolve().parent
    source = str(path)
    for number, _raw, obj in iter_json_lines(path):
        locator = f"line {number}"
        if isinstance(obj, Problem):
            yield obj
            continue
        if not isinstance(obj, dict):
            yield Problem(source, locator, f"expected a JSON object, got {type(obj).__name__}")
            continue
        try:
            yield Parsed(image_record_event(obj, base_dir, source=source, locator=locator), source, locator)
        except RecordError as exc:
            yield Problem(source, locator, exc.reason)


def load_image_events(path: str | os.PathLike[str]) -> list[Event]:
    """All events of a kit image JSONL; :class:`~drugwatch.io.base.ReaderError` on the first bad line."""
    from drugwatch.io.base import Problem, ReaderError

    events = []
    for item in read_image_records(path):
        if isinstance(item, Problem):
            raise ReaderError(f"{item.source}, {item.locator}: {item.reason}")
        events.append(item.record)
    return events
