"""Masks of every kind: how the text layer and a saved drug-type model read attacked listings.

Takes a seeded sample of the kit's drug listings (``dev/drugtype.jsonl``),
attacks it with every family of ``drugwatch.evaluation.attacks`` at heavy
strength, and prints, per family (held-out ones marked):

- text layer: the share of (listing, gold label) pairs whose label
  ``TextView.labels`` still finds, over the pairs it finds on the clean text;
- with ``--model DIR`` (a saved drug-type model) and ``--skip N`` (the
  number of leading records it was trained on): macro-F1 and subset
  accuracy of the model on the attacked sample taken after those records,
  and of the same model with ``lexicon_union`` on (drugtype.v2).

    python scripts/mask_robustness.py --sample 1500 [--model DIR --skip 10000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from drugwatch.evaluation.attacks import FAMILIES, HELDOUT_FAMILIES, attack
    from drugwatch.labels import LABELS
    from drugwatch.text.analyze import analyze

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "dev" / "drugtype.jsonl")
    ap.add_argument("--sample", type=int, default=1500)
    ap.add_argument("--skip", type=int, default=0, help="leading labelled records left out (a model's training)")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    records = [r for r in map(json.loads, open(args.data, encoding="utf-8")) if r["labels"]][args.skip :]
    rng = np.random.default_rng(args.seed)
    sample = [records[i] for i in sorted(rng.choice(len(records), size=min(args.sample, len(records)), replace=False))]
    families = args.families or list(FAMILIES)
    y = np.zeros((len(sample), len(LABELS)), dtype=np.int64)
    for i, r in enumerate(sample):
        for name in r["labels"]:
            y[i, LABELS.index(name)] = 1
    detector = None
    if args.model:
        from drugwatch.evaluation.metrics import multilabel_metrics
        from drugwatch.models.base import Detector
        from drugwatch.records import Event

        detector = Detector.load(args.model)

    def text_pairs(texts: list[str]) -> set[tuple[int, str]]:
        out = set()
        for i, (t, r) in enumerate(zip(texts, sample)):
            out |= {(i, lab) for lab in analyze(t).labels if lab in r["labels"]}
        return out

    def model_scores(texts: list[str]) -> dict[str, float]:
        events = [Event(id=f"s{i}", text=t) for i, t in enumerate(texts)]
        out = {}
        for name, union in (("v1", False), ("v2", True)):
            detector.lexicon_union = union
            m = multilabel_metrics(y, np.asarray(detector.predict(events)))
            out[name] = 100 * m["macro_f1"]
        return out

    clean_texts = [r["text"] for r in sample]
    clean = text_pairs(clean_texts)
    clean_model = model_scores(clean_texts) if detector else None
    head = "| family | text layer: labels kept |"
    if detector:
        head += (
            f" v1 macro-F1 (clean {clean_model['v1']:.1f}) | v1 drop |"
            f" v2 macro-F1 (clean {clean_model['v2']:.1f}) | v2 drop |"
        )
    print(
        f"{len(sample)} drug listings (seed {args.seed}, after the first {args.skip}); "
        f"{len(clean)} labels found clean; heavy strength\n"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for family in families:
        texts = [attack(t, family, "heavy", args.seed) for t in clean_texts]
        kept = len(clean & text_pairs(texts)) / max(1, len(clean))
        name = f"{family} (held out)" if family in HELDOUT_FAMILIES else family
        row = f"| {name} | {100 * kept:.1f} % |"
        if detector:
            s = model_scores(texts)
            row += (
                f" {s['v1']:.1f} | {clean_model['v1'] - s['v1']:+.1f} |"
                f" {s['v2']:.1f} | {clean_model['v2'] - s['v2']:+.1f} |"
            )
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
