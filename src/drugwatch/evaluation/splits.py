"""Near-duplicate removal and grouped, stratified folds.

Policy (applied before any split, see :func:`deduplicate`):

1. Texts are clustered with :func:`drugwatch.dedup.cluster_texts`
   (exact duplicates of the fingerprint view, and near-duplicates at
   MinHash Jaccard >= ``threshold``, default 0.7).
2. Each cluster keeps one representative: its first member in file order,
   unless the members disagree on the label, in which case its first
   *positive* member is kept (a reposted advert stays an advert; we would
   rather keep a positive than silently delete a seller's post).
   Multi-label targets (:func:`deduplicate_multilabel`): a cluster whose
   members disagree keeps the first member carrying its most common label set.
3. Folds are then built on the representatives with
   :class:`~sklearn.model_selection.StratifiedGroupKFold` on the group
   (``event.meta["group"]``, else the author, else the event itself), so
   one seller's posts never sit on both sides of a split; multi-label
   targets are stratified on each event's rarest label
   (:func:`multilabel_folds`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from drugwatch.dedup import DEFAULT_THRESHOLD, cluster_texts
from drugwatch.records import Event


@dataclass(frozen=True)
class DedupReport:
    n_before: int
    n_after: int
    n_clusters_merged: int
    n_label_conflicts: int

    def as_dict(self) -> dict[str, int]:
        return {
            "n_before": self.n_before,
            "n_after": self.n_after,
            "n_removed": self.n_before - self.n_after,
            "n_clusters_merged": self.n_clusters_merged,
            "n_label_conflicts": self.n_label_conflicts,
        }


def deduplicate(
    events: Sequence[Event], y: Sequence[int] | np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> tuple[list[int], DedupReport]:
    """Indices of the events kept (in input order) and a report; policy in the module docstring."""
    y_arr = np.asarray(y)
    clusters = cluster_texts([e.text for e in events], threshold=threshold)
    members: dict[int, list[int]] = {}
    for i, cluster in enumerate(clusters):
        members.setdefault(cluster, []).append(i)
    keep: list[int] = []
    merged = conflicts = 0
    for indices in members.values():
        if len(indices) > 1:
            merged += 1
        labels = {int(y_arr[i]) for i in indices}
        if len(labels) > 1:
            conflicts += 1
            keep.append(next(i for i in indices if y_arr[i] == 1))
        else:
            keep.append(indices[0])
    keep.sort()
    return keep, DedupReport(len(events), len(keep), merged, conflicts)


def deduplicate_multilabel(
    events: Sequence[Event], y: np.ndarray, threshold: float
) -> tuple[list[int], dict[str, Any]]:
    """Indices kept after near-duplicate removal of ``(n, 10)`` targets, and a report (policy above)."""
    clusters = cluster_texts([e.text for e in events], threshold=threshold)
    members: dict[int, list[int]] = {}
    for i, c in enumerate(clusters):
        members.setdefault(c, []).append(i)
    keep, merged, conflicts = [], 0, 0
    for idx in members.values():
        if len(idx) > 1:
            merged += 1
        sets = [tuple(np.flatnonzero(y[i])) for i in idx]
        if len(set(sets)) > 1:
            conflicts += 1
            common = Counter(sets).most_common(1)[0][0]
            keep.append(next(i for i, s in zip(idx, sets) if s == common))
        else:
            keep.append(idx[0])
    keep.sort()
    return keep, {
        "threshold": threshold,
        "n_before": len(events),
        "n_after": len(keep),
        "n_removed": len(events) - len(keep),
        "n_clusters_merged": merged,
        "n_label_conflicts": conflicts,
    }


def group_of(event: Event) -> str:
    """The split group: ``meta["group"]``, else the author, else the event id."""
    return str(event.meta.get("group") or event.author or f"event:{event.key}")


def grouped_folds(
    events: Sequence[Event], y: Sequence[int] | np.ndarray, n_splits: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train_idx, test_idx)`` of stratified group k-fold (shuffled with ``seed``)."""
    groups = [group_of(e) for e in events]
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_splits}-fold CV needs at least {n_splits} groups; the data has {n_groups}")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    yield from splitter.split(np.zeros(len(events)), np.asarray(y), groups)


def multilabel_folds(
    events: Sequence[Event], y: np.ndarray, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group k-fold of ``(n, 10)`` targets, stratified on each event's rarest label."""
    freq = y.sum(0)
    strat = np.array([int(np.flatnonzero(r)[np.argmin(freq[np.flatnonzero(r)])]) for r in y])
    groups = [group_of(e) for e in events]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(events)), strat, groups))


__all__ = ["DedupReport", "deduplicate", "deduplicate_multilabel", "group_of", "grouped_folds", "multilabel_folds"]
