"""Run a DMML multimodal experiment config (the same runner as ``drugwatch evaluate``).

The configs read the demo corpus with images (``[data] path =
"demo:seed=0,n_accounts=60"``) or the bench kit's ``images.jsonl``; both are
read by :mod:`drugwatch.vision.evaluation` and cross-validated by the one
runner of :mod:`drugwatch.evaluation.experiment` with the multi-label task
(stratified group k-fold, every detector fitted on the training folds only,
per-label thresholds learned inside them, drug vs not from the ``non_drug``
decisions). Outputs: ``metrics.json`` and ``table.md`` in ``--out``,
rewritten after every finished cell.

    python benchmarks/run_dmml_multimodal.py experiments/dmml_multimodal_demo.toml --out runs/dmml_mm
    python benchmarks/run_dmml_multimodal.py experiments/dmml_multimodal_demo.toml --out runs/img \
        --set 'data.path="../../shared/bench/dev/images.jsonl"' --set 'run.columns=["image_only"]'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drugwatch.evaluation.config import TABLE_FILE, load_config
from drugwatch.evaluation.experiment import run_evaluation


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
    run_evaluation(config, args.out, progress=lambda message: print(message, flush=True))
    print((args.out / TABLE_FILE).read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
