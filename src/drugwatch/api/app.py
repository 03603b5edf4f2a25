"""The FastAPI app factory of the scoring API.

``create_app(settings)`` opens the store (API keys; migrated on open),
loads the models once, and wires the middleware (access log outermost,
then the body size limit), the routers and the error handlers. Every error
is a JSON ``{"detail": ...}`` with a 4xx status: bad JSON and schema errors
422, too large 413, no key 401, wrong scope 403, unknown model 404/422,
rate limited 429 with ``Retry-After``. A 500 means a bug; it is logged with
the exception type only (a message may quote the input).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from drugwatch.api.modelset import ModelHolder, ModelReloadError
from drugwatch.api.payloads import input_models
from drugwatch.api.ratelimit import RateLimiter
from drugwatch.api.settings import ApiSettings

_log = logging.getLogger(APP_LOGGER)


def models_directory(settings: ApiSettings) -> Path:
    from drugwatch.scoring import default_models_dir

    return Path(settings.api_models) if settings.api_models is not None else default_models_dir()


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
            log_event(_log, "models reloaded", generation=fresh.generation, models=list(fresh.names), trigger="watch")
        except ModelReloadError:
            log_event(_log, "model reload failed", logging.WARNING, generation=holder.current.generation, trigger="watch")
        except OSError as exc:
            log_event(_log, "model directory unreadable", logging.WARNING, error_type=type(exc).__name__)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app: store (keys), models (loaded now, once), routes."""
    from drugwatch.api.routers import health, inspect, models, score
    from drugwatch.store import Store

    settings = settings or ApiSettings()
    store = Store(settings.db)
    holder = ModelHolder(models_directory(settings), settings.api_account_model)
    queue = ScoreQueue(max_events=max(settings.api_max_batch, settings.api_max_timeline))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if settings.api_watch_seconds > 0:
            watcher = asyncio.create_task(_watch(app, settings.api_watch_seconds))
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
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.keys = KeyVerifier(store.engine, cache_seconds=settings.api_key_cache_seconds)
    app.state.limiter = RateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    app.state.models = holder
    app.state.queue = queue
    app.state.started = time.monotonic()

    inputs = input_models(settings.api_max_batch, settings.api_max_timeline)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(score.build_router(inputs))
    app.include_router(inspect.router)

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
        log_event(_log, "unhandled error", logging.ERROR, error_type=type(exc).__name__,
                  request_id=request.scope.get("state", {}).get("request_id"))
        return JSONResponse({"detail": "internal error; the request id is in the X-Request-ID header"}, status_code=500)

    # Outermost last: the access log sees the 413s the size limit sends.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app
