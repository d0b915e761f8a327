"""Tasks and projects."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from serve_app.schemas.base import ModelId, RecordId, Schema, TokenCounts
from serve_app.schemas.chat import ActionResultPublic

TaskStatusName = Literal[
    "queued", "running", "completed", "failed", "cancelled", "time_limit_reached", "iterations_exceeded"
]


class TaskRequest(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    continuous: bool = Field(False, description="run mode: keep taking steps, then the project's next queued task")
    time_limit: float | None = Field(None, gt=0, le=1440, description="minutes; absent = tasks.default_time_limit_min")
    project_id: RecordId | None = None
    max_iterations: int | None = Field(None, ge=1, le=50, description="model calls per step")
    model_id: ModelId | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("name is blank: give the task a name")
        return name


class TaskMetadata(Schema):
    name: str
    description: str
    continuous: bool
    time_limit: float | None
    project_id: str | None
    steps: int


class TaskPublic(Schema):
    task_id: str
    name: str
    description: str
    project_id: str | None
    status: TaskStatusName
    continuous: bool
    time_limit: float | None = Field(description="minutes")
    conversation_id: str | None = Field(description="the conversation holding the task's history")
    steps: int
    iterations: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    execution_time: float = Field(description="seconds")
    response: str | None
    reason: str | None = Field(description="why it failed or stopped early")
    action_results: list[ActionResultPublic]
    usage: TokenCounts


class TaskList(Schema):
    tasks: list[TaskPublic]
    total: int


class TaskResult(Schema):
    """``POST /tasks/execute-sync``'s answer and the data of the task stream's ``complete``."""

    task_id: str
    status: TaskStatusName
    response: str
    iterations: int
    execution_time: float
    action_results: list[ActionResultPublic]
    usage: TokenCounts
    conversation_id: str | None
    reason: str | None
    task_metadata: TaskMetadata


class ProjectCreate(Schema):
    name: str = Field(min_length=1, max_length=200, description="unique, ignoring case")
    description: str = Field("", max_length=5000)


class ProjectPublic(Schema):
    id: str
    project_id: str
    name: str
    description: str
    created_at: float
    task_counts: dict[str, int] = Field(description="the project's tasks by status")


class ProjectDetail(ProjectPublic):
    tasks: list[TaskPublic]


class ProjectList(Schema):
    projects: list[ProjectPublic]
