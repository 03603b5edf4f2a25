"""The annotation web app: several blind annotators, agreement, adjudication.

``create_app(Settings())`` builds the FastAPI app; ``drugwatch annotate
serve`` runs it. See docs/annotate.md. Imports are lazy so that
``drugwatch.store.schema`` can import :mod:`drugwatch.annotate.schema`
(to put the tables on ``Base``) without pulling in the web stack.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from drugwatch.annotate.settings import Settings

        return Settings
    if name == "create_app":
        from drugwatch.annotate.app import create_app

        return create_app
    raise AttributeError(f"module 'drugwatch.annotate' has no attribute {name!r}")
