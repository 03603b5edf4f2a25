"""Honest evaluation of the dealer-account model and of account linking.

* :func:`cross_validate_accounts`: k-fold CV of several account-model
  configurations on the same folds. The folds are stratified on the dealer
  label and *grouped* (``groups``, e.g. the components of the link graph, so
  accounts that share contacts or adverts never straddle a split). Inside each
  training part the event detector is fitted, the training accounts' event
  probabilities are cross-fitted (``inner_folds``) and the account model is
  fitted; the test accounts are scored by the event detector fitted on all
  training accounts. The event probabilities depend only on the event
  detector, so they are computed once per fold and shared by the
  configurations (exactly what fitting each :class:`AccountDetector` alone
  would compute).
* :func:`cross_annotator_table`: Yang & Luo's table 2. Given two label sets
  for the same accounts, each is used as ground truth in turn: the model
  (cross-validated on that truth) and the other annotator are scored against it.
* :func:`network_recovery`: predicted networks against true ones: pairwise
  precision / recall / F1 of "same network" over account pairs, and the
  adjusted Rand index over all accounts (accounts outside any network are
  singletons).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import StratifiedGroupKFold

from drugwatch.accounts.detector import (
    AccountDetector,
    as_accounts,
    comments_by_post,
    cross_fit_proba,
    dealer_targets,
    fit_event_detector,
    timeline_proba,
)
from drugwatch.evaluation.metrics import binary_metrics, hard_metrics, precision_recall_f1
from drugwatch.records import Account, Event

#: Cells of the paper-style table: name -> AccountDetector parameters (event detector settings are shared).
DEFAULT_CELLS: dict[str, dict[str, Any]] = {
    "yang_luo / logreg": {"features": "yang_luo", "model": "logreg"},
    "yang_luo / forest": {"features": "yang_luo", "model": "forest"},
    "ours / logreg": {"features": "ours", "model": "logreg"},
    "ours / forest": {"features": "ours", "model": "forest"},
}


def account_folds(y: np.ndarray, groups: Sequence[str] | None, n_splits: int, seed: int):
    """Stratified group k-fold (each account its own group when ``groups`` is None)."""
    groups = list(groups) if groups is not None else [str(i) for i in range(len(y))]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def cross_validate_accounts(
    accounts: Iterable[Account],
    y: Any | None = None,
    *,
    cells: Mapping[str, Mapping[str, Any]] = DEFAULT_CELLS,
    event_detector: str = "drugwatch.yang_luo_text.v1",
    event_params: Mapping[str, Any] | None = None,
    event_target: str = "is_drug",
    inner_folds: int = 3,
    comments: Iterable[Event] | None = None,
    groups: Sequence[str] | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Out-of-fold dealer probabilities and metrics for every cell (see the module docstring)."""
    accounts = as_accounts(accounts)
    targets = dealer_targets(accounts, y)
    grouped = comments_by_post(comments) if comments is not None else {}
    group_list = list(groups) if groups is not None else None
    folds = account_folds(targets, group_list, n_splits, seed)
    oof = {name: np.full(len(accounts), np.nan) for name in cells}
    per_fold: dict[str, list[dict[str, Any]]] = {name: [] for name in cells}
    selected: dict[str, list[list[str]]] = {name: [] for name in cells}
    started = time.perf_counter()
    for train, test in folds:
        train_accounts = [accounts[i] for i in train]
        test_accounts = [accounts[i] for i in test]
        train_proba = cross_fit_proba(
            train_accounts,
            targets[train],
            name=event_detector,
            params=event_params,
            target=event_target,
            folds=inner_folds,
            seed=seed,
            groups=None if group_list is None else [group_list[i] for i in train],
        )
        detector = fit_event_detector(train_accounts, event_detector, event_params, event_target)
        test_proba = timeline_proba(detector, test_accounts)
        feature_cache: dict[tuple[Any, ...], tuple[list, list]] = {}
        for name, params in cells.items():
            model = AccountDetector(
                **{
                    "event_detector": event_detector,
                    "event_params": dict(event_params or {}),
                    "event_target": event_target,
                    "inner_folds": inner_folds,
                    "seed": seed,
                    **params,
                }
            )
            key = (model.event_threshold, model.timezone)
            if key not in feature_cache:
                feature_cache[key] = (
                    model.account_features(train_accounts, train_proba, comments=grouped),
                    model.account_features(test_accounts, test_proba, comments=grouped),
                )
            train_features, test_features = feature_cache[key]
            model.fit_features(train_features, targets[train])
            proba = model.predict_proba_features(test_features)[:, 1]
            oof[name][test] = proba
            per_fold[name].append(binary_metrics(targets[test], proba, model.threshold_))
            selected[name].append(list(model.selected_features_))
    result: dict[str, Any] = {
        "n_accounts": len(accounts),
        "n_dealers": int(targets.sum()),
        "n_splits": n_splits,
        "seed": seed,
        "fold_sizes": [int(len(test)) for _, test in folds],
        "fold_dealers": [int(targets[test].sum()) for _, test in folds],
        "event_detector": event_detector,
        "event_target": event_target,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "cells": {},
    }
    for name in cells:
        result["cells"][name] = {
            "params": dict(cells[name]),
            "pooled": binary_metrics(targets, oof[name], 0.5),
            "per_fold": per_fold[name],
            "selected_features": selected[name],
            "oof_proba": oof[name].tolist(),
        }
    return result


