"""Agreement statistics against hand-computed textbook examples."""

from __future__ import annotations

import pytest

from drugwatch.annotate.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    raw_agreement,
)

# Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa", worked example):
# 10 subjects, 14 raters, 5 categories; P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers, 12 units, missing values; nominal alpha = 0.743.
_ = None
KRIPP_A = [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _]
KRIPP_B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3]
KRIPP_C = [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _]
KRIPP_D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _]


def test_cohen_kappa_textbook() -> None:
    # Wikipedia "Cohen's kappa": 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / 0.5 = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_by_hand_small() -> None:
    # 4 units: agree on 3. p_o = 0.75; marginals A (T,T,F,F), B (T,F,F,F):
    # p_e = 0.5*0.25 + 0.5*0.75 = 0.5; kappa = 0.25 / 0.5 = 0.5.
    assert cohen_kappa([True, True, False, False], [True, False, False, False]) == pytest.approx(0.5)


def test_cohen_kappa_undefined_and_errors() -> None:
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError, match="equal length"):
        cohen_kappa([1, 2], [1])


def test_fleiss_kappa_textbook() -> None:
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.2099, abs=5e-4)


def test_fleiss_kappa_perfect_and_errors() -> None:
    assert fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)
    assert fleiss_kappa([[3, 0], [3, 0]]) is None
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([[2, 0], [1, 2]])
    with pytest.raises(ValueError, match="at least 2 ratings"):
        fleiss_kappa([[1, 0]])


def test_krippendorff_alpha_textbook_with_missing_values() -> None:
    units = list(zip(KRIPP_A, KRIPP_B, KRIPP_C, KRIPP_D))
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_binary_two_coders() -> None:
    # Krippendorff (2011), section A: two observers, 10 units, binary; alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha_nominal(list(zip(a, b))) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_alpha_undefined() -> None:
    assert krippendorff_alpha_nominal([[1, 1], [1, 1]]) is None
    assert krippendorff_alpha_nominal([[1, None], [None, 2]]) is None


def test_raw_agreement() -> None:
    assert raw_agreement([[1, 1], [1, 2], [3, 3, 3], [4, None]]) == pytest.approx(2 / 3)
    assert raw_agreement([[1]]) is None


def test_report_on_annotations() -> None:
    answers = {
        "e1": {"ann1": {"comment": ("xanax",), "dealer": True}, "ann2": {"comment": ("xanax",), "dealer": True}},
        "e2": {
            "ann1": {"comment": ("non_drug",), "dealer": False},
            "ann2": {"comment": ("marijuana",), "dealer": False},
        },
        "e3": {"ann1": {"comment": ("non_drug",), "dealer": False}, "ann2": {"comment": ("non_drug",), "dealer": True}},
        "e4": {"ann1": {"comment": ("xanax",), "dealer": True}},  # one annotator: not counted
    }
    report = agreement_report(answers)
    assert report.n_events == 3
    assert report.annotators == ("ann1", "ann2")
    (pair,) = report.pairs
    assert pair.n_events == 3 and pair.n_units == 6
    assert pair.raw_agreement == pytest.approx(4 / 6)
    # dealer: ann1 (T, F, F), ann2 (T, F, T): p_o = 2/3, p_e = 1/3*2/3 + 2/3*1/3 = 4/9, kappa = 0.4.
    assert pair.kappa_dealer == pytest.approx(0.4)
    by_label = {lab.label: lab for lab in report.labels}
    assert by_label["xanax"].raw_agreement == pytest.approx(1.0)
    assert by_label["marijuana"].raw_agreement == pytest.approx(2 / 3)
    assert by_label["selling"].fleiss_units == 3
    assert by_label["lsd"].krippendorff_alpha is None  # never used: undefined, not 1.0
    assert report.as_dict()["pairs"][0]["a"] == "ann1"
