"""Settings of the scoring API, read from the environment (``DRUGWATCH_`` prefix).

``DRUGWATCH_DB`` is the same store URL every drugwatch command uses (the
API keys live there). ``DRUGWATCH_API_MODELS`` is the model directory the
service loads at start and reloads on ``POST /v1/models/reload`` or, with
``DRUGWATCH_API_WATCH_SECONDS`` > 0, when its files change.

The cost of a request is bounded by characters, not bytes or events: the
text layer and the detectors cost time per character, and a megabyte body
can hold one long text or a thousand short ones. ``api_max_event_chars``
bounds one text (the schema says so, ``maxLength``); ``api_max_request_chars``
bounds all the text of a request together (413 past it). The defaults keep
the costliest text measured (runs of drug emoji, every one a lexicon hit) to
about two seconds of CPU per request (docs/api.md, "Hostile load").
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from drugwatch.records import MAX_TEXT_CHARS


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
    api_max_timeline: int = Field(
        default=1000, ge=1, le=100_000, description="Most timeline events in an account request."
    )
    api_max_event_chars: int = Field(
        default=16_384,
        ge=64,
        le=MAX_TEXT_CHARS,
        description="Longest text (or bio) of one event, in characters (422 past it).",
    )
    api_max_request_chars: int = Field(
        default=65_536,
        ge=64,
        le=100_000_000,
        description="Most characters of text (texts, hashtags, bio, name) in one request (413 past it).",
    )
    api_rate_per_second: float = Field(default=100.0, gt=0, description="Requests per second each key may sustain.")
    api_rate_burst: int = Field(default=200, ge=1, description="Requests a key may make at once (bucket size).")
    api_key_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="How long a verified key is trusted before the database is read again (revocation delay).",
    )
    api_watch_seconds: float = Field(
        default=0.0, ge=0, description="Poll the model directory this often and reload on change (0: off)."
    )
    api_docs: bool = Field(
        default=False,
        description="Serve the interactive /docs page (the OpenAPI schema is always at /openapi.json). Without "
        "api_docs_assets the page loads Swagger UI from a CDN (cdn.jsdelivr.net).",
    )
    api_docs_assets: Path | None = Field(
        default=None,
        description="Directory holding swagger-ui-bundle.js and swagger-ui.css (e.g. npm's swagger-ui-dist); "
        "/docs then serves them itself and the page makes no outside request.",
    )
    # Server (uvicorn) limits, used by `drugwatch serve`.
    api_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="A connection must deliver a whole request head within this time (of opening, or of the "
        "previous response); else it is closed.",
    )
    api_body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A request body must arrive within this time of its head; else the connection is closed.",
    )
    api_keep_alive_seconds: int = Field(
        default=5, ge=1, le=600, description="Idle time before a keep-alive connection is closed."
    )
    api_limit_concurrency: int | None = Field(
        default=512,
        ge=1,
        description="Most open connections and running requests per worker; past it new requests get 503.",
    )

    @model_validator(mode="after")
    def _one_text_fits_a_request(self) -> ApiSettings:
        if self.api_max_event_chars > self.api_max_request_chars:
            raise ValueError(
                f"api_max_event_chars ({self.api_max_event_chars}) exceeds api_max_request_chars "
                f"({self.api_max_request_chars}): one text would be refused as a whole request"
            )
        return self
