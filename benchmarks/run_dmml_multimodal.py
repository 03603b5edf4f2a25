"""Run a DMML multimodal experiment config on data the generic runner cannot read.

``drugwatch evaluate`` reads bench JSONL files of text records. The
multimodal experiments need events with images, from two sources:

* ``[data] path = "demo:seed=0,n_accounts=60"``: the synthetic demo corpus
  (:func:`drugwatch.demo.generate_demo` with images), written once under
  ``$DRUGWATCH_HOME/demo-corpora/`` and read back with the generic JSONL
  reader (image paths absolute, SHA-256 recorded). Labels are the events'
  own 10-label truth; the CV group is the author.
* ``[data] path = ".../images.jsonl"``: the bench kit's image smoke test.
  Each row becomes an event with an empty text and one image
  (``ImageRef(path=<kit>/<file>)``); ``drug: true`` -> labels
  ``["other_drugs"]`` (a drug of unknown type: the kit says only
  "drug", and includes cigarettes and alcohol), ``false`` -> ``["non_drug"]``.
  The CV group is the file's content hash (the kit's own grouping).

Everything else is the config file (load, ``--set`` overrides, rows,
columns, ``cv.folds``) and the multi-label evaluation protocol of
:mod:`drugwatch.evaluation.multilabel_metrics` (stratified group k-fold,
every detector fitted on the training folds only, per-label thresholds
learned inside them). Outputs: ``metrics.json`` and ``table.md`` in
``--out``, rewritten after every finished cell.

    python benchmarks/run_dmml_multimodal.py experiments/dmml_multimodal_demo.toml --out runs/dmml_mm
    python benchmarks/run_dmml_multimodal.py experiments/dmml_multimodal_demo.toml --out runs/img \
        --set 'data.path="../../shared/bench/dev/images.jsonl"' --set 'run.columns=["image_only"]'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.evaluation.experiment import METRICS_FILE, TABLE_FILE, ExperimentConfig, _clean, load_config
from drugwatch.evaluation.multilabel_metrics import (
    evaluate_multilabel_cell,
    multilabel_folds,
    render_multilabel_table,
)
from drugwatch.evaluation.splits import group_of
from drugwatch.labels import LABELS
from drugwatch.models.base import drugtype_targets, library_versions
from drugwatch.records import Event, ImageRef


def demo_events(spec: str) -> tuple[list[Event], str]:
    """Events of the demo corpus named by ``demo:seed=S,n_accounts=N``, images on disk."""
    from drugwatch.demo import generate_demo, write_demo
    from drugwatch.io.jsonl import read_jsonl
    from drugwatch.store.db import data_home

    params = dict(part.split("=", 1) for part in spec.removeprefix("demo:").split(",") if part)
    seed, n_accounts = int(params.get("seed", 0)), int(params.get("n_accounts", 60))
    folder = data_home() / "demo-corpora" / f"seed{seed}-accounts{n_accounts}"
    path = folder / "demo.jsonl"
    if not path.is_file():
        write_demo(generate_demo(seed=seed, n_accounts=n_accounts, images=True), folder)
    events = [item.record for item in read_jsonl(path) if isinstance(getattr(item, "record", None), Event)]
    return events, str(path)


def image_bench_events(path: Path) -> list[Event]:
    """The bench kit's ``images.jsonl`` as events (mapping in the module docstring)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        image = ImageRef(path=str((path.parent / row["file"]).resolve()))
        out.append(
            Event(
                id=row["id"],
                platform="bench",
                text="",
                images=(image,),
                labels=("other_drugs",) if row["drug"] else ("non_drug",),
                meta={"group": Path(row["file"]).stem, "source": row.get("source"), "drug": bool(row["drug"])},
            )
        )
    return out


