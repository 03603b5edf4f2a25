"""An annotator's queue and history, the item page, and label submission
(plus skip, flag, drafts and undo)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from drugwatch.annotate import service
from drugwatch.annotate.auth import ANNOTATOR, CurrentUser, get_engine
from drugwatch.annotate.routers.common import form_levels, highlight, render

router = APIRouter(prefix="/tasks", tags=["tasks"])

Labels = Annotated[list[str], Form(max_length=10)]
#: What the redirect after an action tells the next page, for its undo banner.
DONE_ACTIONS = ("submitted", "skipped", "flagged", "drafted")
_PAGE = 100


def _task(engine: Engine, assignment_id: int, user: CurrentUser) -> service.Task:
    task = service.get_task(engine, assignment_id, user.id)
    if task is None:
        # Someone else's task is as absent as a missing one: annotators stay blind.
        raise HTTPException(404, "no such task in your queue")
    return task


def _my_progress(engine: Engine, user: CurrentUser) -> dict[str, Any] | None:
    rows = service.progress(engine, user.id)
    return rows[0] if rows else None


def _suggestions_on(request: Request, engine: Engine) -> bool:
    return request.app.state.suggester is not None and service.get_options(engine)["suggestions"]


def _suggestions(request: Request, engine: Engine, keys: list[str], *, compute: bool) -> dict[str, Any]:
    """Suggestions for ``keys`` when the project shows them: computed where
    missing (``compute``), else only those stored for the current models."""
    if not keys or not _suggestions_on(request, engine):
        return {}
    from drugwatch.annotate.suggest import ensure_suggestions, stored_suggestions

    suggester = request.app.state.suggester
    if compute:
        return ensure_suggestions(engine, suggester, keys)
    return stored_suggestions(engine, keys, suggester.models)


def _last_action(engine: Engine, user: CurrentUser, last: int | None, did: str | None) -> dict[str, Any] | None:
    """The banner after an action ("Skipped #12 · Undo"), only for the user's own task."""
    if last is None or did not in DONE_ACTIONS:
        return None
    task = service.get_task(engine, last, user.id)
    if task is None:
        return None
    return {"id": task.id, "did": did, "undoable": task.status != "pending"}


def _item_page(
    request: Request,
    user: CurrentUser,
    engine: Engine,
    task: service.Task,
    *,
    errors: tuple[str, ...] = (),
    levels: dict[str, list[str]] | None = None,
    selling: bool | None = None,
    status_code: int = 200,
    last: dict[str, Any] | None = None,
) -> Response:
    settings = request.app.state.settings
    context = service.item_context(
        engine,
        task.event_key,
        run_ocr=settings.annotate_ocr,
        media=request.app.state.media,
        ocr_min_confidence=settings.annotate_ocr_min_confidence,
    )
    if context is None:
        raise HTTPException(404, "the event of this task is no longer in the store")
    own_levels, own_selling = service.own_answer(engine, task)
    has_draft = task.status == "pending" and (bool(own_levels) or own_selling is not None)
    if levels is None:
        levels, selling = own_levels, own_selling
    suggestion = _suggestions(request, engine, [task.event_key], compute=True).get(task.event_key)
    around = service.neighbours(engine, task)
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
            "errors": errors,
            "progress": _my_progress(engine, user),
            "action": f"/tasks/{task.id}",
            "suggestion": suggestion,
            "suggested": suggestion.level_labels(context.levels) if suggestion is not None else {},
            "previous_id": around.previous,
            "next_id": around.next,
            "adjudicated": task.status == "done" and service.is_adjudicated(engine, task.event_key),
            "last": last,
            "has_draft": has_draft,
            "shown_at": f"{time.time():.1f}",
            "options": service.get_options(engine),
        },
        status_code,
    )


