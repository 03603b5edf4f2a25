"""Error responses every authenticated route documents (they are in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from drugwatch.api.payloads import ErrorOut

_DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key.",
    403: "The key lacks the scope this route needs.",
    404: "No such resource.",
    409: "The request conflicts with the service's state.",
    413: "Request body larger than the limit.",
    422: "The body or a parameter is invalid (schema, size, unknown model).",
    429: "Rate limit exceeded; see Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


AUTH_ERRORS = (401, 403, 429)
