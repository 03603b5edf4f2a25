"""Hashtag weights from final labels: the annotation tool's feedback to the crawler."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import REVIEWER, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render

router = APIRouter(prefix="/hashtags", tags=["hashtags"])


@router.get("")
def page(request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> Response:
    return render(request, "hashtags.html", user, {"weights": service.hashtag_weights(engine)})


@router.get("/weights.json")
def weights(user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> JSONResponse:
    return JSONResponse(service.hashtag_weights(engine))


@router.post("/recompute")
def recompute(
    request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)
) -> Response:
    service.recompute_hashtag_weights(engine, min_annotators=min(2, request.app.state.settings.annotators_per_event))
    return RedirectResponse("/hashtags", status_code=303)
