"""Train the context model for ambiguous drug words (drugwatch.lexicon.context).

Reads the bench kit's development data (``dev/drugtype.jsonl``,
``dev/selling.jsonl``; never the multi-drug suite or the selling challenge),
finds every ambiguous drug word the matcher's hand rule leaves undecided
(and that has some context: ``has_context``),
and fits a logistic regression on its features:

- positive: the word names one of a drug listing's labels, or sits in a
  drug-selling post;
- negative: every other case (non-drug listings, a listing of another drug,
  airline tweets, SMS, captions of verified accounts, promotion posts …).

The threshold is the lowest from 0.5 up that keeps, out of fold (grouped 5-fold CV on
the kit's ``group``), the share of texts of every negative sub-source that
the model makes name a drug at or under ``--max-fp`` (0.4 %, under the
issue's 0.5 % target). The script prints the per-sub-source table written in
docs/lexicon.md and writes ``src/drugwatch/lexicon/data/context_model.json``.

    python scripts/train_context_model.py [--kit ../shared/bench/dev] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from drugwatch.lexicon import load_lexicon  # noqa: E402
from drugwatch.lexicon.context import FEATURES, MODEL_FILE, has_context  # noqa: E402
from drugwatch.lexicon.matcher import Matcher  # noqa: E402
from drugwatch.text.normalize import normalize  # noqa: E402

MIN_TERM_ROWS = 30  # a word gets its own weight from this many rows
C = 1.0  # inverse L2 strength of the regression


class _Recorder:
    """Stands in for the context model: records what it is asked, accepts nothing."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, list[float]]] = []

    def accepts(self, features: list[float], term: str) -> bool:
        self.rows.append((term, list(features)))
        return False


