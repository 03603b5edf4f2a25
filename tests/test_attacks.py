"""The obfuscation attack harness."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drugwatch.evaluation.attacks import (
    FAMILIES,
    STRENGTHS,
    attack,
    attacked_events,
    robustness_table,
    run_robustness,
)
from drugwatch.records import Event

TEXT = "Xanax 2mg bars, 100 pills for $150 at https://shop.example/x @plug_7 #xanax"


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_changes_words_and_is_deterministic(family):
    out = attack(TEXT, family, "heavy", seed=1)
    assert out != TEXT
    assert out == attack(TEXT, family, "heavy", seed=1)
    # numbers, prices, URLs and handles are left alone
    for kept in ("2mg", "100", "$150", "https://shop.example/x", "@plug_7"):
        assert kept in out, (family, out)


def test_family_signatures():
    assert attack("cocaine", "separator", "heavy")[1] in ".-_*·| "
    assert any(ch.isdigit() or ch in "@$!" for ch in attack("cocaine", "leetspeak", "heavy"))
    zw = attack("cocaine", "zero_width", "heavy")
    assert zw != "cocaine" and "".join(ch for ch in zw if ch.isalpha()) == "cocaine"
    assert unicodedata.normalize("NFKC", attack("cocaine", "math_alphabet", "heavy")).lower() == "cocaine"
    assert any(ord(ch) > 127 for ch in attack("cocaine", "homoglyph", "heavy"))
    masked = attack("cocaine", "mask", "heavy")
    assert len(masked) == 7 and sum(a != b for a, b in zip(masked, "cocaine")) == 1
    assert len(attack("cocaine", "repeat", "heavy")) >= 9


def test_strength_is_the_share_of_words_attacked():
    words = " ".join(["cocaine"] * 400)
    changed = {s: sum(w != "cocaine" for w in attack(words, "separator", s).split("cocaine") if w) for s in STRENGTHS}
    light = sum(w != "cocaine" for w in attack(words, "leetspeak", "light").split())
    heavy = sum(w != "cocaine" for w in attack(words, "leetspeak", "heavy").split())
    assert 60 < light < 140 and heavy == 400
    assert changed  # separators rejoin words differently; only check it runs
    assert attack(words, "leetspeak", 0.0) == words


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown attack family 'typo'"):
        attack("x", "typo")
    with pytest.raises(ValueError, match="unknown strength 'extreme'"):
        attack("x", "mask", "extreme")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attack("x", "mask", 1.5)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80), st.sampled_from(FAMILIES), st.sampled_from(tuple(STRENGTHS)))
def test_attack_never_crashes(text, family, strength):
    out = attack(text, family, strength)
    assert isinstance(out, str)
    if not any(ch.isascii() and ch.isalpha() for ch in text):
        assert out == text  # nothing eligible


def test_attacked_events_keep_ids_and_labels():
    events = [Event(id="a", text="xanax bars", labels=("xanax",), meta={"group": "g"})]
    out = attacked_events(events, "mask", "heavy")
    assert out[0].id == "a" and out[0].labels == ("xanax",) and out[0].text != "xanax bars"
    assert events[0].text == "xanax bars"


class _Lexical:
    """A toy selling detector: 'xanax' in the *raw* text means selling."""

    threshold_ = 0.5

    def fit(self, events, y):
        return self

    def predict_proba(self, events):
        p = np.array([float("xanax" in e.text.lower()) for e in events])
        return np.column_stack([1 - p, p])

    def predict(self, events):
        return (self.predict_proba(events)[:, 1] >= self.threshold_).astype(np.int64)


def test_harness_shows_a_raw_text_detector_collapsing():
    events = [Event(id=f"p{i}", text=f"xanax bars batch {i}") for i in range(6)]
    events += [Event(id=f"n{i}", text=f"sunny beach day {i}") for i in range(6)]
    y = np.array([1] * 6 + [0] * 6)
    folds = [(np.arange(12), np.arange(12))]
    result = run_robustness(_Lexical, events, y, folds, task="selling", families=("separator", "zero_width"))
    assert result["pooled"]["clean"]["f1"] == 1.0
    assert result["pooled"]["separator/heavy"]["f1"] == 0.0
    assert result["mean"]["zero_width/light"]["f1"] <= 1.0
    table = robustness_table(result, "f1", source="pooled")
    assert "| separator | 100.0 |" in table and "+100.0" in table
    with pytest.raises(ValueError, match="task"):
        run_robustness(_Lexical, events, y, folds, task="other")


# -- masks of every kind, light mixtures, held-out alphabet and recipe -----------------


def test_vowel_masks_hide_every_vowel_with_one_symbol():
    from drugwatch.evaluation.attacks import HELDOUT_MASK_ALPHABET, MASK_ALPHABET

    for seed in range(20):
        out = attack("cocaine", "mask_vowels", "heavy", seed=seed)
        symbols = {out[i] for i in (1, 3, 4, 6)}
        assert len(out) == 7 and [out[i] for i in (0, 2, 5)] == ["c", "c", "n"], out
        assert len(symbols) == 1 and symbols <= set(MASK_ALPHABET)
        heavy = attack("cocaine", "mask_heavy", "heavy", seed=seed)
        assert sum(a != b for a, b in zip(heavy, "cocaine")) == 5 and heavy[0] == "c"
        held = attack("cocaine", "mask_heldout", "heavy", seed=seed)
        assert {held[i] for i in (1, 3, 4, 6)} <= set(HELDOUT_MASK_ALPHABET)
    assert not set(MASK_ALPHABET) & set(HELDOUT_MASK_ALPHABET)


def test_light_mixtures_apply_two_or_three_families_per_word():
    from drugwatch.evaluation.attacks import HELDOUT_MIXTURE, MIXABLE

    assert len(HELDOUT_MIXTURE) == 3 and set(HELDOUT_MIXTURE) <= set(MIXABLE)
    outs = {attack("cocaine", "mixture2", "heavy", seed=s) for s in range(30)}
    assert len(outs) > 20 and "cocaine" not in outs
    held = attack("cocaine", "mixture_heldout", "heavy", seed=0)
    visible = "".join(ch for ch in held if unicodedata.category(ch) != "Cf")
    assert held != visible  # the zero-width character came last
    assert len(visible) > 7  # stretched, then leet


def test_the_text_layer_reads_vowel_masks_by_skeleton():
    from drugwatch.text.analyze import analyze

    for family in ("mask_vowels", "mask_heldout"):
        read = sum(
            "cocaine" in analyze(attack("cocaine and ketamine", family, "heavy", seed=s)).labels for s in range(12)
        )
        assert read >= 6, family  # "." and "-" masks are separators to normalize(): not read
