"""Settings of the annotation app, read from the environment (``DRUGWATCH_`` prefix).

``DRUGWATCH_DB`` is the same store URL every drugwatch command uses.
``DRUGWATCH_SECRET_KEY`` signs the login form's CSRF cookie; when unset a
random key is made once and kept in ``$DRUGWATCH_HOME/annotate-secret`` so
restarts and several workers agree on it.

``DRUGWATCH_MEDIA_ROOTS`` lists the folders event images may be served from
(separated by ``:``, ``;`` on Windows, or a JSON list), besides the folders
the imports came from (each ``import_runs.source``: the folder itself, or the
folder of the imported file). An image path recorded on an event is served
only when, symlinks resolved, it lies inside one of them, is a regular file
with the magic bytes of a JPEG, PNG, GIF or WebP image, and is neither the
store nor the secret (:class:`drugwatch.annotate.service.MediaLibrary`).

``DRUGWATCH_USER_LEXICON`` names the user lexicon file: the slang review
page appends accepted terms to it, and the text layer
(:func:`drugwatch.lexicon.load_lexicon`) reads it by the same variable.

``DRUGWATCH_LOGIN_*`` bound sign-in attempts per account and per address
within a window, and the argon2 hashes run at once
(:mod:`drugwatch.annotate.throttle`; counted per process).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from drugwatch.store.db import data_home


def _persistent_secret() -> str:
    path = data_home() / "annotate-secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two workers start together, one key wins and both read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


class Settings(BaseSettings):
    """Everything the app needs to know; every field is an env var ``DRUGWATCH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DRUGWATCH_", extra="ignore")

    db: str | None = Field(default=None, description="Store URL or SQLite path (default: the default store).")
    secret_key: str | None = Field(default=None, min_length=16, description="Signs the login CSRF cookie.")
    annotators_per_event: int = Field(default=2, ge=1, le=20, description="k: annotators assigned to each event.")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    cookie_secure: bool = Field(default=False, description="Send cookies over HTTPS only (set behind TLS).")
    annotate_model: Path | None = Field(
        default=None,
        description="Saved detector directory, or a folder of selling/ and drugtype/ (the scan's layout): "
        "suggestions and active learning.",
    )
    annotate_diversity: float = Field(default=0.5, ge=0, le=1, description="Weight of diversity against uncertainty.")
    annotate_ocr: bool = Field(default=True, description="Read image text with OCR on the item page (cached).")
    annotate_ocr_min_confidence: float = Field(default=0.8, ge=0, le=1, description="OCR lines below it are not shown.")
    annotate_guidelines: Path | None = Field(default=None, description="TOML file overriding the built-in guidelines.")
    user_lexicon: Path | None = Field(
        default=None,
        description="User lexicon file the slang review page appends accepted terms to: the same variable "
        "(DRUGWATCH_USER_LEXICON) the text layer reads it by.",
    )
    annotate_slang_events: int = Field(
        default=20_000, ge=1, le=1_000_000, description="Most recent stored events a slang discovery run reads."
    )
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=1024, le=1 << 21)
    media_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Folders event images may be served from, besides the import folders."
    )
    login_account_failures: int = Field(
        default=5, ge=1, le=10_000, description="Sign-in attempts per account in a window."
    )
    login_address_failures: int = Field(
        default=30, ge=1, le=100_000, description="Sign-in attempts per address in a window."
    )
    login_window_s: float = Field(
        default=900.0, gt=0, le=7 * 86400, description="The window of the sign-in limits, seconds."
    )
    login_max_hashes: int = Field(default=4, ge=1, le=256, description="Password hashes run at once; more get 503.")

    @field_validator("media_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.split(os.pathsep) if part.strip()]
        return value

    def signing_key(self) -> str:
        return self.secret_key or _persistent_secret()
