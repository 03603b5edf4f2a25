"""``/v1/models``: what is loaded (any key), and reloading it (``admin``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from drugwatch.api.deps import ADMIN, ANY_KEY, AuthFirstRoute, current_models
from drugwatch.api.logs import APP_LOGGER, log_event
from drugwatch.api.modelset import LoadedModel, ModelReloadError, ModelSet
from drugwatch.api.payloads import ModelOut, ModelsOut
from drugwatch.api.routers.common import AUTH_ERRORS, errors

router = APIRouter(prefix="/v1/models", tags=["models"], route_class=AuthFirstRoute)
_log = logging.getLogger(APP_LOGGER)


def model_out(model: LoadedModel) -> ModelOut:
    return ModelOut(
        name=model.info.name,
        version=model.info.version,
        task=model.info.task,
        columns=list(model.columns),
        threshold=model.info.threshold,
        training_fingerprint=model.info.fingerprint,
        files_sha256=model.files_sha256,
        saved_at=model.saved_at,
    )


def models_out(models: ModelSet) -> ModelsOut:
    return ModelsOut(
        generation=models.generation, loaded_at=models.loaded_at, models=[model_out(m) for m in models.all_models]
    )


@router.get(
    "",
    response_model=ModelsOut,
    summary="List the loaded models",
    responses=errors(*AUTH_ERRORS),
    dependencies=[Depends(ANY_KEY)],
)
async def list_models(models: ModelSet = Depends(current_models)) -> ModelsOut:
    return models_out(models)


@router.post(
    "/reload",
    response_model=ModelsOut,
    summary="Reload the model directory (admin)",
    responses=errors(*AUTH_ERRORS, 409),
    dependencies=[Depends(ADMIN)],
)
async def reload_models(request: Request) -> ModelsOut:
    """Load the configured model directory again and swap it in atomically.

    Requests already running finish on the old models. If loading fails the
    old models stay and the answer is 409 with the reason.
    """
    from drugwatch.api.app import after_reload

    holder = request.app.state.models
    try:
        fresh = await asyncio.to_thread(holder.reload)
    except ModelReloadError as exc:
        log_event(_log, "model reload failed", logging.WARNING, generation=holder.current.generation)
        raise HTTPException(
            409, f"reload failed, still serving generation {holder.current.generation}: {exc}"
        ) from None
    await after_reload(request.app)
    log_event(_log, "models reloaded", generation=fresh.generation, models=list(fresh.names))
    return models_out(fresh)


# After /reload: a path template that also matches "reload" must not shadow it.
@router.get(
    "/{name}",
    response_model=ModelOut,
    summary="One loaded model",
    responses=errors(*AUTH_ERRORS, 404),
    dependencies=[Depends(ANY_KEY)],
)
async def get_model(
    name: Annotated[str, Path(max_length=128, description="Registry name, e.g. drugwatch.selling.v1.")],
    models: ModelSet = Depends(current_models),
) -> ModelOut:
    model = models.get(name)
    if model is None:
        raise HTTPException(
            404, f"model {name!r} is not loaded; loaded: {', '.join(m.info.name for m in models.all_models)}"
        )
    return model_out(model)
