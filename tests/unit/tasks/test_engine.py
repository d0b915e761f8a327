"""TaskEngine without Ray: tasks run as turns of their own conversation, with limits, cancel and run mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from penguin_actors.errors import Conflict, Invalid, NotFound
from penguin_actors.tasks.engine import TaskEngine
from penguin_actors.tasks.records import TaskSpec
from penguin_actors.tasks.steps import DONE_MARKER
from penguin_actors.testing.fake_llm import Reply
from tests.unit.tasks.conftest import Kit


async def frames_of(engine: TaskEngine, task_id: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async for batch in engine.events(task_id):
        frames.extend(batch)
    return frames


async def test_a_task_runs_in_its_own_conversation_and_reports_its_steps(kit: Kit) -> None:
    """execute → running; the turn uses the tool; the record ends completed with response, iterations, actions."""
    kit.llm.script(Reply.tool("probe", {"n": 1}), Reply(text="All done."))
    engine = kit.engine()
    started = await engine.execute(TaskSpec(name="Check", description="probe once"))
    assert started.status == "running"
    frames = await asyncio.wait_for(frames_of(engine, started.id), 10)
    assert [f["event"] for f in frames] == ["start", "progress", "action", "action", "progress", "complete"]
    assert all(f["task_id"] == started.id for f in frames) and [f["seq"] for f in frames] == list(range(6))
    assert [f["data"]["iteration"] for f in frames if f["event"] == "progress"] == [1, 2]
    done = await engine.get_task(started.id)
    assert (done.status, done.response, done.iterations, done.steps) == ("completed", "All done.", 2, 1)
    assert [a["action"] for a in done.action_results] == ["probe"] and done.usage["output"] > 0
    assert done.finished_at is not None and done.execution_time(0) >= 0
    assert frames[-1]["data"]["status"] == "completed" and frames[-1]["data"]["response"] == "All done."
    messages = kit.conversations.store.messages[done.conversation_id or ""]
    assert messages[0].text() == "Task: Check\n\nprobe once"
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]


async def test_iterations_exceeded_when_the_turn_hits_max_iterations(kit: Kit) -> None:
    """A task whose model keeps calling tools stops at max_iterations with status iterations_exceeded."""
    kit.llm.script(*[Reply.tool("probe") for _ in range(3)])
    engine = kit.engine()
    task = await engine.wait((await engine.execute(TaskSpec(name="loop", max_iterations=2))).id)
    assert (task.status, task.iterations) == ("iterations_exceeded", 2)
    assert "max_iterations (2)" in (task.reason or "")


async def test_run_mode_takes_steps_until_the_model_declares_the_task_complete(kit: Kit) -> None:
    """continuous: a second turn is sent to continue; the marker ends the task and is cut from the response."""
    kit.llm.script("Step one is done.", f"Everything is finished.\n{DONE_MARKER}")
    engine = kit.engine()
    task = await engine.wait((await engine.execute(TaskSpec(name="two steps", continuous=True))).id)
    assert (task.status, task.steps, task.response) == ("completed", 2, "Everything is finished.")
    assert "run mode" in kit.llm.requests[0].body["messages"][-1]["content"]
    assert kit.llm.requests[1].body["messages"][-1]["content"].startswith("Continue with the task")


async def test_run_mode_stops_after_max_steps(make_kit: Any) -> None:
    """A continuous task that never declares completion ends iterations_exceeded after tasks.max_steps turns."""
    kit = make_kit(**{"tasks.max_steps": 3})
    engine = kit.engine()
    task = await engine.wait((await engine.execute(TaskSpec(name="endless", continuous=True))).id)
    assert (task.status, task.steps) == ("iterations_exceeded", 3)
    assert "tasks.max_steps (3)" in (task.reason or "")


async def test_the_time_limit_cancels_the_running_tool(kit: Kit) -> None:
    """A time limit that passes mid-tool ends the task time_limit_reached at once; the history stays valid."""
    kit.tools.delay_s = 30
    kit.llm.script(Reply.tool("probe"))
    engine = kit.engine()
    record = await engine.execute(TaskSpec(name="slow", time_limit_min=0.01))  # 0.6 s
    task = await asyncio.wait_for(engine.wait(record.id), 10)
    assert task.status == "time_limit_reached" and "0.01 min" in (task.reason or "")
    assert 0.5 <= task.execution_time(0) < 5
    messages = kit.conversations.store.messages[task.conversation_id or ""]
    assert [m.role for m in messages] == ["user", "assistant", "tool"] and messages[-1].is_error


async def test_cancel_a_running_a_queued_and_a_finished_task(kit: Kit) -> None:
    """Cancel stops a running task (its turn too) and a queued one; a finished task cannot be cancelled."""
    kit.tools.delay_s = 30
    kit.llm.script(Reply.tool("probe"))
    engine = kit.engine()
    running = await engine.execute(TaskSpec(name="long"))
    while kit.tools.calls == 0:
        await asyncio.sleep(0.01)
    cancelled = await asyncio.wait_for(engine.cancel(running.id), 10)
    assert cancelled.status == "cancelled"
    queued = await engine.create_task(TaskSpec(name="later"))
    assert (await engine.cancel(queued.id)).status == "cancelled"
    with pytest.raises(Conflict, match="already ended"):
        await engine.cancel(queued.id)
    frames = await frames_of(engine, running.id)
    assert [f["event"] for f in frames] == ["complete"] and frames[0]["data"]["status"] == "cancelled"


async def test_a_failing_model_fails_the_task_with_the_reason(kit: Kit) -> None:
    """A provider error ends the task failed, with the error as its reason and an error frame."""
    kit.llm.script(Reply.error(400, "bad request from the test"))
    engine = kit.engine()
    record = await engine.execute(TaskSpec(name="doomed"))
    frames = await asyncio.wait_for(frames_of(engine, record.id), 10)
    task = await engine.get_task(record.id)
    assert task.status == "failed" and "bad request from the test" in (task.reason or "")
    assert frames[-1]["event"] == "error" and frames[-1]["data"]["code"] == "task_failed"


async def test_projects_have_unique_names_and_run_mode_works_through_their_queue(kit: Kit) -> None:
    """A continuous task of a project is followed by the project's queued tasks, oldest first."""
    engine = kit.engine()
    project = await engine.create_project(" Website ", "the site")
    assert project.name == "Website"
    with pytest.raises(Conflict, match="already a project named 'Website'"):
        await engine.create_project("website")
    first = await engine.create_task(TaskSpec(name="first", project_id=project.id))
    second = await engine.create_task(TaskSpec(name="second", project_id=project.id))
    kit.llm.script(f"kickoff\n{DONE_MARKER}", f"one\n**{DONE_MARKER}**", f"two\n`{DONE_MARKER}`")
    kickoff = await engine.execute(TaskSpec(name="kickoff", project_id=project.id, continuous=True))
    await engine.wait(kickoff.id)
    for _ in range(200):
        if (await engine.get_task(second.id)).finished:
            break
        await asyncio.sleep(0.02)
    done = [await engine.get_task(t.id) for t in (kickoff, first, second)]
    assert [t.status for t in done] == ["completed"] * 3
    assert [t.response for t in done] == ["kickoff", "one", "two"]
    assert done[1].started_at is not None and done[2].started_at is not None
    assert done[1].started_at <= done[2].started_at
    page, total = await engine.list_tasks(project_id=project.id)
    assert total == 3 and [t.spec.name for t in page] == ["kickoff", "second", "first"]
    assert (await engine.status())["continuous_mode"] is False


