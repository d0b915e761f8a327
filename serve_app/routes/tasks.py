"""Tasks: run in the background, synchronously or streamed; list, inspect, start, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, WebSocket

from serve_app.deps import SettingsDep, TasksDep
from serve_app.errors import documented
from serve_app.schemas import TaskList, TaskPublic, TaskRequest, TaskResult, TaskStatusName
from serve_app.security import client_id
from serve_app.task_stream import TaskSession
from serve_app.task_views import public, task_spec

router = APIRouter(tags=["tasks"])
TaskIdPath = Annotated[str, Path(min_length=1, max_length=128)]


@router.post("/tasks/execute", response_model=TaskPublic, status_code=202, responses=documented(404))
async def execute_task(body: TaskRequest, tasks: TasksDep) -> TaskPublic:
    """Start a task in the background; follow it with GET /tasks/{id} or the task stream."""
    return public(await tasks.execute(task_spec(body)))


@router.post("/tasks/execute-sync", response_model=TaskResult, responses=documented(404))
async def execute_task_sync(body: TaskRequest, tasks: TasksDep) -> TaskResult:
    """Run a task and answer when it has ended, whatever its status (see ``status`` and ``reason``)."""
    record = await tasks.execute(task_spec(body))
    return TaskResult(**await tasks.result(record.id))


@router.post("/tasks", response_model=TaskPublic, status_code=201, responses=documented(404))
async def create_task(body: TaskRequest, tasks: TasksDep) -> TaskPublic:
    """A queued task: run mode takes it in its project's turn, or start it with POST /tasks/{id}/start."""
    return public(await tasks.create_task(task_spec(body)))


@router.get("/tasks", response_model=TaskList)
async def list_tasks(
    tasks: TasksDep,
    status: TaskStatusName | None = None,
    project_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskList:
    records, total = await tasks.list_tasks(status, project_id, limit, offset)
    return TaskList(tasks=[public(r) for r in records], total=total)


@router.get("/tasks/{task_id}", response_model=TaskPublic, responses=documented(404))
async def get_task(task_id: TaskIdPath, tasks: TasksDep) -> TaskPublic:
    return public(await tasks.get_task(task_id))


@router.post("/tasks/{task_id}/start", response_model=TaskPublic, status_code=202, responses=documented(404, 409))
async def start_task(task_id: TaskIdPath, tasks: TasksDep) -> TaskPublic:
    return public(await tasks.start(task_id))


@router.post("/tasks/{task_id}/cancel", response_model=TaskPublic, responses=documented(404, 409))
async def cancel_task(task_id: TaskIdPath, tasks: TasksDep) -> TaskPublic:
    """Cancel a queued or running task; answers once it has stopped. A finished task answers 409."""
    return public(await tasks.cancel(task_id))


@router.websocket("/tasks/stream")
async def task_stream(websocket: WebSocket, tasks: TasksDep, settings: SettingsDep) -> None:
    client = client_id(websocket, settings.server.api_key)
    sockets = websocket.app.state.websocket_clients
    await TaskSession(websocket, tasks, settings, client=client, sockets=sockets).run()
