"""The scan loop: read, score, write, checkpoint; counts that add up.

Every record read ends in exactly one bucket::

    read = results + accounts + quarantined

``results``: events scored and written; ``accounts``: account records met in
the input (kept beside the results for the report); ``quarantined``:
records that could not be read or scored, written to the quarantine file with
file, line and reason. On an events-only input, ``read = results +
quarantined``.

Memory is bounded: records are read, scored and written in windows of
``batch_size``; nothing else is kept. Every ``checkpoint_every`` records the
sinks flush and a checkpoint file records where to resume (an input
position, the sinks' sizes, the counts); an interrupted scan (Ctrl-C, crash,
killed) started again with the same arguments resumes there and produces the
same output as an uninterrupted run. The checkpoint is deleted when the scan
completes.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from drugwatch.io.base import Parsed, Problem
from drugwatch.records import Account, Event
from drugwatch.scan.sinks import DbSink, JsonlSink, QuarantineFile, ResultSink, open_sink
from drugwatch.scan.sources import Source, SourceItem, open_source
from drugwatch.scoring import EventResult, EventScorer, lexicon_fingerprint

__all__ = ["Outcome", "ScanError", "ScanReport", "run_scan", "score_items"]

CHECKPOINT_VERSION = 1

#: What one input record became.
Outcome = EventResult | Problem | Account


class ScanError(RuntimeError):
    """A scan that cannot start (existing output, a checkpoint of another scan)."""


class _Read(Protocol):
    """Where a scored record sits in the input: a :class:`SourceItem`, or its Ray engine counterpart."""

    @property
    def position(self) -> int: ...

    @property
    def resume(self) -> dict[str, int]: ...


@dataclass
class ScanReport:
    """The outcome of one scan; ``read`` always equals ``results + accounts + quarantined``."""

    input: str
    output: str
    engine: str
    read: int = 0
    results: int = 0
    accounts: int = 0
    quarantined: int = 0
    selling: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    quarantine_path: str | None = None
    resumed_from: int | None = None  #: records already done when this run resumed
    models: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    run_id: int | None = None

    def check(self) -> None:
        if self.read != self.results + self.accounts + self.quarantined:
            raise AssertionError(f"scan counts do not add up: {self.counts()}")

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "results": self.results,
            "accounts": self.accounts,
            "quarantined": self.quarantined,
            "selling": self.selling,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = dict(self.reasons.most_common())
        return data


def _reason_kind(reason: str) -> str:
    head = reason.split(";")[0]
    return head if len(head) <= 80 else head[:77] + "..."


def score_items(scorer: EventScorer, items: Sequence[SourceItem]) -> list[Outcome]:
    """What each item becomes, in order: a result, its problem, or an account.

    Events are scored together; if the batch fails, each event is scored
    alone and the ones that still fail are quarantined with the error.
    """
    outcomes: list[Outcome | None] = [None] * len(items)
    events: list[tuple[int, Event, Parsed]] = []
    for index, source_item in enumerate(items):
        item = source_item.item
        if isinstance(item, Problem):
            outcomes[index] = item
        elif isinstance(item.record, Account):
            outcomes[index] = item.record
        else:
            events.append((index, item.record, item))
    if events:
        scored: Sequence[EventResult | Problem]
        try:
            scored = scorer.score([event for _, event, _ in events])
        except Exception:  # noqa: BLE001 - retried one by one below, each failure quarantined with its reason
            retried: list[EventResult | Problem] = []
            for _, event, parsed in events:
                try:
                    retried.append(scorer.score([event])[0])
                except Exception as exc:  # noqa: BLE001
                    retried.append(
                        Problem(
                            parsed.source,
                            parsed.locator,
                            f"scoring failed: {type(exc).__name__}: {exc}",
                            event.model_dump_json(),
                        )
                    )
            scored = retried
        for (index, _, _), outcome in zip(events, scored):
            outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _in_process(
    source: Source, scorer: EventScorer, start: dict[str, int] | None, batch_size: int
) -> Iterator[list[tuple[SourceItem, Outcome]]]:
    window: list[SourceItem] = []
    for split in source.splits(start):
        for item in source.read(split):
            window.append(item)
            if len(window) >= batch_size:
                yield list(zip(window, score_items(scorer, window)))
                window = []
    if window:
        yield list(zip(window, score_items(scorer, window)))


class _Checkpoint:
    def __init__(self, path: Path, identity: dict[str, Any]):
        self.path = path
        self.identity = identity

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        state = json.loads(self.path.read_text(encoding="utf-8"))
        if state.get("version") != CHECKPOINT_VERSION or state.get("identity") != self.identity:
            raise ScanError(
                f"{self.path} is the checkpoint of another scan (different input, models, output or options); "
                "pass --restart to start over, or delete it"
            )
        return state

    def save(self, state: dict[str, Any]) -> None:
        state = {
            "version": CHECKPOINT_VERSION,
            "identity": self.identity,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **state,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def default_checkpoint_path(sink: ResultSink, source: Source) -> Path:
    if isinstance(sink, DbSink):
        from hashlib import sha256

        from drugwatch.store.db import data_home

        tag = sha256(json.dumps([sink.identity(), source.identity()], sort_keys=True).encode()).hexdigest()[:16]
        return data_home() / "scan" / f"db-{tag}.checkpoint.json"
    path = Path(sink.identity()["path"])
    return path.with_name(path.name + ".checkpoint.json")


def run_scan(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    scorer: EventScorer | None = None,
    model_dirs: Sequence[str | os.PathLike[str]] = (),
    ocr: bool = False,
    language: str = "flagged",
    input_format: str = "auto",
    output_format: str = "auto",
    db: str | None = None,
    output_db: str | None = None,
    where: str | None = None,
    quarantine: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    engine: str = "local",
    workers: int = 2,
    ray_address: str | None = None,
    batch_size: int = 256,
    checkpoint_every: int = 5000,
    resume: bool = True,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ScanReport:
    """Scan ``input`` (a ``.jsonl``/``.parquet`` file or ``"db"``) into ``output`` (``.jsonl``, ``.parquet`` or ``"db"``).

    Detectors: ``scorer`` if given, else ``model_dirs`` (any saved model
    directories), else the default fast detectors in
    ``$DRUGWATCH_HOME/models``. ``ocr=True`` also reads the images' text.
    ``language`` says which results get the event's language
    (:data:`drugwatch.scoring.LANGUAGE_POLICIES`; default: the events the
    selling model flags or sends to review).
    ``db`` is the store read when ``input == "db"`` (filtered by the SQL
    condition ``where``); ``output_db`` the store written when
    ``output == "db"`` (default: ``db``). ``engine="ray"`` runs the scoring
    on Ray Data with ``workers`` actors (local mode unless ``ray_address``).
    ``on_progress(n)`` is called with the records read so far; an exception
    it raises (like Ctrl-C) interrupts the scan, which then resumes from its
    last checkpoint when started again.
    """
    started = time.perf_counter()
    if engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r}; choose 'local' or 'ray'")
    if batch_size < 1 or checkpoint_every < 1:
        raise ValueError("batch_size and checkpoint_every must be at least 1")
    source = open_source(str(input), fmt=input_format, db=db, where=where)
    if scorer is None:
        ocr_engine = None
        if ocr:
            from drugwatch.vision.ocr import default_ocr_engine

            ocr_engine = default_ocr_engine()
        scorer = (
            EventScorer.from_directories([Path(d) for d in model_dirs], ocr=ocr_engine, language=language)
            if model_dirs
            else EventScorer.default(ocr=ocr_engine, language=language)
        )
    sink = open_sink(str(output), fmt=output_format, db=output_db or db)
    identity = {"input": source.identity(), "output": sink.identity(), "scorer": scorer.identity()}
    ckpt = _Checkpoint(Path(checkpoint) if checkpoint else default_checkpoint_path(sink, source), identity)
    state = None
    if resume:
        state = ckpt.load()
    else:
        ckpt.delete()
    if state is None and sink.exists() and not overwrite:
        raise ScanError(f"{output} already exists; pass --overwrite to replace it")
    qpath = Path(quarantine) if quarantine else _default_quarantine(sink, ckpt.path)
    report = ScanReport(input=str(input), output=str(output), engine=engine, models=[m.dump() for m in scorer.models])
    if isinstance(sink, DbSink | JsonlSink):
        sink.run_info = {
            "input": source.identity(),
            "models": report.models,
            "lexicon": lexicon_fingerprint(),
            "engine": engine,
        }
    if state is not None:
        for name, value in state["counts"].items():
            setattr(report, name, value)
        report.reasons = Counter(state.get("reasons", {}))
        report.resumed_from = report.read
    sink.open(None if state is None else state["sink"])
    qfile = QuarantineFile(qpath)
    qfile.open(None if state is None else state["quarantine"])
    start = None if state is None else state["resume"]
    if state is None:  # a scan killed before its first periodic checkpoint resumes from the start
        _save(ckpt, sink, qfile, report, None)

    windows: Iterator[Sequence[tuple[_Read, Outcome]]]
    if engine == "ray":
        from drugwatch.scan.ray_engine import ray_windows

        windows = ray_windows(source, scorer, start, batch_size=batch_size, workers=workers, address=ray_address)
    else:
        windows = _in_process(source, scorer, start, batch_size)

    since = 0
    last_resume = start
    complete = False
    # The loaded models and modules (about 170,000 objects the collector tracks) live through the whole
    # scan: frozen, the collector's full passes skip them. Those passes cost about 0.4 of 5 CPU-s per
    # 6,000 events (same-process A/B); frozen, 0.01. Left alone when the caller froze objects itself.
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        for window in windows:
            for item, outcome in window:
                report.read += 1
                if isinstance(outcome, EventResult):
                    report.results += 1
                    report.selling += bool(outcome.selling)
                    sink.write(item.position, outcome)
                elif isinstance(outcome, Account):
                    report.accounts += 1
                    sink.write_account(outcome)
                else:
                    report.quarantined += 1
                    report.reasons[_reason_kind(outcome.reason)] += 1
                    qfile.write(outcome)
                last_resume = item.resume
            since += len(window)
            if since >= checkpoint_every:
                _save(ckpt, sink, qfile, report, last_resume)
                since = 0
            if on_progress is not None:
                on_progress(report.read)
        report.check()
        sink.flush()
        qfile.flush()
        complete = True
    finally:
        if freeze:
            gc.unfreeze()
        sink.close(complete)
        qfile.close(complete)
        close = getattr(windows, "close", None)
        if close is not None:
            close()
    if isinstance(sink, DbSink):
        sink.finish(report.counts())
        report.run_id = sink.run_id
    ckpt.delete()
    report.quarantine_path = str(qpath) if report.quarantined else None
    report.seconds = time.perf_counter() - started
    return report


def _save(
    ckpt: _Checkpoint, sink: ResultSink, qfile: QuarantineFile, report: ScanReport, resume: dict[str, int] | None
) -> None:
    ckpt.save(
        {
            "resume": resume,
            "sink": sink.flush(),
            "quarantine": qfile.flush(),
            "counts": {k: getattr(report, k) for k in ("read", "results", "accounts", "quarantined", "selling")},
            "reasons": dict(report.reasons),
        }
    )


def _default_quarantine(sink: ResultSink, checkpoint: Path) -> Path:
    if isinstance(sink, DbSink):
        return checkpoint.with_name(checkpoint.name.replace(".checkpoint.json", ".quarantine.jsonl"))
    path = Path(sink.identity()["path"])
    return path.with_name(path.name.split(".")[0] + ".quarantine.jsonl")