async def test_status_shows_run_mode_while_a_continuous_task_runs(kit: Kit) -> None:
    """/system/status's runmode_status and continuous_mode follow the running continuous tasks."""
    kit.tools.delay_s = 30
    kit.llm.script(Reply.tool("probe"))
    engine = kit.engine()
    assert (await engine.status())["runmode_status"] == "RunMode idle."
    task = await engine.execute(TaskSpec(name="runner", continuous=True))
    status = await engine.status()
    assert status["continuous_mode"] is True and "'runner'" in status["runmode_status"]
    await engine.cancel(task.id)
    assert (await engine.status())["continuous_mode"] is False


async def test_a_restarted_engine_resumes_a_task_whose_step_still_runs(kit: Kit) -> None:
    """The engine stops mid-task; a new one on the same records follows the step to its end, counted once."""
    kit.tools.delay_s = 0.5
    kit.llm.script(Reply.tool("probe"), Reply(text="finished after the restart"))
    first = kit.engine()
    record = await first.execute(TaskSpec(name="survivor"))
    while kit.tools.calls == 0:
        await asyncio.sleep(0.01)
    await first.close()
    assert (await kit.engine().get_task(record.id)).status in ("running", "completed")
    second = kit.engines[-1]
    task = await asyncio.wait_for(second.wait(record.id), 10)
    assert (task.status, task.response, task.iterations) == ("completed", "finished after the restart", 2)


