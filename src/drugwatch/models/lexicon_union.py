"""The lexicon union of ``drugwatch.drugtype.v2``: the text layer's
confident drug labels added to a drug-type model's probabilities.

A drug-type model reads a multi-drug advert ("LSD, MDMA, shrooms, coke,
wickr me") as one or two drugs; the text layer names every one. Where the
model decides a drug, or the text reads as a sale of several drugs by
itself, each confident lexicon label is raised just over its decision point
(:func:`lexicon_union`), so :func:`~drugwatch.models.multilabel.decode`
gives it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drugwatch.labels import LABELS
from drugwatch.models.multilabel import N_LABELS, decode

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

#: Prices ("$20", "20€", "20 each") make a text read as a sale.
_PRICE = re.compile(r"[$£€¥₿]\s?\d|\d\s?(?:[$£€¥]|usd|eur|gbp)(?![a-z])|(?<![a-z0-9])\d+\s?(?:each|ea)(?![a-z])")
#: Margin above the decision point given to a label the lexicon confirms.
_UNION_MARGIN = 1e-3


#: Terms whose label often disagrees with the kit's (written by
#: ``scripts/build_union_exclusions.py``): not confident evidence.
UNION_EXCLUSIONS_FILE = Path(__file__).resolve().parents[1] / "lexicon" / "data" / "union_exclusions.tsv"


@lru_cache(maxsize=1)
def union_exclusions() -> frozenset[tuple[str, str]]:
    """(term, label) pairs left out of :func:`lexicon_union`."""
    if not UNION_EXCLUSIONS_FILE.exists():
        return frozenset()
    out = set()
    for line in UNION_EXCLUSIONS_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("term\t"):
            continue
        term, label = line.split("\t")[:2]
        out.add((term, label))
    return frozenset(out)


def confident_lexicon_labels(text: str, view: TextView | None = None) -> tuple[tuple[str, ...], bool]:
    """The drug labels of ``text``'s confident lexicon evidence, and whether
    the text reads as a sale.

    Confident: a hit of the text layer (unambiguous, or ambiguous and
    accepted by the matcher's context rules or context model) whose term is
    not in :func:`union_exclusions`. A sale: a trade word ("for sale", "hmu",
    "wickr"), a contact or a price. ``view`` is the text layer's reading of
    ``text`` if the caller has it.
    """
    from drugwatch.labels import DRUG_LABELS
    from drugwatch.text.analyze import analyze

    if view is None or view.raw != text:
        view = analyze(text)
    excluded = union_exclusions()
    found = {h.label for h in view.drug_hits if (h.term, h.label) not in excluded}
    labels = tuple(lab for lab in DRUG_LABELS if lab in found)
    if not labels:
        return (), False
    sale = bool(view.sale_hits) or view.has_contact or _PRICE.search(view.text) is not None
    return labels, sale


def sale_lexicon_labels(text: str) -> tuple[str, ...]:
    """The confident lexicon labels of ``text`` when it reads as a sale of
    drugs by itself (a trade word, contact or price, and two drugs or more
    named: a menu); ``()`` otherwise."""
    labels, sale = confident_lexicon_labels(text)
    return labels if sale and len(labels) >= 2 else ()


def lexicon_union(
    proba: np.ndarray,
    texts: Sequence[str],
    thresholds: np.ndarray,
    *,
    non_drug_wins: bool = False,
    views: Sequence[TextView] | None = None,
) -> np.ndarray:
    """``proba`` with the text layer's confident drug labels added.

    Where the model already decides a drug label (by :func:`decode` at
    ``thresholds``), every confident lexicon label of the text is added;
    where it decides ``non_drug``, only a text that reads as a sale of
    several drugs by itself (:func:`sale_lexicon_labels`) gets its labels,
    so a guide naming drugs stays ``non_drug``. A label is added by raising
    its probability just over its decision point (at least its threshold
    and 0.5, plus a margin) and lowering ``non_drug`` to at most one minus
    that, so that :func:`decode` (``non_drug`` first included) gives it.
    Other rows and the model's own labels are unchanged. ``views``: the
    text layer's reading of each text, if the caller has it.
    """
    index = {name: j for j, name in enumerate(LABELS)}
    out = np.array(proba, dtype=np.float64, copy=True)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (N_LABELS,))
    model_drug: np.ndarray = np.any(decode(out, thresholds, non_drug_wins=non_drug_wins)[:, 1:], axis=1)
    for i, text in enumerate(texts):
        labels, sale = confident_lexicon_labels(text, None if views is None else views[i])
        if not labels or not (model_drug[i] or (sale and len(labels) >= 2)):
            continue
        top = 0.0
        for name in labels:
            j = index[name]
            floor = min(1.0, max(thresholds[j], 0.5) + _UNION_MARGIN)
            out[i, j] = max(out[i, j], floor)
            top = max(top, out[i, j])
        out[i, 0] = min(out[i, 0], 1.0 - top, top - _UNION_MARGIN)
    return out


__all__ = [
    "UNION_EXCLUSIONS_FILE",
    "confident_lexicon_labels",
    "lexicon_union",
    "sale_lexicon_labels",
    "union_exclusions",
]
