"""Event images, served only to users allowed to see the event."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ANY_ROLE, CurrentUser, get_engine

router = APIRouter(prefix="/media", tags=["media"])


@router.get("/{event_key}/{index}")
def image(event_key: str, index: int, user: CurrentUser = Depends(ANY_ROLE), engine: Engine = Depends(get_engine)) -> FileResponse:
    if not service.can_see_event(engine, user.id, user.role, event_key):
        raise HTTPException(404, "no such image")
    # Only paths recorded on the event are served, never a path from the URL.
    path = service.image_path(engine, event_key, index)
    if path is None:
        raise HTTPException(404, "no such image on disk")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
