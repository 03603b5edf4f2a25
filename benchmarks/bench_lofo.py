"""Leave-one-source-family-out table for the selling detectors (``drugwatch.evaluation.lofo``).

    .venv/bin/python benchmarks/bench_lofo.py                                   # v1, v2, v3, tf-idf reference
    .venv/bin/python benchmarks/bench_lofo.py --negative-fraction 0.2 --darknet-max 3000   # quick run
    .venv/bin/python benchmarks/bench_lofo.py --only drugwatch.selling.v3 --scheme platform --out runs/lofo
    .venv/bin/python benchmarks/bench_lofo.py --only drugwatch.selling.v3 --param offer_gate=true   # a variant

Each family of sources of the kit (tweets of the PIP data set, drug-talk
tweets, other tweets, Instagram captions, SMS, Reddit comments, darknet
listings) is held out in turn; every detector is fitted on the others and
scored on it. Prints the Markdown table; ``--out DIR`` also writes
``lofo.json`` (every count, per language and sub-source) and ``lofo.md``.
The held-out challenge suite (``benchmarks/data``) is not read.
CPU: a full run fits each detector once per family (7 fits); ``--negative-fraction``
keeps that share of the negatives (all positives) for quick runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
DEFAULT_COLUMNS = ("drugwatch.tfidf_lr.v1", "drugwatch.selling.v1", "drugwatch.selling.v2", "drugwatch.selling.v3")


def parse_params(items: list[str]) -> dict[str, Any]:
    """``--param NAME=VALUE`` items -> detector parameters (:func:`drugwatch.evaluation.config.parse_params`)."""
    from drugwatch.evaluation.config import ConfigError
    from drugwatch.evaluation.config import parse_params as parse

    try:
        return parse(items)
    except ConfigError as error:
        raise SystemExit(f"--param wants NAME=VALUE: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path(os.environ.get("DRUGWATCH_BENCH") or DEFAULT_BENCH))
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"registry names (default: {' '.join(DEFAULT_COLUMNS)})"
    )
    parser.add_argument("--scheme", choices=("source", "platform"), default="source")
    parser.add_argument("--families", nargs="*", default=None, help="hold out only these families")
    parser.add_argument("--darknet-max", type=int, default=8000, help="darknet listings in the universe")
    parser.add_argument(
        "--negative-fraction",
        type=float,
        default=1.0,
        help="share of negatives kept (all positives); < 1 for quick runs",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter given to every detector that has it (repeatable; VALUE read as JSON), e.g. offer_gate=true",
    )
    parser.add_argument("--no-languages", action="store_true", help="skip the per-language breakdown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write lofo.json and lofo.md here")
    args = parser.parse_args(argv)

    from drugwatch.evaluation.lofo import load_universe, render_lofo_table, run_lofo, write_lofo
    from drugwatch.models import create_detector

    names = args.only or list(DEFAULT_COLUMNS)
    params = parse_params(args.param)
    if params and not any(set(params) <= set(create_detector(name).get_params()) for name in names):
        print(f"no detector of {names} takes all of {sorted(params)}", file=sys.stderr)
        return 2

    selling = args.bench / "dev" / "selling.jsonl"
    drugtype = args.bench / "dev" / "drugtype.jsonl"
    if not selling.is_file():
        print(f"no kit at {args.bench} (set DRUGWATCH_BENCH or --bench)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    events, y, info = load_universe(
        selling,
        drugtype if drugtype.is_file() else None,
        darknet_max=args.darknet_max,
        negative_fraction=args.negative_fraction,
        seed=args.seed,
    )
    print(
        f"universe: {info['n_events']} events, {info['n_positive']} positive ({time.perf_counter() - started:.0f}s)",
        file=sys.stderr,
    )
    seed = args.seed

    def factory(name: str):
        def build():
            detector = create_detector(name)
            own = {"seed": seed, **params}
            detector.set_params(**{k: v for k, v in own.items() if k in detector.get_params()})
            return detector

        return build

    result = run_lofo(
        {name: factory(name) for name in names},
        events,
        y,
        scheme=args.scheme,
        families=args.families,
        by_language=not args.no_languages,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(render_lofo_table(result, info))
    if args.out is not None:
        write_lofo(result, info, args.out)
        print(f"wrote {args.out / 'lofo.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
