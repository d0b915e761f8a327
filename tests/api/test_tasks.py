"""Tasks and projects through Serve: background, sync and streamed runs, limits, cancel, run mode, restarts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import ray
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import Server

pytestmark = pytest.mark.ray
MODEL = "fake-openai"


@pytest.fixture
def task_ws(server: Server) -> Iterator[ClientConnection]:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/tasks/stream"
    with connect(url, open_timeout=30) as socket:
        yield socket


def until_end(socket: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    frames = []
    while True:
        frames.append(json.loads(socket.recv(timeout=timeout)))
        if frames[-1]["event"] in ("complete", "error"):
            return frames


def poll(client: httpx.Client, task_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/api/v1/tasks/{task_id}")
        if answer.status_code == 200 and done(answer.json()):
            return answer.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {answer.text}")
        time.sleep(0.1)


def finished(task: dict[str, Any]) -> bool:
    return task["status"] not in ("queued", "running")


def execute(client: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/tasks/execute", json={"name": name, "model_id": MODEL, **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_background_task_is_followed_to_completion_by_polling(
    client: httpx.Client, server: Server, llm: FakeLLM
) -> None:
    """execute answers 202 at once; polling sees it completed; its conversation is an ordinary one."""
    llm.script(
        Reply.tool("write_file", {"path": "task-out/hello.txt", "content": "hi\n"}),
        Reply(text="Wrote the file."),
    )
    started = execute(client, "Write hello", description="create task-out/hello.txt")
    assert started["status"] in ("queued", "running") and started["task_id"].startswith("task_")
    task = poll(client, started["task_id"], finished)
    assert (task["status"], task["response"], task["iterations"], task["steps"]) == (
        "completed",
        "Wrote the file.",
        2,
        1,
    )
    assert [(a["action"], a["status"]) for a in task["action_results"]] == [("write_file", "completed")]
    assert (server.settings.workspace / "task-out" / "hello.txt").read_text() == "hi\n"
    assert task["execution_time"] > 0 and task["usage"]["output"] > 0
    conversation = client.get(f"/api/v1/conversations/{task['conversation_id']}").json()
    assert conversation["title"] == "Task: Write hello"
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "tool", "assistant"]
    listed = client.get("/api/v1/tasks", params={"status": "completed"}).json()
    assert task["task_id"] in {t["task_id"] for t in listed["tasks"]} and listed["total"] >= 1


def test_a_task_followed_by_the_stream(task_ws: ClientConnection, llm: FakeLLM) -> None:
    """The task stream sends start, progress per model call, action events and complete with the result."""
    llm.script(Reply.tool("list_files", {"path": "."}), Reply(text="Listed."))
    task_ws.send(json.dumps({"name": "List", "description": "list the workspace", "model_id": MODEL}))
    frames = until_end(task_ws)
    events = [f["event"] for f in frames]
    assert events == ["start", "progress", "action", "action", "progress", "complete"]
    task_id = frames[0]["data"]["task_id"]
    assert all(f["task_id"] == task_id for f in frames) and [f["seq"] for f in frames] == list(range(6))
    assert frames[1]["data"] == {"iteration": 1, "max_iterations": 5, "message": "model call 1 of at most 5"}
    result = frames[-1]["data"]
    assert result["status"] == "completed" and result["response"] == "Listed." and result["iterations"] == 2
    assert result["task_metadata"]["name"] == "List" and result["task_metadata"]["continuous"] is False
    task_ws.send(json.dumps({"task_id": task_id}))  # a finished task: its last frame
    (again,) = until_end(task_ws)
    assert again["event"] == "complete" and again["data"]["task_id"] == task_id


def test_execute_sync_answers_the_contract_shape(client: httpx.Client, llm: FakeLLM) -> None:
    """execute-sync waits and answers status, response, iterations, execution_time, action_results, metadata."""
    llm.script(Reply(text="Endpoint planned."))
    body = {"name": "Create API endpoint", "description": "plan it", "continuous": False, "time_limit": 300}
    answer = client.post("/api/v1/tasks/execute-sync", json=body | {"model_id": MODEL})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert {"status", "response", "iterations", "execution_time", "action_results", "task_metadata"} <= set(result)
    assert (result["status"], result["response"], result["iterations"]) == ("completed", "Endpoint planned.", 1)
    assert result["task_metadata"] == {
        "name": "Create API endpoint",
        "description": "plan it",
        "continuous": False,
        "time_limit": 300,
        "project_id": None,
        "steps": 1,
    }


def test_cancel_a_running_task(client: httpx.Client, llm: FakeLLM) -> None:
    """Cancel during a long tool answers with the task cancelled; cancelling it again is a 409."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 20"}))
    task = execute(client, "Sleep")
    poll(client, task["task_id"], lambda t: bool(t["action_results"]) or t["steps"] == 1, timeout=30)
    time.sleep(0.5)
    began = time.monotonic()
    answer = client.post(f"/api/v1/tasks/{task['task_id']}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled" and time.monotonic() - began < 10
    again = client.post(f"/api/v1/tasks/{task['task_id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_the_time_limit_is_enforced_mid_task(client: httpx.Client, llm: FakeLLM) -> None:
    """A time limit that passes during a long tool ends the task time_limit_reached, not after the tool."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 20"}))
    task = execute(client, "Too slow", time_limit=0.1)  # 6 s
    done = poll(client, task["task_id"], finished, timeout=30)
    assert done["status"] == "time_limit_reached" and "0.1 min" in done["reason"]
    assert 6 <= done["execution_time"] < 15
    messages = client.get(f"/api/v1/conversations/{done['conversation_id']}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]


def test_iterations_exceeded(client: httpx.Client, llm: FakeLLM) -> None:
    """A task whose model still calls tools at max_iterations ends iterations_exceeded."""
    llm.script(Reply.tool("list_files", {"path": "."}), Reply.tool("list_files", {"path": "."}))
    task = execute(client, "Loop", max_iterations=2)
    done = poll(client, task["task_id"], finished)
    assert (done["status"], done["iterations"]) == ("iterations_exceeded", 2)


def test_a_project_queue_runs_in_continuous_mode(client: httpx.Client, llm: FakeLLM) -> None:
    """Two queued tasks of a project run after the continuous kickoff, in order; status shows run mode."""
    name = f"Site {time.time_ns()}"
    created = client.post("/api/v1/projects/create", json={"name": name, "description": "a site"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["name"] == name and project["id"] == project["project_id"]
    duplicate = client.post("/api/v1/projects/create", json={"name": name.upper()})
    assert duplicate.status_code == 409
    queued = []
    for step in ("first", "second"):
        answer = client.post("/api/v1/tasks", json={"name": step, "project_id": project["id"], "model_id": MODEL})
        assert answer.status_code == 201 and answer.json()["status"] == "queued"
        queued.append(answer.json())
    llm.script(
        Reply(text="Kicking off.", first_token_delay_s=1.0),
        "Kicked off.\nTASK_COMPLETE",
        "First done.\nTASK_COMPLETE",
        "Second done.\nTASK_COMPLETE",
    )
    kickoff = execute(client, "kickoff", project_id=project["id"], continuous=True)
    status = client.get("/api/v1/system/status").json()
    assert status["continuous_mode"] is True and "'kickoff'" in status["runmode_status"]
    last = poll(client, queued[1]["task_id"], finished)
    first = client.get(f"/api/v1/tasks/{queued[0]['task_id']}").json()
    done = client.get(f"/api/v1/tasks/{kickoff['task_id']}").json()
    assert [(t["status"], t["response"]) for t in (done, first, last)] == [
        ("completed", "Kicked off."),
        ("completed", "First done."),
        ("completed", "Second done."),
    ]
    assert done["steps"] == 2 and first["started_at"] <= last["started_at"]
    detail = client.get(f"/api/v1/projects/{project['id']}").json()
    assert [t["name"] for t in detail["tasks"]] == ["kickoff", "second", "first"]
    assert detail["task_counts"] == {"completed": 3}
    assert project["id"] in {p["id"] for p in client.get("/api/v1/projects").json()["projects"]}
    status = client.get("/api/v1/system/status").json()
    assert status["continuous_mode"] is False and status["runmode_status"] == "RunMode idle."


def test_a_task_engine_killed_mid_task_resumes_it(client: httpx.Client, llm: FakeLLM) -> None:
    """Ray restarts the killed TaskEngine; it follows the step still running in its conversation to the end."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 3"}), Reply(text="Survived."))
    task = execute(client, "Survive")
    poll(client, task["task_id"], lambda t: t["steps"] == 1, timeout=30)
    ray.kill(ray.get_actor("tasks", namespace="penguin"), no_restart=False)
    done = poll(client, task["task_id"], finished, timeout=60)
    assert (done["status"], done["response"], done["iterations"]) == ("completed", "Survived.", 2)
    finished_before = client.get("/api/v1/tasks", params={"status": "completed"}).json()["total"]
    assert finished_before >= 1