def prf(truth: npt.ArrayLike, predicted: npt.ArrayLike) -> dict[str, float]:
    hard = hard_metrics(np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool))
    return {"precision": hard["precision"], "recall": hard["recall"], "f1": hard["f1"]}


def cross_annotator_table(
    accounts: Sequence[Account],
    labels_a: Sequence[int | bool],
    labels_b: Sequence[int | bool],
    *,
    names: tuple[str, str] = ("annotator A", "annotator B"),
    model_predictions: Mapping[str, Sequence[int]] | None = None,
    **cv_kwargs: Any,
) -> list[dict[str, Any]]:
    """Yang & Luo table 2: for each annotator as ground truth, score the model and the other annotator.

    The model's predictions against truth ``T`` are out-of-fold predictions of
    a model trained on ``T`` (:func:`cross_validate_accounts` with
    ``cv_kwargs``, first cell); ``model_predictions`` (annotator name ->
    0/1 per account) replaces that, e.g. in tests. Rows: ``truth``,
    ``scored`` (the model or the other annotator), precision, recall, F1;
    plus the raw agreement and Cohen's kappa of the annotators.
    """
    from drugwatch.annotate.agreement import cohen_kappa

    a = np.asarray(labels_a, dtype=np.int64)
    b = np.asarray(labels_b, dtype=np.int64)
    if len(a) != len(accounts) or len(b) != len(accounts):
        raise ValueError(f"need one label per account from each annotator ({len(accounts)}); got {len(a)}, {len(b)}")
    agreement = float((a == b).mean()) if len(a) else float("nan")
    kappa = cohen_kappa(a.tolist(), b.tolist())
    rows = []
    for (truth_name, truth), (other_name, other) in (((names[0], a), (names[1], b)), ((names[1], b), (names[0], a))):
        if model_predictions is not None:
            predicted = np.asarray(model_predictions[truth_name], dtype=np.int64)
        else:
            cv = cross_validate_accounts(accounts, truth, **cv_kwargs)
            cell = next(iter(cv["cells"].values()))
            predicted = (np.asarray(cell["oof_proba"]) >= 0.5).astype(np.int64)
        rows.append({"truth": truth_name, "scored": "model", **prf(truth, predicted)})
        rows.append({"truth": truth_name, "scored": other_name, **prf(truth, other)})
    for row in rows:
        row["annotator_agreement"] = agreement
        row["annotator_kappa"] = kappa
    return rows


def network_recovery(
    predicted: Iterable[Iterable[str]], truth: Iterable[Iterable[str]], universe: Iterable[str]
) -> dict[str, Any]:
    """Pairwise precision / recall / F1 of network membership and the adjusted Rand index.

    ``predicted`` and ``truth`` are collections of account groups; accounts of
    ``universe`` outside every group are singletons.
    """
    universe = sorted(set(universe))

    def labels(groups: Iterable[Iterable[str]]) -> tuple[dict[str, str], set[frozenset[str]]]:
        label = {}
        pairs: set[frozenset[str]] = set()
        for number, group in enumerate(groups):
            members = sorted(set(group))
            for member in members:
                label[member] = f"g{number}"
            pairs.update(frozenset(p) for p in combinations(members, 2))
        return label, pairs

    pred_label, pred_pairs = labels(predicted)
    true_label, true_pairs = labels(truth)
    tp = len(pred_pairs & true_pairs)
    precision, recall, f1 = precision_recall_f1(tp, len(pred_pairs) - tp, len(true_pairs) - tp)
    ari = adjusted_rand_score(
        [true_label.get(a, f"s:{a}") for a in universe], [pred_label.get(a, f"s:{a}") for a in universe]
    )
    return {
        "pair_precision": float(precision),
        "pair_recall": float(recall),
        "pair_f1": float(f1),
        "adjusted_rand": float(ari),
        "true_pairs": len(true_pairs),
        "predicted_pairs": len(pred_pairs),
        "correct_pairs": tp,
        "n_accounts": len(universe),
    }


__all__ = [
    "DEFAULT_CELLS",
    "account_folds",
    "cross_annotator_table",
    "cross_validate_accounts",
    "network_recovery",
    "prf",
]
