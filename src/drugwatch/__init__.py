"""drugwatch: find and characterize illicit drug trafficking on social media.

The public surface is organised by stage (see ``docs/architecture.md``):
records -> store -> text -> models -> evaluation -> scan -> report.
"""

from drugwatch.labels import DRUG_LABELS, LABELS
from drugwatch.records import Account, Event, ImageRef, Provenance, RecordError

__version__ = "0.1.0"

__all__ = [
    "LABELS",
    "DRUG_LABELS",
    "Event",
    "Account",
    "ImageRef",
    "Provenance",
    "RecordError",
    "__version__",
]
