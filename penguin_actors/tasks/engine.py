"""TaskEngine: background, synchronous and streamed tasks, run mode and projects.

A plain class; ``edge`` runs it as the named detached actor ``tasks``. A task
runs its agent loop as turns of its own conversation (an ordinary conversation
actor, so its history can be opened like any other); the engine starts the turns,
relays their ``progress`` and ``action`` frames to the task's own frame log, and
enforces the time limit by cancelling the running turn.

Run mode (``continuous``): a task takes turns until its reply ends with
``DONE_MARKER``, its time limit, ``tasks.max_steps`` turns, a cancel or shutdown;
then, if it belongs to a project, the project's oldest queued task runs the same way.

Records are JSON documents in the store, saved at every change of status or step.
After a restart of the engine, a running task whose conversation still runs its
step is followed again (resumed); one whose step is gone is marked ``failed`` with
the reason. Queued tasks stay queued; finished ones keep their results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from penguin_actors.config import Settings
from penguin_actors.conversation.frames import TERMINAL_EVENTS, Frame, FrameLog
from penguin_actors.errors import Conflict, Invalid, NotFound, PenguinError
from penguin_actors.models.catalog import catalog_of, require_model
from penguin_actors.tasks import steps
from penguin_actors.tasks.ports import Interrupted, TaskConversations, TaskStore
from penguin_actors.tasks.records import TASK_STATUSES, ProjectRecord, TaskRecord, TaskSpec, TaskStatus
from penguin_actors.types import TurnRequest

log = logging.getLogger(__name__)

TASK, PROJECT = "task", "project"
MAX_PAGE = 1000


@dataclass
class _Run:
    """A task being driven: its frame log, its asyncio task, and why it is being stopped."""

    frames: FrameLog
    task: asyncio.Task[None] | None = None
    stop: str | None = None  # "cancelled" once the user cancels


class TaskEngine:
    """Task and project records, the tasks being run, and run mode; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        store: TaskStore,
        conversations: TaskConversations,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.conversations = conversations
        self._clock = clock
        self._tasks: dict[str, TaskRecord] = {}
        self._projects: dict[str, ProjectRecord] = {}
        self._runs: dict[str, _Run] = {}
        self._open_lock = asyncio.Lock()
        self._opened = False
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------

    async def open(self) -> None:
        """Load the records; follow again (or fail, saying why) the tasks that were running."""
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            tasks = await self.store.load_documents(TASK)
            projects = await self.store.load_documents(PROJECT)
            self._tasks = {i: TaskRecord.model_validate_json(d) for i, d in tasks.items()}
            self._projects = {i: ProjectRecord.model_validate_json(d) for i, d in projects.items()}
            self._opened = True
            for record in sorted(self._tasks.values(), key=lambda r: r.created_at):
                if record.status == "running":
                    self._start(record, resume=True)

    async def close(self) -> None:
        """Stop following the running tasks (their turns run on in their conversations)."""
        self._closing = True
        runs = [run.task for run in self._runs.values() if run.task is not None]
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    # --- projects -------------------------------------------------------------------

    async def create_project(self, name: str, description: str = "") -> ProjectRecord:
        """A new project; names are unique (case and surrounding spaces ignored): a taken one is a Conflict."""
        await self.open()
        name = name.strip()
        if not name:
            raise Invalid("a project needs a name")
        taken = next((p for p in self._projects.values() if p.name.casefold() == name.casefold()), None)
        if taken is not None:
            raise Conflict(f"there is already a project named {taken.name!r} ({taken.id}): pick another name")
        project = ProjectRecord(
            id=_new_id("proj_"), name=name, description=description.strip(), created_at=self._clock()
        )
        await self.store.put_documents(PROJECT, {project.id: project.model_dump_json()})
        self._projects[project.id] = project
        return project

    async def list_projects(self) -> list[ProjectRecord]:
        await self.open()
        return sorted(self._projects.values(), key=lambda p: p.created_at, reverse=True)

    async def task_counts(self) -> dict[str, dict[str, int]]:
        """Each project's tasks counted by status (projects without tasks are absent)."""
        await self.open()
        counts: dict[str, dict[str, int]] = {}
        for record in self._tasks.values():
            if record.spec.project_id is not None:
                by_status = counts.setdefault(record.spec.project_id, {})
                by_status[record.status] = by_status.get(record.status, 0) + 1
        return counts

    async def get_project(self, project_id: str) -> ProjectRecord:
        await self.open()
        try:
            return self._projects[project_id]
        except KeyError:
            raise NotFound(f"no project {project_id!r}: GET /api/v1/projects lists them") from None

    # --- tasks ----------------------------------------------------------------------

    async def create_task(self, spec: TaskSpec) -> TaskRecord:
        """A queued task (in a project, for run mode to take later, or to execute by id)."""
        await self.open()
        spec = self._checked(spec)
        record = TaskRecord(id=_new_id("task_"), spec=spec, created_at=self._clock())
        await self._save(record)
        return record

    async def execute(self, spec: TaskSpec) -> TaskRecord:
        """Create a task and start it at once; returns its record (status ``running``)."""
        record = await self.create_task(spec)
        return await self._begin(record)

    async def start(self, task_id: str) -> TaskRecord:
        """Start a queued task."""
        record = await self.get_task(task_id)
        if record.status != "queued":
            raise Conflict(f"task {task_id} is {record.status}: only a queued task can be started")
        return await self._begin(record)

    async def get_task(self, task_id: str) -> TaskRecord:
        await self.open()
        try:
            return self._tasks[task_id]
        except KeyError:
            raise NotFound(f"no task {task_id!r}: GET /api/v1/tasks lists them") from None

    async def list_tasks(
        self, status: TaskStatus | None = None, project_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[TaskRecord], int]:
        """Tasks, newest first, filtered by status and project; the page and the filtered total."""
        await self.open()
        if status is not None and status not in TASK_STATUSES:
            raise Invalid(f"unknown task status {status!r}: use one of {', '.join(TASK_STATUSES)}")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise Invalid(f"limit must be 1..{MAX_PAGE} and offset at least 0")
        chosen = [
            r
            for r in self._tasks.values()
            if (status is None or r.status == status) and (project_id is None or r.spec.project_id == project_id)
        ]
        chosen.sort(key=lambda r: r.created_at, reverse=True)
        return chosen[offset : offset + limit], len(chosen)

    async def cancel(self, task_id: str) -> TaskRecord:
        """Cancel a queued or running task (the running turn is cancelled); a finished one is a Conflict."""
        record = await self.get_task(task_id)
        if record.finished:
            raise Conflict(f"task {task_id} already ended ({record.status}): there is nothing to cancel")
        run = self._runs.get(task_id)
        if run is None:  # queued
            return await self._finish(record.model_copy(update={"status": "cancelled", "reason": "cancelled"}))
        run.stop = "cancelled"
        if record.conversation_id is not None and record.turn_id is not None:
            with contextlib.suppress(PenguinError):
                await self.conversations.cancel(record.conversation_id, record.turn_id, "cancelled")
        return await self.wait(task_id)

    async def wait(self, task_id: str) -> TaskRecord:
        """Wait until the task has finished; its final record."""
        record = await self.get_task(task_id)
        run = self._runs.get(task_id)
        if run is not None:
            await run.frames.wait()
        return self._tasks[record.id]

    async def result(self, task_id: str) -> dict[str, Any]:
        """Wait until the task has finished; its outcome as ``execute-sync`` answers it."""
        return steps.result_data(await self.wait(task_id), self._clock())

    async def events(self, task_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """The task's frames after ``after_seq``, live until it ends; a finished task's last frame only."""
        record = await self.get_task(task_id)
        run = self._runs.get(task_id)
        if run is None:
            if not record.finished:
                raise Conflict(f"task {task_id} is queued: start it (POST /api/v1/tasks/{task_id}/start) first")
            yield [self._final_frame(record, seq=0)]
            return
        async for batch in run.frames.subscribe(after_seq):
            yield batch

    async def status(self) -> dict[str, Any]:
        """Run mode's state for ``/system/status``."""
        await self.open()
        running = [self._tasks[i] for i in self._runs]
        continuous = [r for r in running if r.spec.continuous]
        if continuous:
            names = ", ".join(repr(r.spec.name) for r in continuous)
            text = f"RunMode active: {len(continuous)} task(s) running ({names})."
        else:
            text = "RunMode idle."
        return {
            "continuous_mode": bool(continuous),
            "runmode_status": text,
            "running": len(running),
            "queued": sum(r.status == "queued" for r in self._tasks.values()),
        }

    # --- running a task -----------------------------------------------------------------

    def _checked(self, spec: TaskSpec) -> TaskSpec:
        name = spec.name.strip()
        if not name:
            raise Invalid("a task needs a name")
        if spec.project_id is not None and spec.project_id not in self._projects:
            raise NotFound(f"no project {spec.project_id!r}: create it first (POST /api/v1/projects/create)")
        if spec.model_id is not None:
            require_model(catalog_of(self.settings), spec.model_id)
        limits = self.settings.tasks
        minutes = spec.time_limit_min if spec.time_limit_min is not None else limits.default_time_limit_min
        if minutes is not None and not 0 < minutes <= limits.max_time_limit_min:
            raise Invalid(f"time_limit must be more than 0 and at most {limits.max_time_limit_min:g} minutes")
        iterations = spec.max_iterations or self.settings.agent.max_iterations
        return spec.model_copy(update={"name": name, "time_limit_min": minutes, "max_iterations": iterations})

    async def _begin(self, record: TaskRecord) -> TaskRecord:
        record = await self._save(record.model_copy(update={"status": "running", "started_at": self._clock()}))
        self._start(record, resume=False)
        return record

    def _start(self, record: TaskRecord, *, resume: bool) -> None:
        run = _Run(FrameLog({"task_id": record.id}))
        self._runs[record.id] = run
        run.task = asyncio.create_task(self._drive(record.id, run, resume=resume))

    async def _drive(self, task_id: str, run: _Run, *, resume: bool) -> None:
        try:
            record = await self._steps(self._tasks[task_id], run, resume=resume)
        except asyncio.CancelledError:  # the engine is shutting down: the record stays "running"
            run.frames.emit("error", {"message": "the task engine stopped", "code": "unavailable", "task_id": task_id})
            self._runs.pop(task_id, None)
            raise
        except PenguinError as exc:
            record = self._tasks[task_id].model_copy(update={"status": "failed", "reason": exc.message})
        except Exception as exc:  # a bug: the task fails, saying so, and the engine goes on
            log.exception("task %s failed", task_id)
            record = self._tasks[task_id].model_copy(update={"status": "failed", "reason": f"internal error: {exc}"})
        try:
            record = await self._finish(record)
        except Exception:  # the store is down: the outcome is known here, and said to every waiter
            log.exception("task %s ended %s but its record could not be saved", task_id, record.status)
            self._tasks[task_id] = record
        finally:
            run.frames.emit(*steps.final_event(record, self._clock()))
            self._runs.pop(task_id, None)
        if record.spec.continuous and record.spec.project_id and record.status != "cancelled" and not self._closing:
            await self._run_next_in_project(record.spec.project_id)

    async def _steps(self, record: TaskRecord, run: _Run, *, resume: bool) -> TaskRecord:
        spec = record.spec
        if record.conversation_id is None:
            conversation_id = await self.conversations.create(f"Task: {spec.name}")
            record = await self._save(record.model_copy(update={"conversation_id": conversation_id}))
        assert record.conversation_id is not None and spec.max_iterations is not None
        run.frames.emit("start", steps.start_data(record, resumed=resume))
        deadline = None if spec.time_limit_min is None else (record.started_at or 0) + spec.time_limit_min * 60
        follow = record.turn_id if resume else None
        if resume and follow is None:
            # Stopped before its first step was recorded: a turn started in that moment is stopped, then
            # the step is taken (again).
            with contextlib.suppress(PenguinError):
                await self.conversations.cancel(record.conversation_id, None, "interrupted")
        while True:
            if run.stop is not None:
                return record.model_copy(update={"status": "cancelled", "reason": "cancelled"})
            if deadline is not None and self._clock() >= deadline:
                return record.model_copy(update=steps.time_limit(record))
            if follow is None:
                request = TurnRequest(
                    text=steps.prompt(record),
                    max_iterations=spec.max_iterations,
                    model_id=spec.model_id,
                    report_progress=True,
                )
                turn_id = await self.conversations.start_turn(record.conversation_id, request)
                update = {"turn_id": turn_id, "turn_counted": False, "steps": record.steps + 1}
                record = await self._save(record.model_copy(update=update))
                if run.stop is not None:  # cancelled while the turn was being started
                    await self.conversations.cancel(record.conversation_id, turn_id, run.stop)
            else:
                turn_id, follow = follow, None
            try:
                result = await self._follow(record, turn_id, run, deadline)
            except NotFound:
                if not resume:
                    raise
                result = {"restored": True, "stop_reason": "interrupted"}
            if resume and result.get("restored") and result.get("stop_reason") == "interrupted":
                # The step's turn is known only from the store, which says it never ended.
                raise Interrupted(
                    "the server restarted while the task ran, and its step did not survive: the task's "
                    f"conversation ({record.conversation_id}) holds what was done; run the task again to go on"
                )
            record = steps.tally(record, result)
            status = steps.outcome(record, result, run.stop, self.settings.tasks.max_steps)
            if status is not None:
                return await self._save(record.model_copy(update=status))
            record = await self._save(record)

    async def _follow(self, record: TaskRecord, turn_id: str, run: _Run, deadline: float | None) -> dict[str, Any]:
        """Relay the turn's frames to the task's log until it ends; at the deadline, cancel it (time_limit)."""
        assert record.conversation_id is not None
        conversation_id = record.conversation_id
        seen = -1
        result: dict[str, Any] = {}

        async def relay() -> None:
            nonlocal seen
            async for batch in self.conversations.events(conversation_id, turn_id, seen):
                for frame in batch:
                    seen = frame["seq"]
                    if frame["event"] in TERMINAL_EVENTS:
                        result.update(event=frame["event"], **frame["data"])
                    else:
                        self._relay(record, frame, run)

        if deadline is None:
            await relay()
        else:
            try:
                await asyncio.wait_for(relay(), max(deadline - self._clock(), 0))
            except TimeoutError:
                await self.conversations.cancel(conversation_id, turn_id, "time_limit")
                await relay()
        if not result:
            raise Invalid(f"turn {turn_id} of the task's conversation ended without a result")
        return result

    def _relay(self, record: TaskRecord, frame: Frame, run: _Run) -> None:
        if frame["event"] == "progress":
            run.frames.emit("progress", steps.progress_data(record, frame["data"]))
        elif frame["event"] == "action":
            run.frames.emit("action", frame["data"])

    async def _run_next_in_project(self, project_id: str) -> None:
        queued = [r for r in self._tasks.values() if r.spec.project_id == project_id and r.status == "queued"]
        if not queued:
            return
        following = min(queued, key=lambda r: r.created_at)
        spec = following.spec.model_copy(update={"continuous": True})
        await self._begin(following.model_copy(update={"spec": spec}))

    # --- records and frames --------------------------------------------------------------

    async def _save(self, record: TaskRecord) -> TaskRecord:
        await self.store.put_documents(TASK, {record.id: record.model_dump_json()})
        self._tasks[record.id] = record
        return record

    async def _finish(self, record: TaskRecord) -> TaskRecord:
        return await self._save(record.model_copy(update={"finished_at": self._clock()}))

    def _final_frame(self, record: TaskRecord, seq: int) -> Frame:
        event, data = steps.final_event(record, self._clock())
        return {"event": event, "data": data, "task_id": record.id, "seq": seq}


def _new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"
