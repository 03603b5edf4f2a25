"""Helpers the routers share: page rendering and text highlighting."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from drugwatch.annotate.auth import CurrentUser


def render(request: Request, name: str, user: CurrentUser | None, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": user.csrf_token if user else None, **(context or {})},
        status_code=status_code,
    )


def highlight(text: str) -> Markup:
    """``text`` as HTML with hashtags (by JMIR category) and contacts marked."""
    if not text:
        return Markup("")
    try:
        from drugwatch.text.analyze import analyze

        view = analyze(text)
    except Exception:  # highlighting is a help, never a reason to fail the page
        return escape(text)
    spans: list[tuple[int, int, str, str]] = []
    for tag in view.hashtags:
        spans.append((tag.raw_start, tag.raw_end, f"tag tag-{tag.analysis.kind}", f"hashtag: {tag.analysis.kind}"))
    for contact in view.contacts:
        what = f"{contact.kind}{' / ' + contact.app if contact.app else ''}: {contact.value}"
        spans.append((contact.raw_start, contact.raw_end, "contact", what))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    pos = 0
    for start, end, css, title in spans:
        if start < pos or end <= start or end > len(text):
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark class="{css}" title="{escape(title)}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def form_levels(hashtag: list[str], image: list[str], comment: list[str]) -> dict[str, list[str]]:
    return {"hashtag": hashtag, "image": image, "comment": comment}
