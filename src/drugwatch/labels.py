"""The 10 event labels, in the fixed order every detector's columns follow."""

from __future__ import annotations

from typing import Final

#: Column order of every multi-label ``predict_proba``. Never reorder: saved
#: models record this tuple and refuse to load under a different one.
LABELS: Final[tuple[str, ...]] = (
    "non_drug",
    "marijuana",
    "codeine",
    "mdma",
    "xanax",
    "painkiller",
    "mushroom",
    "lsd",
    "cocaine",
    "other_drugs",
)

#: The 9 drug labels (everything but ``non_drug``).
DRUG_LABELS: Final[tuple[str, ...]] = LABELS[1:]

NON_DRUG: Final[str] = "non_drug"

LABEL_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(LABELS)}


def check_labels(labels: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate a label set and return it in canonical order, without repeats.

    Raises ``ValueError`` naming the offending label when a name is unknown,
    when ``non_drug`` is combined with a drug label, or when the set is empty.
    """
    if isinstance(labels, str):
        raise ValueError(
            f"labels must be a list of label names, got the string {labels!r}; write [{labels!r}] for a single label"
        )
    unknown = [name for name in labels if name not in LABEL_INDEX]
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; expected one of: {', '.join(LABELS)}")
    unique = sorted(set(labels), key=LABEL_INDEX.__getitem__)
    if not unique:
        raise ValueError("labels is empty; use ['non_drug'] for a drug-free event or null when unknown")
    if NON_DRUG in unique and len(unique) > 1:
        others = ", ".join(name for name in unique if name != NON_DRUG)
        raise ValueError(f"'non_drug' is exclusive but was combined with: {others}")
    return tuple(unique)
