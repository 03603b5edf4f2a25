"""Slang review (admins): run new-slang discovery over the stored events, and
accept terms into the user lexicon file or reject them."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import slang
from drugwatch.annotate.auth import ADMIN, CurrentUser, get_engine
from drugwatch.annotate.evidence import highlight_term
from drugwatch.annotate.routers.common import render
from drugwatch.labels import DRUG_LABELS

router = APIRouter(prefix="/admin/slang", tags=["slang"])

Term = Annotated[str, Form(min_length=1, max_length=64)]


def _page(
    request: Request,
    user: CurrentUser,
    engine: Engine,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    proposed = slang.candidates(engine)
    context: dict[str, Any] = {
        "candidates": proposed,
        "decided": slang.decided(engine),
        "drug_labels": DRUG_LABELS,
        "lexicon_path": settings.user_lexicon,
        "max_events": settings.annotate_slang_events,
        "last_run": proposed[0]["proposed_at"] if proposed else None,
        "events_read": proposed[0]["events_read"] if proposed else None,
        "highlight_term": highlight_term,
        "message": message,
        "error": error,
    }
    return render(request, "slang.html", user, context, status_code)


@router.get("")
def page(
    request: Request,
    accepted: Annotated[str | None, Query(max_length=64)] = None,
    rejected: Annotated[str | None, Query(max_length=64)] = None,
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    message = None
    if accepted:
        message = f"Accepted “{accepted}” into {request.app.state.settings.user_lexicon}."
    elif rejected:
        message = f"Rejected “{rejected}”: it will not be proposed again."
    return _page(request, user, engine, message=message)


@router.post("/run")
def run(
    request: Request,
    limit: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
    top: Annotated[int, Form(ge=1, le=slang.MAX_TOP)] = 50,
    min_count: Annotated[int, Form(ge=1, le=10_000)] = 3,
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    cap = request.app.state.settings.annotate_slang_events
    try:
        result = slang.run_discovery(engine, limit=min(limit or cap, cap), top=top, min_count=min_count)
    except (OSError, ValueError) as exc:
        # The text layer could not load its lexicon (a DRUGWATCH_USER_LEXICON
        # file that is missing or malformed): nothing was changed.
        return _page(request, user, engine, error=f"discovery could not run: {exc}", status_code=409)
    return _page(
        request, user, engine, message=f"Read {result.events_read} event(s); {result.proposed} term(s) proposed."
    )


@router.post("/accept")
def accept(
    request: Request,
    term: Term,
    label: Annotated[str, Form(max_length=32)],
    ambiguous: Annotated[bool, Form()] = False,
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    try:
        slang.accept(
            engine,
            term,
            label,
            ambiguous=ambiguous,
            user_id=user.id,
            username=user.username,
            lexicon_path=request.app.state.settings.user_lexicon,
        )
    except slang.SlangError as exc:
        return _page(request, user, engine, error=str(exc), status_code=exc.status)
    return RedirectResponse(f"/admin/slang?accepted={quote(term)}", status_code=303)


@router.post("/reject")
def reject(
    request: Request,
    term: Term,
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    try:
        slang.reject(engine, term, user_id=user.id)
    except slang.SlangError as exc:
        return _page(request, user, engine, error=str(exc), status_code=exc.status)
    return RedirectResponse(f"/admin/slang?rejected={quote(term)}", status_code=303)
