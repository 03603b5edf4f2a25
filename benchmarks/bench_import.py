"""Import throughput and peak memory: N generated events into a fresh SQLite store, per format.

    .venv/bin/python benchmarks/bench_import.py                      # 100,000 events, every format
    .venv/bin/python benchmarks/bench_import.py --events 20000 --formats telegram

The events come from the demo generator (captions, adverts, comment
threads; no images), replicated with new ids and re-drawn numbers until
there are N, so near-duplicate clustering sees realistic repeats. Each
format gets the same events in its own shape:

``jsonl``
    drugwatch's generic JSONL, one event per line (labels and demo meta
    included, the heaviest records).
``telegram``
    a Telegram Desktop ``result.json`` ("Export Telegram data"): one public
    supergroup per copy of the demo corpus, each demo author a sender
    (``user<n>``), comments as replies (``reply_to_message_id``), hashtags
    as ``text_entities``. The reader also yields one account per sender and
    chat, so it reads more items than there are messages; throughput is
    counted in messages.

Each file is written first; the import alone is timed (the store opened and
the reader's modules loaded before the clock starts), in a child process
whose peak resident memory (``VmHWM`` of ``/proc/self/status``, the high-water
mark of the child's own address space; ``ru_maxrss`` survives ``exec`` on Linux
and would report the parent's size when the child was started, about 890 MiB
after writing 100,000 Telegram messages) and CPU time are reported. Batches
of 2,000 records per transaction (the CLI default). CPU time is the number
to compare on a shared machine: it excludes time spent waiting for a core
(and SQLite's fsyncs); the target is at least 3,500 events per CPU-second.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import re
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

FORMATS = ("jsonl", "telegram")
TARGET_EVENTS_PER_CPU_SECOND = 3_500
_DIGITS = re.compile(r"\d+")
_HASHTAG = re.compile(r"#\w+")


def _demo_events(seed: int) -> list[dict]:
    from drugwatch.demo import generate_demo

    corpus = generate_demo(seed=seed, n_accounts=150, images=False)
    return [e.model_dump(mode="json") for e in corpus.events]


def _copies(base: list[dict], n_events: int, seed: int):
    """``(copy, record)`` for N records: the base corpus again and again, numbers re-drawn after the first copy."""
    rng = random.Random(seed)
    written, copy = 0, 0
    while written < n_events:
        for record in base:
            if written >= n_events:
                return
            record = dict(record)
            if copy:
                record["text"] = _DIGITS.sub(lambda m: str(rng.randint(1, 500)), record["text"])
            yield copy, record
            written += 1
        copy += 1


def make_corpus(path: Path, n_events: int, seed: int = 0) -> int:
    """Generic JSONL with ``n_events`` events."""
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        for copy, record in _copies(_demo_events(seed), n_events, seed):
            suffix = f"r{copy}"
            record["id"] = f"{record['id']}-{suffix}"
            if record.get("parent_id"):
                record["parent_id"] = f"{record['parent_id']}-{suffix}"
            if record.get("post_id"):
                record["post_id"] = f"{record['post_id']}-{suffix}"
            record["provenance"] = None
            handle.write(json.dumps({"record_type": "event", **record}, ensure_ascii=False) + "\n")
            written += 1
    return written


def _telegram_text(text: str) -> str | list:
    """A message text as Telegram Desktop writes it: a string, or parts with hashtag entities."""
    parts: list = []
    last = 0
    for match in _HASHTAG.finditer(text):
        if match.start() > last:
            parts.append(text[last : match.start()])
        parts.append({"type": "hashtag", "text": match.group()})
        last = match.end()
    if not parts:
        return text
    if last < len(text):
        parts.append(text[last:])
    return parts


def make_telegram_corpus(path: Path, n_events: int, seed: int = 0) -> int:
    """A Telegram Desktop ``result.json`` with ``n_events`` messages (see the module docstring)."""
    chats: dict[int, dict] = {}
    message_ids: dict[tuple[int, str], int] = {}
    senders: dict[str, int] = {}
    written = 0
    for copy, record in _copies(_demo_events(seed), n_events, seed):
        chat = chats.setdefault(
            copy,
            {
                "name": f"bench group {copy}",
                "type": "public_supergroup",
                "id": 1_600_000_000 + copy,
                "messages": [],
            },
        )
        mid = len(chat["messages"]) + 1
        message_ids[(copy, record["id"])] = mid
        author = record.get("author") or "anonymous"
        sender = senders.setdefault(author, 7_000_000 + len(senders))
        created = (
            datetime.fromisoformat(record["created_at"].replace("Z", "+00:00")) if record.get("created_at") else None
        )
        stamp = int(created.timestamp()) if created else 1_714_572_000 + mid
        text = _telegram_text(record["text"])
        message = {
            "id": mid,
            "type": "message",
            "date": datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(stamp),
            "from": author,
            "from_id": f"user{sender}",
            "text": text,
            "text_entities": [
                p if isinstance(p, dict) else {"type": "plain", "text": p}
                for p in (text if isinstance(text, list) else [text])
            ],
        }
        parent = message_ids.get((copy, record.get("parent_id") or ""))
        if parent is not None:
            message["reply_to_message_id"] = parent
        chat["messages"].append(message)
        written += 1
    export = {
        "about": "Here is the data you requested.",
        "chats": {"about": "This page lists all chats from this export.", "list": list(chats.values())},
    }
    # Telegram Desktop pretty-prints with one-space indentation.
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return written


def _peak_rss_kib() -> int:
    """The peak resident memory of this process's address space, in KiB (``ru_maxrss`` where there is no procfs)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _import(path: str, db: str, queue: mp.Queue) -> None:
    from drugwatch.io.detect import detect_format
    from drugwatch.io.importer import import_path, reader_for
    from drugwatch.store import Store

    # Load the format's reader modules before the clock starts: with bytecode
    # caching off (PYTHONDONTWRITEBYTECODE) compiling them costs 20-35 ms of CPU
    # (1 % of a 10,000-event import), a start-up cost and not per-event work.
    reader_for(detect_format(path))
    store = Store(db)
    start, cpu_start = time.perf_counter(), time.process_time()
    report = import_path(path, store, quarantine=str(Path(db).with_suffix(".quarantine.jsonl")))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = _peak_rss_kib()
    queue.put({"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mib": peak_kib / 1024, "counts": report.counts()})


