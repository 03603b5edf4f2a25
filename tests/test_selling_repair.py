"""``drugwatch.selling.v2`` reads disguised words back; v1's reading is unchanged."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from drugwatch.models.registry import create_detector
from drugwatch.models.selling import DENSE_FEATURES, text_features

ADVERT = "golden goat $2200 #goldengoat #sativa #weedfactory telegram channel: plug_demo"


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[\w$@]+", text))


LEET = "90lden 90@7 $2200 #90lden9047 #sativa #w33dfactory m!n!mum 0rd3r 73l39r@m ch@nn3l: plug_demo"


def test_repair_reads_leetspeak_words_and_hashtags() -> None:
    words, tags, dense = text_features(LEET, repair=True)
    assert {"telegram", "minimum", "order", "channel"} <= _tokens(words)
    # a leading digit reads as a code ("3mmc", "4fa"), not as leetspeak
    assert "90lden" in _tokens(words)
    assert "weedfactory" in tags.split()
    assert dense[DENSE_FEATURES.index("drug_any")] == 1.0
    # v1 keeps its reading (saved v1 models must see the features they were trained on)
    words1, tags1, _ = text_features(LEET)
    assert "telegram" not in _tokens(words1)
    assert "w33dfactory" in tags1.split()


def test_repair_keeps_doses_codes_and_contacts() -> None:
    words, _, dense = text_features("m30 blues 2mg bars, text 555-0142 or wickr: demo_plug7", repair=True)
    assert {"m30", "2mg"} <= _tokens(words)
    assert dense[DENSE_FEATURES.index("contact_app")] == 1.0
    assert dense[DENSE_FEATURES.index("contact_phone")] == 1.0


def test_masked_letters_are_filled_from_the_training_vocabulary() -> None:
    detector = create_detector("drugwatch.selling.v2", inner_folds=2)
    texts = [ADVERT.replace("plug_demo", f"plug{i}") for i in range(6)] + [
        f"lovely golden sunset number {i} at the beach" for i in range(12)
    ]
    y = np.array([1] * 6 + [0] * 12)
    detector.fit(texts, y)
    assert detector.masks_["gol\x00en"] == "golden"
    words, _, _ = text_features("gol#en goat", repair=True, masks=detector.masks_)
    assert "golden" in _tokens(words)


def test_disguised_advert_scores_like_the_plain_one() -> None:
    texts, y = [], []
    for i in range(8):
        texts.append(f"golden goat ${2000 + i} #sativa #weedfactory telegram channel: plug{i}")
        y.append(1)
    for i in range(16):
        texts.append(f"my golden retriever goat photo {i} #dogs #farmlife")
        y.append(0)
    v1 = create_detector("drugwatch.selling.v1", inner_folds=2).fit(texts, y)
    v2 = create_detector("drugwatch.selling.v2", inner_folds=2).fit(texts, y)
    plain = "golden goat $2500 #sativa #weedfactory telegram channel: newplug"
    disguised = "90lden 90@7 $2500 #s@7iv@ #w33dfactory 73l39r@m ch@nnel: newplug"
    p1 = v1.predict_proba([plain, disguised])[:, 1]
    p2 = v2.predict_proba([plain, disguised])[:, 1]
    assert p2[1] >= 0.5 and p2[0] >= 0.5
    # v2 reads the disguise as the plain advert; v1 reads only what normalize() repairs, so it
    # scores the disguised advert lower.
    assert abs(p2[1] - p2[0]) < 0.01
    assert p2[1] > p1[1]


def test_invisible_characters_send_a_text_through_normalize() -> None:
    text = "we\u200bed for sale, te\u200blegram: plug"
    words, _, dense = text_features(text, repair=True)
    assert {"weed", "telegram"} <= _tokens(words)
    assert dense[DENSE_FEATURES.index("drug_any")] == 1.0
    # v1's gate does not look for them (its saved models keep their features)
    assert text_features(text)[2][DENSE_FEATURES.index("drug_any")] == 0.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcxyz 0134579@$!|*#?_□●µé.-")), max_size=40))
def test_repair_shortcut_changes_nothing(text: str) -> None:
    from drugwatch.models.multilabel import folded_text
    from drugwatch.models.selling import _keep_token, _repair

    assert _repair(text, None) == folded_text(text, None, keep=_keep_token)
