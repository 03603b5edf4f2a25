"""The saved-model base, the event detector contract, model directories and model cards.

:class:`SavedModel` holds what every registered model shares: parameters
and their constraints, ``save`` / ``load`` of a model directory, the model
card. :class:`Detector` is the saved model that reads events; the
dealer-account model reads accounts and derives from :class:`SavedModel`
directly. Every detector follows the scikit-learn contract:

* the constructor only stores its keyword arguments (``get_params`` reads
  them back); all work happens in :meth:`Detector.fit`, which returns
  ``self``; learned state ends in ``_`` (``vocabulary_``, ``threshold_``);
* parameter constraints are declared as data (``_parameter_constraints``)
  and checked when ``fit`` runs, with messages that say how to fix the call;
* :meth:`Detector.predict_proba` returns an array of shape
  ``(n_events, len(detector.columns))`` in a fixed, documented order:

  - ``task == "selling"`` (binary): columns ``("not_selling", "selling")``;
    column 1 is the probability that the event is a drug-selling post.
  - ``task == "drugtype"`` (multi-label): the 10 columns of
    :data:`drugwatch.labels.LABELS`, in that order; each is an independent
    probability.
  - ``task == "drug_image"``: Yang & Luo's image heads ``drug``, ``weed``,
    ``pills``, ``syrup`` (:mod:`drugwatch.models.multitask_image`).

* :meth:`Detector.predict` is :meth:`Detector.decide` of the probabilities,
  which applies ``threshold_`` (learned in ``fit`` where the detector tunes
  one, else 0.5) or the detector's own decoding.

A fitted detector is saved as a *model directory*::

    model-best/
      config.json   registry name + version, hyperparameters, columns,
                    threshold, library versions, training-data fingerprint
                    and statistics, evaluation results
      weights.*     the learned state (``weights.npz`` for the models that
                    declare ``weights_format = "npz"``, ``weights.pkl`` for
                    other scikit-learn models, ``weights.pt`` + ``vocab.json``
                    for PyTorch)
      README.md     a generated model card

:meth:`SavedModel.load` checks the registry name and version written in
``config.json`` and fails with :class:`ModelLoadError` on a mismatch.
``weights.pkl`` is a pickle: load model directories only from sources you
trust, as with any pickled scikit-learn model. ``weights.npz`` holds numpy
arrays only (read with ``allow_pickle=False``) and a JSON description of
the state (:func:`encode_state`): objects in it are rebuilt only from classes
and functions registered with :func:`saved_state`, and reading it imports
nothing of scikit-learn. A directory holding both reads ``weights.npz``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
import pickle
import platform
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from drugwatch.labels import LABELS
from drugwatch.records import Event

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

Task = Literal["selling", "drugtype", "drug_image"]

#: Column order of a binary (``task="selling"``) detector's ``predict_proba``.
SELLING_COLUMNS: tuple[str, str] = ("not_selling", "selling")

CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
WEIGHTS_FILE = "weights.pkl"
WEIGHTS_NPZ = "weights.npz"
#: Bumped when the layout of a model directory changes.
FORMAT_VERSION = 1


class NotFittedError(RuntimeError):
    """``predict_proba`` / ``save`` called before ``fit``."""


class ModelLoadError(RuntimeError):
    """A model directory that cannot be loaded as asked (missing, other name or version)."""


# ---------------------------------------------------------------------------
# Parameter constraints, declared as data


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]`` (``None``: unbounded); ``kind`` is ``int`` or ``float``."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        value = float(value)
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def describe(self) -> str:
        name = "an integer" if self.kind is int else "a number"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{name} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of ``types`` (``None`` allowed when listed as ``type(None)``)."""

    types: tuple[type, ...]

    def accepts(self, value: Any) -> bool:
        if bool not in self.types and isinstance(value, bool):
            return False
        return isinstance(value, self.types)

    def describe(self) -> str:
        return "of type " + " or ".join(t.__name__ for t in self.types)


