"""Grouped CV of drug-type configurations: quality and prediction speed side by side.

Each configuration (a registered drug-type detector and parameters) is fitted
on the same folds of the kit's drug listings (the kit's grouped 5-fold split,
``GroupKFold`` on each event's group as the experiment runner keys it) and
scores its test fold from the text layer's views (``predict_proba(events,
views=...)``, as the scan calls it). Printed per configuration: macro-F1,
subset accuracy, and events per CPU-second of ``predict_proba`` given the
views (the views are read once per fold, outside the clock, as the scan
reads them once for all detectors; the word tables a scan builds once per
process are built before the clock starts). On a small shared machine
``--folds-run`` picks some folds and ``--train-cap`` trains on the first N
training events of each (a reduced run: it says so in its output).

    python scripts/cv_drugtype_speed.py --folds-run 0,1 --train-cap 10000 \\
        --config 'v2=drugwatch.drugtype.v2' --config 'v3=drugwatch.drugtype.v3' \\
        --config 'v3-no-knn=drugwatch.drugtype.v3:{"knn_k": 0}'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _config(spec: str) -> tuple[str, str, dict]:
    label, _, rest = spec.partition("=")
    name, _, params = rest.partition(":")
    if not label or not name:
        raise SystemExit(f"--config {spec!r}: expected LABEL=REGISTERED_NAME[:JSON_PARAMS]")
    return label, name, json.loads(params) if params else {}


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import GroupKFold

    from drugwatch.evaluation.metrics import multilabel_metrics
    from drugwatch.evaluation.splits import group_of
    from drugwatch.io.jsonl import load_bench_events
    from drugwatch.labels import LABELS
    from drugwatch.models.multilabel import general_mask_index, lexicon_mask_index
    from drugwatch.models.registry import create_detector
    from drugwatch.text.analyze import analyze_many

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "dev" / "drugtype.jsonl")
    ap.add_argument("--n-splits", type=int, default=5)
    ap.add_argument("--folds-run", default="0,1,2,3,4")
    ap.add_argument("--train-cap", type=int, default=0, help="train on at most N events per fold (0: all)")
    ap.add_argument("--config", action="append", required=True, help="LABEL=REGISTERED_NAME[:JSON_PARAMS]")
    ap.add_argument("--repeats", type=int, default=2, help="timed predict_proba passes (best taken)")
    args = ap.parse_args(argv)
    configs = [_config(spec) for spec in args.config]

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
    rows: dict[str, list[dict]] = {label: [] for label, _, _ in configs}
    for k in run:
        tr, te = folds[k]
        if args.train_cap:
            tr = tr[: args.train_cap]
        train = [events[i] for i in tr]
        test = [events[i] for i in te]
        views = analyze_many([e.text for e in test])
        for label, name, params in configs:
            started = time.process_time()
            det = create_detector(name, seed=0, **params).fit(train)
            fit_cpu = time.process_time() - started
            # tables built once per process (a scan pays for them once) are built outside the clock
            general_mask_index()
            lexicon_mask_index()
            det.predict_proba(test[:20], views=views[:20])
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                proba = det.predict_proba(test, views=views)
                best = min(best, time.process_time() - t0)
            m = multilabel_metrics(y[te], np.asarray(det.decide(proba)))
            m["events_per_cpu_s"] = len(test) / best
            rows[label].append(m)
            print(
                f"fold {k} {label}: macro-F1 {m['macro_f1']:.4f}, subset accuracy {m['subset_accuracy']:.4f}, "
                f"predict {m['events_per_cpu_s']:,.0f} events/CPU-s (train {len(tr)}, test {len(te)}, "
                f"fit {fit_cpu:.0f} CPU-s)",
                flush=True,
            )
    print("\n| configuration | folds | macro-F1 | subset accuracy | predict events/CPU-s |\n|---|---|---|---|---|")
    for label, ms in rows.items():
        print(
            f"| {label} | {len(ms)} | {np.mean([m['macro_f1'] for m in ms]):.4f} "
            f"| {np.mean([m['subset_accuracy'] for m in ms]):.4f} "
            f"| {np.mean([m['events_per_cpu_s'] for m in ms]):,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