async def test_a_restarted_engine_fails_a_task_whose_step_is_gone_and_keeps_the_rest(kit: Kit) -> None:
    """After a full restart the running task is failed, saying why; finished and queued tasks are as they were."""
    kit.llm.script("quick")
    first = kit.engine()
    finished = await first.wait((await first.execute(TaskSpec(name="quick"))).id)
    queued = await first.create_task(TaskSpec(name="waiting"))
    kit.tools.delay_s = 30
    kit.llm.script(Reply.tool("probe"))
    running = await first.execute(TaskSpec(name="interrupted"))
    while kit.tools.calls == 0:
        await asyncio.sleep(0.01)
    await first.close()
    await kit.conversations.restart(running.conversation_id or (await first.get_task(running.id)).conversation_id or "")
    second = kit.engine()
    task = await asyncio.wait_for(second.wait(running.id), 10)
    assert task.status == "failed" and "the server restarted while the task ran" in (task.reason or "")
    assert await second.get_task(finished.id) == finished
    assert (await second.get_task(queued.id)).status == "queued"


@pytest.mark.parametrize(
    ("spec", "error", "problem"),
    [
        (TaskSpec(name="  "), Invalid, "needs a name"),
        (TaskSpec(name="x", time_limit_min=0), Invalid, "time_limit"),
        (TaskSpec(name="x", time_limit_min=100_000), Invalid, "at most 1440 minutes"),
        (TaskSpec(name="x", project_id="proj_missing"), NotFound, "create it first"),
    ],
)
async def test_bad_task_requests_are_refused_before_anything_runs(
    kit: Kit, spec: TaskSpec, error: type[Exception], problem: str
) -> None:
    engine = kit.engine()
    with pytest.raises(error, match=problem):
        await engine.execute(spec)
    assert kit.conversations.conversations == {} and (await engine.list_tasks())[1] == 0


async def test_unknown_ids_and_filters(kit: Kit) -> None:
    engine = kit.engine()
    with pytest.raises(NotFound, match="GET /api/v1/tasks lists them"):
        await engine.get_task("task_nope")
    with pytest.raises(NotFound, match="GET /api/v1/projects lists them"):
        await engine.get_project("proj_nope")
    with pytest.raises(Invalid, match="unknown task status"):
        await engine.list_tasks(status="sleeping")  # type: ignore[arg-type]


async def test_a_task_stopped_before_its_first_step_is_started_again(kit: Kit) -> None:
    """The engine stops before the first step is recorded; a new engine takes the step, and the task completes."""
    kit.llm.script("done at last")
    first = kit.engine()
    record = await first.execute(TaskSpec(name="early"))
    await first.close()
    assert (await kit.engine().get_task(record.id)).steps == 0
    task = await asyncio.wait_for(kit.engines[-1].wait(record.id), 10)
    assert (task.status, task.response, task.steps) == ("completed", "done at last", 1)
