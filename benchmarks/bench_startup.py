"""Start-up cost of the command line: whole-process wall and CPU time.

    python benchmarks/bench_startup.py [--runs 5] [--models DIR] [--json]

Times three commands, each as a fresh ``python -m drugwatch`` process, and
prints the median wall time and the median user + system CPU time of
``--runs`` runs (CPU time from the child's ``rusage``, so a busy machine
inflates wall time more than CPU time):

- ``--help``;
- ``inspect TEXT`` (one text through the text layer, printed);
- ``scan`` of a 5-event JSONL with the two default models (``selling`` and
  ``drugtype`` under ``--models``; trained once on the demo corpus into a
  temporary folder when ``--models`` is not given).

Targets (issue #20): ``--help`` <= 0.5 s, ``inspect`` <= 1.0 s, the 5-event
scan <= 2 s of wall time.

Bytecode is cached in a temporary folder (``PYTHONPYCACHEPREFIX``), as an
installed package has its ``.pyc`` files, even where the environment sets
``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode`` compiles every module from
source in every run instead. Each command runs once before it is timed, so
that the derived tables of ``drugwatch.text.tablecache`` (written once per
installation under the data home, a temporary one here) exist, as they do
after a first run; that first run of ``inspect`` costs about a second more.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"help": 0.5, "inspect": 1.0, "scan5": 2.0}
INSPECT_TEXT = "selling c0ke and xanax bars, text me at +44 7700 900123 or snap @plug_uk #420 💊"
SCAN_TEXTS = [
    "selling c0ke and xanax bars, dm on wickr @plug_uk",
    "lovely weather in brighton today",
    "mdma pills ⚡ fast delivery, telegram t.me/candyshop",
    "cocaine news today: police seize 2 tonnes",
    "weed 🍃 and carts available, text +1 202 555 0147",
]


def _train_models(root: Path) -> Path:
    """Fit the two default detectors on a small demo corpus under ``root / "models"``."""
    from drugwatch.demo.generator import generate_demo
    from drugwatch.scoring import train_default_detectors

    corpus = generate_demo(seed=0, n_accounts=60, images=False)
    train_default_detectors(corpus.events, root / "models", seed=0)
    return root / "models"


def _time_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``argv`` once; return (wall seconds, user + system CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median reported)")
    parser.add_argument("--models", type=Path, help="folder holding selling/ and drugtype/ (default: train once)")
    parser.add_argument("--only", choices=sorted(TARGETS), action="append", help="time only these commands")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module from source in every run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory(prefix="dw-startup-") as tmp:
        root = Path(tmp)
        env = dict(os.environ, DRUGWATCH_HOME=str(root / "home"), NO_COLOR="1")
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        python = [sys.executable, "-m", "drugwatch"]
        commands: dict[str, list[str]] = {
            "help": [*python, "--help"],
            "inspect": [*python, "inspect", INSPECT_TEXT],
        }
        wanted = args.only or list(TARGETS)
        if "scan5" in wanted:
            models = args.models or _train_models(root)
            events = root / "events.jsonl"
            events.write_text(
                "".join(
                    json.dumps({"id": f"e{i}", "platform": "instagram", "text": text}) + "\n"
                    for i, text in enumerate(SCAN_TEXTS)
                ),
                encoding="utf-8",
            )
            commands["scan5"] = [
                *python,
                "scan",
                str(events),
                "--model",
                str(models / "selling"),
                "--model",
                str(models / "drugtype"),
                "--output",
                str(root / "out.jsonl"),
                "--overwrite",
                "--restart",
            ]
        results = {}
        for name in wanted:
            _time_once(commands[name], env, root)  # warm the OS file cache and .pyc files
            samples = [_time_once(commands[name], env, root) for _ in range(args.runs)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            results[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "target_s": TARGETS[name]}
    if args.json:
        print(json.dumps({"runs": args.runs, "bytecode": not args.no_bytecode, "results": results}))
    else:
        cache = "compiled from source" if args.no_bytecode else "bytecode cached"
        print(f"median of {args.runs} runs, whole process, {cache}")
        for name, row in results.items():
            verdict = "ok" if row["wall_s"] <= row["target_s"] else "over"
            print(
                f"  {name:8s} wall {row['wall_s']:6.3f} s  cpu {row['cpu_s']:6.3f} s  target {row['target_s']} s  {verdict}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
