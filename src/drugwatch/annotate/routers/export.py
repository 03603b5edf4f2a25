"""Final labels for ``drugwatch train``: JSONL (bench format) and Parquet."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import REVIEWER, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render

router = APIRouter(prefix="/export", tags=["export"])


def _min(request: Request) -> int:
    return min(2, request.app.state.settings.annotators_per_event)


@router.get("")
def page(request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> Response:
    finals = service.final_labels(engine, min_annotators=_min(request))
    by_source: dict[str, int] = {}
    for final in finals:
        by_source[final.source] = by_source.get(final.source, 0) + 1
    return render(request, "export.html", user, {"n": len(finals), "by_source": by_source})


def _file(request: Request, engine: Engine, fmt: str, media_type: str) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"labels.{fmt}"
        service.export_labels(engine, path, fmt=fmt, min_annotators=_min(request))
        data = path.read_bytes()
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="labels.{fmt}"'}
    )


@router.get("/labels.jsonl")
def jsonl(request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> Response:
    return _file(request, engine, "jsonl", "application/x-ndjson")


@router.get("/labels.parquet")
def parquet(request: Request, user: CurrentUser = Depends(REVIEWER), engine: Engine = Depends(get_engine)) -> Response:
    return _file(request, engine, "parquet", "application/vnd.apache.parquet")
