"""Projects: create, list, and open one with its tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from penguin_actors.tasks import ProjectRecord
from serve_app.deps import TasksDep
from serve_app.errors import documented
from serve_app.schemas import ProjectCreate, ProjectDetail, ProjectList, ProjectPublic
from serve_app.task_views import public

router = APIRouter(tags=["projects"])
ProjectIdPath = Annotated[str, Path(min_length=1, max_length=128)]


def project_public(record: ProjectRecord, counts: dict[str, int]) -> ProjectPublic:
    fields = record.model_dump()
    return ProjectPublic(**fields, project_id=record.id, task_counts=counts)


@router.post("/projects/create", response_model=ProjectPublic, status_code=201, responses=documented(409))
@router.post("/projects", response_model=ProjectPublic, status_code=201, responses=documented(409))
async def create_project(body: ProjectCreate, tasks: TasksDep) -> ProjectPublic:
    """A new project; its name must not be taken (ignoring case): a taken name answers 409."""
    return project_public(await tasks.create_project(body.name, body.description), {})


@router.get("/projects", response_model=ProjectList)
async def list_projects(tasks: TasksDep) -> ProjectList:
    projects = await tasks.list_projects()
    counts = await tasks.task_counts()
    return ProjectList(projects=[project_public(p, counts.get(p.id, {})) for p in projects])


@router.get("/projects/{project_id}", response_model=ProjectDetail, responses=documented(404))
async def get_project(project_id: ProjectIdPath, tasks: TasksDep) -> ProjectDetail:
    """The project and its tasks, newest first."""
    project = await tasks.get_project(project_id)
    records, _ = await tasks.list_tasks(None, project_id, 1000, 0)
    counts = await tasks.task_counts()
    summary = project_public(project, counts.get(project_id, {}))
    return ProjectDetail(**summary.model_dump(), tasks=[public(r) for r in records])