Constraint = Interval | Options | InstanceOf


def check_parameters(owner: str, params: Mapping[str, Any], constraints: Mapping[str, Sequence[Constraint]]) -> None:
    """Raise ``ValueError`` naming every parameter that meets none of its constraints."""
    problems = []
    for name, allowed in constraints.items():
        value = params.get(name)
        if not any(c.accepts(value) for c in allowed):
            wanted = " or ".join(c.describe() for c in allowed)
            problems.append(f"'{name}' must be {wanted}; got {value!r}")
    if problems:
        raise ValueError(f"{owner}: invalid parameter(s): " + "; ".join(problems))


# ---------------------------------------------------------------------------
# The weights.npz format: numpy arrays and a JSON description of the state

#: Classes and functions a ``weights.npz`` may name, by ``module:qualname``.
_STATE_TYPES: dict[str, Any] = {}
_STATE_KEY = "__state__"


def saved_state(obj: Any) -> Any:
    """Register a class (or function) whose instances (or itself) :func:`encode_state` may write.

    A class's state is its ``__getstate__()`` (its ``__dict__`` unless it
    defines one) and is restored with ``__setstate__`` or into ``__dict__``;
    the class's module must be a ``drugwatch`` module, imported when a file
    names it.
    """
    _STATE_TYPES[f"{obj.__module__}:{obj.__qualname__}"] = obj
    return obj


def _state_type(key: str) -> Any:
    found = _STATE_TYPES.get(key)
    if found is None:
        module = key.partition(":")[0]
        if module == "drugwatch" or module.startswith("drugwatch."):
            import importlib

            importlib.import_module(module)  # registers its classes
            found = _STATE_TYPES.get(key)
    if found is None:
        raise ModelLoadError(f"the weights name {key!r}, which is not a registered saved-state type")
    return found


