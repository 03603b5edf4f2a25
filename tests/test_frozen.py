"""The text layer's views are frozen dataclasses: fixed fields, immutable,
replaceable and picklable (caches and the scan's workers rely on it)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from drugwatch.lexicon.matcher import LexiconHit
from drugwatch.text.analyze import HashtagSpan, TextView, analyze
from drugwatch.text.contacts import Contact
from drugwatch.text.normalize import NormalizedText


@pytest.mark.parametrize("cls", [TextView, HashtagSpan, NormalizedText, Contact, LexiconHit])
def test_text_layer_classes_keep_their_dataclass_signature(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_text_layer_views_round_trip():
    view = analyze("x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax")
    assert pickle.loads(pickle.dumps(view)) == view
    hit = view.hits[0]
    assert dataclasses.replace(hit, in_hashtag=not hit.in_hashtag).in_hashtag is not hit.in_hashtag
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.raw = "changed"  # type: ignore[misc]
