"""ASGI middleware: request body size limit and the structured access log.

Both are plain ASGI (not ``BaseHTTPMiddleware``): they add no task or
queue per request, which matters at a few milliseconds per request.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import time
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drugwatch.api.logs import ACCESS_LOGGER, log_event

_access = logging.getLogger(ACCESS_LOGGER)
# Request ids: a random tag per process and a counter (no syscall per request).
_PROCESS_TAG = secrets.token_hex(4)
_request_numbers = itertools.count(1)


async def _send_json(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, before the app reads them.

    A declared ``Content-Length`` over the limit is refused without reading
    a byte (the connection is closed, so the client stops sending). A body
    without a length (chunked) is read here up to the limit and then handed
    to the app; one byte more and it is refused. With a declared length the
    server (h11) already refuses a body longer than declared.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> dict[str, Any]:
        return {"detail": f"request body too large; the limit is {self.max_bytes} bytes"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _send_json(
                        send, 400, {"detail": "invalid Content-Length header"}, [(b"connection", b"close")]
                    )
                    return
                break
        if length is not None:
            if length > self.max_bytes:
                await _send_json(send, 413, self._refusal(), [(b"connection", b"close")])
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        # No declared length: buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, self._refusal(), [(b"connection", b"close")])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _match(routes: Any, scope: Scope) -> str | None:
    for candidate in routes:
        nested = getattr(candidate, "original_router", None)  # FastAPI's wrapper of an included router
        if nested is not None:
            found = _match(nested.routes, scope)
            if found:
                return found
            continue
        try:
            match, _child = candidate.matches(scope)
        except Exception:  # a route that cannot judge this scope is no match
            continue
        if match != Match.NONE and getattr(candidate, "path", None):
            return candidate.path
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's path template; for a request refused before routing
    (413), the template its path would have matched. Never the raw path."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    router = getattr(scope.get("app"), "router", None)
    return _match(getattr(router, "routes", ()), scope) or "<unmatched>"


class AccessLogMiddleware:
    """One JSON log line per request: request id, key prefix, method, route
    template, status, latency and counts. Never the path's values, the query,
    the body or the client address.

    Routes add counts through ``request.state`` (``api_key``, ``n_events``).
    The request id is returned as ``X-Request-ID``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = f"{_PROCESS_TAG}-{next(_request_numbers):x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        bytes_in = 0

        async def counting_receive() -> Message:
            nonlocal bytes_in
            message = await receive()
            if message["type"] == "http.request":
                bytes_in += len(message.get("body", b""))
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, counting_receive, tagged_send)
        finally:
            fields: dict[str, Any] = {
                "request_id": request_id,
                "key": state.get("api_key"),
                "method": scope.get("method"),
                "route": _route_template(scope),
                "status": status,
                "latency_ms": round((time.perf_counter() - start) * 1000, 3),
                "bytes_in": bytes_in,
            }
            if "n_events" in state:
                fields["n_events"] = state["n_events"]
            log_event(_access, "request", logging.WARNING if status >= 500 else logging.INFO, **fields)
