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
    from drugwatch.models.base import Detector

_NAME = re.compile(r"^(?P<base>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\.v(?P<version>[1-9][0-9]*)$")

#: Modules whose import registers the built-in detectors.
_BUILTIN_MODULES = (
    "drugwatch.models.jmir",
    "drugwatch.models.jmir_lstm",
    "drugwatch.models.yang_luo",
    "drugwatch.models.selling",
    "drugwatch.models.selling_v3",
    # DMML multi-label (task "drugtype") detectors
    "drugwatch.models.multilabel",
    "drugwatch.models.neural_text",
    "drugwatch.models.minilm",
    # DMML multimodal detectors
    "drugwatch.models.image_only",
    "drugwatch.models.fusion",
    "drugwatch.models.mmbt",
    # Yang & Luo multitask image net, its late fusion, and the dealer-account model (task "dealer")
    "drugwatch.models.multitask_image",
    "drugwatch.models.late_fusion",
    "drugwatch.accounts.detector",
)

_REGISTRY: dict[str, type[Detector]] = {}
_loaded = False

D = TypeVar("D", bound="type[Detector]")


class UnknownDetectorError(KeyError):
    """A registry name that no detector carries."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def parse_name(name: str) -> tuple[str, int]:
    """Split ``"drugwatch.jmir_rf.v1"`` into ``("drugwatch.jmir_rf", 1)``."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(
            f"invalid registry name {name!r}; expected '<namespace>.<model>.v<N>', "
            "e.g. 'drugwatch.jmir_rf.v1'"
        )
    return match["base"], int(match["version"])


def register(name: str):
    """Class decorator: register a :class:`Detector` under ``name``."""
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
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    _loaded = True


def available_detectors() -> list[str]:
    """All registered names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_detector_class(name: str) -> type[Detector]:
    """The class registered under ``name``; the error lists the known names."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        base, version = parse_name(name)
        same_base = sorted(n for n, c in _REGISTRY.items() if c.base_name == base)
        hint = (
            f"; this drugwatch has {', '.join(same_base)}" if same_base
            else f"; known detectors: {', '.join(sorted(_REGISTRY))}"
        )
        raise UnknownDetectorError(f"no detector registered as {name!r}{hint}") from None


def create_detector(name: str, **params: Any) -> Detector:
    """Build the detector registered under ``name`` with ``params``."""
    return get_detector_class(name)(**params)


__all__ = [
    "UnknownDetectorError",
    "available_detectors",
    "create_detector",
    "get_detector_class",
    "parse_name",
    "register",
]
