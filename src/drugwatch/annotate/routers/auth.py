"""Sign in and out. The only public routes: the login form and its POST."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from drugwatch.annotate import auth
from drugwatch.annotate.auth import ANY_ROLE, CurrentUser, get_engine
from drugwatch.annotate.routers.common import render
from drugwatch.annotate.throttle import Attempt, LoginGuard, address_key

router = APIRouter(tags=["auth"])

HOME = {"annotator": "/tasks", "adjudicator": "/adjudicate", "admin": "/admin/assignments"}
_LOGIN_CSRF_MAX_AGE = 2 * 3600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.signing_key, salt="drugwatch-login-csrf")


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: "//evil.example" and "/\\evil" are other hosts to a browser.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _login_page(
    request: Request,
    next_url: str | None,
    error: str | None = None,
    status_code: int = 200,
    retry_after: int | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, {"login_csrf": token, "next": next_url or "", "error": error}, status_code
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        _serializer(request).dumps(token),
        max_age=_LOGIN_CSRF_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
    engine: Engine = Depends(get_engine),
) -> Response:
    # Async so that a request waiting for a hash slot holds no worker thread;
    # the hash and the database calls run in the thread pool.
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    try:
        expected = _serializer(request).loads(cookie, max_age=_LOGIN_CSRF_MAX_AGE)
    except BadSignature:
        expected = None
    if not expected or not csrf_token or not hmac.compare_digest(str(expected), csrf_token):
        return _login_page(request, _safe_next(next), "The form expired; please sign in again.", 403)
    # Throttled before any hashing; the answer is the same whether the account exists.
    guard: LoginGuard = request.app.state.login_guard
    attempt = guard.start(username, address_key(request.client.host if request.client else None))
    if not isinstance(attempt, Attempt):
        minutes = max(1, round(attempt / 60))
        return _login_page(
            request,
            _safe_next(next),
            f"Too many sign-in attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            429,
            retry_after=attempt,
        )
    if not await guard.acquire_hash():
        guard.cancel(attempt)
        return _login_page(request, _safe_next(next), "The server is busy; try again in a moment.", 503, retry_after=1)
    try:
        user_id = await run_in_threadpool(auth.authenticate, engine, username, password, request.app.state.hasher)
    finally:
        guard.release_hash()
    if user_id is None:
        return _login_page(request, _safe_next(next), "Wrong username or password.", 401)
    guard.succeeded(attempt)
    settings = request.app.state.settings
    token = await run_in_threadpool(auth.open_session, engine, user_id, settings.session_hours)
    user = await run_in_threadpool(auth.session_user, engine, token)
    assert user is not None
    response = RedirectResponse(_safe_next(next) or HOME[user.role], status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, user: CurrentUser = Depends(ANY_ROLE), engine: Engine = Depends(get_engine)) -> Response:
    auth.close_session(engine, request.cookies.get(auth.SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@router.get("/")
def home(user: CurrentUser = Depends(ANY_ROLE)) -> Response:
    return RedirectResponse(HOME[user.role], status_code=303)
