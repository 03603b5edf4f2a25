"""Versioned names for detectors: ``"drugwatch.jmir_rf.v1"`` -> class.

A registry name is ``<namespace>.<model>.v<version>``. The version changes
whenever a change would make a saved model directory load into something
that predicts differently; :meth:`drugwatch.models.base.Detector.load`
refuses a directory whose name or version is not the one it expects.

>>> sorted(available_detectors())[:2]
['drugwatch.jmir_dt.v1', 'drugwatch.jmir_lstm.v1']
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from drugwatch.models.base import Detector, SavedModel

_NAME = re.compile(r"^(?P<base>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\.v(?P<version>[1-9][0-9]*)$")

#: Where each built-in detector is defined: its name -> the module whose import registers it.
#: Looking a name up imports only its module, so loading a scikit-learn model
#: never imports torch (the neural and image modules do). A test checks that
#: this table and the modules' ``@register`` names agree.
BUILTIN_DETECTORS: dict[str, str] = {
    "drugwatch.jmir_dt.v1": "drugwatch.models.jmir",
    "drugwatch.jmir_rf.v1": "drugwatch.models.jmir",
    "drugwatch.jmir_svm.v1": "drugwatch.models.jmir",
    "drugwatch.jmir_lstm.v1": "drugwatch.models.jmir_lstm",
    "drugwatch.yang_luo_text.v1": "drugwatch.models.yang_luo",
    "drugwatch.selling.v1": "drugwatch.models.selling",
    "drugwatch.selling.v2": "drugwatch.models.selling",
    "drugwatch.tfidf_lr.v1": "drugwatch.models.selling",
    "drugwatch.selling.v3": "drugwatch.models.selling_v3",
    "drugwatch.selling.v4": "drugwatch.models.selling_v4",
    # DMML multi-label (task "drugtype") detectors
    "drugwatch.tfidf_ovr.v1": "drugwatch.models.multilabel",
    "drugwatch.drugtype.v1": "drugwatch.models.multilabel",
    "drugwatch.drugtype.v2": "drugwatch.models.multilabel",
    "drugwatch.drugtype.v3": "drugwatch.models.multilabel",
    "drugwatch.fasttext.v1": "drugwatch.models.neural_text",
    "drugwatch.textcnn.v1": "drugwatch.models.neural_text",
    "drugwatch.textrnn.v1": "drugwatch.models.neural_text",
    "drugwatch.minilm.v1": "drugwatch.models.minilm",
    # DMML multimodal detectors
    "drugwatch.image_only.v1": "drugwatch.models.image_only",
    "drugwatch.fusion_concat.v1": "drugwatch.models.fusion",
    "drugwatch.fusion_fbc.v1": "drugwatch.models.fusion",
    "drugwatch.mmbt.v1": "drugwatch.models.mmbt",
    # Yang & Luo multitask image net, its late fusion, and the dealer-account model (task "dealer")
    "drugwatch.yang_luo_image.v1": "drugwatch.models.multitask_image",
    "drugwatch.yang_luo_fusion.v1": "drugwatch.models.late_fusion",
    "drugwatch.accounts.v1": "drugwatch.accounts.detector",
}

_REGISTRY: dict[str, type[SavedModel]] = {}
_loaded = False

D = TypeVar("D", bound="type[SavedModel]")


class UnknownDetectorError(KeyError):
    """A registry name that no detector carries."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def parse_name(name: str) -> tuple[str, int]:
    """Split ``"drugwatch.jmir_rf.v1"`` into ``("drugwatch.jmir_rf", 1)``."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(
            f"invalid registry name {name!r}; expected '<namespace>.<model>.v<N>', e.g. 'drugwatch.jmir_rf.v1'"
        )
    return match["base"], int(match["version"])


def register(name: str):
    """Class decorator: register a saved model (a :class:`Detector` or the account model) under ``name``."""
    base, version = parse_name(name)

    def decorate(cls: D) -> D:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"registry name {name!r} is already taken by {existing.__qualname__}")
        cls.name = name
        cls.base_name = base
        cls.version = version
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for module in dict.fromkeys(BUILTIN_DETECTORS.values()):
        importlib.import_module(module)
    _loaded = True


def available_models() -> list[str]:
    """Every registered name (event detectors and the account model), sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def available_detectors() -> list[str]:
    """The registered event detectors' names, sorted (the account model reads accounts, not events)."""
    from drugwatch.models.base import Detector

    _load_builtins()
    return sorted(name for name, cls in _REGISTRY.items() if issubclass(cls, Detector))


def get_model_class(name: str) -> type[SavedModel]:
    """The class registered under ``name`` (an event detector or another saved model); the error lists the known names.

    A built-in name imports only the module that defines it.
    """
    found = _REGISTRY.get(name)
    if found is not None:
        return found
    module = BUILTIN_DETECTORS.get(name)
    if module is not None:
        importlib.import_module(module)
        found = _REGISTRY.get(name)
        if found is not None:
            return found
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        base, version = parse_name(name)
        same_base = sorted(n for n, c in _REGISTRY.items() if c.base_name == base)
        hint = (
            f"; this drugwatch has {', '.join(same_base)}"
            if same_base
            else f"; known detectors: {', '.join(sorted(_REGISTRY))}"
        )
        raise UnknownDetectorError(f"no detector registered as {name!r}{hint}") from None


def get_detector_class(name: str) -> type[Detector]:
    """The event detector registered under ``name``; a name of another kind of model (accounts) is refused."""
    from drugwatch.models.base import Detector

    found = get_model_class(name)
    if not issubclass(found, Detector):
        raise ValueError(f"{name!r} is a {found.__name__} (task {found.task!r}), not an event detector")
    return found


def create_detector(name: str, **params: Any) -> Detector:
    """Build the detector registered under ``name`` with ``params``."""
    return get_detector_class(name)(**params)


__all__ = [
    "BUILTIN_DETECTORS",
    "UnknownDetectorError",
    "available_detectors",
    "available_models",
    "create_detector",
    "get_detector_class",
    "get_model_class",
    "parse_name",
    "register",
]
