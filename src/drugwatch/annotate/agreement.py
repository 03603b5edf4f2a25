"""Inter-annotator agreement: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

The three statistics and raw agreement are pure functions over plain data,
tested against textbook examples (tests/test_annotate_agreement.py).
:func:`agreement_report` applies them to annotations:

* a *label unit* is one (event, level) pair, level one of DMML's hashtag,
  image and comment levels; an annotator's value there is a label set;
* for each of the 10 labels, a unit's value is whether the label is in the
  set (binary); ``selling`` (JMIR's dealer code) has one unit per event;
* per annotator pair, Cohen's kappa is computed on the label sets (each
  distinct set is a category) and on the dealer code, over the units both
  coded.

A statistic that is undefined (every value identical, so chance agreement
is 1) is ``None``, never a made-up number.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from drugwatch.labels import LABELS

Value = Hashable


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def cohen_kappa(a: Sequence[Value], b: Sequence[Value]) -> float | None:
    """Cohen's kappa of two coders' values on the same units (sklearn).

    ``None`` when undefined (both coders used one and the same category).
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs two sequences of equal length, got {len(a)} and {len(b)}")
    if not a:
        return None
    if len(set(a) | set(b)) == 1:
        return None
    from sklearn.metrics import cohen_kappa_score

    # sklearn sorts the labels; mixed types (True and "x") would not sort.
    codes = {v: i for i, v in enumerate(dict.fromkeys([*a, *b]))}
    return _finite(cohen_kappa_score([codes[v] for v in a], [codes[v] for v in b]))


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from an N x k table: row i counts the raters who put unit i in category j.

    Every row must have the same number of ratings n >= 2 (Fleiss 1971).
    ``None`` when undefined (all ratings in one category).
    """
    rows = [list(map(int, row)) for row in table]
    if not rows:
        return None
    n = sum(rows[0])
    if n < 2:
        raise ValueError(f"fleiss_kappa needs at least 2 ratings per unit, got {n}")
    if any(sum(row) != n for row in rows):
        raise ValueError("fleiss_kappa needs the same number of ratings on every unit; drop or pad units first")
    if any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("fleiss_kappa needs the same number of categories on every row")
    N = len(rows)
    p_j = [sum(row[j] for row in rows) / (N * n) for j in range(len(rows[0]))]
    P_i = [(sum(c * c for c in row) - n) / (n * (n - 1)) for row in rows]
    P_bar = sum(P_i) / N
    P_e = sum(p * p for p in p_j)
    if math.isclose(P_e, 1.0):
        return None
    return (P_bar - P_e) / (1 - P_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Value | None]]) -> float | None:
    """Krippendorff's alpha for nominal data; ``units[u]`` holds the values
    coders gave unit ``u`` (``None`` = missing, any number of coders).

    Built from the coincidence matrix (Krippendorff 2011, "Computing
    Krippendorff's Alpha-Reliability"): units with fewer than two values are
    not pairable and are dropped. ``None`` when undefined (one value only).
    """
    coincidence: defaultdict[tuple[Value, Value], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            coincidence[(values[i], values[j])] += 1.0 / (m - 1)
    n_c: defaultdict[Value, float] = defaultdict(float)
    for (c, _k), weight in coincidence.items():
        n_c[c] += weight
    n = sum(n_c.values())
    if n <= 1:
        return None
    observed = sum(w for (c, k), w in coincidence.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def raw_agreement(units: Sequence[Sequence[Value | None]]) -> float | None:
    """Share of units (with two or more values) on which every coder agrees."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [u for u in pairable if len(u) >= 2]
    if not pairable:
        return None
    return sum(len(set(u)) == 1 for u in pairable) / len(pairable)


# ---------------------------------------------------------------------------
# Reports over annotations

#: event key -> annotator -> level -> label set (tuple) or, for "dealer", bool.
Answers = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    n_events: int
    n_units: int
    raw_agreement: float | None
    kappa_labels: float | None
    kappa_dealer: float | None


@dataclass(frozen=True)
class LabelAgreement:
    label: str
    n_units: int
    n_positive: int
    raw_agreement: float | None
    fleiss_kappa: float | None
    fleiss_units: int
    krippendorff_alpha: float | None


@dataclass(frozen=True)
class AgreementReport:
    n_events: int
    annotators: tuple[str, ...]
    pairs: tuple[PairAgreement, ...] = ()
    labels: tuple[LabelAgreement, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label_key(labels: Iterable[str]) -> str:
    return "+".join(sorted(labels)) or "-"


def agreement_report(
    answers: Answers, *, label_levels: Sequence[str] = ("hashtag", "image", "comment"), dealer_level: str = "dealer"
) -> AgreementReport:
    """All statistics for ``answers`` (only events with two or more annotators count)."""
    answers = {e: coders for e, coders in answers.items() if len(coders) >= 2}
    annotators = tuple(sorted({c for coders in answers.values() for c in coders}))
    # Label units: (event, level) -> coder -> frozenset of labels.
    label_units: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
    dealer_units: dict[str, dict[str, bool]] = {}
    for event, coders in answers.items():
        for coder, levels in coders.items():
            for level in label_levels:
                if levels.get(level) is not None:
                    label_units.setdefault((event, level), {})[coder] = frozenset(levels[level])
            if levels.get(dealer_level) is not None:
                dealer_units.setdefault(event, {})[coder] = bool(levels[dealer_level])

    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        lab = [(u[a], u[b]) for u in label_units.values() if a in u and b in u]
        deal = [(u[a], u[b]) for u in dealer_units.values() if a in u and b in u]
        events = {e for (e, _l), u in label_units.items() if a in u and b in u} | {
            e for e, u in dealer_units.items() if a in u and b in u
        }
        if not events:
            continue
        agree = sum(x == y for x, y in lab) + sum(x == y for x, y in deal)
        total = len(lab) + len(deal)
        pairs.append(
            PairAgreement(
                a=a,
                b=b,
                n_events=len(events),
                n_units=total,
                raw_agreement=agree / total if total else None,
                kappa_labels=cohen_kappa([_label_key(x) for x, _ in lab], [_label_key(y) for _, y in lab]),
                kappa_dealer=cohen_kappa([x for x, _ in deal], [y for _, y in deal]),
            )
        )

    per_label = []
    binary_units: list[tuple[str, list[list[bool]]]] = [
        (label, [[label in s for s in unit.values()] for unit in label_units.values()]) for label in LABELS
    ]
    binary_units.append(("selling", [list(unit.values()) for unit in dealer_units.values()]))
    for label, units in binary_units:
        sizes = Counter(len(u) for u in units if len(u) >= 2)
        fleiss_units: list[list[bool]] = []
        if sizes:
            # Fleiss needs a constant number of raters: use the commonest one.
            n_raters = max(sizes, key=lambda s: (sizes[s], s))
            fleiss_units = [u for u in units if len(u) == n_raters]
        table = [[sum(u), len(u) - sum(u)] for u in fleiss_units]
        per_label.append(
            LabelAgreement(
                label=label,
                n_units=sum(len(u) >= 2 for u in units),
                n_positive=sum(sum(u) for u in units),
                raw_agreement=raw_agreement(units),
                fleiss_kappa=fleiss_kappa(table) if table else None,
                fleiss_units=len(table),
                krippendorff_alpha=krippendorff_alpha_nominal(units),
            )
        )
    notes: tuple[str, ...] = ()
    if not answers:
        notes = ("No event has two or more finished annotations yet.",)
    return AgreementReport(
        n_events=len(answers), annotators=annotators, pairs=tuple(pairs), labels=tuple(per_label), notes=notes
    )
