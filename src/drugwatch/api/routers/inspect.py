"""``POST /v1/inspect``: the text layer's view of a text (scope ``inspect``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from drugwatch.api.deps import INSPECT
from drugwatch.api.payloads import InspectIn, InspectOut, inspect_out
from drugwatch.api.routers.common import AUTH_ERRORS, errors
from drugwatch.text.analyze import analyze

router = APIRouter(prefix="/v1", tags=["inspect"])
_INLINE_CHARS = 4000


@router.post("/inspect", response_model=InspectOut, summary="Inspect a text",
             responses=errors(*AUTH_ERRORS, 413, 422), dependencies=[Depends(INSPECT)])
async def inspect_text(body: InspectIn, request: Request) -> InspectOut:
    """Normalized text, hashtags (segmented and categorized), contacts and lexicon hits, with spans."""
    request.state.n_events = 1
    if len(body.text) > _INLINE_CHARS:  # long texts would hold up the event loop
        return inspect_out(await asyncio.to_thread(analyze, body.text))
    return inspect_out(analyze(body.text))
