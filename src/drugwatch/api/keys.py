"""API keys: creation, listing, revocation and per-request verification.

A token is ``dwk_<prefix>_<secret>``: ``prefix`` is 10 random lowercase
hex/base32 characters, unique, stored in clear (lookup, logs, ``drugwatch
api-keys list``); ``secret`` is 32 random bytes (256 bits) from
:mod:`secrets`. The database keeps the SHA-256 of the whole token.

Why a plain SHA-256 and not argon2 (as for the annotation app's
passwords): a slow hash protects *low-entropy* secrets that a thief can
guess. A 256-bit random token cannot be guessed, so one SHA-256 already
makes a stolen table useless, and it costs about a microsecond, where
argon2 would add tens of milliseconds to every request. Comparison is in
constant time (:func:`hmac.compare_digest`).

:class:`KeyVerifier` caches verified keys for ``cache_seconds`` (default 10)
so a request does not read the database; a key revoked from the CLI stops
working within that time. ``last_used_at`` is written when a cached entry
is refreshed (a use after the cache expired), so it is exact to within
``cache_seconds`` and costs one write per key per ``cache_seconds`` at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from sqlalchemy import Engine, insert, select, update

from drugwatch.api.schema import SCOPES, ApiKeyRow

TOKEN_PREFIX = "dwk_"
_TOKEN = re.compile(r"^dwk_(?P<prefix>[a-z2-7]{10})_(?P<secret>[A-Za-z0-9_-]{43})$")
NAME_PATTERN = r"^[A-Za-z0-9_.:@ -]{1,128}$"
#: Longest Authorization value looked at; anything longer is refused unread.
MAX_TOKEN_CHARS = 128


class ApiKeyError(ValueError):
    """A key operation that cannot be done as asked (unknown key, bad scope or name)."""


@dataclass(frozen=True)
class CreatedKey:
    """A new key. ``token`` exists only here: it is not stored and cannot be shown again."""

    id: int
    prefix: str
    name: str
    scopes: tuple[str, ...]
    token: str


@dataclass(frozen=True)
class KeyInfo:
    id: int
    prefix: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class ApiKey:
    """The key behind a request, as the routes see it (no secret)."""

    id: int
    prefix: str
    scopes: frozenset[str]


def _now() -> datetime:
    return datetime.now(UTC)


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in :data:`SCOPES` order; ``ApiKeyError`` names an unknown one."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope(s) {', '.join(map(repr, unknown))}; expected some of: {', '.join(SCOPES)}")
    if not wanted:
        raise ApiKeyError(f"a key needs at least one scope ({', '.join(SCOPES)})")
    return tuple(s for s in SCOPES if s in wanted)


def _new_prefix() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()[:10]


def create_key(engine: Engine, name: str, scopes: Iterable[str]) -> CreatedKey:
    """Store a new key and return it with its token (shown once)."""
    if not re.match(NAME_PATTERN, name):
        raise ApiKeyError("a key name is 1-128 characters: letters, digits, space and _ . : @ -")
    ordered = check_scopes(scopes)
    for _ in range(5):  # a prefix collision is astronomically rare; retry anyway
        prefix = _new_prefix()
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with engine.begin() as conn:
            taken = conn.execute(select(ApiKeyRow.id).where(ApiKeyRow.prefix == prefix)).first()
            if taken is not None:
                continue
            inserted = conn.execute(
                insert(ApiKeyRow).values(
                    prefix=prefix,
                    secret_sha256=token_digest(token),
                    name=name,
                    scopes=list(ordered),
                    created_at=_now(),
                )
            ).inserted_primary_key
            if inserted is None:
                raise RuntimeError("the database returned no id for the new API key")
        return CreatedKey(int(inserted[0]), prefix, name, ordered, token)
    raise RuntimeError("could not find a free key prefix after 5 tries")


def list_keys(engine: Engine, *, include_revoked: bool = True) -> list[KeyInfo]:
    query = select(ApiKeyRow.__table__).order_by(ApiKeyRow.id)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        KeyInfo(
            r.id, r.prefix, r.name, tuple(r.scopes), _aware(r.created_at), _aware(r.revoked_at), _aware(r.last_used_at)
        )
        for r in rows
    ]


def revoke_key(engine: Engine, prefix_or_id: str) -> KeyInfo:
    """Revoke a key by its prefix (or numeric id, or a whole token). Revoking twice is harmless."""
    ident = prefix_or_id.strip()
    match = _TOKEN.match(ident)
    if match:
        ident = match["prefix"]
    if ident.startswith(TOKEN_PREFIX):
        ident = ident[len(TOKEN_PREFIX) :]
    condition = ApiKeyRow.id == int(ident) if ident.isdigit() else ApiKeyRow.prefix == ident
    with engine.begin() as conn:
        row = conn.execute(select(ApiKeyRow.id, ApiKeyRow.revoked_at).where(condition)).first()
        if row is None:
            raise ApiKeyError(f"no API key with prefix or id {prefix_or_id!r}; see `drugwatch api-keys list`")
        if row.revoked_at is None:
            conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(revoked_at=_now()))
    return next(k for k in list_keys(engine) if k.id == row.id)


@dataclass
class _Entry:
    key: ApiKey | None  # None: no such active key
    fetched: float


class KeyVerifier:
    """Turns a presented token into an :class:`ApiKey` (or ``None``), with a short cache.

    Unknown tokens are cached too (bounded, least recently used first out),
    so a client hammering with a bad key does not hammer the database.
    """

    def __init__(self, engine: Engine, cache_seconds: float = 10.0, max_entries: int = 10_000) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self.max_entries = max_entries
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> ApiKey | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        match = _TOKEN.match(token)
        if match is None:
            return None
        digest = token_digest(token)
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(digest)
            if entry is not None and now - entry.fetched < self.cache_seconds:
                self._cache.move_to_end(digest)
                return entry.key
        key = self._load(match["prefix"], digest)
        with self._lock:
            self._cache[digest] = _Entry(key, now)
            self._cache.move_to_end(digest)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return key

    def forget(self) -> None:
        """Drop the cache (tests; after a revocation in the same process)."""
        with self._lock:
            self._cache.clear()

    def _load(self, prefix: str, digest: str) -> ApiKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    ApiKeyRow.id, ApiKeyRow.prefix, ApiKeyRow.secret_sha256, ApiKeyRow.scopes, ApiKeyRow.revoked_at
                ).where(ApiKeyRow.prefix == prefix)
            ).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, digest):
            return None
        with self.engine.begin() as conn:
            conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=_now()))
        return ApiKey(int(row.id), row.prefix, frozenset(row.scopes))
