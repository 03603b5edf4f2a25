"""The drug lexicon: names, brands, street slang, misspellings, hashtags, forms,
and the transaction / selling / shipping vocabulary.

The data lives in ``data/lexicon.tsv`` (documented in ``data/README.md``). Terms
are stored in the same lower-cased, normalized form that
:func:`drugwatch.text.normalize.normalize` produces, so a lookup never needs
to normalize again.

>>> lex = load_lexicon()
>>> [e.label for e in lex.lookup("Xanax")]
['xanax']
>>> lex.lookup("not a drug")
()
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final

from drugwatch.labels import DRUG_LABELS

#: The kinds of lexicon entries. The first six name a drug (``label`` is set);
#: the last three are evidence of a sale and carry no label.
KINDS: Final[frozenset[str]] = frozenset(
    {"name", "brand", "street", "misspelling", "hashtag", "form",
     "transaction", "selling", "shipping"}
)
DRUG_KINDS: Final[frozenset[str]] = frozenset(
    {"name", "brand", "street", "misspelling", "hashtag", "form"}
)
SALE_KINDS: Final[frozenset[str]] = frozenset({"transaction", "selling", "shipping"})

#: Written in the ``label`` column for entries without a drug label.
NO_LABEL: Final[str] = "-"

_COLUMNS: Final[tuple[str, ...]] = ("term", "label", "kind", "ambiguous", "note")


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One term of the lexicon.

    ``label`` is one of the 9 drug labels, or ``None`` for transaction,
    selling and shipping terms. ``ambiguous`` terms also have an ordinary
    meaning ("snow", "bars", "coke" the soda) and only count as drug words
    when the matcher's context rules agree.
    """

    term: str
    label: str | None
    kind: str
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Lexicon:
    """An immutable set of entries with an exact-match index."""

    entries: tuple[LexiconEntry, ...]
    _index: dict[str, tuple[LexiconEntry, ...]] = field(repr=False, compare=False)

    @classmethod
    def from_entries(cls, entries: tuple[LexiconEntry, ...] | list[LexiconEntry]) -> Lexicon:
        index: dict[str, list[LexiconEntry]] = {}
        for entry in entries:
            index.setdefault(entry.term, []).append(entry)
        return cls(tuple(entries), {k: tuple(v) for k, v in index.items()})

    def lookup(self, term: str) -> tuple[LexiconEntry, ...]:
        """Entries whose term equals ``term`` (lower-cased, whitespace collapsed)."""
        key = " ".join(term.lower().split())
        return self._index.get(key, ())

    def vocabulary(self) -> frozenset[str]:
        """All terms of the lexicon."""
        return frozenset(self._index)

    def labels_of(self, term: str) -> frozenset[str]:
        """The drug labels a term names (empty for sale terms and unknown terms)."""
        return frozenset(e.label for e in self.lookup(term) if e.label is not None)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LexiconEntry]:
        return iter(self.entries)


def _parse_bool(value: str, where: str) -> bool:
    value = value.strip().lower()
    if value in {"1", "yes", "true", "y"}:
        return True
    if value in {"0", "no", "false", "n", ""}:
        return False
    raise ValueError(f"{where}: ambiguous must be yes/no, got {value!r}")


def read_lexicon_tsv(path: str | Path) -> Lexicon:
    """Read a lexicon TSV (columns: term, label, kind, ambiguous, note).

    Lines starting with ``#`` and blank lines are skipped. Raises ``ValueError``
    naming the file and line for an unknown label or kind.
    """
    path = Path(path)
    entries: list[LexiconEntry] = []
    seen: set[tuple[str, str | None, str]] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            row = next(csv.reader([line.rstrip("\n")], delimiter="\t", quoting=csv.QUOTE_NONE))
            if row[0] == "term":  # header
                continue
            where = f"{path.name}:{lineno}"
            if len(row) < 4:
                raise ValueError(f"{where}: expected columns {_COLUMNS}, got {row!r}")
            term = " ".join(row[0].lower().split())
            label = None if row[1].strip() in {NO_LABEL, ""} else row[1].strip()
            kind = row[2].strip()
            if kind not in KINDS:
                raise ValueError(f"{where}: unknown kind {kind!r}; use one of {sorted(KINDS)}")
            if kind in DRUG_KINDS and label not in DRUG_LABELS:
                raise ValueError(
                    f"{where}: kind {kind!r} needs a drug label from {DRUG_LABELS}, got {label!r}"
                )
            if kind in SALE_KINDS and label is not None:
                raise ValueError(f"{where}: kind {kind!r} takes label '-', got {label!r}")
            key = (term, label, kind)
            if key in seen:
                continue
            seen.add(key)
            entries.append(LexiconEntry(term, label, kind, _parse_bool(row[3], where)))
    return Lexicon.from_entries(entries)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The packaged lexicon (read once, then cached)."""
    data = resources.files("drugwatch.lexicon") / "data" / "lexicon.tsv"
    with resources.as_file(data) as path:
        return read_lexicon_tsv(path)


__all__ = [
    "DRUG_KINDS",
    "KINDS",
    "Lexicon",
    "LexiconEntry",
    "SALE_KINDS",
    "load_lexicon",
    "read_lexicon_tsv",
]
