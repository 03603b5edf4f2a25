"""An annotator's queue, the item page, and label submission (plus skip and flag)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ANNOTATOR, CurrentUser, get_engine
from drugwatch.annotate.routers.common import form_levels, highlight, render

router = APIRouter(prefix="/tasks", tags=["tasks"])

Labels = Annotated[list[str], Form(max_length=10)]


def _task(engine: Engine, assignment_id: int, user: CurrentUser) -> service.Task:
    task = service.get_task(engine, assignment_id, user.id)
    if task is None:
        # Someone else's task is as absent as a missing one: annotators stay blind.
        raise HTTPException(404, "no such task in your queue")
    return task


def _item_page(request: Request, user: CurrentUser, engine: Engine, task: service.Task, *, error: str | None = None,
               levels: dict[str, list[str]] | None = None, selling: bool | None = None, status_code: int = 200) -> Response:
    context = service.item_context(engine, task.event_key, run_ocr=request.app.state.settings.annotate_ocr,
                                   media=request.app.state.media)
    if context is None:
        raise HTTPException(404, "the event of this task is no longer in the store")
    if levels is None:
        levels, selling = service.own_answer(engine, task)
    return render(
        request,
        "item.html",
        user,
        {
            "task": task,
            "item": context,
            "highlight": highlight,
            "chosen": levels,
            "selling": selling,
            "error": error,
            "progress": (service.progress(engine, user.id) or [None])[0],
            "action": f"/tasks/{task.id}",
        },
        status_code,
    )


@router.get("")
def my_queue(request: Request, user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    return render(
        request,
        "tasks.html",
        user,
        {"queue": service.queue(engine, user.id), "progress": (service.progress(engine, user.id) or [None])[0]},
    )


@router.get("/next")
def next_task(user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    task_id = service.next_task(engine, user.id)
    return RedirectResponse(f"/tasks/{task_id}" if task_id is not None else "/tasks", status_code=303)


@router.get("/{assignment_id}")
def show(assignment_id: int, request: Request, user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    return _item_page(request, user, engine, _task(engine, assignment_id, user))


@router.post("/{assignment_id}")
def submit(
    assignment_id: int,
    request: Request,
    hashtag: Labels = [],
    image: Labels = [],
    comment: Labels = [],
    selling: Annotated[str | None, Form(max_length=8)] = None,
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    task = _task(engine, assignment_id, user)
    event = service.events_by_key(engine, [task.event_key]).get(task.event_key)
    if event is None:
        raise HTTPException(404, "the event of this task is no longer in the store")
    levels = form_levels(hashtag, image, comment)
    try:
        answer = service.parse_answer(event, levels, selling)
    except service.AnswerError as exc:
        chosen_selling = {"1": True, "0": False}.get(selling or "")
        return _item_page(request, user, engine, task, error=str(exc), levels=levels, selling=chosen_selling, status_code=422)
    service.submit(engine, task, answer)
    return RedirectResponse("/tasks/next", status_code=303)


@router.post("/{assignment_id}/skip")
def skip(assignment_id: int, user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    service.pass_task(engine, _task(engine, assignment_id, user), "skipped")
    return RedirectResponse("/tasks/next", status_code=303)


@router.post("/{assignment_id}/flag")
def flag(
    assignment_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    service.pass_task(engine, _task(engine, assignment_id, user), "flagged", note.strip() or None)
    return RedirectResponse("/tasks/next", status_code=303)
