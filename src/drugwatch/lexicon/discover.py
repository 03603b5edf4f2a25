"""New-slang discovery: words that behave like drug names in selling contexts.

:func:`discover` reads texts and proposes words the lexicon does not hold
that appear where drug names appear: in texts that name a known drug or read
as a sale (trade words, contacts, prices, quantities). A word is scored by
how much of its use is in such texts (smoothed), by how often it sits right
next to a known drug word, a dose or a price, and by how rare it is in
ordinary English; each candidate comes with a few example texts. Reviewers
accept a candidate into a user lexicon file (:func:`append_user_entry`,
``drugwatch lexicon accept``), which :func:`drugwatch.lexicon.load_lexicon`
reads on top of the built-in lexicon when ``DRUGWATCH_USER_LEXICON`` names it.

Linear in the input: each text is read once, its first
:data:`MAX_TEXT_CHARS` characters, and at most ``max_texts`` texts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["MAX_TEXT_CHARS", "Candidate", "append_user_entry", "discover"]

#: Characters of each text read.
MAX_TEXT_CHARS: Final[int] = 2_000
#: Example texts kept per candidate.
EXAMPLES: Final[int] = 3
#: Distinct words counted at most (memory cap; later new words are not counted).
MAX_WORDS: Final[int] = 500_000

_WORD = re.compile(r"[a-z][a-z0-9]{2,23}")
_QUANTITY = re.compile(
    r"(?<![a-z0-9])\d+(?:[.,]\d+)?\s?(?:mg|mcg|ug|g|gr|oz|ml|kg|lb|qp|pills?|tabs?)(?![a-z])"
    r"|[$£€]\s?\d|\d\s?[$£€]"
)


@dataclass
class Candidate:
    """A proposed term: its score, counts, the labels of the drugs it keeps
    company with, and example texts (id, text)."""

    term: str
    score: float
    in_context: int
    total: int
    next_to_drug: int
    labels: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def likely_label(self) -> str | None:
        return max(self.labels, key=self.labels.__getitem__) if self.labels else None


def discover(
    texts: Iterable[tuple[str, str]], *, top: int = 50, min_count: int = 3, max_texts: int = 200_000
) -> list[Candidate]:
    """Rank words of ``texts`` ((id, text) pairs) that behave like drug names."""
    from drugwatch.lexicon import load_lexicon
    from drugwatch.text.analyze import analyze
    from drugwatch.text.hashtags import _base_log_probs
    from drugwatch.text.stopwords import ENGLISH_STOP_WORDS

    vocabulary = load_lexicon().vocabulary()
    english = _base_log_probs()
    stats: dict[str, Candidate] = {}
    n_texts = 0
    for n_texts, (tid, raw) in enumerate(texts, start=1):
        if n_texts > max_texts:
            n_texts -= 1
            break
        text = raw[:MAX_TEXT_CHARS]
        view = analyze(text)
        s = view.text
        drug_spans = [(h.start, h.end) for h in view.drug_hits]
        context = bool(drug_spans) or bool(view.sale_hits) or view.has_contact or _QUANTITY.search(s) is not None
        labels = view.labels
        seen: set[str] = set()
        for m in _WORD.finditer(s):
            w = m.group(0)
            if w in seen or w in vocabulary or w in ENGLISH_STOP_WORDS:
                continue
            if any(a <= m.start() < b for a, b in drug_spans):
                continue
            seen.add(w)
            c = stats.get(w)
            if c is None:
                if len(stats) >= MAX_WORDS:
                    continue
                c = stats[w] = Candidate(w, 0.0, 0, 0, 0)
            c.total += 1
            if not context:
                continue
            c.in_context += 1
            beside = (
                any(abs(m.start() - b) <= 3 or abs(a - m.end()) <= 3 for a, b in drug_spans)
                or _QUANTITY.search(s, max(0, m.start() - 8), m.end() + 8) is not None
            )
            if beside:
                c.next_to_drug += 1
            for lab in labels:
                c.labels[lab] = c.labels.get(lab, 0) + 1
            if len(c.examples) < EXAMPLES:
                c.examples.append((tid, text[:200]))
    out = []
    floor = min(english.values()) if english else -20.0
    for c in stats.values():
        if c.in_context < min_count:
            continue
        share = (c.in_context + 1) / (c.total + 2)
        near = (c.next_to_drug + 1) / (c.in_context + 2)
        # log probability per word of ordinary English: rare words score higher
        rarity = min(1.0, english.get(c.term, floor) / floor) if floor else 1.0
        c.score = round(share * near * rarity * math.log1p(c.in_context), 4)
        out.append(c)
    out.sort(key=lambda c: (-c.score, c.term))
    return out[:top]


def append_user_entry(
    path: str | Path, term: str, label: str, *, kind: str = "street", ambiguous: bool = False, note: str = ""
) -> None:
    """Add an accepted term to a user lexicon file (created with its header
    when absent). Checked as the lexicon reader checks a file."""
    from drugwatch.lexicon import DRUG_KINDS, read_lexicon_tsv
    from drugwatch.text.normalize import normalize

    path = Path(path)
    key = normalize(term).text.strip()
    if not key:
        raise ValueError(f"term {term!r} is empty once normalized")
    if kind not in DRUG_KINDS:
        raise ValueError(f"kind {kind!r}: accepted terms name a drug; use one of {sorted(DRUG_KINDS)}")
    if any(ch in key for ch in "\t\n"):
        raise ValueError("a term cannot hold tabs or line breaks")
    line = f"{key}\t{label}\t{kind}\t{'yes' if ambiguous else 'no'}\t{note.replace(chr(9), ' ')}\n"
    new = not path.exists()
    text = ("term\tlabel\tkind\tambiguous\tnote\n" if new else "") + line
    previous = "" if new else path.read_text(encoding="utf-8")
    path.write_text(previous + text, encoding="utf-8")
    try:
        read_lexicon_tsv(path, "user")
    except ValueError:
        path.write_text(previous, encoding="utf-8") if previous else path.unlink()
        raise
