"""Scan throughput and memory of the default fast path, and Ray local vs in-process.

Usage::

    .venv/bin/python benchmarks/bench_scan.py                       # 1,000,000 events (long)
    .venv/bin/python benchmarks/bench_scan.py --events 200000 --memory-sizes 20000,200000

What it does:

1. trains the default detectors (``scoring.DEFAULT_DETECTORS``: selling on the bench kit's
   ``dev/selling.jsonl``, drug type on ``--drugtype-train`` records of
   ``dev/drugtype.jsonl``) unless ``--models DIR`` holds them (``DIR/selling``,
   ``DIR/drugtype``); they are cached in the work folder. ``--drugtype-detector
   NAME`` scans with another registered drug-type detector (kept in ``DIR/NAME``);
2. writes the bench kit's dev texts (selling + drugtype, 48,098 texts) replicated
   in order to ``--events`` generic JSONL events (ids unique, authors cycling
   over 5,000 names, an hour stamp), and the first N lines of it for each size;
3. scans each size in its own subprocess (``drugwatch.scan.run_scan``,
   in-process engine, JSONL out), measuring wall time, ``time.process_time``
   (events per CPU-second) and peak resident memory during the scan (current
   RSS sampled twice a second; ``ru_maxrss`` is reported too but is set by
   loading the models); the largest size is the throughput figure;
4. first, scans ``--ray-events`` events with ``--engine ray`` (local, 2 workers) and
   in-process, each in a subprocess, and checks the outputs are identical.

``--compare`` instead times, in one process and alternating (best of
``--repeats``), the default scan (``run_scan`` with the two saved models,
JSONL in and out) against a plain TF-IDF + logistic-regression scan of the
same file (selling, and one-vs-rest drug type trained on the same records;
JSON in, JSON out) and prints the ratio. Models load before the clock starts
in both. The input is the kit's 48,098 dev texts once.

Nothing from the bench kit is written inside the repository: inputs and
outputs go to ``--work`` (default: a temporary folder), numbers to
``--out`` (JSON) and stdout (a Markdown table).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"


def _texts(bench: Path) -> list[str]:
    texts = []
    for name in ("selling", "drugtype"):
        with open(bench / "dev" / f"{name}.jsonl", encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def _write_input(texts: list[str], path: Path, n: int) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for i, text in zip(range(n), itertools.cycle(texts)):
            hour = i % 24
            handle.write(
                json.dumps(
                    {
                        "record_type": "event",
                        "id": f"e{i}",
                        "text": text,
                        "author": f"u{i % 5000}",
                        "created_at": f"2024-05-01T{hour:02d}:00:00Z",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    os.replace(tmp, path)


def _head(src: Path, dst: Path, n: int) -> None:
    with open(src, "rb") as s, open(dst, "wb") as d:
        for line in itertools.islice(s, n):
            d.write(line)


def _train(bench: Path, out: Path, drugtype_train: int, drugtype_name: str | None = None) -> list[str]:
    """The selling and drug-type model directories under ``out``, trained where absent.

    ``drugtype_name`` (``--drugtype-detector``) replaces the default drug-type
    detector; its model is kept in ``out/<name>`` instead of ``out/drugtype``.
    """
    from drugwatch.io.jsonl import load_bench_events
    from drugwatch.models.registry import create_detector
    from drugwatch.scoring import DEFAULT_DETECTORS

    if not (out / "selling" / "config.json").is_file():
        selling = load_bench_events(bench / "dev" / "selling.jsonl")
        create_detector(DEFAULT_DETECTORS["selling"], seed=0).fit(selling).save(out / "selling")
    name = drugtype_name or DEFAULT_DETECTORS["drugtype"]
    drugtype = out / ("drugtype" if name == DEFAULT_DETECTORS["drugtype"] else name)
    if not (drugtype / "config.json").is_file():
        events = load_bench_events(bench / "dev" / "drugtype.jsonl")
        events = [e for e in events if e.labels is not None][:drugtype_train]
        create_detector(name, seed=0).fit(events).save(drugtype)
    return [str(out / "selling"), str(drugtype)]


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tree_cpu_s() -> float:
    """CPU seconds (user + system) of this process and every live descendant (Ray's raylet, GCS, workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


def _child(args: argparse.Namespace) -> None:
    import threading

    from drugwatch.scan import run_scan
    from drugwatch.scoring import EventScorer

    scorer = EventScorer.from_directories(args.child_models.split(","))
    loaded = _rss_mib()
    peak = [loaded]
    done = threading.Event()

    def sample() -> None:  # current RSS twice a second: ru_maxrss alone would be the model loading's spike
        while not done.wait(0.5):
            peak[0] = max(peak[0], _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start_wall, start_cpu, start_tree = time.perf_counter(), time.process_time(), _tree_cpu_s()
    report = run_scan(
        args.child_input,
        args.child_output,
        scorer=scorer,
        engine=args.child_engine,
        workers=2,
        resume=False,
        overwrite=True,
        batch_size=256,
        checkpoint_every=20_000,
    )
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    tree_cpu = _tree_cpu_s() - start_tree  # before Ray shuts down: its processes still count
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_mib())
    report.check()
    if args.child_engine == "ray":
        import ray

        ray.shutdown()
    print(
        json.dumps(
            {
                "events": report.results,
                "read": report.read,
                "quarantined": report.quarantined,
                "wall_s": wall,
                "cpu_s": cpu,
                "cpu_s_all_processes": tree_cpu,
                "events_per_s": report.results / wall,
                "events_per_cpu_s": report.results / cpu,
                "rss_after_load_mib": loaded,
                "peak_rss_during_scan_mib": peak[0],
                "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "engine": args.child_engine,
            }
        )
    )


def _run_child(engine: str, input: Path, output: Path, models: list[str]) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--child-engine",
        engine,
        "--child-input",
        str(input),
        "--child-output",
        str(output),
        "--child-models",
        ",".join(models),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class _PlainScan:
    """TF-IDF + logistic regression for selling and one-vs-rest drug type: the reference scan."""

    def __init__(self, bench: Path, drugtype_train: int):
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        from drugwatch.io.jsonl import load_bench_events
        from drugwatch.labels import LABELS

        selling = load_bench_events(bench / "dev" / "selling.jsonl")
        drug = [e for e in load_bench_events(bench / "dev" / "drugtype.jsonl") if e.labels is not None][:drugtype_train]
        self.labels = LABELS
        self.sell_vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit([e.text for e in selling])
        self.sell = LogisticRegression(max_iter=1000).fit(
            self.sell_vec.transform([e.text for e in selling]), [int(bool(e.selling)) for e in selling]
        )
        self.drug_vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit([e.text for e in drug])
        y = np.array([[int(label in e.labels) for label in LABELS] for e in drug])
        keep = y.sum(axis=0) > 0
        self.keep = keep
        self.drug = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(
            self.drug_vec.transform([e.text for e in drug]), y[:, keep]
        )

    def scan(self, input: Path, output: Path, batch: int = 2000) -> int:
        labels = [label for label, k in zip(self.labels, self.keep) if k]
        n = 0
        with open(input, encoding="utf-8") as src, open(output, "w", encoding="utf-8") as dst:
            while True:
                records = [json.loads(line) for line in itertools.islice(src, batch)]
                if not records:
                    return n
                texts = [r.get("text", "") for r in records]
                p_sell = self.sell.predict_proba(self.sell_vec.transform(texts))[:, 1]
                p_drug = self.drug.predict_proba(self.drug_vec.transform(texts))
                for r, ps, pd in zip(records, p_sell, p_drug):
                    dst.write(
                        json.dumps(
                            {
                                "id": r["id"],
                                "selling_probability": float(ps),
                                "selling": bool(ps >= 0.5),
                                "drug_probabilities": dict(zip(labels, map(float, pd))),
                                "drug_labels": [lab for lab, p in zip(labels, pd) if p >= 0.5],
                            }
                        )
                        + "\n"
                    )
                n += len(records)


def _compare(args: argparse.Namespace, work: Path, models: list[str], texts: list[str]) -> None:
    from drugwatch.scan import run_scan
    from drugwatch.scoring import EventScorer

    path = work / f"events-{len(texts)}.jsonl"
    if not path.is_file():
        _write_input(texts, path, len(texts))
    scorer = EventScorer.from_directories(models)
    plain = _PlainScan(args.bench, args.drugtype_train)
    times: dict[str, list[float]] = {"drugwatch": [], "plain": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        report = run_scan(path, work / "compare-drugwatch.jsonl", scorer=scorer, resume=False, overwrite=True)
        times["drugwatch"].append(time.perf_counter() - start)
        start = time.perf_counter()
        n = plain.scan(path, work / "compare-plain.jsonl")
        times["plain"].append(time.perf_counter() - start)
        assert n == report.results == len(texts), (n, report.results)
    best = {k: min(v) for k, v in times.items()}
    ratio = best["drugwatch"] / best["plain"]
    print(
        f"| scan of {len(texts):,} events | best of {args.repeats} s |\n|---|---|\n"
        f"| drugwatch ({' + '.join(m.name for m in scorer.models)}) | {best['drugwatch']:.1f} |\n"
        f"| TF-IDF + LR (selling + one-vs-rest drug type) | {best['plain']:.1f} |\n\nratio {ratio:.2f}",
        flush=True,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"events": len(texts), "times": times, "best": best, "ratio": ratio}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path(os.environ.get("DRUGWATCH_BENCH") or DEFAULT_BENCH))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--memory-sizes", default="100000,1000000")
    parser.add_argument("--ray-events", type=int, default=50_000)
    parser.add_argument("--drugtype-train", type=int, default=10_000)
    parser.add_argument(
        "--drugtype-detector", default=None, help="registered drug-type detector to scan with (default: the default's)"
    )
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--compare", action="store_true", help="Default scan vs a TF-IDF + LR scan, as a ratio.")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--ray-only",
        action="store_true",
        help="Only Ray vs in-process on --ray-events events, with the CPU of every process of each run.",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--child-input", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    parser.add_argument("--child-models", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scan-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    models = _train(args.bench, args.models or work / "models", args.drugtype_train, args.drugtype_detector)
    print(f"models ready ({time.perf_counter() - started:.0f} s): {models}", flush=True)
    texts = _texts(args.bench)
    if args.compare:
        _compare(args, work, models, texts)
        return
    sizes = sorted({int(s) for s in args.memory_sizes.split(",")} | {args.events})
    full = work / f"events-{max(sizes)}.jsonl"
    if not full.is_file():
        _write_input(texts, full, max(sizes))
    ray_in = work / f"events-{args.ray_events}.jsonl"
    if not ray_in.is_file():
        _head(full, ray_in, args.ray_events)
    local = _run_child("local", ray_in, work / "ray-local.jsonl", models)
    remote = _run_child("ray", ray_in, work / "ray-ray.jsonl", models)
    identical = (work / "ray-local.jsonl").read_bytes() == (work / "ray-ray.jsonl").read_bytes()
    print(
        f"ray vs in-process ({args.ray_events:,} events): local {json.dumps(local)}\n  ray {json.dumps(remote)}; "
        f"identical output: {identical}",
        flush=True,
    )
    # No engine finishes faster than its total CPU spread over every core: with C cores, Ray's
    # speed-up over the in-process scan is at most C * (in-process CPU) / (Ray's CPU, all processes).
    cores = os.cpu_count() or 1
    bound = cores * local["cpu_s_all_processes"] / remote["cpu_s_all_processes"]
    print(
        f"CPU of all processes: in-process {local['cpu_s_all_processes']:.1f} s, ray {remote['cpu_s_all_processes']:.1f} s "
        f"(driver {remote['cpu_s']:.1f} s); wall speed-up now {local['wall_s'] / remote['wall_s']:.2f}x, "
        f"at most {bound:.2f}x on {cores} cores",
        flush=True,
    )
    if args.ray_only:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            ray_summary = {"events": args.ray_events, "local": local, "ray": remote, "identical": identical}
            args.out.write_text(json.dumps({"ray": ray_summary, "speedup_bound": bound, "cores": cores}, indent=1))
        return

    runs = {}
    for size in sizes:
        path = full if size == max(sizes) else work / f"events-{size}.jsonl"
        if not path.is_file():
            _head(full, path, size)
        runs[size] = _run_child("local", path, work / f"out-{size}.jsonl", models)
        print(f"in-process {size:>9,} events: {json.dumps(runs[size])}", flush=True)
    small, large = min(sizes), max(sizes)
    drift = (runs[large]["peak_rss_during_scan_mib"] - runs[small]["peak_rss_during_scan_mib"]) / runs[small][
        "peak_rss_during_scan_mib"
    ]
    summary = {
        "texts": len(texts),
        "unique_texts": len(set(texts)),
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "ray": {"events": args.ray_events, "local": local, "ray": remote, "identical": identical},
        "memory_drift": drift,
        "memory_flat_within_10pct": abs(drift) <= 0.10,
    }
    print("\n| events | engine | wall s | events/s | events/CPU-s | peak RSS MiB |\n|---|---|---|---|---|---|")
    for size in sizes:
        r = runs[size]
        print(
            f"| {size:,} | in-process | {r['wall_s']:.1f} | {r['events_per_s']:,.0f} | {r['events_per_cpu_s']:,.0f} "
            f"| {r['peak_rss_during_scan_mib']:.0f} |"
        )
    for name, r in (("in-process", local), ("ray local, 2 workers", remote)):
        print(
            f"| {args.ray_events:,} | {name} | {r['wall_s']:.1f} | {r['events_per_s']:,.0f} | "
            f"{r['events_per_cpu_s']:,.0f} (driver) | {r['peak_rss_during_scan_mib']:.0f} (driver) |"
        )
    print(
        f"\npeak RSS {small:,} -> {large:,} events: {100 * drift:+.1f} % (flat within 10 %: "
        f"{summary['memory_flat_within_10pct']}); ray output identical: {identical}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