def read_kit(kit: Path) -> list[dict]:
    records = []
    for name in ("drugtype.jsonl", "selling.jsonl"):
        with open(kit / name, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r["task"] == "drugtype":
                    sub = "listing_drug" if r["selling"] else "listing_non_drug"
                else:
                    sub = r["meta"].get("subsource") or r["source"]
                records.append(
                    {
                        "text": r["text"] or "",
                        "labels": set(r["labels"] or ()),
                        "selling": bool(r["selling"]),
                        "task": r["task"],
                        "group": r["group"] or r["id"],
                        "sub": sub,
                    }
                )
    return records


def collect(records: list[dict]) -> tuple[list[dict], list[bool]]:
    """Context rows (one per undecided ambiguous word) and, per record,
    whether the hand rule already gives it an ambiguous drug word."""
    lex = load_lexicon()
    rec = _Recorder()
    matcher = Matcher(lex, rec)  # type: ignore[arg-type]
    rows: list[dict] = []
    hand: list[bool] = []
    for i, r in enumerate(records):
        rec.rows.clear()
        hits = matcher.find(normalize(r["text"]))
        hand.append(any(h.label is not None and h.ambiguous for h in hits))
        for term, feats in rec.rows:
            if not has_context(feats):
                continue  # never accepted: not the model's to judge
            labels = {e.label for e in lex.lookup(term) if e.label is not None}
            if r["task"] == "drugtype":
                y = bool(labels & r["labels"])
            else:
                y = r["selling"]
            rows.append({"rec": i, "term": term, "x": feats, "y": y})
    return rows, hand


def design(rows: list[dict], vocab: list[str]) -> np.ndarray:
    index = {t: j for j, t in enumerate(vocab)}
    X = np.zeros((len(rows), len(FEATURES) + len(vocab)))
    for i, row in enumerate(rows):
        X[i, : len(FEATURES)] = row["x"]
        j = index.get(row["term"])
        if j is not None:
            X[i, len(FEATURES) + j] = 1.0
    return X


def fit(rows: list[dict], weights: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    counts = Counter(r["term"] for r in rows)
    vocab = sorted(t for t, n in counts.items() if n >= MIN_TERM_ROWS)
    X = design(rows, vocab)
    y = np.array([r["y"] for r in rows])
    model = LogisticRegression(C=C, max_iter=2000)
    model.fit(X, y, sample_weight=weights)
    return model, vocab


def sample_weights(rows: list[dict], records: list[dict]) -> np.ndarray:
    """Social posts and listings weigh the same in all: the listings
    outnumber the posts, and the model is meant for posts."""
    social = np.array([records[r["rec"]]["task"] != "drugtype" for r in rows])
    w = np.ones(len(rows))
    if social.any() and (~social).any():
        w[social] = (~social).sum() / social.sum()
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kit", type=Path, default=ROOT.parent / "shared" / "bench" / "dev")
    ap.add_argument("--max-fp", type=float, default=0.004)
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    from sklearn.model_selection import GroupKFold

    records = read_kit(args.kit)
    rows, hand = collect(records)
    print(
        f"{len(records)} records, {len(rows)} undecided ambiguous words ({sum(r['y'] for r in rows)} positive)",
        file=sys.stderr,
    )

    # out-of-fold probabilities, grouped by the kit's group
    groups = np.array([records[r["rec"]]["group"] for r in rows])
    oof = np.zeros(len(rows))
    w_all = sample_weights(rows, records)
    for train, test in GroupKFold(n_splits=args.folds).split(np.zeros(len(rows)), groups=groups):
        tr = [rows[i] for i in train]
        model, vocab = fit(tr, w_all[train])
        oof[test] = model.predict_proba(design([rows[i] for i in test], vocab))[:, 1]

    by_rec: dict[int, float] = defaultdict(float)
    for row, p in zip(rows, oof):
        by_rec[row["rec"]] = max(by_rec[row["rec"]], p)
    subs = sorted({r["sub"] for r in records})
    negative_subs = [s for s in subs if not any(r["selling"] for r in records if r["sub"] == s)]
    n_sub = Counter(r["sub"] for r in records)

    def fp_rates(t: float) -> dict[str, float]:
        fired = Counter(
            records[i]["sub"] for i, p in by_rec.items() if p >= t and not hand[i] and not records[i]["selling"]
        )
        return {s: fired[s] / n_sub[s] for s in negative_subs}

    threshold = 0.99
    for t in np.arange(0.50, 0.995, 0.01):
        if max(fp_rates(t).values()) <= args.max_fp:
            threshold = float(round(t, 2))
            break
    print(f"threshold {threshold:.2f}", file=sys.stderr)

    # the table: texts given a word by the hand rule, by the model (OOF), by either
    rates = fp_rates(threshold)
    print("| sub-source | texts | hand rule | context model (out of fold) | either |")
    print("|---|---|---|---|---|")
    for s in subs:
        idx = [i for i, r in enumerate(records) if r["sub"] == s]
        h = sum(hand[i] for i in idx)
        m = sum(1 for i in idx if by_rec.get(i, 0.0) >= threshold and not hand[i])
        pos = "positive" if s not in negative_subs else ""
        print(
            f"| {s}{' (' + pos + ')' if pos else ''} | {len(idx):,} | {h} ({h / len(idx):.2%}) "
            f"| +{m} ({m / len(idx):.2%}) | {(h + m) / len(idx):.2%} |"
        )
    del rates

    model, vocab = fit(rows, w_all)
    coef = model.coef_[0]
    out = {
        "version": "context-1",
        "features": list(FEATURES),
        "weights": [round(float(w), 5) for w in coef[: len(FEATURES)]],
        "term_weights": {t: round(float(w), 5) for t, w in zip(vocab, coef[len(FEATURES) :])},
        "bias": round(float(model.intercept_[0]), 5),
        "threshold": threshold,
        "trained_on": "bench kit dev/drugtype.jsonl + dev/selling.jsonl",
        "rows": len(rows),
    }
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, w in zip(FEATURES, coef):
        print(f"  {name:14s} {w:+.3f}", file=sys.stderr)
    print(f"  bias           {model.intercept_[0]:+.3f}; {len(vocab)} word weights -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
