"""Admins assign events to annotators, watch progress and order the queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ADMIN, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render

router = APIRouter(prefix="/admin/assignments", tags=["assignments"])


def _page(
    request: Request, user: CurrentUser, engine: Engine, message: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "admin_assignments.html",
        user,
        {
            "progress": service.progress(engine),
            "k": request.app.state.settings.annotators_per_event,
            "has_model": request.app.state.scorer is not None,
            "options": service.get_options(engine),
            "message": message,
        },
        status_code,
    )


@router.get("")
def overview(request: Request, user: CurrentUser = Depends(ADMIN), engine: Engine = Depends(get_engine)) -> Response:
    return _page(request, user, engine)


@router.post("")
def assign(
    request: Request,
    k: Annotated[int | None, Form(ge=1, le=20)] = None,
    limit: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
    kind: Annotated[str, Form(pattern="^(|post|comment)$")] = "",
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    try:
        made = service.assign(
            engine, k=k or request.app.state.settings.annotators_per_event, limit=limit, kinds=[kind] if kind else None
        )
    except ValueError as exc:
        return _page(request, user, engine, str(exc), 422)
    message = f"{made} new assignment(s)."
    scorer = request.app.state.scorer
    if made and scorer is not None:
        # With a model configured, new work is queued most-uncertain first.
        ranked = service.prioritize(engine, scorer, diversity=request.app.state.settings.annotate_diversity)
        message += f" Queues ordered by model uncertainty ({ranked} event(s))."
    return _page(request, user, engine, message)


@router.post("/prioritize")
def prioritize(request: Request, user: CurrentUser = Depends(ADMIN), engine: Engine = Depends(get_engine)) -> Response:
    scorer = request.app.state.scorer
    if scorer is None:
        raise HTTPException(409, "no model configured: set DRUGWATCH_ANNOTATE_MODEL to a saved detector directory")
    n = service.prioritize(engine, scorer, diversity=request.app.state.settings.annotate_diversity)
    return _page(request, user, engine, f"Reordered the queues of {n} event(s) by model uncertainty.")


@router.post("/options")
def options(
    request: Request,
    suggestions: Annotated[bool, Form()] = False,
    blur_images: Annotated[bool, Form()] = False,
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    """Project switches: model suggestions on the item page (off for blind labels), blurred images."""
    service.set_option(engine, "suggestions", suggestions)
    service.set_option(engine, "blur_images", blur_images)
    shown = "shown" if suggestions else "hidden (blind labelling)"
    return _page(
        request, user, engine, f"Suggestions {shown}; images {'blurred' if blur_images else 'not blurred'} by default."
    )
