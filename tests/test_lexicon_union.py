"""The lexicon union's versions: version 2 counts only the evidence a disguise leaves."""

from __future__ import annotations

import numpy as np
import pytest

from drugwatch.labels import LABELS
from drugwatch.models.lexicon_union import (
    UNION_VERSIONS,
    confident_lexicon_labels,
    lexicon_union,
    sale_lexicon_labels,
    trusted_drug_hits,
)
from drugwatch.models.multilabel import decode
from drugwatch.text.analyze import analyze


def labels(text: str, version: int) -> tuple[str, ...]:
    return confident_lexicon_labels(text, version=version)[0]


def test_version_one_is_the_default_and_unknown_versions_are_refused():
    assert UNION_VERSIONS == (1, 2)
    texts = [
        "P*R* quality, fast shipping",
        "x*n*x, p*rc*c*t, c*c**n*, m*lly all available",
        "ΝЕED FОR SРEED RIVАLS - PS4 ΑCСОUNТ",
        "weed, coke and molly, hmu on snap",
        "lovely sunset at the beach",
    ]
    for text in texts:
        assert confident_lexicon_labels(text) == confident_lexicon_labels(text, version=1)
    proba = np.full((len(texts), len(LABELS)), 0.05)
    proba[:, LABELS.index("marijuana")] = 0.9
    thresholds = np.full(len(LABELS), 0.5)
    np.testing.assert_array_equal(
        lexicon_union(proba, texts, thresholds), lexicon_union(proba, texts, thresholds, version=1)
    )
    with pytest.raises(ValueError, match=r"lexicon union version must be one of \(1, 2\); got 3"):
        lexicon_union(proba, texts, thresholds, version=3)
    with pytest.raises(ValueError, match="must be one of"):
        confident_lexicon_labels("coke", version=0)


def test_version_two_drops_short_words_guessed_behind_masks():
    # "pure", "blue", "high" with their vowels masked read as drug words by
    # their two shown letters: version 1 takes the guess, version 2 does not
    assert labels("P*R* quality, fast shipping", 1) == ("painkiller",)
    assert labels("P*R* quality, fast shipping", 2) == ()
    assert labels("H●●h grade crystal", 1) == ("marijuana",)
    assert labels("H●●h grade crystal", 2) == ()
    # a reading with as many letters shown as hidden, three at least, counts
    assert labels("x*n*x 2mg bars, fast shipping", 2) == ("xanax",)
    assert labels("Tr-m-d-l 50mg", 2) == ("painkiller",)
    # plain words and other disguises that show every letter count as before
    for text in ("xanax 2mg", "XΑΝΑX 2mg", "x.a.n.a.x 2mg", "x4n4x 2mg", "xaaanax 2mg"):
        assert labels(text, 2) == ("xanax",), text


def test_version_two_counts_a_guessed_word_as_one_item_of_a_list_of_drugs():
    # "c*c**n*" shows 3 of 7 letters: alone it is a guess ...
    assert labels("c*c**n* for sale", 2) == ()
    # ... beside two other drugs read it is an item of the menu
    menu = "x*n*x, p*rc*c*t, c*c**n*, m*lly all available"
    assert labels(menu, 2) == labels(menu, 1) == ("mdma", "xanax", "painkiller", "cocaine")
    assert set(sale_lexicon_labels(menu, version=2)) == {"mdma", "xanax", "painkiller", "cocaine"}
    # O-shaped masks stand for the letter o where the reading has one
    assert labels("M∅lly, C∅ke, Shr∅∅ms, ∅xy", 2) == ("mdma", "painkiller", "mushroom", "cocaine")


def test_version_two_counts_a_disguised_ambiguous_word_only_where_the_disguise_sets_it_apart():
    # every word disguised: hiding "speed" says nothing about it
    for text in ("ΝЕED FОR SРEED RIVАLS - PS4 ΑCСОUNТ", "N33D F0R $P33D R!V4L$ - PS4 4CC0UN7"):
        assert labels(text, 1) == ("other_drugs",), text
        assert labels(text, 2) == (), text
    # one word disguised in a plain sentence: the disguise is a sign
    assert labels("got $P33D for sale, dm me", 2) == ("other_drugs",)
    # a list of drugs all written alike still names every one
    assert labels("ｃｏｋｅ ＆ ｍｏｌｌｙ ＆ ｗｅｅｄ", 2) == ("marijuana", "mdma", "cocaine")
    # emoji are no disguise
    emoji_menu = "🍁 🍄 ❄️ menu, dm to order"
    assert labels(emoji_menu, 2) == labels(emoji_menu, 1) == ("marijuana", "mushroom", "cocaine")


def test_trusted_drug_hits_is_a_subset_of_the_views_hits():
    for text in ("P*R* and x*n*x, wickr", "ΝЕED FОR SРEED", "LSD, MDMA, shrooms, coke", ""):
        view = analyze(text)
        trusted = trusted_drug_hits(view)
        assert set(trusted) <= set(view.drug_hits)
        assert list(trusted) == [h for h in view.drug_hits if h in trusted]  # order kept


def test_lexicon_union_version_two_leaves_the_model_alone_where_the_evidence_is_a_guess():
    thresholds = np.full(len(LABELS), 0.5)
    proba = np.full((2, len(LABELS)), 0.05)
    proba[:, LABELS.index("cocaine")] = 0.9  # the model decides cocaine on both
    texts = ["P*R* quality, fast shipping", "c0ke and x*n*x, hmu"]
    v1 = decode(lexicon_union(proba, texts, thresholds, version=1), thresholds)
    v2 = decode(lexicon_union(proba, texts, thresholds, version=2), thresholds)
    assert {LABELS[j] for j in np.flatnonzero(v1[0])} == {"cocaine", "painkiller"}
    assert {LABELS[j] for j in np.flatnonzero(v2[0])} == {"cocaine"}
    assert {LABELS[j] for j in np.flatnonzero(v2[1])} == {"cocaine", "xanax"}
