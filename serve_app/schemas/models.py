"""Models, switching them, and token usage."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from penguin_actors.models.registry import ModelEntry
from serve_app.schemas.base import Schema, TokenCounts


class ModelPublic(ModelEntry):
    """A configured model; ``current`` is true for exactly one."""

    model_config = ConfigDict(extra="forbid")


class ModelsResponse(Schema):
    models: list[ModelPublic]


class ModelLoadRequest(Schema):
    model_id: str = Field(min_length=1, max_length=128, examples=["claude-sonnet"])


class ModelLoadResponse(Schema):
    status: Literal["success"] = "success"
    model_id: str
    current_model: str
    message: str
    available: bool = Field(description="false when the model's provider key is not set")
    warning: str | None = None


class CurrentModelResponse(Schema):
    id: str
    model: str = Field(description="provider/model name")
    provider: str
    client_preference: Literal["native"] = Field("native", description="the provider's official SDK is used")
    max_tokens: int
    temperature: float
    context_window: int
    streaming_enabled: bool = True
    vision_enabled: bool
    available: bool
    simulated: bool


class ModelUsage(TokenCounts):
    cost_usd: float | None = Field(None, description="null when the model has no configured prices")


class TokenUsageResponse(Schema):
    total: TokenCounts
    session: TokenCounts
    session_id: str | None = Field(description="the conversation counted as the session")
    by_model: dict[str, ModelUsage]
    total_cost_usd: float | None
