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
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--columns", nargs="+", required=True, help="column keys of the config to attack")
    parser.add_argument("--folds", nargs="*", type=int, default=None, help="0-based folds (default: all)")
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument("--test-sample", type=int, default=0, help="events sampled per test fold (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="attack seed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

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
