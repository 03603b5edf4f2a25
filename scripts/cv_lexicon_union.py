"""Grouped CV on the kit's drug listings: does the lexicon union (drugtype.v2) cost accuracy?

drugtype.v2 is drugtype.v1 plus ``lexicon_union`` at prediction time, so each
fold fits one model and scores its test fold both ways. The folds are the
kit's grouped 5-fold split (``GroupKFold`` on each event's group, as the
experiment runner keys it); on a small shared machine ``--folds-run`` picks
some of them and ``--train-cap`` trains on the first N training events of
each (a reduced run: it says so in its output).

    python scripts/cv_lexicon_union.py [--folds-run 0,1] [--train-cap 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import GroupKFold

    from drugwatch.evaluation.metrics import multilabel_metrics
    from drugwatch.evaluation.splits import group_of
    from drugwatch.io.jsonl import load_bench_events
    from drugwatch.labels import LABELS
    from drugwatch.models.registry import create_detector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "dev" / "drugtype.jsonl")
    ap.add_argument("--n-splits", type=int, default=5)
    ap.add_argument("--folds-run", default="0,1,2,3,4")
    ap.add_argument("--train-cap", type=int, default=0, help="train on at most N events per fold (0: all)")
    args = ap.parse_args(argv)

    events = [e for e in load_bench_events(args.data) if e.labels is not None]
    y = np.zeros((len(events), len(LABELS)), dtype=np.int64)
    for i, e in enumerate(events):
        for name in e.labels:
            y[i, LABELS.index(name)] = 1
    groups = np.array([group_of(e) for e in events])
    folds = list(GroupKFold(n_splits=args.n_splits).split(np.zeros(len(events)), groups=groups))
    run = [int(k) for k in args.folds_run.split(",")]
    print(
        f"{len(events)} events, {args.n_splits} grouped folds, running {run}, train cap {args.train_cap or 'none'}",
        flush=True,
    )
    rows: dict[str, list[dict]] = {"drugtype.v1": [], "drugtype.v2": []}
    for k in run:
        tr, te = folds[k]
        if args.train_cap:
            tr = tr[: args.train_cap]
        started = time.perf_counter()
        det = create_detector("drugwatch.drugtype.v1", seed=0).fit([events[i] for i in tr])
        test = [events[i] for i in te]
        for name, union in (("drugtype.v1", False), ("drugtype.v2", True)):
            det.lexicon_union = union
            m = multilabel_metrics(y[te], np.asarray(det.predict(test)))
            rows[name].append(m)
            print(
                f"fold {k} {name}: macro-F1 {m['macro_f1']:.4f}, subset accuracy "
                f"{m['subset_accuracy']:.4f} (train {len(tr)}, test {len(te)}, "
                f"{time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    print("\n| detector | folds | macro-F1 | subset accuracy |\n|---|---|---|---|")
    for name, ms in rows.items():
        print(
            f"| {name} | {len(ms)} | {np.mean([m['macro_f1'] for m in ms]):.4f} "
            f"| {np.mean([m['subset_accuracy'] for m in ms]):.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
