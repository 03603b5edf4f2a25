"""``/v1/score/...``: score one event, a batch, or an account (scope ``score``).

All scoring goes through the app's :class:`~drugwatch.api.batching.ScoreQueue`
with the model set taken when the request started. ``?model=NAME``
(repeatable) restricts scoring to some of the loaded models; a name that is
not loaded is a 404 naming the loaded ones.
"""

# No ``from __future__ import annotations``: the batch and account bodies are
# classes built at app creation, and FastAPI must see them, not their names.
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from drugwatch.api.accounts import AccountOut, score_account
from drugwatch.api.deps import SCORE, current_models
from drugwatch.api.modelset import ModelSet
from drugwatch.api.payloads import BatchOut, EventIn, InputModels
from drugwatch.api.routers.common import AUTH_ERRORS, errors
from drugwatch.records import Event, RecordError
from drugwatch.scoring import EventResult, EventScorer

ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$", max_length=128)]


class ScoreQuery(BaseModel):
    """Query parameters of the event routes; unknown ones are refused (422), like unknown body fields."""

    model_config = ConfigDict(extra="forbid")

    model: list[ModelName] | None = Field(
        default=None, max_length=8,
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


def _events(items: list[EventIn], where: str) -> list[Event]:
    events = []
    for i, item in enumerate(items):
        try:
            events.append(item.to_event(default_id=str(i)))
        except RecordError as exc:
            raise HTTPException(422, f"{where}[{i}]: {exc}") from None
    return events


def _json(result: BaseModel) -> Response:
    # The result is already the declared response model: serialize it once, in
    # pydantic's Rust core, instead of FastAPI validating and dumping it again.
    return Response(content=result.model_dump_json(), media_type="application/json")


def build_router(inputs: InputModels) -> APIRouter:
    """The scoring routes, with the request bodies sized by the settings."""
    router = APIRouter(prefix="/v1/score", tags=["score"])
    BatchIn = inputs.batch
    AccountIn = inputs.account

    @router.post("/event", response_model=EventResult, summary="Score one event",
                 responses=errors(*AUTH_ERRORS, 404, 413, 422), dependencies=[Depends(SCORE)])
    async def score_event(body: EventIn, request: Request, query: ModelQuery,
                          models: ModelSet = Depends(current_models)) -> Response:
        """Selling probability and label, drug-type probabilities and labels, contacts, lexicon hits,
        hashtags, the normalized text and the models that produced the numbers."""
        scorer = _scorer(models, query.model)
        event = _events([body], "event")[0]
        request.state.n_events = 1
        result = (await request.app.state.queue.score(scorer, [event]))[0]
        return _json(result)

    @router.post("/events", response_model=BatchOut, summary="Score a batch of events",
                 responses=errors(*AUTH_ERRORS, 404, 413, 422), dependencies=[Depends(SCORE)])
    async def score_events(body: BatchIn, request: Request, query: ModelQuery,  # type: ignore[valid-type]
                           models: ModelSet = Depends(current_models)) -> Response:
        """One result per event, in order."""
        scorer = _scorer(models, query.model)
        events = _events(body.events, "events")
        request.state.n_events = len(events)
        return _json(BatchOut(results=await request.app.state.queue.score(scorer, events)))

    @router.post("/account", response_model=AccountOut, summary="Score an account",
                 responses=errors(*AUTH_ERRORS, 413, 422), dependencies=[Depends(SCORE)])
    async def score_account_route(body: AccountIn, request: Request,  # type: ignore[valid-type]
                                  models: ModelSet = Depends(current_models)) -> AccountOut:
        """Score every timeline event, then the account (see docs/api.md for how)."""
        request.state.n_events = len(body.timeline)
        return await score_account(body, models, request.app.state.queue)

    return router
