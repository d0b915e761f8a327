"""The base of every schema, the error body, and the id and count types the others share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ActorStateName = Literal["alive", "unresponsive", "not_running", "absent"]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    code: str = Field(description="stable machine-readable kind, e.g. not_found, validation_error")
    message: str = Field(description="what went wrong and what to do")
    details: Any | None = None


class ErrorResponse(Schema):
    error: ErrorDetail
    detail: str = Field(description="the message again, where FastAPI clients read it")


class TokenCounts(Schema):
    input: int = 0
    output: int = 0


RecordId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
ConversationId = RecordId
ModelId = Annotated[str, Field(min_length=1, max_length=128)]
