"""What the item page claims about a text, kept honest.

* OCR text is shown only line by line where a line passes a quality bar: a
  recognition confidence at or above the project's threshold (when the OCR
  engine reported one) and at least one run of three letters or digits, so
  the noise OCR reads in drawings ("M", "2", "..") is not presented as "text
  in the image".
* Highlights come from the text layer's own spans (:func:`drugwatch.text.
  analyze.analyze`, the spans the report uses): drug terms, sale cues
  (selling, transaction and shipping terms and phrases) and contacts, each
  in its own style, plus hashtags by JMIR category.

Both are linear in the text: one pass over the lines, and one sort of the
spans the text layer found. Texts are cut at :data:`MAX_EVIDENCE_CHARS`
before highlighting (the rest is shown plain).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Characters of one text the highlighter reads; beyond it the text is shown unmarked.
MAX_EVIDENCE_CHARS = 16_384
#: A line of OCR text is shown only if it holds a run of this many letters or digits.
MIN_OCR_RUN = 3
_RUN = re.compile(rf"[^\W_]{{{MIN_OCR_RUN},}}")


@dataclass(frozen=True)
class OcrReading:
    """OCR text as the page shows it: the lines that passed, how many did not,
    and their mean confidence (``None`` when the source recorded none)."""

    text: str
    dropped: int = 0
    confidence: float | None = None
    note: str | None = None


def readable_lines(lines: Iterable[tuple[str, float | None]], min_confidence: float) -> OcrReading:
    """Keep the ``(text, confidence)`` lines that pass the quality bar."""
    kept: list[str] = []
    scores: list[float] = []
    dropped = 0
    for text, confidence in lines:
        text = text.strip()
        if not text:
            continue
        if (confidence is not None and confidence < min_confidence) or not _RUN.search(text):
            dropped += 1
            continue
        kept.append(text)
        if confidence is not None:
            scores.append(confidence)
    mean = sum(scores) / len(scores) if scores else None
    return OcrReading("\n".join(kept), dropped, mean)


def readable_text(text: str) -> OcrReading:
    """The lines of stored OCR text (no confidence known) that pass the fragment check."""
    return readable_lines(((line, None) for line in text.splitlines()), 0.0)


#: CSS class and description of each kind of span, in the order that wins an overlap.
STYLES = {
    "contact": "contact information",
    "tag": "hashtag",
    "sale": "sale cue",
    "drug": "drug term",
}
_RANK = {name: i for i, name in enumerate(STYLES)}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    style: str  # a key of STYLES, or "candidate" (highlight_term)
    css: str
    title: str


def evidence_spans(text: str) -> list[Span]:
    """The text layer's spans over ``text[:MAX_EVIDENCE_CHARS]``, without overlaps.

    Where spans overlap, a contact beats a hashtag, which beats a sale cue,
    which beats a drug term ("wickr" inside "wickr: plug_77" is part of the
    contact; "xanax" inside "#xanax" takes the hashtag's colour).
    """
    from drugwatch.text.analyze import analyze

    view = analyze(text[:MAX_EVIDENCE_CHARS])
    spans: list[Span] = []
    for tag in view.hashtags:
        kind = tag.analysis.kind
        labels = ", ".join(sorted(tag.analysis.labels))
        spans.append(
            Span(
                tag.raw_start,
                tag.raw_end,
                "tag",
                f"tag tag-{kind}",
                f"hashtag: {kind}" + (f" ({labels})" if labels else ""),
            )
        )
    for hit in view.hits:
        if hit.in_hashtag:
            continue
        if hit.label is not None:
            spans.append(Span(hit.raw_start, hit.raw_end, "drug", "drug", f"drug term: {hit.label} ({hit.kind})"))
        else:
            spans.append(Span(hit.raw_start, hit.raw_end, "sale", "sale", f"sale cue: {hit.kind}"))
    for contact in view.contacts:
        if contact.kind == "shipping":
            spans.append(
                Span(contact.raw_start, contact.raw_end, "sale", "sale", f"sale cue: shipping ({contact.value})")
            )
            continue
        what = f"{contact.kind}{' / ' + contact.app if contact.app else ''}: {contact.value}"
        spans.append(Span(contact.raw_start, contact.raw_end, "contact", "contact", f"contact information: {what}"))
    limit = min(len(text), MAX_EVIDENCE_CHARS)
    spans = [s for s in spans if 0 <= s.start < s.end <= limit]
    # Strongest first, longer first; keep a span only where nothing stronger is.
    spans.sort(key=lambda s: (_RANK[s.style], s.start - s.end, s.start))
    taken = bytearray(limit)
    chosen: list[Span] = []
    for span in spans:
        if any(taken[span.start : span.end]):
            continue
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
        chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def highlight(text: str) -> Markup:
    """``text`` as HTML with its evidence marked (see :func:`evidence_spans`)."""
    if not text:
        return Markup("")
    try:
        spans = evidence_spans(text)
    except Exception:  # highlighting is a help, never a reason to fail the page
        return escape(text)
    return _render(text, spans)


def highlight_term(text: str, term: str) -> Markup:
    """:func:`highlight`, plus each whole-word occurrence of ``term`` (any
    case) marked as the slang candidate where no evidence span lies: the
    slang review page's example texts."""
    if not text:
        return Markup("")
    try:
        spans = evidence_spans(text)
    except Exception:  # as in highlight
        spans = []
    limit = min(len(text), MAX_EVIDENCE_CHARS)
    taken = bytearray(limit)
    for span in spans:
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
    if term:
        pattern = re.compile(rf"(?<![^\W_]){re.escape(term)}(?![^\W_])", re.IGNORECASE)
        for m in pattern.finditer(text, 0, limit):
            if not any(taken[m.start() : m.end()]):
                spans.append(Span(m.start(), m.end(), "candidate", "candidate", "slang candidate"))
    return _render(text, sorted(spans, key=lambda s: s.start))


def _render(text: str, spans: list[Span]) -> Markup:
    """``text`` escaped, with ``spans`` (sorted, not overlapping) as marks."""
    out: list[str] = []
    pos = 0
    for span in spans:
        out.append(str(escape(text[pos : span.start])))
        out.append(
            f'<mark class="{span.css}" title="{escape(span.title)}">{escape(text[span.start : span.end])}</mark>'
        )
        pos = span.end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))
