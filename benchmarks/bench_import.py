"""Import throughput and peak memory: N generated events into a fresh SQLite store.

    .venv/bin/python benchmarks/bench_import.py            # 100,000 events
    .venv/bin/python benchmarks/bench_import.py --events 20000

The events come from the demo generator (captions, adverts, comment
threads; no images), replicated with new ids and re-drawn numbers until
there are N, so near-duplicate clustering sees realistic repeats. The
file is written first; the import alone is timed, in a child process
whose peak resident memory (ru_maxrss) and CPU time are reported. Batches of 2,000
records per transaction (the CLI default).
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
from pathlib import Path


def make_corpus(path: Path, n_events: int, seed: int = 0) -> int:
    from drugwatch.demo import generate_demo

    corpus = generate_demo(seed=seed, n_accounts=150, images=False)
    base = [e.model_dump(mode="json") for e in corpus.events]
    rng = random.Random(seed)
    digits = re.compile(r"\d+")
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        copy = 0
        while written < n_events:
            for record in base:
                if written >= n_events:
                    break
                record = dict(record)
                suffix = f"r{copy}"
                record["id"] = f"{record['id']}-{suffix}"
                if record.get("parent_id"):
                    record["parent_id"] = f"{record['parent_id']}-{suffix}"
                if record.get("post_id"):
                    record["post_id"] = f"{record['post_id']}-{suffix}"
                if copy:
                    record["text"] = digits.sub(lambda m: str(rng.randint(1, 500)), record["text"])
                record["provenance"] = None
                handle.write(json.dumps({"record_type": "event", **record}, ensure_ascii=False) + "\n")
                written += 1
            copy += 1
    return written


def _import(path: str, db: str, queue: mp.Queue) -> None:
    from drugwatch.io.importer import import_path
    from drugwatch.store import Store

    store = Store(db)
    start, cpu_start = time.perf_counter(), time.process_time()
    report = import_path(path, store, quarantine=str(Path(db).with_suffix(".quarantine.jsonl")))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mib": peak_kib / 1024, "counts": report.counts()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dw-bench-import-") as tmp:
        source = Path(tmp) / "events.jsonl"
        n = make_corpus(source, args.events)
        queue: mp.Queue = mp.get_context("spawn").Queue()
        child = mp.get_context("spawn").Process(target=_import, args=(str(source), str(Path(tmp) / "bench.sqlite"), queue))
        child.start()
        result = queue.get()
        child.join()
    counts = result["counts"]
    print(f"events:            {n:,}")
    print(f"import time:       {result['seconds']:.1f} s")
    print(f"throughput:        {n / result['seconds']:,.0f} events/s (wall clock)")
    # CPU time is the steadier number on a shared machine (it excludes time
    # spent waiting for a core; SQLite's fsyncs are off the CPU clock too).
    print(f"CPU throughput:    {n / result['cpu_seconds']:,.0f} events per CPU-second")
    print(f"peak memory (RSS): {result['peak_rss_mib']:.0f} MiB")
    print("counts:            " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
