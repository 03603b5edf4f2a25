"""Throughput of the text layer and the lexicon's drug-label recall.

    python benchmarks/bench_text.py [--bench-dir ../shared/bench/dev] [--runs 5]

Speed: events/s of ``drugwatch.text.analyze.analyze`` (normalize + hashtags +
contacts + lexicon) over the ``text`` field of ``drugtype.jsonl`` and
``selling.jsonl``, one process, one thread, median of ``--runs`` runs (the
word/tag caches are warmed by one untimed pass first, as in a long-running
scanner). Each rate is given per wall-clock second (``time.perf_counter``)
and per CPU second of this process (``time.process_time``; on a loaded machine
only the CPU figure is meaningful), for each stage alone and for the whole
pipeline:

  * normalize            ``normalize(text)``
  * lexicon              ``find_terms(nt)`` on an already normalized text
  * hashtags             ``hashtag_spans`` + ``analyze_hashtag`` per tag
  * contacts             ``find_contacts(text)``
  * normalize+lexicon    ``find_terms(text)``
  * analyze, unique      ``analyze`` over the distinct texts, its per-text
                         cache cleared before every run (no text repeats)
  * analyze, reposted    every distinct text analyzed twice in a row (the
                         second time is a cache hit: a reposted advert)
  * analyze_many         ``analyze_many`` over the distinct texts, chunks of
                         256: the same views, computed stage by stage over
                         each chunk (how a corpus is read in bulk)

Quality, lexicon alone (``find_terms``) on ``drugtype.jsonl`` (proxy data:
darknet listing titles, not Instagram):
  * recall: share of drug listings (``selling: true``) where at least one
    found label is among the record's labels;
  * fire rate on non-drug listings: share of ``non_drug`` records where the
    matcher finds any drug label (a precision-ish figure; note that the kit
    labels drug guides and cookbooks ``non_drug``);
  * per-label recall.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from drugwatch.lexicon.matcher import find_terms, hit_labels
from drugwatch.text.analyze import BATCH_SIZE, _analyze_cached, analyze, analyze_many
from drugwatch.text.contacts import find_contacts
from drugwatch.text.hashtags import HashtagAnalysis, analyze_hashtag, hashtag_spans
from drugwatch.text.normalize import normalize


def _load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _hashtags(text: str) -> list[HashtagAnalysis]:
    return [analyze_hashtag(tag) for tag, _start, _end in hashtag_spans(text)]


def _chunks(texts: list[str]) -> list[list[str]]:
    return [texts[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]


def _timed(
    fn: Callable[[Any], object], items: Sequence[Any], runs: int, before: Callable[[], object] | None = None
) -> tuple[list[float], list[float]]:
    """(wall-clock rates, CPU rates) of ``fn`` over ``items``, one per run."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        if before is not None:
            before()
        w0, c0 = time.perf_counter(), time.process_time()
        for item in items:
            fn(item)
        c1, w1 = time.process_time(), time.perf_counter()
        n = sum(len(item) for item in items) if items and isinstance(items[0], list) else len(items)
        wall.append(n / max(w1 - w0, 1e-9))
        cpu.append(n / max(c1 - c0, 1e-9))
    return wall, cpu