def run_import(source: Path, db: Path) -> dict:
    """Import ``source`` into a new store at ``db`` in a fresh child process; its timings and counts."""
    context = mp.get_context("spawn")
    queue: mp.Queue = context.Queue()
    child = context.Process(target=_import, args=(str(source), str(db), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, of: {', '.join(FORMATS)}")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    makers = {"jsonl": (make_corpus, "events.jsonl"), "telegram": (make_telegram_corpus, "result.json")}
    below = []
    with tempfile.TemporaryDirectory(prefix="dw-bench-import-") as tmp:
        for fmt in formats:
            make, name = makers[fmt]
            folder = Path(tmp) / fmt
            folder.mkdir()
            n = make(folder / name, args.events)
            result = run_import(folder / name, folder / "bench.sqlite")
            rate = n / result["cpu_seconds"]
            if rate < TARGET_EVENTS_PER_CPU_SECOND:
                below.append(fmt)
            print(f"== {fmt}")
            print(f"events:            {n:,}")
            print(f"import time:       {result['seconds']:.1f} s")
            print(f"throughput:        {n / result['seconds']:,.0f} events/s (wall clock)")
            print(f"CPU throughput:    {rate:,.0f} events per CPU-second (target {TARGET_EVENTS_PER_CPU_SECOND:,})")
            print(f"peak memory (RSS): {result['peak_rss_mib']:.0f} MiB")
            print("counts:            " + ", ".join(f"{k} {v:,}" for k, v in result["counts"].items()))
    if below:
        print(f"below the target: {', '.join(below)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
