"""Dealer accounts (Yang & Luo 2017, extended) and account linking.

Public API:

``score_accounts(accounts, detector, *, comments=None, threshold=None) -> list[AccountScore]``
    Dealer probability, decision, feature values and evidence of each account
    (with its timeline). ``detector`` is a fitted :class:`AccountDetector` or
    the path of its model directory (``drugwatch accounts train``). This is
    what ``POST /score/account`` serves.
``AccountDetector`` (registered as ``drugwatch.accounts.v1``)
    fit / predict_proba / save / load over :class:`~drugwatch.records.Account`
    objects; columns ``("not_dealer", "dealer")``.
``account_features(account, drug_proba, ...)``
    Yang & Luo's P, H1-H4, R1-R3, E and our features (see
    :mod:`drugwatch.accounts.features` for definitions, hour bins and time zones).
``drugwatch.accounts.linking``
    ``link_accounts(accounts, events) -> LinkResult`` (networks = connected
    components of shared contacts and near-duplicate adverts, with evidence)
    and ``hashtag_communities(events)`` per drug.
``drugwatch.accounts.evaluation``
    grouped k-fold CV of account models, Yang & Luo's inter-annotator table,
    network recovery metrics.
``drugwatch.accounts.service``
    the same over a store (``drugwatch accounts train|score|link|evaluate``),
    results written to the ``account_*`` tables.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported on first use, so importing ``drugwatch.accounts.schema``
# (which the store does on every open) does not load scikit-learn or networkx.
_EXPORTS = {
    "DEALER_COLUMNS": "drugwatch.accounts.detector",
    "AccountDetector": "drugwatch.accounts.detector",
    "FEATURE_SETS": "drugwatch.accounts.features",
    "OUR_FEATURES": "drugwatch.accounts.features",
    "YANG_LUO_FEATURES": "drugwatch.accounts.features",
    "AccountFeatures": "drugwatch.accounts.features",
    "account_features": "drugwatch.accounts.features",
    "AccountScore": "drugwatch.accounts.scoring",
    "load_account_detector": "drugwatch.accounts.scoring",
    "score_accounts": "drugwatch.accounts.scoring",
    "link_accounts": "drugwatch.accounts.linking",
    "hashtag_communities": "drugwatch.accounts.linking",
    "LinkResult": "drugwatch.accounts.linking",
    "Network": "drugwatch.accounts.linking",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'drugwatch.accounts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
