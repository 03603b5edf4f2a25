"""The scoring API: a REST service over the detectors (``drugwatch serve``).

``create_app(ApiSettings())`` builds the FastAPI app. See docs/api.md.
Imports are lazy so that ``drugwatch.store.schema`` can import
:mod:`drugwatch.api.schema` (to put the API-key table on ``Base``) without
pulling in the web stack.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "ApiSettings":
        from drugwatch.api.settings import ApiSettings

        return ApiSettings
    if name == "create_app":
        from drugwatch.api.app import create_app

        return create_app
    raise AttributeError(f"module 'drugwatch.api' has no attribute {name!r}")
