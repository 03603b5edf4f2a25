"""Helpers the routers share: page rendering and text highlighting."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from drugwatch.annotate.auth import CurrentUser
from drugwatch.annotate.evidence import highlight

__all__ = ["form_levels", "highlight", "render"]


def render(
    request: Request, name: str, user: CurrentUser | None, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": user.csrf_token if user else None, **(context or {})},
        status_code=status_code,
    )


def form_levels(hashtag: list[str], image: list[str], comment: list[str]) -> dict[str, list[str]]:
    return {"hashtag": hashtag, "image": image, "comment": comment}