@router.get("")
def my_queue(
    request: Request,
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
    last: int | None = None,
    did: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    items = service.queue(engine, user.id)
    suggestions = _suggestions(request, engine, [t["event_key"] for t in items], compute=True)
    return render(
        request,
        "tasks.html",
        user,
        {
            "queue": items,
            "suggestions": suggestions,
            "has_model": request.app.state.suggester is not None or request.app.state.scorer is not None,
            "progress": _my_progress(engine, user),
            "last": _last_action(engine, user, last, did),
        },
    )


@router.get("/history")
def my_history(
    request: Request,
    status: Annotated[str, Query(pattern="^(all|done|skipped|flagged|draft)$")] = "all",
    kind: Annotated[str, Query(pattern="^(|post|comment)$")] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    rows = service.history(
        engine,
        user.id,
        status=status,
        kind=kind or None,
        q=q.strip() or None,
        limit=_PAGE + 1,
        offset=(page - 1) * _PAGE,
    )
    return render(
        request,
        "history.html",
        user,
        {
            "rows": rows[:_PAGE],
            "more": len(rows) > _PAGE,
            "filters": {"status": status, "kind": kind, "q": q},
            "statuses": service.HISTORY_FILTERS,
            "page": page,
        },
    )


@router.get("/next")
def next_task(
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
    last: int | None = None,
    did: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    # A drafted task stays pending: the next item is another one.
    task_id = service.next_task(engine, user.id, exclude=last if did == "drafted" else None)
    after = f"?last={last}&did={did}" if last is not None and did in DONE_ACTIONS else ""
    return RedirectResponse(f"/tasks/{task_id}{after}" if task_id is not None else f"/tasks{after}", status_code=303)


@router.get("/{assignment_id}")
def show(
    assignment_id: int,
    request: Request,
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
    last: int | None = None,
    did: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return _item_page(
        request, user, engine, _task(engine, assignment_id, user), last=_last_action(engine, user, last, did)
    )


@router.post("/{assignment_id}")
def submit(
    assignment_id: int,
    request: Request,
    hashtag: Labels = [],
    image: Labels = [],
    comment: Labels = [],
    selling: Annotated[str | None, Form(max_length=8)] = None,
    shown_at: Annotated[str | None, Form(max_length=32)] = None,
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    task = _task(engine, assignment_id, user)
    event = service.events_by_key(engine, [task.event_key]).get(task.event_key)
    if event is None:
        raise HTTPException(404, "the event of this task is no longer in the store")
    if task.status == "done" and service.is_adjudicated(engine, task.event_key):
        raise HTTPException(409, "this item is already adjudicated; its answer can no longer be changed")
    levels = form_levels(hashtag, image, comment)
    try:
        answer = service.parse_answer(event, levels, selling)
    except service.AnswerError as exc:
        return _item_page(
            request,
            user,
            engine,
            task,
            errors=exc.messages,
            levels=levels,
            selling=service.parse_selling(selling),
            status_code=422,
        )
    # What the page offered: the stored suggestion for the current models (never
    # computed here, so an answer is only marked "suggested" if it was shown).
    suggestion = _suggestions(request, engine, [task.event_key], compute=False).get(task.event_key)
    service.submit(engine, task, answer, suggestion, service.item_seconds(shown_at, time.time()))
    return RedirectResponse(f"/tasks/next?last={task.id}&did=submitted", status_code=303)


@router.post("/{assignment_id}/draft")
def draft(
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
    levels = form_levels(hashtag, image, comment)
    try:
        service.save_draft(engine, task, levels, service.parse_selling(selling))
    except service.TaskStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except service.AnswerError as exc:
        return _item_page(
            request,
            user,
            engine,
            task,
            errors=exc.messages,
            levels=levels,
            selling=service.parse_selling(selling),
            status_code=422,
        )
    return RedirectResponse(f"/tasks/next?last={task.id}&did=drafted", status_code=303)


@router.post("/{assignment_id}/skip")
def skip(assignment_id: int, user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    task = _task(engine, assignment_id, user)
    if task.status == "done" and service.is_adjudicated(engine, task.event_key):
        raise HTTPException(409, "this item is already adjudicated")
    service.pass_task(engine, task, "skipped")
    return RedirectResponse(f"/tasks/next?last={task.id}&did=skipped", status_code=303)


@router.post("/{assignment_id}/flag")
def flag(
    assignment_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    user: CurrentUser = Depends(ANNOTATOR),
    engine: Engine = Depends(get_engine),
) -> Response:
    task = _task(engine, assignment_id, user)
    if task.status == "done" and service.is_adjudicated(engine, task.event_key):
        raise HTTPException(409, "this item is already adjudicated")
    service.pass_task(engine, task, "flagged", note.strip() or None)
    return RedirectResponse(f"/tasks/next?last={task.id}&did=flagged", status_code=303)


@router.post("/{assignment_id}/undo")
def undo(assignment_id: int, user: CurrentUser = Depends(ANNOTATOR), engine: Engine = Depends(get_engine)) -> Response:
    try:
        service.undo(engine, _task(engine, assignment_id, user))
    except service.TaskStateError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/tasks/{assignment_id}", status_code=303)
