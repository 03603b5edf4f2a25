"""The FastAPI app factory: store, templates, routers and error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from drugwatch.annotate import schema as _schema  # noqa: F401  (registers the tables on Base)
from drugwatch.annotate.auth import NotAuthenticated, make_hasher
from drugwatch.annotate.guidelines import load_guidelines
from drugwatch.annotate.service import MediaLibrary
from drugwatch.annotate.settings import Settings
from drugwatch.annotate.throttle import LoginGuard
from drugwatch.labels import LABELS

HERE = Path(__file__).parent

#: Keyboard key of each label: 0 = non_drug, 1-9 the drugs in LABELS order.
LABEL_KEYS = {label: str(i) for i, label in enumerate(LABELS)}
LEVEL_KEYS = {"hashtag": "h", "image": "i", "comment": "c"}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _private_files(engine) -> list[Path]:
    """Files /media must never serve even inside a media root: the SQLite
    store with its journals, and the app's secret."""
    from drugwatch.store.db import data_home

    files = [data_home() / "annotate-secret"]
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        files += [Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    return files


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on the store named by ``settings.db`` (migrated on open)."""
    from drugwatch.annotate.routers import (
        adjudication,
        agreement,
        assignments,
        auth,
        export,
        guidelines,
        hashtags,
        media,
        slang,
        tasks,
        users,
    )
    from drugwatch.store import Store

    settings = settings or Settings()
    store = Store(settings.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="drugwatch annotate", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.engine = store.engine
    app.state.hasher = make_hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    app.state.signing_key = settings.signing_key()
    app.state.media = MediaLibrary(store.engine, settings.media_roots, denied=_private_files(store.engine))
    app.state.login_guard = LoginGuard(
        account_limit=settings.login_account_failures,
        address_limit=settings.login_address_failures,
        window_s=settings.login_window_s,
        max_hashes=settings.login_max_hashes,
    )
    # The project's models: suggestions on the item page, and the
    # active-learning scorer (every probability they give, for uncertainty).
    app.state.suggester = None
    app.state.scorer = None
    if settings.annotate_model is not None:
        from drugwatch.annotate.suggest import Suggester

        app.state.suggester = Suggester.load(settings.annotate_model)
        app.state.scorer = app.state.suggester.probabilities
    app.state.guidelines = load_guidelines(settings.annotate_guidelines)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(
        LABELS=LABELS, LABEL_KEYS=LABEL_KEYS, LEVEL_KEYS=LEVEL_KEYS, guide=app.state.guidelines
    )
    app.state.templates = templates

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (
        auth,
        users,
        assignments,
        tasks,
        media,
        agreement,
        adjudication,
        export,
        hashtags,
        guidelines,
        slang,
    ):
        app.include_router(module.router)

    @app.exception_handler(NotAuthenticated)
    async def _login_first(request: Request, _exc: NotAuthenticated) -> Response:
        if request.method == "GET" and _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    @app.exception_handler(HTTPException)
    async def _error_page(request: Request, exc: HTTPException) -> Response:
        if _wants_html(request):
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": exc.status_code, "detail": exc.detail, "user": None},
                status_code=exc.status_code,
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        return response

    return app
