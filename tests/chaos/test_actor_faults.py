"""Fault injection through Serve: actors killed under load; acknowledged messages are never lost.

Acknowledged means a client saw it: a turn's user message once its ``start`` frame
arrived (it is stored before the model is called), and a whole turn once its
``complete`` (or a 200 answer) arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray
from websockets.sync.client import ClientConnection, connect

from tests.support import Server, host_actor

pytestmark = [pytest.mark.ray, pytest.mark.chaos, pytest.mark.both_modes]


@pytest.fixture
def ws(server: Server) -> Iterator[ClientConnection]:
    with connect(server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream", open_timeout=30) as socket:
        yield socket


def receive(socket: ClientConnection, timeout: float = 60) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
    return frame


def until_end(socket: ClientConnection) -> list[dict[str, Any]]:
    frames = [receive(socket)]
    while frames[-1]["event"] not in ("complete", "error"):
        frames.append(receive(socket))
    return frames


def wait_alive(client: httpx.Client, actor: str) -> None:
    deadline = time.monotonic() + 60
    while (health := client.get("/api/v1/health").json())["actors"][actor] != "alive":
        assert time.monotonic() < deadline, health
        time.sleep(0.2)


def stored(client: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/conversations/{conversation_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]  # type: ignore[no-any-return]


def test_a_conversation_actor_killed_mid_stream_ten_times(ws: ClientConnection, client: httpx.Client) -> None:
    """Ten turns in a row lose their actor mid-stream: each ends in an error, and every user message is kept."""
    ws.send(json.dumps({"text": "opening", "model_id": "sim"}))
    conversation = until_end(ws)[-1]["conversation_id"]
    acknowledged = ["opening"]
    for round_ in range(10):
        text = f"doomed {round_}"
        ws.send(json.dumps({"text": text, "model_id": "sim-slow", "conversation_id": conversation}))
        start = receive(ws)
        assert start["event"] == "start", start
        acknowledged.append(text)
        assert receive(ws)["event"] == "token"
        ray.kill(host_actor(conversation), no_restart=True)
        frames = until_end(ws)
        assert frames[-1]["event"] == "error" and frames[-1]["data"]["code"] == "conversation_lost", frames[-1]
    ws.send(json.dumps({"text": "still there?", "model_id": "sim", "conversation_id": conversation}))
    last = until_end(ws)[-1]
    assert last["event"] == "complete", last
    users = [m["content"] for m in stored(client, conversation) if m["role"] == "user"]
    assert users == [*acknowledged, "still there?"]


def test_the_store_killed_during_a_burst_of_writes(server: Server, client: httpx.Client) -> None:
    """Turns on many conversations while the CheckpointStore is killed: every answered turn is stored whole."""
    conversations = [client.post("/api/v1/conversations/create", json={}).json()["id"] for _ in range(4)]
    answered: list[tuple[str, str, str]] = []  # conversation, user text, response
    failures: list[int] = []
    lock = threading.Lock()

    def talk(conversation: str, worker: int) -> None:
        with server.client() as http:
            for turn in range(6):
                text = f"burst {worker}.{turn}"
                try:
                    answer = http.post("/api/v1/chat/message", json={"text": text, "conversation_id": conversation})
                except httpx.HTTPError:
                    with lock:
                        failures.append(0)
                    continue
                with lock:
                    if answer.status_code == 200:
                        answered.append((conversation, text, answer.json()["response"]))
                    else:
                        failures.append(answer.status_code)

    threads = [threading.Thread(target=talk, args=(c, i)) for i, c in enumerate(conversations * 2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    ray.kill(ray.get_actor("checkpoints", namespace="penguin"), no_restart=False)
    for thread in threads:
        thread.join(timeout=240)
    assert answered, "no turn was answered"
    assert all(status >= 500 for status in failures), failures  # the store's loss is the server's fault, said so
    wait_alive(client, "checkpoints")
    for conversation in conversations:
        messages = stored(client, conversation)
        pairs = {(m["content"], messages[i + 1]["content"]) for i, m in enumerate(messages[:-1]) if m["role"] == "user"}
        for _, text, response in (a for a in answered if a[0] == conversation):
            assert (text, response) in pairs, f"acknowledged turn {text!r} of {conversation} is not stored"
        after = client.post("/api/v1/chat/message", json={"text": "after the burst", "conversation_id": conversation})
        assert after.status_code == 200, after.text


def test_the_task_engine_killed_twice_while_tasks_run(client: httpx.Client) -> None:
    """Two tasks survive two kills of the TaskEngine: each ends completed, with its whole result."""
    tasks = []
    for i in range(2):
        body = {"name": f"chaos {i}", "description": "say something", "model_id": "sim-slow"}
        answer = client.post("/api/v1/tasks/execute", json=body)
        assert answer.status_code == 202, answer.text
        tasks.append(answer.json()["task_id"])
    for _ in range(2):
        time.sleep(1.0)
        ray.kill(ray.get_actor("tasks", namespace="penguin"), no_restart=False)
        wait_alive(client, "tasks")
    deadline = time.monotonic() + 120
    for task_id in tasks:
        while (task := client.get(f"/api/v1/tasks/{task_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, task
            time.sleep(0.2)
        assert task["status"] == "completed", task["reason"]
        messages = stored(client, task["conversation_id"])
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert task["response"] == messages[-1]["content"] and task["iterations"] == 1
