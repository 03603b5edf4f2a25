"""Dealer events found per 1,000 requests: fixed list vs JMIR's two loops vs DMML expansion.

    .venv/bin/python benchmarks/bench_collect.py                      # 1,500 accounts, demo seeds 0 and 1
    .venv/bin/python benchmarks/bench_collect.py --accounts 600 --corpus-seeds 0 --out results.json

Each strategy crawls a :class:`~drugwatch.collect.ReplaySource` over the
synthetic demo corpus, starting from the same seed hashtags
(:data:`drugwatch.collect.DEFAULT_SEEDS`) under the same cost model (one
request per hashtag page of 30 posts, per comments page of 20 threads, per
profile, per timeline page of 12 posts) and the same follow-up policy. The
crawler sees what the platform would show: the replay serves no labels, no
``selling``, no ``dealer`` flag and none of the generator's truth; the judge
is the lexicon detector (:class:`~drugwatch.collect.LexiconJudge`). The
ground truth is read only after the crawl, to count what was found:

* dealer events: collected events that are dealer posts in JMIR's sense
  (the corpus's ``selling`` truth: a drug offered with contact information),
  posts and comments;
* dealer accounts reached: true dealers who wrote at least one of them.

The crawler's choices do not depend on the budget (it only stops the crawl),
so one run to the largest budget gives the count at every smaller budget.
A strategy that runs out of hashtags before a budget is reported at the
request count where it stopped (marked "dry").

Two settings: ``full`` (comments of drug-related posts, profile and timeline
of suspected sellers: what ``drugwatch collect`` does by default) and
``hashtags`` (hashtag pages only), which isolates the choice of hashtags.
Records go to an in-memory sink, not a database, to time only the crawl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

FULL_BUDGETS = (500, 1000, 2000, 3000)
HASHTAG_BUDGETS = (25, 50, 100)
STRATEGIES = ("fixed", "jmir", "dmml")


class Sink:
    """Keeps the keys and authors of what a crawl wrote (an in-memory store)."""

    def __init__(self) -> None:
        self.keys: dict[str, None] = {}

    def upsert(self, records: Sequence[Any]) -> None:
        for record in records:
            self.keys.setdefault(record.key, None)


def crawl(corpus, strategy: str, budgets: Sequence[int], judge, options: dict[str, Any]) -> dict[str, Any]:
    from drugwatch.collect import CrawlConfig, Crawler, ReplaySource

    selling = {e.key for e in corpus.events if e.selling}
    author = {e.key: e.author for e in corpus.events}
    dealers = set(corpus.dealers)
    sink = Sink()
    marks: dict[int, dict[str, int]] = {}

    def measure() -> dict[str, int]:
        found = [k for k in sink.keys if k in selling]
        return {
            "dealer_events": len(found),
            "dealer_accounts": len({author[k] for k in found if author[k] in dealers}),
            "events": sum(1 for k in sink.keys if k in author),
        }

    def on_page(crawler) -> None:
        for budget in budgets:
            if budget not in marks and crawler.budget.used >= budget:
                marks[budget] = {**measure(), "requests": crawler.budget.used}

    source = ReplaySource.from_corpus(corpus)
    config = CrawlConfig(strategy=strategy, budget=max(budgets), **options)
    started = time.perf_counter()
    crawler = Crawler(source, sink, config, judge=judge, on_page=on_page)
    summary = crawler.run()
    elapsed = time.perf_counter() - started
    final = {**measure(), "requests": summary.requests}
    rows = {}
    for budget in budgets:
        row = dict(marks.get(budget, final))
        row["dry"] = budget not in marks
        row["per_1000"] = round(row["dealer_events"] * 1000 / max(row["requests"], 1), 1)
        rows[budget] = row
    return {
        "rows": rows,
        "status": summary.status,
        "requests_by_kind": summary.requests_by_kind,
        "tags_searched": summary.tags_searched,
        "seconds": round(elapsed, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1500, help="demo accounts per corpus")
    parser.add_argument("--corpus-seeds", default="0,1", help="demo generator seeds, comma-separated")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)

    from drugwatch.collect import DEFAULT_SEEDS, LexiconJudge
    from drugwatch.demo import generate_demo

    settings = {
        "full": (FULL_BUDGETS, {}),
        "hashtags": (HASHTAG_BUDGETS, {"comments": False, "follow_authors": "none"}),
    }
    results: dict[str, Any] = {
        "accounts": args.accounts,
        "seeds": list(DEFAULT_SEEDS),
        "corpora": {},
    }
    for corpus_seed in (int(s) for s in args.corpus_seeds.split(",")):
        started = time.perf_counter()
        corpus = generate_demo(seed=corpus_seed, n_accounts=args.accounts, images=False)
        total = sum(1 for e in corpus.events if e.selling)
        print(
            f"\ncorpus seed {corpus_seed}: {len(corpus.accounts)} accounts ({len(corpus.dealers)} dealers), "
            f"{len(corpus.events)} events, {total} dealer events (generated in {time.perf_counter() - started:.0f} s)"
        )
        judge = LexiconJudge()  # shared: its cache makes later runs cheaper, never different
        per_corpus: dict[str, Any] = {
            "dealer_events_total": total,
            "dealers_total": len(corpus.dealers),
        }
        for setting, (budgets, options) in settings.items():
            per_corpus[setting] = {s: crawl(corpus, s, budgets, judge, options) for s in STRATEGIES}
            print(f"\n[{setting}] dealer events per 1,000 requests (dealer events found / requests; dealer accounts)")
            print(f"{'budget':>8} | " + " | ".join(f"{s:^30}" for s in STRATEGIES))
            for budget in budgets:
                cells = []
                for strategy in STRATEGIES:
                    row = per_corpus[setting][strategy]["rows"][budget]
                    dry = " dry" if row["dry"] else ""
                    cells.append(
                        f"{row['per_1000']:>7.1f} ({row['dealer_events']:>5}/{row['requests']:>4}; {row['dealer_accounts']:>3}){dry:4}"
                    )
                print(f"{budget:>8} | " + " | ".join(f"{c:^30}" for c in cells))
            for strategy in STRATEGIES:
                run = per_corpus[setting][strategy]
                top = sorted(run["tags_searched"].items(), key=lambda kv: -kv[1])[:8]
                print(
                    f"  {strategy}: {run['status']}, {run['seconds']} s, requests {run['requests_by_kind']}; "
                    f"{len(run['tags_searched'])} tags, most paged: {', '.join(f'#{t} {n}' for t, n in top)}"
                )
        results["corpora"][str(corpus_seed)] = per_corpus
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
