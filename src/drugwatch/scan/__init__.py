"""Scan a corpus with the detectors: streaming, resumable, in-process or on Ray Data.

>>> from drugwatch.scan import run_scan                                    # doctest: +SKIP
>>> report = run_scan("corpus.jsonl", "results.jsonl")                     # doctest: +SKIP
>>> report.read == report.results + report.accounts + report.quarantined   # doctest: +SKIP
True

See :mod:`drugwatch.scan.engine` (the loop, checkpoints, counts),
:mod:`drugwatch.scan.sources` (JSONL, Parquet, database inputs),
:mod:`drugwatch.scan.sinks` (JSONL, Parquet, database outputs) and
:mod:`drugwatch.scan.ray_engine` (``engine="ray"``). This module stays light:
``drugwatch.store.schema`` imports :mod:`drugwatch.scan.schema` through it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScanError", "ScanReport", "run_scan"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from drugwatch.scan import engine

        return getattr(engine, name)
    raise AttributeError(name)
