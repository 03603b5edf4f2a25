"""An event's texts with OCR as an extra field, and contacts from both.

OCR text is not glued into the caption: it is a separate field
(:attr:`EventTexts.ocr_text`) so that spans stay valid and evidence can say
whether a contact was written in the caption or shown in a picture. Both go
through the same text layer (:func:`drugwatch.text.contacts.find_contacts`),
and a contact found in an image counts as a contact.

Events without images cost nothing here: OCR (and its model) is only loaded
when an event actually has an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from drugwatch.records import Event
from drugwatch.text.contacts import Contact, find_contacts
from drugwatch.vision.ocr import OcrEngine, OcrResult, event_ocr_results, join_ocr_texts

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

ContactSource = Literal["text", "image"]


@dataclass(frozen=True)
class EventTexts:
    """The caption of an event and the text read from each of its images."""

    caption: str
    ocr: tuple[OcrResult, ...] = ()

    @property
    def ocr_text(self) -> str:
        """All images' text, one blank line between images (``""`` when none)."""
        return join_ocr_texts(self.ocr)

    @property
    def combined(self) -> str:
        """Caption and OCR text in one string, for models that read a single field."""
        return "\n\n".join(part for part in (self.caption, self.ocr_text) if part)

    def views(self) -> tuple[TextView, TextView]:
        """The text layer's reading (:func:`drugwatch.text.analyze.analyze`) of caption and OCR text."""
        from drugwatch.text.analyze import analyze

        return analyze(self.caption), analyze(self.ocr_text)


@dataclass(frozen=True)
class EventContact:
    """A contact found in an event, with where it was found.

    ``source`` is ``"text"`` (the caption; ``contact.raw_start``/``raw_end``
    slice ``event.text``) or ``"image"`` (``image_index`` and
    ``image_sha256`` name the image; the span slices that image's
    :attr:`OcrResult.text`).
    """

    contact: Contact
    source: ContactSource
    image_index: int | None = None
    image_sha256: str | None = None

    @property
    def kind(self) -> str:
        return self.contact.kind

    @property
    def value(self) -> str:
        return self.contact.value

    @property
    def app(self) -> str | None:
        return self.contact.app


def event_texts(event: Event, *, ocr: OcrEngine | None = None) -> EventTexts:
    """The caption and the OCR of every image of ``event`` (default engine if ``ocr`` is None)."""
    return EventTexts(caption=event.text, ocr=tuple(event_ocr_results(event, ocr)))


def event_text_with_ocr(event: Event, *, ocr: OcrEngine | None = None) -> str:
    """Caption, then the images' text, separated by a blank line."""
    return event_texts(event, ocr=ocr).combined


def contacts_for_event(
    event: Event,
    *,
    ocr: OcrEngine | None = None,
    texts: EventTexts | None = None,
    region: str = "US",
) -> list[EventContact]:
    """Contacts in the caption, then in each image's text, in order.

    Pass ``texts`` (from :func:`event_texts`) to reuse OCR already done. A
    contact written both in the caption and in an image is reported twice,
    once per source: they are separate pieces of evidence.
    """
    if texts is None:
        texts = event_texts(event, ocr=ocr)
    found = [EventContact(contact, "text") for contact in find_contacts(texts.caption, region=region)]
    for index, result in enumerate(texts.ocr):
        text = result.text
        if not text:
            continue
        found.extend(
            EventContact(contact, "image", image_index=index, image_sha256=result.sha256)
            for contact in find_contacts(text, region=region)
        )
    return found
