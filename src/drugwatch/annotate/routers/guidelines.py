"""The labelling guidelines page (every role: annotators label by them,
adjudicators decide by them)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from drugwatch.annotate.auth import ANY_ROLE, CurrentUser
from drugwatch.annotate.routers.common import render

router = APIRouter(tags=["guidelines"])


@router.get("/guidelines")
def page(request: Request, user: CurrentUser = Depends(ANY_ROLE)) -> Response:
    return render(request, "guidelines.html", user)
