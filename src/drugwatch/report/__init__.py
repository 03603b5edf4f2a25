"""The report: a self-contained HTML page with inline SVG plots, CSV tables and evidence bundles.

>>> from drugwatch.report import build_report          # doctest: +SKIP
>>> build_report("scan-results.jsonl", "report/")       # doctest: +SKIP

:mod:`drugwatch.report.tables` computes the numbers (JMIR, DMML, Yang & Luo,
networks, top accounts), :mod:`drugwatch.report.build` writes the files,
:mod:`drugwatch.report.evidence` the per-account bundles,
:mod:`drugwatch.report.masking` keeps personal data masked unless asked and
:mod:`drugwatch.report.account_scores` reads, writes or computes the
dealer-account model's scores that ``build_report(..., account_scores=...)``
uses to define dealer accounts (else: accounts with a dealer event).
"""

from drugwatch.report.account_scores import (
    read_account_scores,
    score_scan_accounts,
    write_account_scores,
)
from drugwatch.report.build import ReportOutput, build_report, load_accounts
from drugwatch.report.evidence import write_bundle
from drugwatch.report.masking import Masker

__all__ = [
    "Masker",
    "ReportOutput",
    "build_report",
    "load_accounts",
    "read_account_scores",
    "score_scan_accounts",
    "write_account_scores",
    "write_bundle",
]
