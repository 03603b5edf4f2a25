"""Event images, served only to users allowed to see the event, and only from
allowed media roots (:class:`drugwatch.annotate.service.MediaLibrary`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ANY_ROLE, CurrentUser, get_engine

router = APIRouter(prefix="/media", tags=["media"])

_CHUNK = 64 * 1024


def _chunks(handle: Any, size: int) -> Iterator[bytes]:
    # At most the size announced in Content-Length, even if the file grew.
    try:
        while size > 0 and (chunk := handle.read(min(_CHUNK, size))):
            size -= len(chunk)
            yield chunk
    finally:
        handle.close()


@router.get("/{event_key}/{index}")
def image(
    request: Request,
    event_key: str,
    index: int,
    user: CurrentUser = Depends(ANY_ROLE),
    engine: Engine = Depends(get_engine),
) -> StreamingResponse:
    if not service.can_see_event(engine, user.id, user.role, event_key):
        raise HTTPException(404, "no such image")
    # Only paths recorded on the event are served, never a path from the URL,
    # and only when the media check passes. Every refusal reads the same, so
    # the answer says nothing about which files exist on the server.
    opened = service.open_image(engine, request.app.state.media, event_key, index)
    if opened is None:
        raise HTTPException(404, "no such image on disk")
    return StreamingResponse(
        _chunks(opened.handle, opened.size),
        media_type=opened.content_type,
        headers={
            "Content-Length": str(opened.size),
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )
