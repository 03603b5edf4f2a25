"""The record types every part of drugwatch reads and writes.

An :class:`Event` is one user activity: a post, or a comment under a post
(comments nest to any depth through ``parent_id``). An :class:`Account` is a
user with a bio, follower counts and a timeline of events. Both carry
:class:`Provenance` so every result can be traced back to the raw payload it
came from.

Records are immutable pydantic models. Build them with :meth:`Event.parse` /
:meth:`Account.parse` when the input comes from outside: those raise a
:class:`RecordError` whose message says what is wrong and where (file, line,
field).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drugwatch.labels import check_labels

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: Largest text we accept in one event. Instagram caps captions at 2,200
#: characters; the margin allows for other platforms and OCR text.
MAX_TEXT_CHARS = 100_000


class RecordError(ValueError):
    """A record that cannot be accepted, with where it came from.

    ``source`` is a file path or URL, ``locator`` a line number or a path
    inside the document (``"line 12"``, ``"node.edge_media_to_comment[3]"``).
    """

    def __init__(self, message: str, *, source: str | None = None, locator: str | None = None):
        self.reason = message
        self.source = source
        self.locator = locator
        where = ", ".join(part for part in (source, locator) if part)
        super().__init__(f"{where}: {message}" if where else message)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _canonical_encoder() -> Any:
    """``_CANONICAL.encode`` without its per-call cost, when the C encoder is there.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which costs
    more than encoding a small record; this one is built once. It keeps no
    table of the containers being encoded (``check_circular``), which holds
    nothing for a value read from JSON or dumped by pydantic: a circular
    value raises ``RecursionError`` here instead of ``ValueError``.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _CANONICAL.encode
    encode_string = json.encoder.encode_basestring
    try:
        iterencode = make(None, _CANONICAL.default, encode_string, None, ":", ",", True, False, True)
    except TypeError:  # another Python's C encoder signature
        return _CANONICAL.encode

    def encode(value: Any) -> str:
        if type(value) is str:
            return encode_string(value)
        return "".join(iterencode(value, 0))

    return encode


#: ``canonical_json(value)``: the canonical JSON text of a JSON-like value
#: (sorted keys, compact separators, non-ASCII as is, ``str()`` of anything
#: else), the form :func:`sha256_json` hashes.
canonical_json = _canonical_encoder()


def sha256_json(payload: Any) -> str:
    """Hex SHA-256 of a JSON payload in canonical form (sorted keys, compact)."""
    return sha256_bytes(canonical_json(payload).encode("utf-8"))


def _from_unix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"Unix time {seconds:g} is out of range") from None


_UNIX_SECONDS = re.compile(r"-?\d+(\.\d+)?")


def _as_utc(value: Any) -> Any:
    """Accept datetimes, dates, ISO strings and Unix timestamps; return aware UTC.

    Naive datetimes are taken to be UTC (Instagram timestamps are UTC).
    """
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # already what this returns (the common case: a record built from a record)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a timestamp cannot be a boolean")
    if isinstance(value, (int, float)):
        return _from_unix(float(value))
    if isinstance(value, str):
        text = value.strip()
        if _UNIX_SECONDS.fullmatch(text):
            return _from_unix(float(text))
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"cannot read {value!r} as a time; use ISO 8601 (2024-05-01T13:45:00Z) or Unix seconds"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    raise ValueError(f"cannot read {type(value).__name__} as a time")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    @classmethod
    def parse(
        cls,
        data: Any,
        *,
        source: str | None = None,
        locator: str | None = None,
    ):
        """Validate ``data`` (a mapping) into a record or raise :class:`RecordError`.

        The error message names every invalid field, e.g.
        ``"field 'labels': unknown label 'weed'; expected one of: ..."``.
        """
        if not isinstance(data, dict):
            raise RecordError(
                f"expected a JSON object for {cls.__name__}, got {type(data).__name__}",
                source=source,
                locator=locator,
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RecordError(_describe(exc), source=source, locator=locator) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "record"
        msg = err["msg"]
        # pydantic prefixes custom messages with "Value error, "; drop it.
        msg = msg.removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling, or put it under 'meta')"
        parts.append(f"field '{field}': {msg}")
    return "; ".join(parts)


