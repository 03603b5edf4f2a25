"""``POST /v1/inspect``: the text layer's view of a text (scope ``inspect``).

The text is read and the answer built and serialized on the score queue's
worker thread, never on the event loop (a text with many hits makes many
objects).
"""

# No ``from __future__ import annotations``: the body class is built at app
# creation, and FastAPI must see it, not its name.
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from drugwatch.api.deps import INSPECT, AuthFirstRoute
from drugwatch.api.payloads import InputModels, InspectOut, inspect_out
from drugwatch.api.routers.common import AUTH_ERRORS, errors
from drugwatch.text.analyze import analyze


def _inspect_json(text: str) -> str:
    return inspect_out(analyze(text)).model_dump_json()


def build_router(inputs: InputModels) -> APIRouter:
    """The inspect route, with the text length of the settings."""
    router = APIRouter(prefix="/v1", tags=["inspect"], route_class=AuthFirstRoute)
    InspectIn: Any = inputs.inspect  # made per app: no static type names it

    @router.post(
        "/inspect",
        response_model=InspectOut,
        summary="Inspect a text",
        responses=errors(*AUTH_ERRORS, 413, 422),
        dependencies=[Depends(INSPECT)],
    )
    async def inspect_text(body: InspectIn, request: Request) -> Response:
        """Normalized text, hashtags (segmented and categorized), contacts and lexicon hits, with spans."""
        request.state.n_events = 1
        content = await request.app.state.queue.run(_inspect_json, body.text)
        return Response(content=content, media_type="application/json")

    return router
