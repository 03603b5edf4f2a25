"""Multi-drug advert suite: drugtype.v1, the text layer, and drugtype.v2 (v1 + lexicon union).

Usage::

    .venv/bin/python benchmarks/bench_multidrug.py [--suite FILE] [--work DIR] [--drugtype DIR] [--out FILE]

``benchmarks/data/multidrug_adverts.jsonl`` (115 hand-written adverts, see
its README) is never used for training or tuning; ``--suite
benchmarks/data/multidrug_heldout.jsonl`` scores the second suite (30
adverts written later, in other words, to check that changes made while
looking at the first one generalize). The drug-type model is
``drugwatch.drugtype.v1`` trained on the first ``--drugtype-train`` records of
the kit's ``dev/drugtype.jsonl`` (cached in ``--work``, the same model as
``bench_challenge.py``), or a saved one (``--drugtype DIR``). drugtype.v2
differs from v1 only at prediction time (``lexicon_union``: in a text that
reads as a sale, every drug label of the text layer is added), so the same
fitted model is scored both ways: the difference is the union alone.
``--union-version N`` scores the union of that version
(``drugwatch.models.lexicon_union.UNION_VERSIONS``) over the same model's
probabilities instead of the version the model records.

Prints exact match, micro precision / recall and per-label recall /
precision (Markdown), per style too; ``--out`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_challenge import (  # noqa: E402
    DEFAULT_BENCH,
    MULTIDRUG_SUITE,
    _load,
    _train_drugtype,
    load_suite,
    multidrug_report,
    print_multidrug,
    to_events,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--suite", type=Path, default=MULTIDRUG_SUITE, help="a multi-drug suite (JSONL)")
    parser.add_argument("--drugtype", type=Path, default=None, help="a saved drug-type model directory")
    parser.add_argument("--drugtype-train", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=None, help="cache of trained models (default: temporary)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--union-version", type=int, default=None, help="score this lexicon-union version (default: the model's own)"
    )
    args = parser.parse_args(argv)

    from drugwatch.labels import LABELS
    from drugwatch.text.analyze import analyze

    records = load_suite(args.suite)
    events = to_events(records)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-multidrug-"))
    if args.drugtype is not None:
        detector = _load(args.drugtype, "drugtype")
    else:
        detector = _train_drugtype(
            args.bench, args.drugtype_train, work / "models" / f"drugwatch.drugtype.v1-{args.drugtype_train}"
        )

    def labels_of(indicator: np.ndarray) -> list[set[str]]:
        return [{LABELS[j] for j in np.flatnonzero(row)} for row in indicator]

    detector.lexicon_union = False
    plain = labels_of(np.asarray(detector.predict(events)))
    if args.union_version is None:
        detector.lexicon_union = True
        union_proba = detector.predict_proba(events)
        union = labels_of(np.asarray(detector.predict(events)))
        assert (np.asarray(detector.decide(union_proba)) == np.asarray(detector.predict(events))).all()
        union_name = "drugtype.v2 (v1 + lexicon union in decide)"
    else:
        from drugwatch.models.lexicon_union import lexicon_union

        union_proba = lexicon_union(
            detector.predict_proba(events),
            [e.text for e in events],
            detector.thresholds_,
            non_drug_wins=getattr(detector, "non_drug_wins_", False),
            version=args.union_version,
        )
        union = labels_of(np.asarray(detector.decide(union_proba)))
        union_name = f"model + lexicon union version {args.union_version}"
    text = [set(analyze(r["text"]).labels) for r in records]
    reports = {
        "drugtype.v1": multidrug_report(records, plain),
        "text layer (TextView.labels)": multidrug_report(records, text),
        union_name: multidrug_report(records, union),
    }
    print_multidrug(reports)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(reports, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
