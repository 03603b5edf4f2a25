"""Settings of the scoring API, read from the environment (``DRUGWATCH_`` prefix).

``DRUGWATCH_DB`` is the same store URL every drugwatch command uses (the
API keys live there). ``DRUGWATCH_API_MODELS`` is the model directory the
service loads at start and reloads on ``POST /v1/models/reload`` or, with
``DRUGWATCH_API_WATCH_SECONDS`` > 0, when its files change.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Everything the service needs to know; every field is an env var ``DRUGWATCH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DRUGWATCH_", extra="ignore")

    db: str | None = Field(default=None, description="Store URL or SQLite path holding the API keys.")
    api_models: Path | None = Field(
        default=None, description="Model directory to serve (default: the scorer's default location)."
    )
    api_account_model: Path | None = Field(
        default=None, description="Dealer-account model directory (default: <api_models>/account when present)."
    )
    api_max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30, description="Largest request body.")
    api_max_batch: int = Field(default=256, ge=1, le=100_000, description="Most events in one batch request.")
    api_max_timeline: int = Field(default=1000, ge=1, le=100_000, description="Most timeline events in an account request.")
    api_rate_per_second: float = Field(default=100.0, gt=0, description="Requests per second each key may sustain.")
    api_rate_burst: int = Field(default=200, ge=1, description="Requests a key may make at once (bucket size).")
    api_key_cache_seconds: float = Field(
        default=10.0, ge=0, le=3600,
        description="How long a verified key is trusted before the database is read again (revocation delay).",
    )
    api_watch_seconds: float = Field(
        default=0.0, ge=0, description="Poll the model directory this often and reload on change (0: off)."
    )
    api_docs: bool = Field(default=True, description="Serve /docs (the OpenAPI schema is always at /openapi.json).")