class SourceRef(_Record):
    """Where and when a record was obtained.

    ``raw_sha256`` is the SHA-256 of the raw payload the record was built
    from (the JSON line, the post file, the HTTP body), so evidence can be
    verified against an archived copy.
    """

    platform: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=4096, description="URL or file path")
    fetched_at: datetime | None = None
    raw_sha256: str | None = None
    locator: str | None = Field(default=None, max_length=512, description="line or path inside the source")
    importer: str | None = Field(default=None, max_length=64)

    @field_validator("fetched_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return _as_utc(value)

    @field_validator("raw_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError("must be 64 lowercase hex characters (a SHA-256 digest)")
        return value

    @property
    def identity(self) -> tuple[str, str | None, str]:
        """``(platform, importer, source)``: two copies from one source are one provenance."""
        return (self.platform, self.importer, self.source)


#: Most sources one record keeps (its own plus ``also``); older extra ones are
#: dropped and counted in ``also_dropped``, so a record seen in thousands of
#: exports stays small.
MAX_PROVENANCE = 32


def _empty_value(value: Any) -> bool:
    return not value


class Provenance(SourceRef):
    """Where the stored content came from, plus every other source it was seen in.

    The fields of :class:`SourceRef` name the payload the record's content
    was last built from. ``also`` lists the other sources the same record was
    imported from (an instaloader file, then a Zeeschuimer export), one per
    :attr:`SourceRef.identity`, oldest first; ``also_dropped`` counts those
    left out past :data:`MAX_PROVENANCE`. Both are omitted from the
    serialised form while empty, so records seen once serialise as before.
    """

    also: tuple[SourceRef, ...] = Field(default=(), exclude_if=_empty_value)
    also_dropped: int = Field(default=0, ge=0, exclude_if=_empty_value)

    @property
    def own(self) -> SourceRef:
        """This provenance without ``also``."""
        return SourceRef.model_validate(self.model_dump(exclude={"also", "also_dropped"}))

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        """Every source: the content's own first, then ``also``."""
        return (self.own, *self.also)


class ImageRef(_Record):
    """An image attached to an event: a local path or a URL, plus its SHA-256.

    The SHA-256 is of the image file's bytes; it keys the feature and OCR
    caches and lets evidence bundles prove what was seen. It may be missing
    for a URL that has not been downloaded yet.
    """

    path: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=4096)
    sha256: str | None = None

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.lower()
            if not _SHA256.match(value):
                raise ValueError("must be 64 hex characters (a SHA-256 digest)")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> ImageRef:
        if not self.path and not self.url:
            raise ValueError("an image needs a 'path' or a 'url'")
        return self


class Event(_Record):
    """A post or a comment.

    ``id`` is the platform's own identifier (unique within ``platform``);
    :attr:`key` (``"instagram:123"``) is unique across platforms and is the
    store's primary key. A comment has ``parent_id`` (the post or comment it
    answers) and ``post_id`` (the post at the root of its thread).

    ``labels`` are from :data:`drugwatch.labels.LABELS` (``non_drug`` is
    exclusive), ``None`` when unknown. ``selling`` is the binary dealer-post
    label (JMIR: a drug and contact information to buy), ``None`` when unknown.
    """

    id: str = Field(min_length=1, max_length=256)
    platform: str = Field(default="instagram", min_length=1, max_length=64)
    kind: Literal["post", "comment"] = "post"
    parent_id: str | None = Field(default=None, max_length=256)
    post_id: str | None = Field(default=None, max_length=256)
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    hashtags: tuple[str, ...] = ()
    images: tuple[ImageRef, ...] = ()
    author: str | None = Field(default=None, max_length=256)
    created_at: datetime | None = None
    provenance: Provenance | None = None
    labels: tuple[str, ...] | None = None
    selling: bool | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", "parent_id", "post_id", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # Platforms hand out numeric ids; JSON may carry them as numbers.
        if isinstance(value, bool):
            raise ValueError("an id cannot be a boolean")
        if isinstance(value, int):
            return str(value)
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return _as_utc(value)

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return ""
        return value

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            raise ValueError("hashtags must be a list of tags, not one string")
        tags = []
        for tag in value:
            if not isinstance(tag, str):
                raise ValueError(f"hashtag {tag!r} is not a string")
            tag = tag.strip().lstrip("#").lower()
            if tag and tag not in tags:
                tags.append(tag)
        return tuple(tags)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if value is None:
            return None
        return check_labels(value)

    @model_validator(mode="after")
    def _thread(self) -> Event:
        if self.kind == "comment" and not self.parent_id:
            raise ValueError("a comment needs 'parent_id' (the post or comment it answers)")
        if self.kind == "post" and self.parent_id:
            raise ValueError("a post cannot have 'parent_id'; set kind='comment' for a reply")
        if self.parent_id is not None and self.parent_id == self.id:
            raise ValueError("'parent_id' equals the event's own id")
        if not self.hashtags and "#" in self.text:
            from drugwatch.text.hashtags import extract_hashtags

            object.__setattr__(self, "hashtags", tuple(extract_hashtags(self.text)))
        return self

    @property
    def key(self) -> str:
        """``platform:id``, unique across platforms; the store's primary key."""
        return f"{self.platform}:{self.id}"

    @property
    def parent_key(self) -> str | None:
        return f"{self.platform}:{self.parent_id}" if self.parent_id else None

    @property
    def post_key(self) -> str | None:
        if self.kind == "post":
            return self.key
        return f"{self.platform}:{self.post_id}" if self.post_id else None

    @property
    def is_drug(self) -> bool | None:
        """Whether the labels name any drug; ``None`` when unlabelled."""
        if self.labels is None:
            return None
        return self.labels != ("non_drug",)


class Account(_Record):
    """A user: profile fields plus the timeline (their events).

    ``dealer`` is the account-level ground truth when known (annotated, or the
    demo generator's truth). Counts are ``None`` when the source did not show
    them.
    """

    username: str = Field(min_length=1, max_length=256)
    platform: str = Field(default="instagram", min_length=1, max_length=64)
    user_id: str | None = Field(default=None, max_length=256)
    full_name: str | None = Field(default=None, max_length=1024)
    bio: str = Field(default="", max_length=MAX_TEXT_CHARS)
    followers: int | None = Field(default=None, ge=0)
    following: int | None = Field(default=None, ge=0)
    posts_count: int | None = Field(default=None, ge=0)
    is_private: bool | None = None
    dealer: bool | None = None
    provenance: Provenance | None = None
    timeline: tuple[Event, ...] = ()
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("bio", mode="before")
    @classmethod
    def _bio(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _timeline_is_theirs(self) -> Account:
        for event in self.timeline:
            if event.author is not None and event.author != self.username:
                raise ValueError(f"timeline event {event.id!r} is by {event.author!r}, not {self.username!r}")
        return self

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.username}"

    @property
    def following_ratio(self) -> float | None:
        """Yang & Luo's R3: following / followers (``None`` when unknown)."""
        if self.followers is None or self.following is None:
            return None
        return self.following / max(self.followers, 1)
