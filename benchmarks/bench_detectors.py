"""Fit time and prediction throughput of every detector on the bench's selling set.

One process, one core (``torch.set_num_threads(1)``, single-job scikit-learn
settings). Prediction throughput is measured on raw events, so it includes
the text layer and feature extraction. Every detector is fitted on the
same deduplicated selling set; the LSTM runs at the sizes given by
``--lstm`` ("paper" sizes take minutes per epoch on a CPU).

    python benchmarks/bench_detectors.py                    # all detectors, small LSTM
    python benchmarks/bench_detectors.py --only drugwatch.selling.v1 --repeat 3
    DRUGWATCH_BENCH=/path/to/bench python benchmarks/bench_detectors.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from drugwatch.evaluation.splits import deduplicate
from drugwatch.io.jsonl import load_bench_events
from drugwatch.models import available_detectors, create_detector

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev" / "selling.jsonl"
LSTM_SIZES = {
    "small": dict(embedding_dim=32, hidden=32, dense=16, max_epochs=3, lr=1e-3),
    "paper": dict(max_epochs=1),
}
#: Events/s the default detector must reach on one core (scan throughput).
TARGET_EVENTS_PER_S = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="selling.jsonl (default: $DRUGWATCH_BENCH/dev/selling.jsonl or ../shared/bench)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="registry names to run (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="prediction passes; the best is reported")
    parser.add_argument("--lstm", choices=sorted(LSTM_SIZES), default="small")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    torch.set_num_threads(1)
    data = args.data or (
        Path(os.environ["DRUGWATCH_BENCH"]) / "dev" / "selling.jsonl"
        if "DRUGWATCH_BENCH" in os.environ
        else DEFAULT_DATA
    )
    events = load_bench_events(data)
    y = np.array([int(bool(e.selling)) for e in events])
    keep, _ = deduplicate(events, y)
    events = [events[i] for i in keep]
    y = y[keep]
    print(f"{len(events)} events from {data} ({int(y.sum())} positive); one core\n")
    # Wall-clock rates suffer when other programs share the machine; the CPU-time
    # rate (process_time, one thread) is the one-core figure.
    print("| detector | fit s (wall) | fit s (CPU) | predict events/s (wall) | predict events/s (CPU time, one core) |")
    print("|---|---|---|---|---|")
    results = {}
    for name in args.only or available_detectors():
        params = {"num_threads": 1, **LSTM_SIZES[args.lstm]} if name.endswith("jmir_lstm.v1") else {}
        detector = create_detector(name, **params)
        started, started_cpu = time.perf_counter(), time.process_time()
        detector.fit(events, y)
        fit_s, fit_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
        best = best_cpu = float("inf")
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            detector.predict_proba(events)
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - started_cpu)
        rate, rate_cpu = len(events) / best, len(events) / best_cpu
        results[name] = {
            "fit_s": fit_s,
            "fit_cpu_s": fit_cpu_s,
            "predict_events_per_s": rate,
            "predict_events_per_cpu_s": rate_cpu,
            "params": params,
        }
        print(f"| {name} | {fit_s:.1f} | {fit_cpu_s:.1f} | {rate:,.0f} | {rate_cpu:,.0f} |", flush=True)
    # the target holds for whichever selling detector is the default; report every candidate run
    for name in ("drugwatch.selling.v1", "drugwatch.selling.v3"):
        if name in results:
            rate = results[name]["predict_events_per_cpu_s"]
            verdict = "meets" if rate >= TARGET_EVENTS_PER_S else "MISSES"
            print(f"\n{name} {verdict} the {TARGET_EVENTS_PER_S:,} events/s target ({rate:,.0f}/s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
