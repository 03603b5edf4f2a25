"""FastAPI dependencies: the API key behind a request, its scope and its rate limit.

Keys travel as ``Authorization: Bearer dwk_...``. Every route names the
scope it needs through :func:`require`; the test suite enumerates the routes
and checks each one refuses a missing key (401), a key without the scope
(403) and an exhausted bucket (429 with ``Retry-After``).
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from drugwatch.api.keys import ApiKey, KeyVerifier
from drugwatch.api.modelset import ModelSet
from drugwatch.api.ratelimit import RateLimiter
from drugwatch.api.schema import SCOPES

bearer = HTTPBearer(auto_error=False, description="An API key from `drugwatch api-keys create`.")


class ScopeRequirement:
    """Dependency: a valid, unrevoked key holding ``scope`` (any key when ``None``), within its rate."""

    def __init__(self, scope: str | None) -> None:
        if scope is not None and scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; expected one of: {', '.join(SCOPES)}")
        self.scope = scope

    async def __call__(
        self, request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> ApiKey:
        verifier: KeyVerifier = request.app.state.keys
        key = verifier.verify(credentials.credentials if credentials is not None else None)
        if key is None:
            raise HTTPException(
                401, "missing, unknown or revoked API key; send 'Authorization: Bearer dwk_...'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.api_key = key.prefix
        if self.scope is not None and self.scope not in key.scopes:
            raise HTTPException(403, f"this API key lacks the {self.scope!r} scope")
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.acquire(key.id)
        if wait > 0:
            raise HTTPException(
                429, f"rate limit of {limiter.rate:g} requests/s (burst {limiter.burst}) exceeded; retry later",
                headers={"Retry-After": limiter.retry_after(wait)},
            )
        return key


def require(scope: str | None) -> ScopeRequirement:
    return ScopeRequirement(scope)


ANY_KEY = require(None)
SCORE = require("score")
INSPECT = require("inspect")
ADMIN = require("admin")


def current_models(request: Request) -> ModelSet:
    """The model set this request uses from start to end (a reload does not change it)."""
    return request.app.state.models.current
