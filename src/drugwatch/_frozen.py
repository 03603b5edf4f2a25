"""A faster ``__init__`` for the frozen, slotted dataclasses made per text.

``@dataclass(frozen=True)`` generates an ``__init__`` that stores each field
with ``object.__setattr__(self, name, value)`` (a global look-up, an
attribute look-up and a generic call per field), because the class's own
``__setattr__`` refuses assignment. The text layer builds several such
objects for every text it reads (a :class:`~drugwatch.text.analyze.TextView`,
its :class:`~drugwatch.text.normalize.NormalizedText`, each lexicon hit,
contact and hashtag span), and on the bench texts their construction was
about a tenth of the text layer's time.

:func:`fast_frozen_init` replaces that ``__init__`` with one that stores each
field through the slot's own descriptor (``Class.field.__set__``, looked up
once and kept in a closure cell), which skips the frozen ``__setattr__`` in the same
way and costs about half as much. Everything else stays the dataclass's:
fields, defaults, ``repr``, ``eq``, ``hash``, ``replace``, pickling and the
:class:`dataclasses.FrozenInstanceError` on assignment.
"""

from __future__ import annotations

import dataclasses
import types
from typing import TypeVar, cast

T = TypeVar("T")

__all__ = ["fast_frozen_init"]


def fast_frozen_init(cls: type[T]) -> type[T]:
    """Class decorator, placed above ``@dataclass(frozen=True, slots=True)``.

    Only plain fields are supported (no ``default_factory``, ``init=False``,
    keyword-only fields or ``__post_init__``); anything else raises
    ``TypeError`` when the class is defined, so a later change to the class
    cannot silently skip part of the dataclass's ``__init__``.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if not dataclasses.is_dataclass(cls) or params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_frozen_init needs @dataclass(frozen=True, slots=True) below it")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_frozen_init does not run __post_init__")
    names: list[str] = []
    namespace: dict[str, object] = {}
    args: list[str] = []
    for i, field in enumerate(dataclasses.fields(cls)):
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: fast_frozen_init supports plain fields only")
        names.append(field.name)
        namespace[f"_set{i}"] = getattr(cls, field.name).__set__
        if field.default is dataclasses.MISSING:
            args.append(field.name)
        else:
            namespace[f"_default{i}"] = field.default
            args.append(f"{field.name}=_default{i}")
    # The setters and defaults are closure cells of __init__ (as fast to read
    # as locals), so its signature is the dataclass's own.
    cells = ", ".join(namespace)
    body = "".join(f"        _set{i}(self, {name})\n" for i, name in enumerate(names)) or "        pass\n"
    source = f"def _make({cells}):\n    def __init__(self, {', '.join(args)}):\n{body}    return __init__\n"
    scope: dict[str, object] = {}
    exec(source, scope)  # noqa: S102 - source built from the class's own field names
    # exec hides the function's type from the checker; _make is defined just above.
    make = cast(types.FunctionType, scope["_make"])
    init = cast(types.FunctionType, make(**namespace))
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)  # what inspect.signature shows
    # Replacing the generated __init__ is this decorator's purpose; type.__setattr__
    # says so to the checker, which rejects assigning to a method.
    type.__setattr__(cls, "__init__", init)
    return cls
