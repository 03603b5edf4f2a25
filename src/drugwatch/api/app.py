"""The FastAPI app factory of the scoring API.

``create_app(settings)`` opens the store (API keys; migrated on open),
loads the models once, and wires the middleware (access log outermost,
then the body size limit), the routers and the error handlers. Every error
is a JSON ``{"detail": ...}`` with a 4xx status: bad JSON and schema errors
(a text over ``api_max_event_chars``) 422, too large 413 (body bytes, or the
request's characters of text), no key 401 (checked before the body is
read), wrong scope 403, unknown model 404/422, rate limited 429 with
``Retry-After``. A 500 means a bug; it is logged with
the exception type only (a message may quote the input).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from drugwatch.api import schema as _schema  # noqa: F401  (registers the table on Base)
from drugwatch.api.batching import ScoreQueue
from drugwatch.api.keys import KeyVerifier
from drugwatch.api.logs import APP_LOGGER, log_event
from drugwatch.api.middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from drugwatch.api.modelset import ModelHolder, ModelReloadError, ModelSet
from drugwatch.api.payloads import input_models
from drugwatch.api.ratelimit import RateLimiter
from drugwatch.api.settings import ApiSettings

_log = logging.getLogger(APP_LOGGER)


def models_directory(settings: ApiSettings) -> Path:
    from drugwatch.scoring import default_models_dir

    return Path(settings.api_models) if settings.api_models is not None else default_models_dir()


#: Read once when the process is prepared: hashtags, contacts, emoji, disguised and spaced words,
#: so every lazily built part of the text layer (lexicon matcher, hashtag segmenter) is built then.
_WARM_UP_TEXT = "fresh 2mg bars #xanax #plugsofinstagram 🔌 wickr: demo_plug77 x4n4x p e r c s 中文字 🍄💊 $20"


def settle_process(models: ModelSet) -> None:
    """Prepare a serving process: build what is built lazily, then freeze the heap for the collector.

    A full collection walks every object in the process: about 400,000 once
    the models are loaded, half a second during which no thread runs (the GIL
    is held). ``gc.freeze()`` moves what exists now (models, lexicon, the
    text layer's tables) out of the collector's reach, so later collections
    walk only what requests make. Called again after a reload; what the old
    models leave as cyclic garbage then stays (reloads are rare, models small).
    """
    from drugwatch.records import Event
    from drugwatch.text.analyze import analyze

    models.scorer.score([Event(id="warm-up", text=_WARM_UP_TEXT)])
    analyze(_WARM_UP_TEXT)
    gc.collect()
    gc.freeze()


async def after_reload(app: FastAPI) -> None:
    """What a successful reload needs in a prepared serving process (see :func:`settle_process`)."""
    if app.state.settle:
        await app.state.queue.run(settle_process, app.state.models.current)


async def _watch(app: FastAPI, seconds: float) -> None:
    """Reload the models when the directory's files change (polling)."""
    holder: ModelHolder = app.state.models
    while True:
        await asyncio.sleep(seconds)
        try:
            changed = await asyncio.to_thread(holder.changed)
            if not changed:
                continue
            fresh = await asyncio.to_thread(holder.reload)
            await after_reload(app)
            log_event(_log, "models reloaded", generation=fresh.generation, models=list(fresh.names), trigger="watch")
        except ModelReloadError:
            log_event(
                _log, "model reload failed", logging.WARNING, generation=holder.current.generation, trigger="watch"
            )
        except OSError as exc:
            log_event(_log, "model directory unreadable", logging.WARNING, error_type=type(exc).__name__)


#: The Swagger UI files /docs needs from ``api_docs_assets`` (as npm's swagger-ui-dist ships them).
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


def _local_docs(app: FastAPI, assets: Path) -> None:
    """``/docs`` with Swagger UI served from ``assets``: the page makes no request outside this service."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from starlette.staticfiles import StaticFiles

    missing = [name for name in DOCS_ASSETS if not (assets / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"DRUGWATCH_API_DOCS_ASSETS={assets} lacks {', '.join(missing)}; point it at a swagger-ui-dist "
            "directory, or unset it (and DRUGWATCH_API_DOCS) to turn /docs off"
        )
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")
    favicon = "/docs/assets/favicon-32x32.png" if (assets / "favicon-32x32.png").is_file() else "data:,"

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=favicon if favicon.startswith("data:") else f"{root}{favicon}",
            # Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )


def create_app(settings: ApiSettings | None = None, *, settle: bool = False) -> FastAPI:
    """Build the app: store (keys), models (loaded now, once), routes.

    ``settle``: the app owns its process (``drugwatch serve``): at start,
    :func:`settle_process` builds the lazy parts and freezes the heap for the
    garbage collector. Left off where apps come and go in one process (tests).
    """
    from drugwatch.api.routers import health, inspect, models, score
    from drugwatch.store import Store

    settings = settings or ApiSettings()
    store = Store(settings.db)
    holder = ModelHolder(models_directory(settings), settings.api_account_model)
    queue = ScoreQueue(
        max_events=max(settings.api_max_batch, settings.api_max_timeline), max_chars=settings.api_max_request_chars
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if settings.api_watch_seconds > 0:
            watcher = asyncio.create_task(_watch(app, settings.api_watch_seconds))
        if settle:
            await queue.run(settle_process, holder.current)
        log_event(_log, "started", generation=holder.current.generation, models=list(holder.current.names))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            queue.close()
            store.close()

    app = FastAPI(
        title="drugwatch scoring API",
        summary="Score social-media events and accounts for illicit drug trafficking.",
        version="1",
        # Swagger UI from the CDN only when asked for and no local copy is configured.
        docs_url="/docs" if settings.api_docs and settings.api_docs_assets is None else None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.keys = KeyVerifier(store.engine, cache_seconds=settings.api_key_cache_seconds)
    app.state.limiter = RateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    app.state.models = holder
    app.state.queue = queue
    app.state.settle = settle
    app.state.started = time.monotonic()

    inputs = input_models(settings.api_max_batch, settings.api_max_timeline, settings.api_max_event_chars)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(score.build_router(inputs))
    app.include_router(inspect.build_router(inputs))
    if settings.api_docs and settings.api_docs_assets is not None:
        _local_docs(app, settings.api_docs_assets)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8): bad JSON, like the rest
            detail = [{"type": "json_invalid", "loc": ["body"], "msg": "the body is not valid UTF-8 JSON"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        # pydantic's errors without "input" and "ctx": they may quote the text back at length.
        errors = [{k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log_event(
            _log,
            "unhandled error",
            logging.ERROR,
            error_type=type(exc).__name__,
            request_id=request.scope.get("state", {}).get("request_id"),
        )
        return JSONResponse({"detail": "internal error; the request id is in the X-Request-ID header"}, status_code=500)

    # Outermost last: the access log sees the 413s the size limit sends.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app


def serving_app() -> FastAPI:
    """The app of a serving process (``drugwatch serve``'s uvicorn factory): settings from the
    environment, the process settled at start (:func:`settle_process`)."""
    return create_app(ApiSettings(), settle=True)
