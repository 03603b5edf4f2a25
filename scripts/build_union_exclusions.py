"""Which lexicon terms are not confident evidence for drugtype.v2's lexicon union.

drugtype.v2 adds the text layer's drug labels to the model's (see
``drugwatch.models.lexicon_union.lexicon_union``). A term whose label often
disagrees with the kit's labels is left out of that union: on the drug
listings of ``dev/drugtype.jsonl`` (never the multi-drug suite), a term found
at least ``--min-support`` times whose label is one of the listing's labels
less than ``--min-precision`` of the time ("blotter": LSD by the lexicon,
but blotters of other drugs too; "tabs") is written to
``src/drugwatch/lexicon/data/union_exclusions.tsv`` with its counts.

    python scripts/build_union_exclusions.py [--kit ../shared/bench/dev]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OUT = ROOT / "src" / "drugwatch" / "lexicon" / "data" / "union_exclusions.tsv"


def main(argv: list[str] | None = None) -> int:
    from drugwatch.text.analyze import analyze

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kit", type=Path, default=ROOT.parent / "shared" / "bench" / "dev")
    ap.add_argument("--min-support", type=int, default=5)
    ap.add_argument("--min-precision", type=float, default=0.9)
    args = ap.parse_args(argv)
    seen: Counter[tuple[str, str]] = Counter()
    right: Counter[tuple[str, str]] = Counter()
    with open(args.kit / "drugtype.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            gold = set(r["labels"] or ())
            if not gold or gold == {"non_drug"}:
                continue
            for h in {(h.term, h.label) for h in analyze(r["text"]).drug_hits}:
                seen[h] += 1
                right[h] += h[1] in gold
    rows = sorted(
        (t, lab, n, right[(t, lab)])
        for (t, lab), n in seen.items()
        if n >= args.min_support and right[(t, lab)] / n < args.min_precision
    )
    lines = [
        "# Terms left out of drugtype.v2's lexicon union: written by scripts/build_union_exclusions.py",
        "# from the bench kit's drug listings (label right less than "
        f"{args.min_precision:.0%} of at least {args.min_support} times).",
        "term\tlabel\tlistings\tlabel_right",
    ]
    lines += [f"{t}\t{lab}\t{n}\t{k}" for t, lab, n, k in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(rows)} terms -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
