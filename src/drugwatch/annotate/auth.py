"""Passwords (argon2), sessions, CSRF tokens and role checks.

* Passwords are argon2id hashes (argon2-cffi); a login for an unknown user
  still pays for one hash, so timing does not reveal which names exist.
* A session is a random token in an HttpOnly, SameSite=Lax cookie; the
  database keeps only its SHA-256, with the user, an expiry and the
  session's CSRF token.
* Every state-changing request must carry the session's CSRF token (form
  field ``csrf_token`` or header ``X-CSRF-Token``). The login form, which
  has no session yet, uses a signed double-submit cookie instead.
* Every route depends on :func:`require` naming the roles it admits; the
  API test enumerates the routes and checks each refuses the others.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, delete, insert, select, update

from drugwatch.annotate.schema import ROLES, SessionRow, UserRow

SESSION_COOKIE = "dw_session"
LOGIN_CSRF_COOKIE = "dw_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{2,64}$"
MIN_PASSWORD = 8


class NotAuthenticated(Exception):
    """No valid session: pages redirect to the login form, API calls get 401."""


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: str
    csrf_token: str


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_hasher(time_cost: int = 3, memory_kib: int = 65536) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    return role


def create_user(engine: Engine, username: str, password: str, role: str, hasher: PasswordHasher) -> int:
    """Add a user (or reset an existing user's password and role); returns the id."""
    import re

    if not re.match(USERNAME_PATTERN, username):
        raise ValueError("a username is 2-64 characters: letters, digits, '_', '.', '-'")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    check_role(role)
    hashed = hasher.hash(password)
    with engine.begin() as conn:
        existing = conn.execute(select(UserRow.id).where(UserRow.username == username)).scalar_one_or_none()
        if existing is not None:
            conn.execute(
                update(UserRow).where(UserRow.id == existing).values(password_hash=hashed, role=role, active=True)
            )
            conn.execute(delete(SessionRow).where(SessionRow.user_id == existing))
            return existing
        inserted = conn.execute(
            insert(UserRow).values(username=username, password_hash=hashed, role=role, active=True, created_at=_now())
        ).inserted_primary_key
        if inserted is None:
            raise RuntimeError(f"the database returned no id for the new user {username!r}")
        return inserted[0]


_DUMMY_HASH: dict[int, str] = {}


def authenticate(engine: Engine, username: str, password: str, hasher: PasswordHasher) -> int | None:
    """The user id when the password is right and the user active, else ``None``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(UserRow.id, UserRow.password_hash, UserRow.active).where(UserRow.username == username)
        ).first()
    if row is None:
        dummy = _DUMMY_HASH.setdefault(id(hasher), hasher.hash(secrets.token_hex(8)))
        try:
            hasher.verify(dummy, password)
        except VerificationError:
            pass
        return None
    try:
        hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not row.active:
        return None
    if hasher.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(update(UserRow).where(UserRow.id == row.id).values(password_hash=hasher.hash(password)))
    return row.id


def open_session(engine: Engine, user_id: int, hours: float) -> str:
    """Store a new session for ``user_id``; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        # Expired sessions of this user are cleaned up on each login.
        conn.execute(delete(SessionRow).where(SessionRow.user_id == user_id, SessionRow.expires_at < now))
        conn.execute(
            insert(SessionRow).values(
                id=_digest(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    return token


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(SessionRow).where(SessionRow.id == _digest(token)))


def session_user(engine: Engine, token: str | None) -> CurrentUser | None:
    if not token or len(token) > 128:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(UserRow.id, UserRow.username, UserRow.role, SessionRow.csrf_token, SessionRow.expires_at)
            .join(SessionRow, SessionRow.user_id == UserRow.id)
            .where(SessionRow.id == _digest(token), UserRow.active.is_(True))
        ).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= _now():
        return None
    return CurrentUser(row.id, row.username, row.role, row.csrf_token)


# ---------------------------------------------------------------------------
# FastAPI dependencies


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def optional_user(request: Request, engine: Engine = Depends(get_engine)) -> CurrentUser | None:
    return session_user(engine, request.cookies.get(SESSION_COOKIE))


async def _csrf_value(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


class RoleRequirement:
    """Dependency: a signed-in user with one of ``roles``; on unsafe methods,
    also a valid CSRF token. ``roles`` is public so tests can enumerate it."""

    def __init__(self, *roles: str) -> None:
        for role in roles:
            check_role(role)
        self.roles = frozenset(roles)

    async def __call__(self, request: Request, user: CurrentUser | None = Depends(optional_user)) -> CurrentUser:
        if user is None:
            raise NotAuthenticated()
        if user.role not in self.roles:
            raise HTTPException(403, f"this page is for {' or '.join(sorted(self.roles))} accounts")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = await _csrf_value(request)
            if not sent or not hmac.compare_digest(sent, user.csrf_token):
                raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
        return user


def require(*roles: str) -> RoleRequirement:
    return RoleRequirement(*roles)


ANY_ROLE = require(*ROLES)
ANNOTATOR = require("annotator")
ADJUDICATOR = require("adjudicator")
ADMIN = require("admin")
REVIEWER = require("adjudicator", "admin")
