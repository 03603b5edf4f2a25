"""The HTTP server's own limits: time to send a request head and a request body.

uvicorn (0.55) times out idle keep-alive connections (``timeout_keep_alive``)
and bounds the size of a request head (``h11_max_incomplete_event_size``,
16 KiB by default) and the number of connections and running requests
(``limit_concurrency``), but it has no timeout for *reading* a request: a
client that sends its head a byte at a time, or declares a body and never
sends it, holds its connection and task open for as long as it likes; a few
hundred such clients exhaust the server's connections ("slowloris").

:class:`TimedH11Protocol` is uvicorn's h11 protocol with two timers:

* the request head (request line and headers) must be complete within
  ``header_timeout`` seconds of the connection opening, or of the previous
  response ending on a keep-alive connection;
* the body must be complete within ``body_timeout`` seconds of its head.

Past either the connection is closed; the application sees
``http.disconnect``. Both are measured from the start of the phase, not
between reads, so trickling bytes does not extend them. ``drugwatch serve``
uses it (``http=TimedH11Protocol``); the values come from
``DRUGWATCH_API_HEADER_TIMEOUT_SECONDS`` and
``DRUGWATCH_API_BODY_TIMEOUT_SECONDS`` (:class:`~drugwatch.api.settings.ApiSettings`)
unless a subclass sets them.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


@functools.cache
def _configured_timeouts() -> tuple[float, float]:
    from drugwatch.api.settings import ApiSettings

    settings = ApiSettings()
    return settings.api_header_timeout_seconds, settings.api_body_timeout_seconds


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections that are slow to send a request head or body."""

    #: Seconds for a whole request head; ``None``: from the settings (environment).
    header_timeout: float | None = None
    #: Seconds for a whole request body after its head; ``None``: from the settings.
    body_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        header, body = _configured_timeouts() if None in (self.header_timeout, self.body_timeout) else (0.0, 0.0)
        self._header_seconds = self.header_timeout if self.header_timeout is not None else header
        self._body_seconds = self.body_timeout if self.body_timeout is not None else body
        self._read_timer: asyncio.TimerHandle | None = None
        self._timed_phase: object | None = None  # h11.IDLE (head) or h11.SEND_BODY (body)
        #: "header" or "body" once a timer closed this connection, else None.
        self.timed_out: str | None = None

    # uvicorn's H11Protocol narrows asyncio's BaseTransport the same way (and ignores it too).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_read_phase()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._follow_read_phase()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_read_phase()

    def _follow_read_phase(self) -> None:
        """Arm the timer of the phase the client is in (head or body); cancel it once the request is in."""
        if self.transport is None or self.transport.is_closing():
            self._cancel_read_timer()
            return
        state = self.conn.their_state
        # While a response is still being sent, the next head's clock starts after it.
        responding = state is h11.IDLE and self.conn.our_state is not h11.IDLE
        if responding or state not in (h11.IDLE, h11.SEND_BODY):
            self._cancel_read_timer()
            return
        if state is self._timed_phase:
            return  # same phase: its clock keeps running
        self._cancel_read_timer()
        seconds = self._header_seconds if state is h11.IDLE else self._body_seconds
        self._timed_phase = state
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out, state)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        self._timed_phase = None

    def _read_timed_out(self, phase: object) -> None:
        self._read_timer = None
        self._timed_phase = None
        if self.transport.is_closing():
            return
        self.timed_out = "header" if phase is h11.IDLE else "body"
        # No response: h11 cannot answer a request whose head never came, and a
        # client this slow is not reading either. Closing is what the timeout is for.
        self.transport.close()
