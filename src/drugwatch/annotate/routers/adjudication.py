"""The disagreement queue and final decisions, for adjudicators."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ADJUDICATOR, CurrentUser, get_engine
from drugwatch.annotate.routers.common import form_levels, highlight, render

router = APIRouter(prefix="/adjudicate", tags=["adjudication"])

Labels = Annotated[list[str], Form(max_length=10)]


@router.get("")
def queue(request: Request, user: CurrentUser = Depends(ADJUDICATOR), engine: Engine = Depends(get_engine)) -> Response:
    return render(request, "adjudicate_list.html", user, {"items": service.disagreements(engine)})


def _page(
    request: Request,
    user: CurrentUser,
    engine: Engine,
    event_key: str,
    *,
    errors: tuple[str, ...] = (),
    levels: dict[str, list[str]] | None = None,
    selling: bool | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    context = service.item_context(
        engine,
        event_key,
        run_ocr=settings.annotate_ocr,
        media=request.app.state.media,
        ocr_min_confidence=settings.annotate_ocr_min_confidence,
    )
    if context is None:
        raise HTTPException(404, "no such event")
    answers = service.collect_answers(engine, [event_key]).get(event_key, {})
    if levels is None:
        levels, selling = service.majority(answers)
    return render(
        request,
        "adjudicate_item.html",
        user,
        {
            "item": context,
            "answers": answers,
            "differ": service.differing_levels(answers),
            "seconds": service.answer_seconds(engine, event_key),
            "highlight": highlight,
            "chosen": levels,
            "selling": selling,
            "errors": errors,
            "suggested": {},
            "options": service.get_options(engine),
            "action": f"/adjudicate/{event_key}",
        },
        status_code,
    )


@router.get("/{event_key}")
def show(
    event_key: str, request: Request, user: CurrentUser = Depends(ADJUDICATOR), engine: Engine = Depends(get_engine)
) -> Response:
    return _page(request, user, engine, event_key)


@router.post("/{event_key}")
def decide(
    event_key: str,
    request: Request,
    hashtag: Labels = [],
    image: Labels = [],
    comment: Labels = [],
    selling: Annotated[str | None, Form(max_length=8)] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    user: CurrentUser = Depends(ADJUDICATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    event = service.events_by_key(engine, [event_key]).get(event_key)
    if event is None:
        raise HTTPException(404, "no such event")
    levels = form_levels(hashtag, image, comment)
    try:
        answer = service.parse_answer(event, levels, selling)
    except service.AnswerError as exc:
        return _page(
            request,
            user,
            engine,
            event_key,
            errors=exc.messages,
            levels=levels,
            selling=service.parse_selling(selling),
            status_code=422,
        )
    service.adjudicate(engine, event_key, user.id, answer, note.strip() or None)
    # On to the next disagreement (in queue order, wrapping), or the empty queue.
    waiting = [d.event_key for d in service.disagreements(engine)]
    after = [key for key in waiting if key > event_key] or waiting
    return RedirectResponse(f"/adjudicate/{quote(after[0], safe=':')}" if after else "/adjudicate", status_code=303)
