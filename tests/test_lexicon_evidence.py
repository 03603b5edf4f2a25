"""The lexicon evidence of ``lexicon_evidence=2``: labels read from a text's
letters kept apart from labels the text layer or the model guessed behind masks."""

from __future__ import annotations

import numpy as np
import pytest

from drugwatch.labels import DRUG_LABELS
from drugwatch.models.lexicon_union import hidden_letters
from drugwatch.models.multilabel import (
    LEXICON_FEATURES,
    LEXICON_FEATURES_V2,
    LexiconEvidence,
    lexicon_evidence,
    read_evidence,
    split_lexicon_features,
)
from drugwatch.text.analyze import analyze


def _hidden(text: str) -> dict[str, tuple[int, int]]:
    view = analyze(text)
    return {h.term: hidden_letters(view.normalized, h.start, h.end) for h in view.drug_hits}


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("c.c..n. here", "cocaine", (7, 4)),  # separators read as hidden letters
        ("C▢c▢▢n▢ now", "cocaine", (7, 4)),
        ("c░c░ine", "cocaine", (7, 2)),
        ("P*R* for sale", "perc", (4, 2)),
        # shown: separators between shown letters, look-alikes, leetspeak, currency signs, O-shaped masks
        ("sh_r_o_o_m_s", "shrooms", (7, 0)),
        ("Ma-ri-ju-a-na", "marijuana", (9, 0)),
        ("c0caine", "cocaine", (7, 0)),
        ("k€tamine", "ketamine", (8, 0)),
        ("∅xy 30", "oxy 30", (5, 0)),
        ("ＣＯＣＡＩＮＥ", "cocaine", (7, 0)),
        ("weed and coke", "coke", (4, 0)),
    ],
)
def test_hidden_letters_counts_only_letters_the_raw_text_does_not_show(text, term, expected):
    assert _hidden(text)[term] == expected


def test_lexicon_evidence_splits_read_from_guessed_labels():
    view = analyze("C▢c▢▢n▢ now, weed too")
    evidence = lexicon_evidence(view.normalized, view.hits)
    assert evidence.read == ("marijuana",)
    assert [lab for lab, _ in evidence.guessed] == ["cocaine"]
    assert evidence.guessed[0][1] == pytest.approx(3 / 7)
    # a label read once is read, whatever else guessed it
    view = analyze("cocaine and C▢c▢▢n▢")
    assert lexicon_evidence(view.normalized, view.hits) == LexiconEvidence(("cocaine",), ())
    # the best guess of a label counts: "c░c░ine" shows 5 of 7 letters, "C▢c▢▢n▢" 3
    view = analyze("C▢c▢▢n▢ or c░c░ine")
    assert lexicon_evidence(view.normalized, view.hits).guessed == (("cocaine", pytest.approx(5 / 7)),)


def test_read_evidence_gives_the_same_answer_with_and_without_views():
    texts = ["C▢c▢▢n▢ now", "x*n*x bars", "plain words", "sh_r_o_o_m_s 3.5g"]
    normalized, evidence = read_evidence(texts)
    again, with_views = read_evidence(texts, [analyze(t) for t in texts])
    assert normalized == again and evidence == with_views
    assert evidence[2] == LexiconEvidence((), ()) and evidence[3].read == ("mushroom",)


def test_split_lexicon_features_keeps_guessed_and_resolved_labels_out_of_the_read_columns():
    col = {name: j for j, name in enumerate(LEXICON_FEATURES_V2)}
    assert LEXICON_FEATURES_V2[: len(LEXICON_FEATURES)] == LEXICON_FEATURES
    evidence = [
        LexiconEvidence(("marijuana",), (("cocaine", 0.5),)),
        LexiconEvidence((), ()),
        LexiconEvidence((), ()),
        LexiconEvidence((), ()),
    ]
    # rows 2 and 3: only the folded view names a drug; by leetspeak (no mask left: read)
    # or by filling a mask in (resolved)
    normalized = ["weed and c*c**n*", "plain words", "x4n4x", "x*n*x"]
    folded = ["weed and c*c**n*", "plain words", "xanax", "xanax"]
    got = split_lexicon_features(normalized, folded, evidence)
    assert got.shape == (4, len(LEXICON_FEATURES_V2))
    assert got[0, col["lex_marijuana"]] == 1 and got[0, col["lex_cocaine"]] == 0
    assert got[0, col["guess_cocaine"]] == 0.5 and got[0, col["lex_none"]] == 0
    assert got[0, col["lex_n_labels"]] == pytest.approx(np.log1p(1))
    assert got[0, col["guess_n_labels"]] == pytest.approx(np.log1p(1))
    assert got[1, col["lex_none"]] == 1 and got[1].sum() == 1
    assert got[2, col["lex_xanax"]] == 1 and got[2, col["resolved_xanax"]] == 0
    assert got[3, col["lex_xanax"]] == 0 and got[3, col["resolved_xanax"]] == 1 and got[3, col["lex_none"]] == 1
    assert {f"guess_{lab}" for lab in DRUG_LABELS} <= set(col) and {f"resolved_{lab}" for lab in DRUG_LABELS} <= set(
        col
    )


def test_split_lexicon_features_without_evidence_reads_the_normalized_text():
    got = split_lexicon_features(["cocaine and weed", "c*c**n*"], ["cocaine and weed", "c*c**n*"])
    col = {name: j for j, name in enumerate(LEXICON_FEATURES_V2)}
    assert got[0, col["lex_cocaine"]] == got[0, col["lex_marijuana"]] == 1
    assert got[1, col["lex_none"]] == 1 and got[1].sum() == 1
