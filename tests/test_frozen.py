"""fast_frozen_init keeps every behaviour of a frozen, slotted dataclass."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from drugwatch._frozen import fast_frozen_init
from drugwatch.lexicon.matcher import LexiconHit
from drugwatch.text.analyze import HashtagSpan, TextView, analyze
from drugwatch.text.contacts import Contact
from drugwatch.text.normalize import NormalizedText


@fast_frozen_init
@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 7
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class PlainPoint:
    x: int
    y: int = 7
    tags: tuple[str, ...] = ()


def test_construction_matches_the_dataclass():
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((), {"x": 3, "tags": ("a",)}), ((4,), {"y": 0})]:
        fast, plain = Point(*args, **kwargs), PlainPoint(*args, **kwargs)
        assert (fast.x, fast.y, fast.tags) == (plain.x, plain.y, plain.tags)
    assert Point(1) == Point(1, 7, ()) and Point(1) != Point(2)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert repr(Point(1)) == "Point(x=1, y=7, tags=())"
    assert inspect.signature(Point) == inspect.signature(PlainPoint)


def test_argument_errors_match_the_dataclass():
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, 2, (), 4)
    with pytest.raises(TypeError):
        Point(1, z=3)


def test_still_frozen_replaceable_and_picklable():
    p = Point(1, 2, ("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5  # type: ignore[misc]
    assert dataclasses.replace(p, y=9) == Point(1, 9, ("a",))
    assert pickle.loads(pickle.dumps(p)) == p


def test_refuses_what_it_would_not_copy():
    with pytest.raises(TypeError, match="frozen=True, slots=True"):

        @fast_frozen_init
        @dataclasses.dataclass(frozen=True)
        class NoSlots:
            x: int

    with pytest.raises(TypeError, match="plain fields"):

        @fast_frozen_init
        @dataclasses.dataclass(frozen=True, slots=True)
        class Factory:
            x: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="__post_init__"):

        @fast_frozen_init
        @dataclasses.dataclass(frozen=True, slots=True)
        class Post:
            x: int

            def __post_init__(self) -> None:
                pass


@pytest.mark.parametrize("cls", [TextView, HashtagSpan, NormalizedText, Contact, LexiconHit])
def test_text_layer_classes_keep_their_dataclass_signature(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names


def test_text_layer_views_round_trip():
    view = analyze("x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax")
    assert pickle.loads(pickle.dumps(view)) == view
    hit = view.hits[0]
    assert dataclasses.replace(hit, in_hashtag=not hit.in_hashtag).in_hashtag is not hit.in_hashtag
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.raw = "changed"  # type: ignore[misc]
