"""``GET /health``: liveness and what is loaded. No key needed; no personal data."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from drugwatch.api.payloads import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Service health")
async def health(request: Request) -> HealthOut:
    holder = request.app.state.models
    current = holder.current
    return HealthOut(
        status="ok",
        generation=current.generation,
        models=[m.info.name for m in current.all_models],
        uptime_seconds=round(time.monotonic() - request.app.state.started, 3),
        last_reload_error=holder.last_error,
        scoring=request.app.state.queue.stats(),
    )