def test_the_stream_refuses_a_task_without_a_name(task_ws: ClientConnection) -> None:
    """A task message without a name gets an error event, then the socket closes with 1008."""
    task_ws.send(json.dumps({"description": "no name"}))
    frame = json.loads(task_ws.recv(timeout=30))
    assert frame["event"] == "error" and frame["data"]["code"] == "validation_error"
    assert "name" in frame["data"]["message"]
    with pytest.raises(ConnectionClosed) as closed:
        task_ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_the_stream_says_when_a_task_is_unknown(task_ws: ClientConnection) -> None:
    """Following an unknown task id is an error event, and the socket stays open."""
    task_ws.send(json.dumps({"task_id": "task_nope"}))
    frame = json.loads(task_ws.recv(timeout=30))
    assert frame["event"] == "error" and frame["data"]["code"] == "not_found"
    task_ws.send(json.dumps({"type": "cancel"}))
    assert json.loads(task_ws.recv(timeout=30))["data"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "time_limit": 0}, 422),
        ({"name": "x", "time_limit": 5000}, 422),
        ({"name": "x", "max_iterations": 0}, 422),
        ({"name": "   "}, 422),
        ({"description": "no name"}, 422),
        ({"name": "x", "project_id": "proj_missing"}, 404),
        ({"name": "x", "model_id": "no-such-model"}, 404),
    ],
)
def test_bad_task_requests(client: httpx.Client, body: dict[str, Any], status: int) -> None:
    """Out-of-range limits, a blank or missing name, an unknown project or model: a true status, no task."""
    before = client.get("/api/v1/tasks").json()["total"]
    answer = client.post("/api/v1/tasks/execute", json=body)
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    assert client.get("/api/v1/tasks").json()["total"] == before


def test_unknown_task_and_project_ids_and_filters(client: httpx.Client) -> None:
    assert client.get("/api/v1/tasks/task_nope").status_code == 404
    assert client.post("/api/v1/tasks/task_nope/cancel").status_code == 404
    assert client.get("/api/v1/projects/proj_nope").status_code == 404
    assert client.get("/api/v1/tasks", params={"status": "sleeping"}).status_code == 422
