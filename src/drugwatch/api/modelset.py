"""The models the service scores with: loaded once, swapped atomically.

A :class:`ModelSet` is immutable: the :class:`~drugwatch.scoring.EventScorer`
of a model directory plus what ``/v1/models`` shows about it. The
:class:`ModelHolder` keeps the current set in one attribute; a request takes
the set once, when it starts, so a reload (``POST /v1/models/reload`` or the
directory watcher) never changes the models under a request in flight: it
finishes on the old set, the next request gets the new one. A reload that
fails leaves the old set in place and is reported (409, ``/health``).

The directory is the one ``EventScorer.default`` reads: ``selling/`` and
``drugtype/`` sub-directories, each a saved detector. A dealer-account
model (``drugwatch.accounts.v1``, :mod:`drugwatch.accounts`) is loaded too
when the directory has an ``account/`` sub-directory (or
``DRUGWATCH_API_ACCOUNT_MODEL`` names one); ``POST /v1/score/account`` then
adds its dealer probability. To swap models without
a restart, write the new directories and then either call the reload route
or let the watcher notice (it compares file sizes and modification times,
and the resolved path, so switching a symlink counts as a change).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.models.base import CONFIG_FILE, ModelLoadError
from drugwatch.scoring import DEFAULT_DETECTORS, EventScorer, ModelInfo

#: Sub-directory of the model directory holding an optional dealer-account model.
ACCOUNT_SUBDIR = "account"


class ModelReloadError(RuntimeError):
    """A reload that failed; the service keeps its current models."""


@dataclass(frozen=True)
class LoadedModel:
    info: ModelInfo
    #: SHA-256 over the model directory's files (names and bytes): tells two
    #: saved copies apart even when they were trained on the same data.
    files_sha256: str
    columns: tuple[str, ...]
    saved_at: str | None = None


@dataclass(frozen=True)
class AccountModel:
    detector: Any  # drugwatch.accounts.AccountDetector (imported only when one is configured)
    loaded: LoadedModel


@dataclass(frozen=True)
class ModelSet:
    scorer: EventScorer
    models: tuple[LoadedModel, ...]
    directory: Path
    generation: int
    loaded_at: datetime
    account: AccountModel | None = None
    #: Scorers restricted to a subset of the models, keyed by registry names.
    _subsets: dict[frozenset[str], EventScorer] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.info.name for m in self.models)

    @property
    def all_models(self) -> tuple[LoadedModel, ...]:
        """The event models, then the account model if any."""
        return self.models + ((self.account.loaded,) if self.account is not None else ())

    def get(self, name: str) -> LoadedModel | None:
        return next((m for m in self.all_models if m.info.name == name), None)

    def scorer_for(self, names: frozenset[str] | None) -> EventScorer:
        """The scorer applying only ``names`` (all models when ``None``); unknown names raise KeyError."""
        if not names or names == frozenset(self.names):
            return self.scorer
        unknown = sorted(names - set(self.names))
        if unknown:
            raise KeyError(unknown)
        return self._subsets[names]


def directory_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(item.relative_to(path).as_posix().encode("utf-8") + b"\0")
        digest.update(item.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def account_model_dir(models_dir: Path, explicit: Path | None = None) -> Path | None:
    """The dealer-account model directory: ``explicit``, else ``models_dir/account`` when it exists."""
    if explicit is not None:
        return explicit
    candidate = models_dir / ACCOUNT_SUBDIR
    return candidate if (candidate / CONFIG_FILE).is_file() else None


def directory_stamp(root: Path, account_dir: Path | None = None) -> tuple:
    """What the watcher compares: resolved paths, and size + mtime of every model file."""
    folders = [(sub, root.resolve() / sub) for sub in (*DEFAULT_DETECTORS, ACCOUNT_SUBDIR)]
    if account_dir is not None:
        folders.append(("account-model", account_dir.resolve()))
    entries = []
    for label, folder in folders:
        if not folder.is_dir():
            continue
        for item in sorted(folder.rglob("*")):
            try:
                stat = item.stat()
            except FileNotFoundError:
                continue
            if item.is_file():
                entries.append((label, str(item.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return (str(root.resolve()), tuple(entries))


def _load_account_model(path: Path) -> AccountModel:
    from drugwatch.accounts import load_account_detector

    detector = load_account_detector(path)
    config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    info = ModelInfo(
        name=detector.name,
        version=int(detector.version),
        task=str(detector.task),
        fingerprint=(config.get("training_data") or {}).get("fingerprint"),
        saved_at=config.get("saved_at"),
        threshold=float(detector.threshold_),
    )
    return AccountModel(
        detector, LoadedModel(info, directory_sha256(path), tuple(config["columns"]), config.get("saved_at"))
    )


_generation = itertools.count(1)


def load_model_set(directory: Path, account_dir: Path | None = None) -> ModelSet:
    """Load the default detectors saved under ``directory`` (``selling/``, ``drugtype/``)
    and the dealer-account model (see :func:`account_model_dir`)."""
    found = [directory / sub for sub in DEFAULT_DETECTORS if (directory / sub / CONFIG_FILE).is_file()]
    if not found:
        raise ModelLoadError(
            f"no detectors in {directory} (expected {', '.join(DEFAULT_DETECTORS)}/{CONFIG_FILE}); "
            "train them with `drugwatch demo` or `drugwatch train`, or set DRUGWATCH_API_MODELS"
        )
    scorer = EventScorer.from_directories(found)
    models = []
    for info, path in zip(scorer.models, found):
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        models.append(LoadedModel(info, directory_sha256(path), tuple(config["columns"]), config.get("saved_at")))
    # Scorers for ``?model=`` subsets. Each loads its directories again: the
    # scorer's public constructor takes directories, and the default fast
    # detectors are small (a few MB); only two subsets exist for two models.
    subsets: dict[frozenset[str], EventScorer] = {}
    for n in range(1, len(found)):
        for combo in itertools.combinations(range(len(found)), n):
            subsets[frozenset(models[i].info.name for i in combo)] = EventScorer.from_directories(
                [found[i] for i in combo]
            )
    account_path = account_model_dir(directory, account_dir)
    account = _load_account_model(account_path) if account_path is not None else None
    return ModelSet(scorer, tuple(models), directory, next(_generation), datetime.now(UTC), account, subsets)


class ModelHolder:
    """The current :class:`ModelSet`; reloads are serialized, the swap is one assignment."""

    def __init__(
        self,
        directory: Path,
        account_dir: Path | None = None,
        loader: Callable[[Path, Path | None], ModelSet] = load_model_set,
    ) -> None:
        self.directory = directory
        self.account_dir = account_dir
        self.loader = loader
        self._lock = threading.Lock()
        self.stamp = self._stamp()
        self.current: ModelSet = loader(directory, account_dir)
        self.last_error: str | None = None

    def _stamp(self) -> tuple:
        return directory_stamp(self.directory, self.account_dir)

    def reload(self) -> ModelSet:
        """Load the directories again and swap them in; on failure keep the current set."""
        with self._lock:
            stamp = self._stamp()
            try:
                fresh = self.loader(self.directory, self.account_dir)
            except Exception as exc:  # any load failure must leave the service serving
                self.stamp = stamp  # do not retry the same broken files on every poll
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise ModelReloadError(self.last_error) from exc
            self.current = fresh
            self.stamp = stamp
            self.last_error = None
            return fresh

    def changed(self) -> bool:
        return self._stamp() != self.stamp
