"""drugwatch: find and characterize illicit drug trafficking on social media.

The public surface is organised by stage (see ``docs/architecture.md``):
records -> store -> text -> models -> evaluation -> scan -> report.

The names below load on first use (PEP 562), so ``drugwatch --help`` and
commands that never touch records do not import pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "LABELS": "drugwatch.labels",
    "DRUG_LABELS": "drugwatch.labels",
    "Event": "drugwatch.records",
    "Account": "drugwatch.records",
    "ImageRef": "drugwatch.records",
    "Provenance": "drugwatch.records",
    "RecordError": "drugwatch.records",
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:
    from drugwatch.labels import DRUG_LABELS, LABELS
    from drugwatch.records import Account, Event, ImageRef, Provenance, RecordError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drugwatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
