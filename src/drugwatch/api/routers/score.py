"""``/v1/score/...``: score one event, a batch, or an account (scope ``score``).

All scoring goes through the app's :class:`~drugwatch.api.batching.ScoreQueue`
with the model set taken when the request started: the body becomes events,
is scored and is serialized on the queue's worker thread, never on the event
loop. A request's text is bounded twice: each text by the schema
(``api_max_event_chars``, 422) and the whole request by
``api_max_request_chars`` (413). ``?model=NAME``
(repeatable) restricts scoring to some of the loaded models; a name that is
not loaded is a 404 naming the loaded ones.
"""

# No ``from __future__ import annotations``: the batch and account bodies are
# classes built at app creation, and FastAPI must see them, not their names.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from drugwatch.api.accounts import AccountOut, score_account
from drugwatch.api.deps import SCORE, AuthFirstRoute, current_models
from drugwatch.api.modelset import ModelSet
from drugwatch.api.payloads import BatchOut, InputModels, request_chars
from drugwatch.api.routers.common import AUTH_ERRORS, errors
from drugwatch.records import Event, RecordError
from drugwatch.scoring import EventResult, EventScorer

ModelName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$", max_length=128)
]


class ScoreQuery(BaseModel):
    """Query parameters of the event routes; unknown ones are refused (422), like unknown body fields."""

    model_config = ConfigDict(extra="forbid")

    model: list[ModelName] | None = Field(
        default=None,
        max_length=8,
        description="Only these loaded models (registry names, e.g. drugwatch.selling.v1); default all. "
        "A name that is not loaded is a 404.",
    )


ModelQuery = Annotated[ScoreQuery, Query()]


def _scorer(models: ModelSet, names: list[str] | None) -> EventScorer:
    try:
        return models.scorer_for(frozenset(names) if names else None)
    except KeyError:
        unknown = sorted(set(names or ()) - set(models.names))
        raise HTTPException(
            404, f"model(s) {', '.join(map(repr, unknown))} not loaded; loaded: {', '.join(models.names)}"
        ) from None


def _events(items: list[Any], where: str) -> list[Event]:
    """The records the scorer reads (on the worker thread: ``Event.parse`` reads the text for hashtags)."""
    events = []
    for i, item in enumerate(items):
        try:
            events.append(item.to_event(default_id=str(i)))
        except RecordError as exc:
            raise HTTPException(422, f"{where}[{i}]: {exc}") from None
    return events


def _json(content: str | bytes) -> Response:
    # The result is already the declared response model, serialized once (on the
    # worker thread, in pydantic's Rust core): FastAPI does not validate and dump it again.
    return Response(content=content, media_type="application/json")


def check_request_chars(body: BaseModel, request: Request) -> int:
    """The body's characters of text; a 413 past ``api_max_request_chars`` (the request's cost bound)."""
    limit = request.app.state.settings.api_max_request_chars
    chars = request_chars(body)
    if chars > limit:
        raise HTTPException(
            413,
            f"the request holds {chars} characters of text; the limit is {limit} per request "
            "(DRUGWATCH_API_MAX_REQUEST_CHARS): send fewer or shorter texts per request",
        )
    return chars


def build_router(inputs: InputModels) -> APIRouter:
    """The scoring routes, with the request bodies sized by the settings."""
    router = APIRouter(prefix="/v1/score", tags=["score"], route_class=AuthFirstRoute)
    # Declared Any: these classes are made per app, so no static type names them.
    EventIn: Any = inputs.event
    BatchIn: Any = inputs.batch
    AccountIn: Any = inputs.account

    @router.post(
        "/event",
        response_model=EventResult,
        summary="Score one event",
        responses=errors(*AUTH_ERRORS, 404, 413, 422),
        dependencies=[Depends(SCORE)],
    )
    async def score_event(
        body: EventIn, request: Request, query: ModelQuery, models: ModelSet = Depends(current_models)
    ) -> Response:
        """Selling probability and label, drug-type probabilities and labels, contacts, lexicon hits,
        hashtags, the normalized text and the models that produced the numbers."""
        scorer = _scorer(models, query.model)
        chars = check_request_chars(body, request)
        request.state.n_events = 1
        content = await request.app.state.queue.submit(
            scorer, lambda: _events([body], "event"), lambda results: results[0].model_dump_json(), 1, chars
        )
        return _json(content)

    @router.post(
        "/events",
        response_model=BatchOut,
        summary="Score a batch of events",
        responses=errors(*AUTH_ERRORS, 404, 413, 422),
        dependencies=[Depends(SCORE)],
    )
    async def score_events(
        body: BatchIn, request: Request, query: ModelQuery, models: ModelSet = Depends(current_models)
    ) -> Response:
        """One result per event, in order."""
        scorer = _scorer(models, query.model)
        chars = check_request_chars(body, request)
        items = body.events
        request.state.n_events = len(items)
        content = await request.app.state.queue.submit(
            scorer,
            lambda: _events(items, "events"),
            lambda results: BatchOut(results=results).model_dump_json(),
            len(items),
            chars,
        )
        return _json(content)

    @router.post(
        "/account",
        response_model=AccountOut,
        summary="Score an account",
        responses=errors(*AUTH_ERRORS, 413, 422),
        dependencies=[Depends(SCORE)],
    )
    async def score_account_route(
        body: AccountIn, request: Request, models: ModelSet = Depends(current_models)
    ) -> Response:
        """Score every timeline event, then the account (see docs/api.md for how)."""
        chars = check_request_chars(body, request)
        request.state.n_events = len(body.timeline)
        content = await score_account(body, models, request.app.state.queue, chars)
        return _json(content)

    return router