def load_events(config: ExperimentConfig) -> tuple[list[Event], str]:
    if config.data.path.startswith("demo:"):
        return demo_events(config.data.path)
    path = config.data_path()
    if path.name == "images.jsonl":
        return image_bench_events(path), str(path)
    raise SystemExit(
        f"{path}: this script reads 'demo:...' or the bench kit's images.jsonl; "
        "use `drugwatch evaluate` for text-only bench files"
    )


def binary_drug_metrics(cell: dict[str, Any]) -> dict[str, float]:
    """Drug vs not, from the pooled confusion of ``non_drug`` (an event is 'drug' when non_drug is not predicted)."""
    (tn, fp), (fn, tp) = cell["pooled"]["confusion"]["non_drug"]
    # For non_drug, "positive" = drug-free; flip to drug-positive.
    d_tp, d_fn, d_fp, d_tn = tn, fp, fn, tp
    precision = d_tp / (d_tp + d_fp) if d_tp + d_fp else 0.0
    recall = d_tp / (d_tp + d_fn) if d_tp + d_fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = d_tp + d_fn + d_fp + d_tn
    return {"accuracy": (d_tp + d_tn) / n if n else 0.0, "precision": precision, "recall": recall, "f1": f1}


def run(config: ExperimentConfig, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    events, source = load_events(config)
    y = drugtype_targets(events, None)
    folds = multilabel_folds(events, y, config.cv.n_splits, config.cv.seed)
    with_image = int(sum(bool(e.images) for e in events))
    info = {
        "path": source,
        "n_events": len(events),
        "n_groups": len({group_of(e) for e in events}),
        "n_with_image": with_image,
        "label_counts": {n: int(y[:, j].sum()) for j, n in enumerate(LABELS)},
        "folds": [
            {"fold": k, "n_test": int(len(te)), "label_counts": y[te].sum(0).tolist()}
            for k, (_, te) in enumerate(folds)
        ],
    }
    print(
        f"{len(events)} events ({with_image} with an image), {info['n_groups']} groups, {len(folds)} folds", flush=True
    )
    result: dict[str, Any] = {
        "task": "drugtype",
        "experiment": config.experiment.model_dump(),
        "config": config.model_dump(exclude={"base_dir"}),
        "data": info,
        "libraries": library_versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cells": [],
    }

    def write() -> None:
        (out / METRICS_FILE).write_text(json.dumps(_clean(result), indent=2) + "\n", encoding="utf-8")
        table = render_multilabel_table(result)
        binary = [c for c in result["cells"] if "drug_vs_not" in c]
        if binary:
            table += "\nDrug vs not (from non_drug decisions; %): accuracy / precision / recall / F1\n\n"
            table += "| model | row | acc | P | R | F1 | fit s |\n|---|---|---|---|---|---|---|\n"
            for c in binary:
                b = c["drug_vs_not"]
                table += (
                    f"| {c['column']} | {c['row']} | {100 * b['accuracy']:.1f} | {100 * b['precision']:.1f} | "
                    f"{100 * b['recall']:.1f} | {100 * b['f1']:.1f} | {c['fit_s_total']:.0f} |\n"
                )
        (out / TABLE_FILE).write_text(table, encoding="utf-8")

    fold_ids = config.cv.folds or None
    for row_value in config.row_values():
        for column_key in config.column_keys():
            if row_value in config.columns[column_key].skip_rows:
                continue
            cell = evaluate_multilabel_cell(
                config, column_key, row_value, events, y, folds, fold_ids, progress=lambda m: print(m, flush=True)
            )
            cell["title"] = f"{config.columns[column_key].title}" + (
                f" [{config.rows.param}={row_value}]" if config.rows.param and row_value is not None else ""
            )
            cell["drug_vs_not"] = binary_drug_metrics(cell)
            result["cells"].append(cell)
            write()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["wall_s"] = round(time.perf_counter() - started, 1)
    write()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted override, e.g. --set cv.folds=[0] (repeatable)",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config, args.set)
    run(config, args.out)
    print((args.out / TABLE_FILE).read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
