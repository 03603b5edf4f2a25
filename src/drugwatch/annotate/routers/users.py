"""Admins manage accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, delete, select, update

from drugwatch.annotate import auth
from drugwatch.annotate.auth import ADMIN, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render
from drugwatch.annotate.schema import ROLES, SessionRow, UserRow

router = APIRouter(prefix="/admin/users", tags=["users"])


def _page(
    request: Request, user: CurrentUser, engine: Engine, error: str | None = None, status_code: int = 200
) -> Response:
    with engine.connect() as conn:
        users = conn.execute(
            select(UserRow.id, UserRow.username, UserRow.role, UserRow.active).order_by(UserRow.username)
        ).all()
    return render(request, "admin_users.html", user, {"users": users, "roles": ROLES, "error": error}, status_code)


@router.get("")
def list_users(request: Request, user: CurrentUser = Depends(ADMIN), engine: Engine = Depends(get_engine)) -> Response:
    return _page(request, user, engine)


@router.post("")
def create_user(
    request: Request,
    username: Annotated[str, Form(min_length=2, max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)],
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    try:
        auth.create_user(engine, username, password, role, request.app.state.hasher)
    except ValueError as exc:
        return _page(request, user, engine, str(exc), 422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/{user_id}/active")
def set_active(
    user_id: int,
    active: Annotated[bool, Form()],
    user: CurrentUser = Depends(ADMIN),
    engine: Engine = Depends(get_engine),
) -> Response:
    if user_id == user.id and not active:
        raise HTTPException(400, "you cannot deactivate your own account")
    with engine.begin() as conn:
        done = conn.execute(update(UserRow).where(UserRow.id == user_id).values(active=active)).rowcount
        if not active:
            conn.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
    if not done:
        raise HTTPException(404, "no such user")
    return RedirectResponse("/admin/users", status_code=303)
