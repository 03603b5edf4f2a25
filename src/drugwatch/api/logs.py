"""Structured JSON logs of the scoring API.

One JSON object per line on the ``drugwatch.api`` loggers. What is logged
is fixed by the callers: the key's public prefix, the route *template*
(``/v1/score/event``, never the raw path), the status, the latency and
counts. Request bodies, texts, usernames, client addresses and query
strings are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

ACCESS_LOGGER = "drugwatch.api.access"
APP_LOGGER = "drugwatch.api"


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "msg": ..., **fields}``.

    Structured fields are passed as ``extra={"fields": {...}}``.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception message may quote the input.
            payload["error_type"] = record.exc_info[0].__name__
        return json.dumps(payload, ensure_ascii=False, default=str)


class _ApiHandler(logging.StreamHandler):
    """The handler :func:`configure_logging` installs (its type tells it apart from others)."""


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Send the ``drugwatch.api`` loggers to ``stream`` (stderr) as JSON lines."""
    logger = logging.getLogger(APP_LOGGER)
    for handler in list(logger.handlers):
        if isinstance(handler, _ApiHandler):
            logger.removeHandler(handler)
    ours = _ApiHandler(stream or sys.stderr)
    ours.setFormatter(JsonFormatter())
    logger.addHandler(ours)
    logger.setLevel(level)
    logger.propagate = False


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, msg, extra={"fields": fields})
