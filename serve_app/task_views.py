"""Tasks between the API and the engine: a request as a TaskSpec, a TaskRecord as the public shape."""

from __future__ import annotations

import time

from penguin_actors.tasks.records import TaskRecord, TaskSpec
from serve_app.schemas import TaskPublic, TaskRequest


def task_spec(body: TaskRequest) -> TaskSpec:
    return TaskSpec(
        name=body.name,
        description=body.description,
        continuous=body.continuous,
        time_limit_min=body.time_limit,
        project_id=body.project_id,
        max_iterations=body.max_iterations,
        model_id=body.model_id,
    )


def task_public(record: TaskRecord, now: float) -> TaskPublic:
    spec = record.spec
    return TaskPublic(
        task_id=record.id,
        name=spec.name,
        description=spec.description,
        project_id=spec.project_id,
        status=record.status,
        continuous=spec.continuous,
        time_limit=spec.time_limit_min,
        conversation_id=record.conversation_id,
        steps=record.steps,
        iterations=record.iterations,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        execution_time=record.execution_time(now),
        response=record.response,
        reason=record.reason,
        action_results=record.action_results,
        usage=record.usage,
    )


def public(record: TaskRecord) -> TaskPublic:
    return task_public(record, time.time())
