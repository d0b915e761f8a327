"""The task engine's records: what a task asks, what became of it, and projects.

Stored as JSON documents in the store (kinds ``task`` and ``project``); records are
frozen, and the engine replaces them as a task moves on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from penguin_actors.store.records import StoreRecord

TaskStatus = Literal[
    "queued", "running", "completed", "failed", "cancelled", "time_limit_reached", "iterations_exceeded"
]
TASK_STATUSES: tuple[TaskStatus, ...] = (
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
    "time_limit_reached",
    "iterations_exceeded",
)
FINISHED: frozenset[TaskStatus] = frozenset(TASK_STATUSES) - {"queued", "running"}


class TaskSpec(StoreRecord):
    """What a task asks (validated at the edge): the work, run mode, limits and model."""

    name: str
    description: str = ""
    continuous: bool = False
    time_limit_min: float | None = Field(None, description="minutes; None = no limit")
    project_id: str | None = None
    max_iterations: int | None = Field(None, description="model calls per turn; None = agent.max_iterations")
    model_id: str | None = None


class TaskRecord(StoreRecord):
    id: str
    spec: TaskSpec
    status: TaskStatus = "queued"
    conversation_id: str | None = Field(None, description="the conversation that holds the task's history")
    turn_id: str | None = Field(None, description="the turn of the step running now or last")
    turn_counted: bool = Field(False, description="the result of turn_id is in iterations, usage, response")
    steps: int = Field(0, description="turns taken (one unless continuous)")
    iterations: int = Field(0, description="model calls over all steps")
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    response: str | None = None
    reason: str | None = Field(None, description="why it failed or stopped early")
    action_results: list[dict[str, Any]] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=lambda: {"input": 0, "output": 0})

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def execution_time(self, now: float) -> float:
        """Seconds from start to finish (or to ``now`` while it runs); 0 before it starts."""
        if self.started_at is None:
            return 0.0
        return round((self.finished_at or now) - self.started_at, 3)


class ProjectRecord(StoreRecord):
    id: str
    name: str
    description: str = ""
    created_at: float
