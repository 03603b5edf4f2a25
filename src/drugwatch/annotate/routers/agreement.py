"""Agreement statistics for adjudicators and admins (annotators stay blind)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.agreement import agreement_report
from drugwatch.annotate.auth import REVIEWER, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render
from drugwatch.annotate.suggest import suggestion_report

router = APIRouter(tags=["agreement"])


@router.get("/agreement")
def page(request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> Response:
    report = agreement_report(service.collect_answers(engine))
    return render(request, "agreement.html", user, {"report": report, "model": suggestion_report(engine)})


@router.get("/agreement.json")
def as_json(user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> JSONResponse:
    return JSONResponse(
        {**agreement_report(service.collect_answers(engine)).as_dict(), "suggestions": suggestion_report(engine)}
    )