def _speed(texts: list[str], runs: int) -> dict[str, dict[str, float | list[float]]]:
    """Print and return the per-stage and whole-pipeline rates."""
    unique = list(dict.fromkeys(texts))
    normalized = [normalize(t) for t in texts]
    twice = [t for t in unique for _ in range(2)]
    clear = _analyze_cached.cache_clear
    stages: list[tuple[str, Callable[[Any], object], Sequence[Any], Callable[[], object] | None]] = [
        ("normalize", normalize, texts, None),
        ("lexicon (on normalized text)", find_terms, normalized, None),
        ("hashtags", _hashtags, texts, None),
        ("contacts", find_contacts, texts, None),
        ("normalize+lexicon", find_terms, texts, None),
        ("analyze (normalize+hashtags+contacts+lexicon)", analyze, unique, clear),
        ("analyze, reposted (each text twice in a row)", analyze, twice, clear),
        (f"analyze_many (chunks of {BATCH_SIZE}, stage by stage)", analyze_many, _chunks(unique), None),
    ]
    out: dict[str, dict[str, float | list[float]]] = {}
    print(f"events/s, median of {runs} runs (wall-clock and per CPU second of this process)")
    for name, fn, items, before in stages:
        wall, cpu = _timed(fn, items, runs, before)
        out[name] = {
            "wall_median": statistics.median(wall),
            "cpu_median": statistics.median(cpu),
            "wall_runs": wall,
            "cpu_runs": cpu,
        }
        print(
            f"{name:48s} median {statistics.median(wall):>9,.0f} events/s "
            f"(runs: {', '.join(f'{r:,.0f}' for r in wall)})"
        )
        print(
            f"{'':48s}    cpu {statistics.median(cpu):>9,.0f} events/CPU-s "
            f"(runs: {', '.join(f'{r:,.0f}' for r in cpu)})"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "dev"
    parser.add_argument("--bench-dir", type=Path, default=default_dir)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts")
    parser.add_argument("--errors", type=int, default=0, help="print N missed drug listings")
    parser.add_argument("--json", type=Path, default=None, help="also write the speed figures to this JSON file")
    args = parser.parse_args(argv)

    bench = args.bench_dir.resolve()
    files = [bench / "drugtype.jsonl", bench / "selling.jsonl"]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        print(
            f"bench data not found: {', '.join(missing)}\npass --bench-dir pointing at the kit's dev/ folder",
            file=sys.stderr,
        )
        return 2

    drugtype = _load(files[0])
    selling = _load(files[1])
    texts = [r["text"] for r in drugtype] + [r["text"] for r in selling]
    if args.limit:
        texts = texts[: args.limit]
    chars = sum(len(t) for t in texts)
    print(
        f"texts: {len(texts)} ({len(drugtype)} drugtype + {len(selling)} selling), mean {chars / len(texts):.0f} chars"
    )

    for t in texts:  # warm-up: lexicon, automata, tag caches
        analyze(t)

    speed = _speed(texts, args.runs)
    if args.json is not None:
        args.json.write_text(json.dumps(speed, indent=2) + "\n", encoding="utf-8")

    # lexicon quality on drugtype
    drug = [r for r in drugtype if r.get("selling") is True and r.get("labels")]
    nondrug = [r for r in drugtype if r.get("labels") == ["non_drug"]]
    hit = 0
    per_label: Counter[str] = Counter()
    per_label_hit: Counter[str] = Counter()
    misses = []
    for r in drug:
        found = set(hit_labels(find_terms(r["text"])))
        gold = set(r["labels"])
        ok = bool(found & gold)
        hit += ok
        for lab in gold:
            per_label[lab] += 1
            per_label_hit[lab] += lab in found
        if not ok and len(misses) < args.errors:
            misses.append((r["labels"], r["text"], sorted(found)))
    fired = sum(1 for r in nondrug if hit_labels(find_terms(r["text"])))
    print(f"lexicon recall on drug listings: {hit / len(drug):.3f} ({hit}/{len(drug)})")
    print(f"lexicon fires on non_drug listings: {fired / len(nondrug):.3f} ({fired}/{len(nondrug)})")
    print("per-label recall (label found among the hits):")
    for lab, n in sorted(per_label.items()):
        print(f"  {lab:12s} {per_label_hit[lab] / n:.3f} ({per_label_hit[lab]}/{n})")
    sell = [r for r in selling if r.get("selling") is True]
    non_sell = [r for r in selling if r.get("selling") is False]
    f_pos = sum(1 for r in sell if hit_labels(find_terms(r["text"])))
    f_neg = sum(1 for r in non_sell if hit_labels(find_terms(r["text"])))
    print(
        f"selling.jsonl: drug label found in {f_pos}/{len(sell)} selling posts, "
        f"{f_neg}/{len(non_sell)} ({f_neg / max(1, len(non_sell)):.4f}) non-selling posts"
    )
    for labels, text, found in misses:
        print(f"MISS {labels} {found} {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