def _pack_strings(strings: Sequence[str], arrays: dict[str, np.ndarray]) -> list[str]:
    """Store strings as one UTF-8 blob and their lengths; return the two array names."""
    blob, lengths = f"a{len(arrays)}", f"a{len(arrays) + 1}"
    arrays[blob] = np.frombuffer("".join(strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    arrays[lengths] = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    return [blob, lengths]


def _unpack_strings(names: Sequence[str], arrays: Mapping[str, np.ndarray]) -> list[str]:
    text = arrays[names[0]].tobytes().decode("utf-8", "surrogatepass")
    ends = np.cumsum(arrays[names[1]]).tolist()
    return [text[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def _add_array(value: np.ndarray, arrays: dict[str, np.ndarray]) -> str:
    if value.dtype.hasobject:
        raise TypeError("arrays of Python objects cannot be written to weights.npz")
    name = f"a{len(arrays)}"
    arrays[name] = value
    return name


def encode_state(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-able description of ``value``; its arrays go into ``arrays`` (by the names it holds).

    Writes ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples,
    dicts, sets, numpy arrays and scalars, scipy CSR matrices and objects of
    :func:`saved_state` types; raises ``TypeError`` for anything else.
    Dicts of strings to strings or to integers (vocabularies, mask indexes)
    and sets of strings are written as arrays.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"__array__": _add_array(value, arrays)}
    if isinstance(value, np.generic):
        return {"__scalar__": _add_array(np.asarray(value), arrays)}
    if isinstance(value, list):
        return [encode_state(v, arrays) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode_state(v, arrays) for v in value]}
    if isinstance(value, (set, frozenset)):
        tag = "__frozenset__" if isinstance(value, frozenset) else "__set__"
        if all(isinstance(v, str) for v in value):
            return {tag: _pack_strings(sorted(value), arrays)}
        return {tag + "items": [encode_state(v, arrays) for v in value]}
    if isinstance(value, dict):
        if value and all(type(k) is str for k in value):
            values = list(value.values())
            if all(type(v) is str for v in values):
                return {"__strdict__": _pack_strings(list(value), arrays) + _pack_strings(values, arrays)}
            if all(type(v) is int or isinstance(v, np.integer) for v in values):  # numpy ints read back as int
                ids = _add_array(np.fromiter(values, dtype=np.int64, count=len(values)), arrays)
                return {"__intdict__": [*_pack_strings(list(value), arrays), ids]}
        return {"__dict__": [[encode_state(k, arrays), encode_state(v, arrays)] for k, v in value.items()]}
    kind = type(value)
    if kind.__module__.startswith("scipy.sparse") and getattr(value, "format", None) == "csr":
        return {
            "__csr__": kind.__name__,
            "shape": list(value.shape),
            "data": _add_array(value.data, arrays),
            "indices": _add_array(value.indices, arrays),
            "indptr": _add_array(value.indptr, arrays),
        }
    key = f"{getattr(value, '__module__', '')}:{getattr(value, '__qualname__', '')}"
    if callable(value) and _STATE_TYPES.get(key) is value:
        return {"__function__": key}
    key = f"{kind.__module__}:{kind.__qualname__}"
    if _STATE_TYPES.get(key) is kind:
        state = value.__getstate__() if "__getstate__" in vars(kind) else vars(value)
        return {"__object__": key, "state": encode_state(state, arrays)}
    raise TypeError(f"{kind.__module__}.{kind.__qualname__} cannot be written to weights.npz (not a saved-state type)")


def decode_state(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The value :func:`encode_state` described."""
    if isinstance(value, list):
        return [decode_state(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__scalar__" in value:
        return arrays[value["__scalar__"]][()]
    if "__tuple__" in value:
        return tuple(decode_state(v, arrays) for v in value["__tuple__"])
    if "__frozenset__" in value:
        return frozenset(_unpack_strings(value["__frozenset__"], arrays))
    if "__set__" in value:
        return set(_unpack_strings(value["__set__"], arrays))
    if "__frozenset__items" in value:
        return frozenset(decode_state(v, arrays) for v in value["__frozenset__items"])
    if "__set__items" in value:
        return {decode_state(v, arrays) for v in value["__set__items"]}
    if "__strdict__" in value:
        names = value["__strdict__"]
        return dict(zip(_unpack_strings(names[:2], arrays), _unpack_strings(names[2:], arrays)))
    if "__intdict__" in value:
        names = value["__intdict__"]
        return dict(zip(_unpack_strings(names[:2], arrays), arrays[names[2]].tolist()))
    if "__dict__" in value:
        return {decode_state(k, arrays): decode_state(v, arrays) for k, v in value["__dict__"]}
    if "__csr__" in value:
        import scipy.sparse as sp

        kind = {"csr_matrix": sp.csr_matrix, "csr_array": sp.csr_array}[value["__csr__"]]
        parts = (arrays[value["data"]], arrays[value["indices"]], arrays[value["indptr"]])
        return kind(parts, shape=tuple(value["shape"]))
    if "__function__" in value:
        return _state_type(value["__function__"])
    if "__object__" in value:
        kind = _state_type(value["__object__"])
        obj = kind.__new__(kind)
        state = decode_state(value["state"], arrays)
        if "__setstate__" in vars(kind):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
        return obj
    raise ModelLoadError(f"weights.npz: unknown entry {sorted(value)!r}")


def write_state_npz(path: Path, state: Mapping[str, Any]) -> None:
    """Write ``state`` (a dict of learned attributes) as ``weights.npz`` (:func:`encode_state`)."""
    arrays: dict[str, np.ndarray] = {}
    described = encode_state(dict(state), arrays)
    arrays[_STATE_KEY] = np.frombuffer(json.dumps(described).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as handle:
        stored: dict[str, Any] = arrays  # typed loosely: numpy's stub reads a key as its allow_pickle flag
        np.savez(handle, allow_pickle=False, **stored)


def read_state_npz(path: Path) -> dict[str, Any]:
    """The state :func:`write_state_npz` wrote (no pickle: ``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    described = json.loads(arrays.pop(_STATE_KEY).tobytes().decode("utf-8"))
    state = decode_state(described, arrays)
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path}: the stored state is not a dict of attributes")
    return state


# ---------------------------------------------------------------------------
# Inputs


def as_events(events: Any, *, what: str = "events") -> list[Event]:
    """Validate the ``events`` argument of ``fit`` / ``predict_proba``.

    Accepts an iterable of :class:`~drugwatch.records.Event` or of raw text
    strings (each becomes an event with that text). A bare string is refused:
    iterating it would feed one character per event.
    """
    if isinstance(events, (str, bytes)):
        raise TypeError(
            f"Iterable over Event objects or raw text strings expected for {what}, "
            f"{type(events).__name__} object received. Wrap a single text in a list: "
            "detector.predict_proba([text])."
        )
    if isinstance(events, Event):
        raise TypeError(
            f"Iterable over Event objects expected for {what}, a single Event received. "
            "Wrap it in a list: detector.predict_proba([event])."
        )
    if not isinstance(events, Iterable):
        raise TypeError(f"Iterable over Event objects expected for {what}, {type(events).__name__} received.")
    out: list[Event] = []
    for i, item in enumerate(events):
        if isinstance(item, Event):
            out.append(item)
        elif isinstance(item, str):
            out.append(Event(id=f"text-{i}", text=item))
        else:
            raise TypeError(f"{what}[{i}] is a {type(item).__name__}; expected an Event or a str")
    return out


def selling_targets(events: Sequence[Event], y: Any | None) -> np.ndarray:
    """Binary targets as an int array of 0/1, from ``y`` or from ``event.selling``."""
    if y is None:
        missing = [e.id for e in events if e.selling is None]
        if missing:
            raise ValueError(
                f"{len(missing)} event(s) have selling=None (first: {missing[0]!r}); "
                "pass y explicitly or drop unlabelled events"
            )
        return np.array([int(bool(e.selling)) for e in events], dtype=np.int64)
    if isinstance(y, str):
        raise TypeError("y must be a sequence of 0/1 or booleans, not a string")
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != len(events):
        raise ValueError(f"y must be 1-D with one entry per event ({len(events)}); got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("y must hold only 0/1 (or False/True) for a selling detector")
    return arr.astype(np.int64)


def drugtype_targets(events: Sequence[Event], y: Any | None) -> np.ndarray:
    """Multi-label targets ``(n, 10)`` in :data:`LABELS` order."""
    if y is None:
        missing = [e.id for e in events if e.labels is None]
        if missing:
            raise ValueError(f"{len(missing)} event(s) have labels=None (first: {missing[0]!r}); pass y explicitly")
        out = np.zeros((len(events), len(LABELS)), dtype=np.int64)
        index = {name: i for i, name in enumerate(LABELS)}
        for row, event in enumerate(events):
            for name in event.labels or ():
                out[row, index[name]] = 1
        return out
    arr = np.asarray(y)
    if arr.shape != (len(events), len(LABELS)):
        raise ValueError(f"y must have shape ({len(events)}, {len(LABELS)}) in LABELS order; got {arr.shape}")
    return arr.astype(np.int64)


def data_fingerprint(events: Sequence[Event], y: np.ndarray) -> str:
    """SHA-256 over the training events' ids, texts and targets, in order."""
    digest = hashlib.sha256()
    for event, target in zip(events, y):
        digest.update(event.id.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(event.text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(np.asarray(target, dtype=np.int64).tobytes())
        digest.update(b"\x1e")
    return digest.hexdigest()


def data_statistics(events: Sequence[Event], y: np.ndarray) -> dict[str, Any]:
    """Counts a model card reports about its training data."""
    stats: dict[str, Any] = {"n_events": len(events)}
    if y.ndim == 1:
        stats["n_positive"] = int(y.sum())
        stats["n_negative"] = int(len(y) - y.sum())
    else:
        stats["label_counts"] = {name: int(y[:, i].sum()) for i, name in enumerate(LABELS)}
    groups = {e.meta.get("group") or e.author for e in events}
    groups.discard(None)
    if groups:
        stats["n_groups"] = len(groups)
    subsources = Counter(str(e.meta.get("subsource") or e.meta.get("source") or e.platform) for e in events)
    stats["sources"] = dict(sorted(subsources.items(), key=lambda kv: (-kv[1], kv[0])))
    lengths = np.array([len(e.text) for e in events]) if events else np.zeros(1)
    stats["text_chars_median"] = float(np.median(lengths))
    return stats


def library_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("drugwatch", "numpy", "scikit-learn", "torch"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------
# Saved models: parameters, constraints, model directories and cards


class SavedModel(ABC):
    """What every registered model shares, whatever it reads (events, accounts, images).

    * the constructor only stores its keyword arguments (:meth:`get_params`
      reads them back), checked against ``_parameter_constraints`` by
      :meth:`_validate_params` when fitting starts;
    * fitted state ends in ``_``; ``threshold_`` and ``training_data_`` are
      set by fitting and written to ``config.json``;
    * :meth:`save` writes a model directory (``config.json`` with the files it
      holds, the weights through :meth:`_save_weights`, a ``README.md`` card)
      and :meth:`load` reads one back, checking the registry name, version,
      directory format and label order.

    :class:`Detector` (events) and the dealer-account model
    (:class:`drugwatch.accounts.detector.AccountDetector`) derive from it, each
    with its own ``fit`` / ``predict_proba`` over its own inputs.
    """

    name: ClassVar[str] = ""
    base_name: ClassVar[str] = ""
    version: ClassVar[int] = 0
    task: ClassVar[str] = ""
    #: One line for the model card.
    description: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}
    #: ``"npz"``: the weights are written as ``weights.npz`` (arrays and
    #: registered types only, read without pickle or scikit-learn); a model
    #: whose learned state holds other objects keeps ``"pickle"``.
    weights_format: ClassVar[Literal["pickle", "npz"]] = "pickle"

    threshold_: float
    training_data_: dict[str, Any]
    evaluation_: dict[str, Any]
    is_fitted_: bool

    # -- parameters ----------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as stored."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; valid: {', '.join(sorted(valid))}")
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    def _validate_params(self) -> None:
        """Check the stored parameters against ``_parameter_constraints`` (called when fitting starts)."""
        check_parameters(type(self).__name__, self.get_params(), self._parameter_constraints)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    @abstractmethod
    def columns(self) -> tuple[str, ...]:
        """Column names of ``predict_proba``, in order."""

    @property
    def classes_(self) -> tuple[str, ...]:
        """Alias of :attr:`columns` (scikit-learn's name)."""
        return self.columns

    def _check_fitted(self) -> None:
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first or {type(self).__name__}.load(model_dir)"
            )

    # -- persistence ----------------------------------------------------------

    def _learned_state(self) -> dict[str, Any]:
        """Everything learned (attributes ending in ``_``), for the weights file."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("__")}

    def _save_weights(self, directory: Path) -> list[str]:
        """Write the learned state; return the file names written.

        ``weights_format = "npz"``: ``weights.npz`` (:func:`write_state_npz`),
        replacing a ``weights.pkl`` left by an earlier save; else a pickle.
        """
        if self.weights_format == "npz":
            write_state_npz(directory / WEIGHTS_NPZ, self._learned_state())
            (directory / WEIGHTS_FILE).unlink(missing_ok=True)
            return [WEIGHTS_NPZ]
        with open(directory / WEIGHTS_FILE, "wb") as handle:
            pickle.dump(self._learned_state(), handle, protocol=pickle.HIGHEST_PROTOCOL)
        return [WEIGHTS_FILE]

    def _load_weights(self, directory: Path) -> None:
        if (directory / WEIGHTS_NPZ).is_file():
            state = read_state_npz(directory / WEIGHTS_NPZ)
        else:  # the pickle every directory held before weights.npz, and other models' format
            with open(directory / WEIGHTS_FILE, "rb") as handle:
                state = pickle.load(handle)  # noqa: S301 - model directories are trusted input
        for key, value in state.items():
            setattr(self, key, value)

    def config(self) -> dict[str, Any]:
        """The ``config.json`` content of this fitted model."""
        self._check_fitted()
        return _jsonable(
            {
                "format_version": FORMAT_VERSION,
                "registry_name": self.name,
                "base_name": self.base_name,
                "version": self.version,
                "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "task": self.task,
                "columns": list(self.columns),
                "labels": list(LABELS),
                "params": self.get_params(),
                "threshold": float(self.threshold_),
                "libraries": library_versions(),
                "training_data": self.training_data_,
                "evaluation": getattr(self, "evaluation_", None),
                "extra": self._extra_config(),
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def _extra_config(self) -> dict[str, Any]:
        """Model-specific facts for the config and card (vocabulary size, ...)."""
        return {}

    def save(self, directory: str | Path, *, evaluation: Mapping[str, Any] | None = None) -> Path:
        """Write a model directory (config.json, weights, README.md model card).

        ``evaluation`` (e.g. cross-validated metrics) is stored in the config
        and shown on the card; it also becomes ``self.evaluation_``.
        """
        self._check_fitted()
        if evaluation is not None:
            self.evaluation_ = _jsonable(dict(evaluation))
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self._save_weights(directory)
        config = self.config()
        config["files"] = files
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        (directory / CARD_FILE).write_text(render_model_card(config, self.description), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Load a model directory.

        Called on a base class (:class:`SavedModel`, :class:`Detector`) it
        builds whatever registered model the directory names, provided it is
        one of that base's kind; called on a registered class it also checks
        that the directory holds that model (registry name and version).
        """
        from drugwatch.models.registry import UnknownDetectorError, get_model_class

        directory = Path(directory)
        config_path = directory / CONFIG_FILE
        if not config_path.is_file():
            raise ModelLoadError(f"{directory} is not a model directory: no {CONFIG_FILE}")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{config_path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        saved = config.get("registry_name")
        if not isinstance(saved, str):
            raise ModelLoadError(f"{config_path} has no 'registry_name'")
        if cls.name and saved != cls.name:
            raise ModelLoadError(
                f"{directory} holds {saved!r}, but {cls.__name__}.load expects {cls.name!r}; "
                f"load it with SavedModel.load({str(directory)!r}) or retrain with {cls.name!r}"
            )
        try:
            target = get_model_class(saved)
        except (UnknownDetectorError, ValueError) as exc:
            raise ModelLoadError(f"cannot load {directory}: {exc}") from None
        if not issubclass(target, cls):
            raise ModelLoadError(
                f"{directory} holds {saved!r}, a {target.__name__}, not a {cls.__name__}; "
                f"load it with {target.__name__}.load or SavedModel.load"
            )
        if config.get("version") != target.version or config.get("base_name") != target.base_name:
            raise ModelLoadError(
                f"{directory}: config says {config.get('base_name')!r} version {config.get('version')!r}, "
                f"but {saved!r} is registered as {target.base_name!r} version {target.version}"
            )
        if config.get("format_version") != FORMAT_VERSION:
            raise ModelLoadError(
                f"{directory}: model directory format {config.get('format_version')!r}, "
                f"this drugwatch reads format {FORMAT_VERSION}"
            )
        if tuple(config.get("labels") or ()) != LABELS:
            raise ModelLoadError(f"{directory} was saved with another label order; retrain the model")
        model = target(**config.get("params", {}))
        model._load_weights(directory)
        model.threshold_ = float(config["threshold"])
        model.training_data_ = config.get("training_data") or {}
        if config.get("evaluation") is not None:
            model.evaluation_ = config["evaluation"]
        model.is_fitted_ = True
        return model


# ---------------------------------------------------------------------------
# The event detector contract


class Detector(SavedModel):
    """Base class of every drugwatch event detector (see the module docstring).

    Subclasses set ``task``, declare ``_parameter_constraints``, define an
    ``__init__`` with keyword-only arguments that it stores unchanged, and
    implement :meth:`_fit` and :meth:`_predict_proba`. They are registered
    with :func:`drugwatch.models.registry.register`, which sets ``name``,
    ``base_name`` and ``version``.
    """

    task: ClassVar[Task] = "selling"
    #: Whether :meth:`_predict_proba` takes the text layer's reading of the
    #: events (``views=``, one :class:`~drugwatch.text.analyze.TextView` per
    #: event): a caller that has read the events once (the scorer) passes
    #: them, and such a detector reads no text again.
    reads_views: ClassVar[bool] = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of ``predict_proba``, in order."""
        return SELLING_COLUMNS if self.task == "selling" else LABELS

    # -- fitting and predicting ---------------------------------------------

    def fit(self, events: Iterable[Event] | Iterable[str], y: Any | None = None) -> Detector:
        """Learn from ``events``; ``y`` defaults to the events' own labels.

        For ``task="selling"`` ``y`` is 0/1 per event (default
        ``event.selling``); for ``task="drugtype"`` an ``(n, 10)`` indicator
        matrix in :data:`LABELS` order (default ``event.labels``).
        """
        self._validate_params()
        events = as_events(events)
        if not events:
            raise ValueError(f"{type(self).__name__}.fit needs at least one event; got none")
        targets = selling_targets(events, y) if self.task == "selling" else drugtype_targets(events, y)
        if self.task == "selling" and len(np.unique(targets)) < 2:
            raise ValueError(f"{type(self).__name__}.fit needs both classes in y; got only class {int(targets[0])}")
        self.threshold_ = 0.5
        self._fit(events, targets)
        self.training_data_ = {
            "fingerprint": data_fingerprint(events, targets),
            **data_statistics(events, targets),
        }
        self.n_features_in_ = len(events)  # kept for sklearn tooling; real count is model-specific
        self.is_fitted_ = True
        return self

    def predict_proba(
        self, events: Iterable[Event] | Iterable[str], *, views: Sequence[TextView] | None = None
    ) -> np.ndarray:
        """Probabilities of shape ``(n_events, len(self.columns))`` in :attr:`columns` order.

        ``views``: the text layer's reading of each event's text
        (:func:`drugwatch.text.analyze.analyze_many`), in order, if the caller
        has it; a detector that :attr:`reads_views` uses it instead of reading
        the texts again. The probabilities are the same with or without it.
        """
        self._check_fitted()
        events = as_events(events)
        if not events:
            return np.zeros((0, len(self.columns)), dtype=np.float64)
        if views is not None:
            views = list(views)
            if len(views) != len(events):
                raise ValueError(f"views: {len(views)} given for {len(events)} events")
            for i, (event, view) in enumerate(zip(events, views)):
                if view.raw != event.text:
                    raise ValueError(f"views[{i}] is the reading of another text than events[{i}]'s")
        if views is not None and self.reads_views:
            proba = np.asarray(self._predict_proba(events, views=views), dtype=np.float64)  # type: ignore[call-arg]
        else:
            proba = np.asarray(self._predict_proba(events), dtype=np.float64)
        if self.task == "selling" and proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    def predict(
        self, events: Iterable[Event] | Iterable[str], *, views: Sequence[TextView] | None = None
    ) -> np.ndarray:
        """0/1 per event (selling) or an ``(n, 10)`` indicator (drugtype): ``decide(predict_proba(events))``."""
        return self.decide(self.predict_proba(events, views=views))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Labels from probabilities: the one place where this detector's scores become decisions.

        ``proba`` is what :meth:`predict_proba` returned (shape ``(n, 2)`` for
        selling, ``(n, 10)`` for drug type). Evaluation, training, the scan,
        the API and the report all call this, so the labels they publish are
        the labels that were evaluated. Selling: 0/1 at ``threshold_``; drug
        type: an indicator at ``threshold_`` (multi-label detectors override
        this with their per-label decoding).
        """
        self._check_fitted()
        proba = np.asarray(proba, dtype=np.float64)
        if self.task == "selling":
            if proba.ndim != 2 or proba.shape[1] != 2:
                raise ValueError(f"selling probabilities must have shape (n, 2); got {proba.shape}")
            return (proba[:, 1] >= self.threshold_).astype(np.int64)
        return (proba >= self.threshold_).astype(np.int64)

    @abstractmethod
    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        """Learn the state; may set ``self.threshold_``."""

    @abstractmethod
    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        """Column 1 probabilities (1-D) or the full matrix."""


# ---------------------------------------------------------------------------
# Model card


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render_model_card(config: Mapping[str, Any], description: str = "") -> str:
    """A markdown model card from a model directory's config."""
    lines = [f"# {config['registry_name']}", ""]
    if description:
        lines += [description, ""]
    lines += [
        f"- task: `{config['task']}`; `predict_proba` columns: " + ", ".join(f"`{c}`" for c in config["columns"]),
        f"- decision threshold on the positive column: {config['threshold']:.4f}",
        f"- saved: {config.get('saved_at', '?')}",
        "",
        "## Hyperparameters",
        "",
        "| parameter | value |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | `{v!r}` |" for k, v in config["params"].items()]
    data = dict(config.get("training_data") or {})
    sources = data.pop("sources", {})
    lines += ["", "## Training data", "", "| statistic | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in data.items() if not isinstance(v, Mapping)]
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += [f"| {key} | " + ", ".join(f"{a}: {b}" for a, b in value.items()) + " |"]
    if sources:
        lines += ["", "| source | events |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sources.items()]
    lines += ["", "## Evaluation", ""]
    evaluation = config.get("evaluation")
    if evaluation:
        scalar = {k: v for k, v in evaluation.items() if not isinstance(v, (Mapping, list))}
        if scalar:
            lines += ["| metric | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in scalar.items()]
        for key, value in evaluation.items():
            if isinstance(value, Mapping):
                lines += ["", f"**{key}**", "", "| key | value |", "|---|---|"]
                lines += [f"| {a} | {_fmt(b)} |" for a, b in value.items()]
    else:
        lines += [
            "No evaluation was recorded with this model. Run `drugwatch evaluate CONFIG` for cross-validated numbers."
        ]
    extra = config.get("extra") or {}
    if extra:
        lines += ["", "## Model details", "", "| detail | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in extra.items()]
    lines += [
        "",
        "## Libraries",
        "",
        ", ".join(f"{k} {v}" for k, v in (config.get("libraries") or {}).items()),
        "",
        "## Intended use and limits",
        "",
        "Screening social-media events for human review. Scores are evidence for an analyst, "
        "not a verdict. Numbers measured on the drugwatch bench are proxy numbers (public "
        "tweets, SMS and darknet listings), not Instagram results.",
        "",
        f"Training-data fingerprint (SHA-256 of ids, texts and targets): `{data.get('fingerprint', '?')}`"
        if "fingerprint" in data
        else "",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "CARD_FILE",
    "CONFIG_FILE",
    "Detector",
    "InstanceOf",
    "Interval",
    "ModelLoadError",
    "NotFittedError",
    "Options",
    "SELLING_COLUMNS",
    "SavedModel",
    "Task",
    "WEIGHTS_NPZ",
    "as_events",
    "check_parameters",
    "data_fingerprint",
    "decode_state",
    "encode_state",
    "read_state_npz",
    "render_model_card",
    "saved_state",
    "write_state_npz",
]
