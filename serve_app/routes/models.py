"""Model discovery and runtime switching; token usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serve_app.deps import ModelsDep, StoreDep
from serve_app.errors import documented
from serve_app.schemas import (
    CurrentModelResponse,
    ModelLoadRequest,
    ModelLoadResponse,
    ModelPublic,
    ModelsResponse,
    TokenUsageResponse,
)

router = APIRouter(tags=["models"])


@router.get("/models", response_model=ModelsResponse)
async def list_models(models: ModelsDep) -> ModelsResponse:
    entries = await models.list_models()
    return ModelsResponse(models=[ModelPublic.model_validate(e.model_dump()) for e in entries])


@router.post("/models/load", response_model=ModelLoadResponse, responses=documented(404))
async def load_model(body: ModelLoadRequest, models: ModelsDep) -> ModelLoadResponse:
    result = await models.load(body.model_id)
    return ModelLoadResponse(**result.model_dump(), message=f"Successfully loaded model: {result.model_id}")


@router.get("/models/current", response_model=CurrentModelResponse)
async def current_model(models: ModelsDep) -> CurrentModelResponse:
    entry = await models.current()
    return CurrentModelResponse(**entry.model_dump(exclude={"name", "current", "key_env"}), model=entry.name)


@router.get("/token-usage", response_model=TokenUsageResponse, tags=["usage"])
async def token_usage(
    store: StoreDep,
    conversation_id: Annotated[str | None, Query(max_length=128, description="default: most recently active")] = None,
) -> TokenUsageResponse:
    return TokenUsageResponse.model_validate(await store.token_usage(conversation_id))
