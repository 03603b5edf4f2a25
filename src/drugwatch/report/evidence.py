"""Evidence: raw text with the hits highlighted, image thumbnails, and per-account bundles.

A bundle is a folder per account::

    evidence/<account>/
        account.json        the account record (masked unless --unmask)
        events/NNN.json     one scored event each (raw text, hits, contacts, provenance)
        images/<sha256>.*   the image files as they were scanned
        bundle.html         the same, readable in a browser
        manifest.json       every file above with its SHA-256 and size, plus the
                            SHA-256 of each event's raw payload from its provenance

so each item can be verified later (``sha256sum -c``-style) and traced to
the payload it came from.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from drugwatch.records import Account
from drugwatch.report.masking import Masker
from drugwatch.scoring import EventResult

__all__ = ["highlight", "masked_result", "thumbnail", "write_bundle"]


#: Long letter-and-digit tokens (wallet addresses, keys, IDs) that the contact reader did not validate:
#: treated as contacts for highlighting and masking, so an unrecognized address is never shown masked-off.
_LONG_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}(?![A-Za-z0-9])"
)


def _spans(result: EventResult) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, css class, label) spans of the raw text; contacts win overlaps."""
    chosen: list[tuple[int, int, str, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in chosen)

    text_contacts = [c for c in result.contacts if c.source == "text"]
    for c in sorted(text_contacts, key=lambda c: (c.start, -c.end)):
        if c.start < c.end and free(c.start, c.end):
            chosen.append((c.start, c.end, "contact", f"{c.kind}:{c.value}"))
    for match in _LONG_TOKEN.finditer(result.text):
        if free(match.start(), match.end()):
            chosen.append((match.start(), match.end(), "contact", f"token:{match.group()}"))
    for h in sorted(result.lexicon_hits, key=lambda h: (h.start, -h.end)):
        if h.start < h.end and free(h.start, h.end):
            chosen.append((h.start, h.end, "drug" if h.label else "sale", h.label or h.kind))
    for t in result.hashtags:
        if t.start is not None and t.end is not None and t.start < t.end and free(t.start, t.end):
            chosen.append((t.start, t.end, "tag", t.kind))
    return sorted(chosen)


def highlight(result: EventResult, masker: Masker) -> str:
    """The raw text as HTML: drug terms, sale terms, hashtags and contacts marked; contacts masked unless unmasked."""
    text = result.text
    out, pos = [], 0
    for start, end, css, label in _spans(result):
        out.append(escape(text[pos:start]))
        piece = text[start:end]
        if css == "contact":
            kind, _, value = label.partition(":")
            piece = masker.contact(kind, value) if not masker.unmask else piece
        out.append(
            f'<mark class="{css}" title="{escape(label if masker.unmask or css != "contact" else css)}">'
            f"{escape(piece)}</mark>"
        )
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def masked_text(result: EventResult, masker: Masker) -> str:
    """The raw text with contact spans replaced by their masks (plain text)."""
    if masker.unmask:
        return result.text
    text, out, pos = result.text, [], 0
    for start, end, css, label in _spans(result):
        if css != "contact":
            continue
        kind, _, value = label.partition(":")
        out.append(text[pos:start])
        out.append(masker.contact(kind, value))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def masked_result(result: EventResult, masker: Masker) -> dict[str, Any]:
    """A result as JSON with usernames, contact values and contact spans masked (unless unmasked)."""
    data = result.model_dump(mode="json")
    if masker.unmask:
        return data
    data["author"] = masker.user(result.author)
    data["text"] = masked_text(result, masker)
    data["normalized_text"] = None  # holds the contacts in clear; the masked raw text stands in
    data["ocr_text"] = None if result.ocr_text is None else "[masked]"
    data["contacts"] = [
        {**c, "value": masker.contact(c["kind"], c["value"]), "start": None, "end": None} for c in data["contacts"]
    ]
    data["note"] = "personal data masked; spans of the raw text are omitted because the masked text differs"
    data["lexicon_hits"] = [{**h, "start": None, "end": None} for h in data["lexicon_hits"]]
    data["hashtags"] = [{**t, "start": None, "end": None} for t in data["hashtags"]]
    return data


def thumbnail(path: str | None, masker: Masker, size: int = 160) -> str | None:
    """A data: URI JPEG thumbnail of an image file (blurred when masked), or ``None`` if unreadable."""
    if not path or not Path(path).is_file():
        return None
    try:
        from PIL import Image, ImageFilter

        with Image.open(path) as opened:
            image = opened.convert("RGB")
            image.thumbnail((size, size))
            if not masker.unmask:
                image = image.filter(ImageFilter.GaussianBlur(radius=4))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except (OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def event_card(result: EventResult, masker: Masker, *, images: bool = True) -> str:
    """One event as an HTML block: scores, highlighted text, thumbnails, provenance and hashes."""
    prov = result.provenance or {}
    scores = []
    if result.selling_probability is not None:
        scores.append(f"selling {result.selling_probability:.3f}")
    if result.drug_labels:
        scores.append("drugs: " + ", ".join(result.drug_labels))
    vision = result.vision
    image_p = {s.index: s for s in vision.images} if vision is not None else {}
    thumbs = []
    if images:
        for index, image in enumerate(result.images):
            uri = thumbnail(image.get("path"), masker)
            sha = image.get("sha256") or (image_p[index].sha256 if index in image_p else None) or "?"
            score = image_p.get(index)
            if score is None:
                label = ""
            elif score.probability is None:
                label = f'<span class="p-image">image not read: {escape(score.error or "unreadable")}</span><br>'
            else:
                label = f'<span class="p-image">P(drug) {score.probability:.3f}</span><br>'
            if uri:
                thumbs.append(
                    f'<figure><img src="{uri}" alt="image {escape(sha[:12])}"><figcaption>{label}sha256 '
                    f"{escape(sha[:16])}…</figcaption></figure>"
                )
            elif label:
                thumbs.append(
                    f"<figure><figcaption>{label}sha256 {escape(sha[:16])}… (no thumbnail)</figcaption></figure>"
                )
    ocr = [c for c in result.contacts if c.source == "image"]
    ocr_line = ""
    if ocr:
        ocr_line = "<p>in images: " + ", ".join(escape(masker.contact(c.kind, c.value)) for c in ocr) + "</p>"
    if result.ocr_text:
        # OCR text holds the contacts in clear: shown only unmasked, like the normalized text.
        ocr_line += (
            f'<p class="ocr">text in images: {escape(result.ocr_text)}</p>'
            if masker.unmask
            else f'<p class="ocr">text in images: {len(result.ocr_text)} characters (masked)</p>'
        )
    if vision is not None:
        parts = []
        if vision.image_probability is not None:
            parts.append(f"image {vision.image_probability:.3f}")
        if vision.text_probability is not None:
            parts.append(f"text {vision.text_probability:.3f}")
        if vision.fused is not None:
            parts.append(f"fused {'drug' if vision.fused else 'no drug'} {vision.fused_probability:.3f}")
        parts.append(f"by {vision.fused_by}" + (f" ({vision.rule})" if vision.rule else ""))
        if vision.agreement:
            parts.append(f"image/text: {vision.agreement}")
        scores.append(" · ".join(parts))
    return (
        f'<div class="event"><p class="meta">{escape(result.kind)} {escape(masker.user(result.author))} · '
        f"{escape(str(result.created_at or ''))} · {escape(' · '.join(scores))}</p>"
        f'<p class="text">{highlight(result, masker)}</p>{ocr_line}<div class="thumbs">{"".join(thumbs)}</div>'
        f'<p class="prov">source {escape(str(prov.get("source")))} {escape(str(prov.get("locator") or ""))} · '
        f"fetched {escape(str(prov.get('fetched_at')))} · raw sha256 <code>{escape(str(prov.get('raw_sha256')))}"
        f"</code> · key <code>{escape(result.key if masker.unmask else result.id)}</code></p></div>"
    )


def write_bundle(
    out_dir: str | Path,
    username: str,
    results: Sequence[EventResult],
    account: Account | None,
    masker: Masker,
    *,
    css: str = "",
) -> Path:
    """Write the evidence bundle of one account (see the module docstring); return its folder."""
    name = masker.user(username)
    root = Path(out_dir) / "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    if root.exists():
        shutil.rmtree(root)
    (root / "events").mkdir(parents=True)
    files: list[dict[str, Any]] = []

    def add(path: Path, what: str, **extra: Any) -> None:
        files.append(
            {
                "path": str(path.relative_to(root)),
                "what": what,
                "sha256": _sha256_file(path),
                "bytes": path.stat().st_size,
                **extra,
            }
        )

    account_data: dict[str, Any] = {"username": name}
    if account is not None:
        data = account.model_dump(mode="json", exclude={"timeline"})
        if not masker.unmask:
            data = {k: data[k] for k in ("platform", "followers", "following", "posts_count", "is_private", "dealer")}
            data["username"] = name
            data["bio"] = "[masked]"
        account_data = data
    (root / "account.json").write_text(json.dumps(account_data, indent=1, ensure_ascii=False), encoding="utf-8")
    add(root / "account.json", "account")
    for index, result in enumerate(results):
        path = root / "events" / f"{index:03d}.json"
        path.write_text(json.dumps(masked_result(result, masker), indent=1, ensure_ascii=False), encoding="utf-8")
        add(path, "event", event_id=result.id, raw_sha256=(result.provenance or {}).get("raw_sha256"))
        if masker.unmask:
            for image in result.images:
                src = image.get("path")
                if src and Path(src).is_file():
                    (root / "images").mkdir(exist_ok=True)
                    sha = _sha256_file(Path(src))
                    dst = root / "images" / f"{sha}{Path(src).suffix.lower()}"
                    if not dst.exists():
                        shutil.copyfile(src, dst)
                        add(dst, "image", event_id=result.id, declared_sha256=image.get("sha256"))
    cards = "".join(event_card(r, masker) for r in results)
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>evidence {escape(name)}</title>'
        f"<style>{css}</style></head><body><h1>Evidence: {escape(name)}</h1>"
        f"<p>{len(results)} events; every file is listed with its SHA-256 in manifest.json. "
        f"{'Personal data shown (unmasked).' if masker.unmask else 'Personal data masked; images blurred and not copied.'}"
        f"</p>{cards}</body></html>"
    )
    (root / "bundle.html").write_text(html, encoding="utf-8")
    add(root / "bundle.html", "html")
    manifest = {
        "account": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "masked": not masker.unmask,
        "models": [m.dump() for m in results[0].models] if results else [],
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return root
