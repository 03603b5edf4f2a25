"""Request and response bodies of the scoring API (pydantic; they are the OpenAPI schema).

Inputs are separate from :class:`~drugwatch.records.Event`: they take only
what scoring uses, refuse unknown fields, and carry length limits. Batch
and timeline size limits come from the settings, so the input models are
built per app by :func:`input_models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    create_model,
    field_validator,
)

from drugwatch.records import MAX_TEXT_CHARS, Event
from drugwatch.scoring import EventResult
from drugwatch.text.analyze import TextView

MAX_HASHTAGS = 100
HashtagStr = Annotated[str, Field(max_length=256)]


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" admits 3.0 but not "3" or true; pydantic's lax int would take both.
    if isinstance(value, (bool, str, bytes)):
        raise ValueError("expected an integer")
    return value


Count = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_json_integer)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("kind", "post") if value.get("kind") in ("post", "comment") else "post"
    return getattr(value, "kind", "post")


class _EventFields(_In):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Your id for the event; echoed back. Default: its position ('0', '1', ...).",
    )
    platform: str = Field(default="instagram", min_length=1, max_length=64)
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    hashtags: list[HashtagStr] = Field(
        default_factory=list, max_length=MAX_HASHTAGS, description="Hashtags beside the text (with or without '#')."
    )
    created_at: datetime | None = Field(default=None, description="ISO 8601, e.g. 2024-05-01T13:45:00Z.")

    @field_validator("created_at", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        # The schema says an ISO 8601 string; do not silently take numbers as Unix times.
        if value is not None and not isinstance(value, (str, datetime)):
            raise ValueError("expected an ISO 8601 time string, e.g. 2024-05-01T13:45:00Z")
        return value

    def to_event(self, default_id: str, **extra: Any) -> Event:
        """The record the scorer reads; :class:`~drugwatch.records.RecordError` says what is inconsistent
        (a comment whose ``parent_id`` is its own ``id``)."""
        data = self.model_dump(exclude_none=True)
        data.setdefault("id", default_id)
        data.update(extra)
        return Event.parse(data)


class PostIn(_EventFields):
    """A post. Only the text and hashtags reach the detectors."""

    kind: Literal["post"] = "post"
    author: str | None = Field(default=None, max_length=256)


class CommentIn(_EventFields):
    """A comment under a post or another comment."""

    kind: Literal["comment"]
    parent_id: str = Field(min_length=1, max_length=256, description="The post or comment it answers (not its own id).")
    post_id: str | None = Field(default=None, max_length=256, description="The post at the root of its thread.")
    author: str | None = Field(default=None, max_length=256)


class TimelinePostIn(_EventFields):
    """A post in an account's timeline (its author is the account)."""

    kind: Literal["post"] = "post"


class TimelineCommentIn(_EventFields):
    """A comment in an account's timeline (its author is the account)."""

    kind: Literal["comment"]
    parent_id: str = Field(min_length=1, max_length=256, description="The post or comment it answers (not its own id).")
    post_id: str | None = Field(default=None, max_length=256, description="The post at the root of its thread.")


#: One event to score: a post (``kind`` "post", the default) or a comment (``kind`` "comment", with ``parent_id``).
EventIn = Annotated[
    Union[Annotated[PostIn, Tag("post")], Annotated[CommentIn, Tag("comment")]],  # noqa: UP007 (Tag needs Union)
    Discriminator(_kind_of),
]
TimelineEventIn = Annotated[
    Union[Annotated[TimelinePostIn, Tag("post")], Annotated[TimelineCommentIn, Tag("comment")]],  # noqa: UP007
    Discriminator(_kind_of),
]


class InspectIn(_In):
    text: str = Field(max_length=MAX_TEXT_CHARS, description="The raw text to read.")


class AccountFields(_In):
    """An account's profile; its timeline is added by :func:`input_models`."""

    username: str = Field(min_length=1, max_length=256)
    platform: str = Field(default="instagram", min_length=1, max_length=64)
    bio: str = Field(default="", max_length=MAX_TEXT_CHARS)
    full_name: str | None = Field(default=None, max_length=1024)
    followers: Count | None = None
    following: Count | None = None
    posts_count: Count | None = None
    is_private: StrictBool | None = None


@dataclass(frozen=True)
class InputModels:
    event: Any  # EventIn with the text length of the settings (an annotated union)
    batch: type[BaseModel]
    account: type[BaseModel]
    inspect: type[BaseModel]
    max_event_chars: int


def _sized(base: type[BaseModel], max_chars: int, **fields: Any) -> type[BaseModel]:
    """``base`` with its text fields limited to ``max_chars`` (same name, so the schema reads the same)."""
    return create_model(base.__name__, __base__=base, __module__=base.__module__, __doc__=base.__doc__, **fields)


def _text(max_chars: int, **kwargs: Any) -> Any:
    return Field(max_length=max_chars, **kwargs)


