"""Fold checkpoints: each fold's out-of-fold predictions, saved as it finishes.

A cross-validation of an expensive detector (the JMIR LSTM at the paper's
sizes takes hours per table row on a CPU) must survive an interruption and
may be spread over several sittings. :func:`~drugwatch.evaluation.experiment.run_evaluation`
writes one file per (column, row, fold) under the run directory's ``folds/``
(or ``--checkpoints DIR``) and, when the same fold is asked for again,
reuses the saved predictions instead of refitting, but only if everything
that decides them is unchanged:

* the data: a SHA-256 over the de-duplicated events' ids and labels (the
  ids themselves are not stored);
* the fold: a SHA-256 over its test indices (so ``cv.n_splits``,
  ``cv.seed`` and the de-duplication policy are covered);
* the detector: its registry name and every parameter value (except those
  that only set its speed: ``num_threads``, ``n_jobs``, ``verbose``).

A checkpoint that does not match is ignored and overwritten. The file is
``.npz`` (no pickles): the test fold's probabilities in test-index order and
a JSON header with the keys above, the fold's threshold and its fit and
predict seconds. Writes are atomic (a temporary file, then a rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.records import Event

FORMAT_VERSION = 1


@dataclass(frozen=True)
class FoldResult:
    """One fold's saved outcome."""

    proba: np.ndarray
    threshold: float
    fit_s: float
    predict_s: float


def data_fingerprint(events: list[Event], y: np.ndarray) -> str:
    """SHA-256 over the events' ids and labels, in order."""
    digest = hashlib.sha256()
    for event, label in zip(events, y.tolist()):
        digest.update(f"{event.id}\t{label}\n".encode())
    return digest.hexdigest()


def _fold_digest(test_idx: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(test_idx, dtype=np.int64).tobytes()).hexdigest()


def _slug(value: Any) -> str:
    text = "all" if value is None else json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "row"


#: Parameters that change how fast a detector runs, not what it predicts.
RUNTIME_PARAMS = frozenset({"num_threads", "n_jobs", "verbose"})


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in params.items() if k not in RUNTIME_PARAMS}, sort_keys=True, default=str)


class FoldCheckpoints:
    """Saved folds under ``directory`` for one de-duplicated data set."""

    def __init__(self, directory: str | Path, fingerprint: str, *, reuse: bool = True):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.reuse = reuse

    def path(self, column: str, row: Any, fold: int) -> Path:
        return self.directory / _slug(column) / _slug(row) / f"fold-{fold:02d}.npz"

    def _header(
        self, column: str, detector: str, row: Any, fold: int, params: dict[str, Any], test_idx: np.ndarray
    ) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "column": column,
            "detector": detector,
            "row": row,
            "fold": fold,
            "params": _canonical(params),
            "data_sha256": self.fingerprint,
            "fold_sha256": _fold_digest(test_idx),
            "n_test": int(len(test_idx)),
        }

    def load(
        self, column: str, detector: str, row: Any, fold: int, params: dict[str, Any], test_idx: np.ndarray
    ) -> FoldResult | None:
        """The saved fold, or ``None`` when there is none, reuse is off, or it does not match."""
        path = self.path(column, row, fold)
        if not self.reuse or not path.is_file():
            return None
        expected = self._header(column, detector, row, fold, params, test_idx)
        try:
            with np.load(path, allow_pickle=False) as saved:
                header = json.loads(str(saved["header"]))
                proba = np.array(saved["proba"], dtype=np.float64)
        except (OSError, ValueError, KeyError):  # unreadable or truncated: refit
            return None
        if any(header.get(key) != value for key, value in expected.items()) or len(proba) != len(test_idx):
            return None
        return FoldResult(proba, float(header["threshold"]), float(header["fit_s"]), float(header["predict_s"]))

    def save(
        self,
        column: str,
        detector: str,
        row: Any,
        fold: int,
        params: dict[str, Any],
        test_idx: np.ndarray,
        result: FoldResult,
    ) -> Path:
        path = self.path(column, row, fold)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            **self._header(column, detector, row, fold, params, test_idx),
            "threshold": float(result.threshold),
            "fit_s": float(result.fit_s),
            "predict_s": float(result.predict_s),
        }
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle, header=np.array(json.dumps(header)), proba=np.asarray(result.proba, dtype=np.float64)
            )
        os.replace(tmp, path)
        return path


__all__ = ["FORMAT_VERSION", "RUNTIME_PARAMS", "FoldCheckpoints", "FoldResult", "data_fingerprint"]
