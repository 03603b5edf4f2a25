"""FastAPI dependencies: the API key behind a request, its scope and its rate limit.

Keys travel as ``Authorization: Bearer dwk_...``. Every route names the
scope it needs through :func:`require`; the test suite enumerates the routes
and checks each one refuses a missing key (401), a key without the scope
(403) and an exhausted bucket (429 with ``Retry-After``).

The key is checked before the body is read: FastAPI reads and parses a
JSON body before it solves a route's dependencies, so the routers use
:class:`AuthFirstRoute`, which runs the route's :class:`ScopeRequirement`
first. A request without a valid key gets its 401 with its body unread and
unparsed; the dependency then returns the key already checked.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from drugwatch.api.keys import ApiKey, KeyVerifier
from drugwatch.api.modelset import ModelSet
from drugwatch.api.ratelimit import RateLimiter
from drugwatch.api.schema import SCOPES

bearer = HTTPBearer(auto_error=False, description="An API key from `drugwatch api-keys create`.")
#: Where the key checked before the body is kept for the request (``request.state``).
_CHECKED = "checked_api_key"


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header (what :data:`bearer` reads), else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class ScopeRequirement:
    """Dependency: a valid, unrevoked key holding ``scope`` (any key when ``None``), within its rate."""

    def __init__(self, scope: str | None) -> None:
        if scope is not None and scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; expected one of: {', '.join(SCOPES)}")
        self.scope = scope

    async def __call__(
        # ``credentials`` is unused: it puts the bearer scheme in the OpenAPI schema; check() reads the header.
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> ApiKey:
        checked = getattr(request.state, _CHECKED, None)
        if checked is not None:  # AuthFirstRoute checked it before the body (and took its rate token)
            return checked
        return self.check(request)

    def check(self, request: Request) -> ApiKey:
        """The request's key, holding this scope, within its rate; else the 401, 403 or 429."""
        verifier: KeyVerifier = request.app.state.keys
        key = verifier.verify(_bearer_token(request))
        if key is None:
            raise HTTPException(
                401,
                "missing, unknown or revoked API key; send 'Authorization: Bearer dwk_...'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.api_key = key.prefix
        if self.scope is not None and self.scope not in key.scopes:
            raise HTTPException(403, f"this API key lacks the {self.scope!r} scope")
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.acquire(key.id)
        if wait > 0:
            raise HTTPException(
                429,
                f"rate limit of {limiter.rate:g} requests/s (burst {limiter.burst}) exceeded; retry later",
                headers={"Retry-After": limiter.retry_after(wait)},
            )
        return key


class AuthFirstRoute(APIRoute):
    """An API route that checks its key requirement before FastAPI reads and parses the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        requirements = [d.call for d in self.dependant.dependencies if isinstance(d.call, ScopeRequirement)]
        if not requirements:
            return handler

        async def checked_first(request: Request) -> Response:
            for requirement in requirements:
                setattr(request.state, _CHECKED, requirement.check(request))
            return await handler(request)

        return checked_first


def require(scope: str | None) -> ScopeRequirement:
    return ScopeRequirement(scope)


ANY_KEY = require(None)
SCORE = require("score")
INSPECT = require("inspect")
ADMIN = require("admin")


def current_models(request: Request) -> ModelSet:
    """The model set this request uses from start to end (a reload does not change it)."""
    return request.app.state.models.current
