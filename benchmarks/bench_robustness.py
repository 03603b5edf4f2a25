"""Robustness of detectors to obfuscation attacks (``drugwatch.evaluation.attacks``).

Reads an experiment config for the data, the folds and the detectors, trains
each named column on the clean training folds and scores it on the clean
test folds and on every attacked copy (8 families x light / medium / heavy)::

    python benchmarks/bench_robustness.py experiments/dmml_table2.toml \\
        --columns ours tfidf_lr --folds 0 1 2 3 4 --out /tmp/robustness_drugtype
    python benchmarks/bench_robustness.py experiments/selling_detector.toml \\
        --columns ours tfidf_lr --out /tmp/robustness_selling

Writes ``robustness.json`` and ``robustness.md`` to ``--out`` (rewritten
after every column, so an interrupted run keeps its finished columns).
``--test-sample N`` scores a seeded sample of N events of each test fold
(the table says so). Drug type: macro-F1 (mean over folds); selling: F1
and PR-AUC pooled over the test folds.

``--saved-model DIR`` scores a saved drug-type model instead (no config, no
training): a seeded sample of ``--sample`` drug listings of the kit's
``dev/drugtype.jsonl`` taken after its first ``--skip`` labelled records (the
model's training), every family at heavy strength, macro-F1 with the lexicon
union off and with each version in ``--union-versions``, all over the same
probabilities of the model (the union acts after them)::

    python benchmarks/bench_robustness.py --saved-model DIR --skip 10000 --sample 1500 \\
        --union-versions 1 2 --out /tmp/robustness_union
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev" / "drugtype.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, nargs="?", help="experiment config (not with --saved-model)")
    parser.add_argument("--columns", nargs="+", default=None, help="column keys of the config to attack")
    parser.add_argument("--folds", nargs="*", type=int, default=None, help="0-based folds (default: all)")
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument("--test-sample", type=int, default=0, help="events sampled per test fold (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="attack seed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    saved = parser.add_argument_group("a saved drug-type model and the lexicon union's versions")
    saved.add_argument("--saved-model", type=Path, default=None, help="a saved drug-type model directory")
    saved.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled drug-type records (JSONL)")
    saved.add_argument("--skip", type=int, default=0, help="leading labelled records left out (the training)")
    saved.add_argument("--sample", type=int, default=1500, help="records sampled after them")
    saved.add_argument("--union-versions", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args(argv)
    if args.saved_model is not None:
        return saved_model_report(args)
    if args.config is None or not args.columns:
        parser.error("a config and --columns are needed (or --saved-model DIR)")

    import torch

    torch.set_num_threads(args.threads)
    from drugwatch.evaluation.attacks import FAMILIES, run_robustness
    from drugwatch.evaluation.config import load_config
    from drugwatch.evaluation.tasks import task_for

    config = load_config(args.config)
    task = config.data.target
    evaluation_task = task_for(config)
    data = evaluation_task.load(config)
    events, y = data.events, data.y
    folds = evaluation_task.folds(config, data)
    metrics, source = (("macro_f1", "subset_accuracy"), "mean") if task == "drugtype" else (("f1", "pr_auc"), "pooled")
    fold_ids = args.folds if args.folds else list(range(len(folds)))
    chosen = []
    rng = np.random.default_rng(args.seed)
    for k in fold_ids:
        train_idx, test_idx = folds[k]
        if args.test_sample and len(test_idx) > args.test_sample:
            test_idx = np.sort(rng.choice(test_idx, size=args.test_sample, replace=False))
        chosen.append((train_idx, test_idx))
    families = tuple(args.families) if args.families else FAMILIES
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "config": str(args.config),
        "task": task,
        "data": {k: v for k, v in data.info.items() if k != "folds"},
        "folds": fold_ids,
        "test_sample": args.test_sample,
        "columns": {},
    }
    for column in args.columns:
        started = time.perf_counter()
        result = run_robustness(
            lambda column=column: config.build_detector(column, None),
            events,
            y,
            chosen,
            task=task,
            families=families,
            seed=args.seed,
            progress=lambda msg, column=column: print(f"[{column}] {msg}", file=sys.stderr, flush=True),
        )
        result["detector"] = config.columns[column].detector
        result["wall_s"] = round(time.perf_counter() - started, 1)
        report["columns"][column] = result
        (args.out / "robustness.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (args.out / "robustness.md").write_text(render(report, metrics, source), encoding="utf-8")
    return 0


def saved_model_report(args: argparse.Namespace) -> int:
    """Macro-F1 of a saved drug-type model on attacked listings, with the
    lexicon union off and at each version asked for (see the module doc)."""
    from drugwatch.evaluation.attacks import FAMILIES, HELDOUT_FAMILIES, attack
    from drugwatch.evaluation.metrics import multilabel_metrics
    from drugwatch.labels import LABELS
    from drugwatch.models.base import Detector
    from drugwatch.models.lexicon_union import lexicon_union
    from drugwatch.records import Event

    with open(args.data, encoding="utf-8") as fh:
        records = [r for r in map(json.loads, fh) if r["labels"]][args.skip :]
    rng = np.random.default_rng(args.seed)
    picked = sorted(rng.choice(len(records), size=min(args.sample, len(records)), replace=False))
    sample = [records[i] for i in picked]
    y = np.zeros((len(sample), len(LABELS)), dtype=np.int64)
    for i, r in enumerate(sample):
        for name in r["labels"]:
            y[i, LABELS.index(name)] = 1
    detector = Detector.load(args.saved_model)
    if not hasattr(detector, "lexicon_union") or not hasattr(detector, "thresholds_"):
        raise SystemExit(f"{args.saved_model}: not a drug-type model with a lexicon union")
    detector.lexicon_union = False  # the model's own probabilities; the union is applied below
    non_drug_wins = bool(getattr(detector, "non_drug_wins_", False))
    columns = ["off", *(f"v{v}" for v in args.union_versions)]
    scores: dict[str, dict[str, float]] = {}
    families = tuple(args.families) if args.families else FAMILIES
    for family in ("clean", *families):
        texts = [r["text"] if family == "clean" else attack(r["text"], family, "heavy", args.seed) for r in sample]
        proba = detector.predict_proba([Event(id=f"s{i}", text=t) for i, t in enumerate(texts)])
        row = {"off": proba}
        for v in args.union_versions:
            row[f"v{v}"] = lexicon_union(proba, texts, detector.thresholds_, non_drug_wins=non_drug_wins, version=v)
        scores[family] = {k: 100 * multilabel_metrics(y, detector.decide(p))["macro_f1"] for k, p in row.items()}
        print(f"[{family}] " + " ".join(f"{k} {v:.1f}" for k, v in scores[family].items()), file=sys.stderr)
    lines = [
        f"# Robustness of `{args.saved_model}` (lexicon union off and by version)",
        "",
        f"{len(sample)} drug listings of {args.data.name} (seed {args.seed}, after the first {args.skip}); "
        "heavy strength; macro-F1 drop from the clean score in points (held-out families marked).",
        "",
        "| family | " + " | ".join(f"union {c}" for c in columns) + " |",
        "|---|" + "---|" * len(columns),
        "| clean macro-F1 | " + " | ".join(f"{scores['clean'][c]:.1f}" for c in columns) + " |",
    ]
    for family in families:
        name = f"{family} (held out)" if family in HELDOUT_FAMILIES else family
        drops = " | ".join(f"{scores['clean'][c] - scores[family][c]:+.1f}" for c in columns)
        lines.append(f"| {name} | {drops} |")
    table = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "robustness_union.md").write_text(table, encoding="utf-8")
    (args.out / "robustness_union.json").write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    print(table)
    return 0


def render(report: dict, metrics: tuple[str, ...], source: str) -> str:
    from drugwatch.evaluation.attacks import robustness_table

    sample = f", {report['test_sample']} events sampled per test fold" if report["test_sample"] else ""
    lines = [
        f"# Robustness: {report['config']} ({report['task']})",
        "",
        f"Folds run: {report['folds']}{sample}; scores are the {source} over those folds (%).",
        "",
    ]
    for column, result in report["columns"].items():
        for metric in metrics:
            lines += [
                f"## `{column}` ({result['detector']}): {metric}",
                "",
                robustness_table(result, metric, source=source),
                "",
            ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