def input_models(max_batch: int, max_timeline: int, max_event_chars: int = MAX_TEXT_CHARS) -> InputModels:
    """Request bodies whose list and text lengths follow the settings (and show in the OpenAPI schema)."""
    text = (str, _text(max_event_chars, default=""))
    post, comment = _sized(PostIn, max_event_chars, text=text), _sized(CommentIn, max_event_chars, text=text)
    tl_post = _sized(TimelinePostIn, max_event_chars, text=text)
    tl_comment = _sized(TimelineCommentIn, max_event_chars, text=text)
    # Values, not type aliases: the member models are made here, at run time.
    event: Any = Annotated[
        Union[Annotated[post, Tag("post")], Annotated[comment, Tag("comment")]],  # noqa: UP007
        Discriminator(_kind_of),
    ]
    timeline_event: Any = Annotated[
        Union[Annotated[tl_post, Tag("post")], Annotated[tl_comment, Tag("comment")]],  # noqa: UP007
        Discriminator(_kind_of),
    ]
    batch = create_model(
        "BatchIn",
        __base__=_In,
        events=(list[event], Field(min_length=1, max_length=max_batch, description=f"1 to {max_batch} events.")),
    )
    account = create_model(
        "AccountIn",
        __base__=AccountFields,
        bio=(str, _text(max_event_chars, default="")),
        timeline=(
            list[timeline_event],
            Field(
                default_factory=list,
                max_length=max_timeline,
                description=f"The account's events (at most {max_timeline}).",
            ),
        ),
    )
    inspect = _sized(
        InspectIn, max_event_chars, text=(str, _text(max_event_chars, description="The raw text to read."))
    )
    return InputModels(event, batch, account, inspect, max_event_chars)


def _item_chars(fields: dict[str, Any]) -> int:
    return (
        len(fields.get("text") or "")
        + len(fields.get("bio") or "")
        + len(fields.get("full_name") or "")
        + sum(map(len, fields.get("hashtags") or ()))
    )


def request_chars(body: BaseModel) -> int:
    """Characters of text in a request body: what the text layer will read (texts, hashtags, bio, name)."""
    # The fields' dict, not getattr: a missing attribute on a pydantic model costs an exception.
    fields = body.__dict__
    items = fields.get("events") or fields.get("timeline") or ()
    return _item_chars(fields) + sum(_item_chars(item.__dict__) for item in items)


# ---------------------------------------------------------------------------
# Responses


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorOut(_Out):
    detail: Any = Field(description="What was wrong: a message, or pydantic's list of field errors (422).")


class BatchOut(_Out):
    results: list[EventResult]


class ModelOut(_Out):
    name: str = Field(description="Registry name, e.g. drugwatch.selling.v1.")
    version: int
    task: str
    columns: list[str]
    threshold: float | None
    training_fingerprint: str | None = Field(description="SHA-256 of the training data (ids, texts, targets).")
    files_sha256: str = Field(description="SHA-256 of the model directory's files.")
    saved_at: str | None


class ModelsOut(_Out):
    generation: int = Field(description="Increases with every successful (re)load.")
    loaded_at: datetime
    models: list[ModelOut]


class HealthOut(_Out):
    status: Literal["ok"]
    generation: int
    models: list[str]
    uptime_seconds: float
    last_reload_error: str | None
    scoring: dict[str, int]


class HashtagOut(_Out):
    tag: str
    segments: list[str]
    category: str
    labels: list[str]
    ambiguous: bool
    raw_span: list[int]


class ContactOut(_Out):
    kind: str
    app: str | None
    value: str
    obfuscated: bool
    raw_span: list[int]
    raw: str


class HitOut(_Out):
    label: str | None
    term: str
    kind: str
    ambiguous: bool
    in_hashtag: bool
    span: list[int] = Field(description="In the normalized text.")
    raw_span: list[int]
    raw: str


class InspectOut(_Out):
    """The text layer's view of one text (what ``drugwatch inspect --json`` prints)."""

    raw: str
    normalized: str
    labels: list[str]
    hashtags: list[HashtagOut]
    contacts: list[ContactOut]
    hits: list[HitOut]


def inspect_out(view: TextView) -> InspectOut:
    return InspectOut(
        raw=view.raw,
        normalized=view.text,
        labels=list(view.labels),
        hashtags=[
            HashtagOut(
                tag=h.tag,
                segments=list(h.analysis.segments),
                category=h.analysis.kind,
                labels=sorted(h.analysis.labels),
                ambiguous=h.analysis.ambiguous,
                raw_span=[h.raw_start, h.raw_end],
            )
            for h in view.hashtags
        ],
        contacts=[
            ContactOut(
                kind=c.kind,
                app=c.app,
                value=c.value,
                obfuscated=c.obfuscated,
                raw_span=[c.raw_start, c.raw_end],
                raw=view.raw[c.raw_start : c.raw_end],
            )
            for c in view.contacts
        ],
        hits=[
            HitOut(
                label=h.label,
                term=h.term,
                kind=h.kind,
                ambiguous=h.ambiguous,
                in_hashtag=h.in_hashtag,
                span=[h.start, h.end],
                raw_span=[h.raw_start, h.raw_end],
                raw=view.raw[h.raw_start : h.raw_end],
            )
            for h in view.hits
        ],
    )


__all__ = [
    "AccountFields",
    "CommentIn",
    "PostIn",
    "TimelineEventIn",
    "BatchOut",
    "ErrorOut",
    "EventIn",
    "HealthOut",
    "InputModels",
    "InspectIn",
    "InspectOut",
    "ModelOut",
    "ModelsOut",
    "input_models",
    "inspect_out",
    "request_chars",
]
