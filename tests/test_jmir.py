"""JMIR 2019 preprocessing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drugwatch.text.jmir import JMIR_VARIANTS, STOP_WORDS, jmir_clean, jmir_tokens, jmir_variant

CLEAN = [
    ("Get your Xanax here!!! 💊 DM @demo_plug https://example.com #xanax#bars", "xanax dm demo_plug #xanax #bars"),
    ("ORDER NOW for quick delivery", "order quick delivery"),
    ("links www.example.org/menu t.me/demo_chan example.com and http://x.example/a?b=1 gone", "links gone"),
    ("it&#39;s lit &amp; don&#x27;t sleep", "lit dont sleep"),  # entities decoded
    ("2mg bars $5 each, 30mg percs", "2mg bars 5 30mg percs"),
    ("emoji 🍄🔥❄️ and symbols @ ! ? * % ~ ^", "emoji symbols"),
    ("lone # and ## stay out, #420 stays", "lone stay #420 stays"),
    ("the a an of and is", ""),
    ("#The #and", "#the #and"),  # hashtags are never stop-word filtered
    ("Шишки в наличии", "шишки в наличии"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), CLEAN)
def test_jmir_clean(text, expected):
    assert jmir_clean(text) == expected


def test_variants():
    post = "Order now! Xanax 2mg for sale, wickr: demo_plug #xanax #2mgxanax 🔥"
    assert jmir_variant(post, "with_hashtags") == ("order xanax 2mg sale wickr demo_plug #xanax #2mgxanax")
    assert jmir_variant(post, "hashtags_only") == "#xanax #2mgxanax"
    assert jmir_variant(post, "without_hashtags") == "order xanax 2mg sale wickr demo_plug"
    assert jmir_tokens(post) == (
        ["order", "xanax", "2mg", "sale", "wickr", "demo_plug"],
        ["#xanax", "#2mgxanax"],
    )
    with_tags = jmir_tokens(post, include_hashtags=True)[0]
    assert with_tags == jmir_variant(post, "with_hashtags").split()


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="unknown JMIR variant 'hashtags'"):
        jmir_variant("x", "hashtags")


def test_rejects_non_str():
    with pytest.raises(TypeError, match="expected a str"):
        jmir_clean(None)  # type: ignore[arg-type]


def test_stop_words_are_sklearns():
    assert {"the", "and", "for"} <= STOP_WORDS
    assert "xanax" not in STOP_WORDS


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_properties(text):
    cleaned = jmir_clean(text)
    assert "  " not in cleaned and cleaned == cleaned.strip()
    assert not any(c in cleaned for c in "!@")
    words, tags = jmir_tokens(text)
    assert all(t.startswith("#") for t in tags)
    assert not any(w.startswith("#") for w in words)
    assert not any(w in STOP_WORDS for w in words)
    assert sorted(" ".join(words + tags).split()) == sorted(cleaned.split())
    for variant in JMIR_VARIANTS:
        assert set(jmir_variant(text, variant).split()) <= set(cleaned.split())
    # idempotent
    assert jmir_clean(cleaned) == cleaned
