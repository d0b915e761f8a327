"""The agent loop through Serve: tools as Ray tasks, action events, limits, cancel and crash recovery."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray
from websockets.sync.client import ClientConnection, connect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import Server, host_actor

pytestmark = pytest.mark.ray


@pytest.fixture
def ws(server: Server) -> Iterator[ClientConnection]:
    with connect(server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream", open_timeout=30) as socket:
        yield socket


def until_end(socket: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    frames = []
    while True:
        frames.append(json.loads(socket.recv(timeout=timeout)))
        if frames[-1]["event"] in ("complete", "error"):
            return frames


def chat(client: httpx.Client, text: str, **fields: object) -> dict[str, Any]:
    answer = client.post("/api/v1/chat/message", json={"text": text, "model_id": "fake-openai", **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def tool_results(llm: FakeLLM) -> list[str]:
    """The tool results the model was sent in its last request (OpenAI wire format)."""
    return [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] == "tool"]


def test_a_turn_writes_then_reads_a_file(client: httpx.Client, server: Server, llm: FakeLLM) -> None:
    """The model writes a file, reads it back and answers; each tool call is an action result and a Ray task."""
    llm.script(
        Reply.tool("write_file", {"path": "notes/plan.txt", "content": "step one\nstep two\n"}),
        Reply.tool("read_file", {"path": "notes/plan.txt"}),
        Reply(text="The plan has two steps."),
    )
    body = chat(client, "make a plan")
    assert body["response"] == "The plan has two steps." and body["iterations"] == 3
    assert [(a["action"], a["status"]) for a in body["action_results"]] == [
        ("write_file", "completed"),
        ("read_file", "completed"),
    ]
    assert (server.settings.workspace / "notes" / "plan.txt").read_text() == "step one\nstep two\n"
    assert "step two" in tool_results(llm)[-1]
    assert llm.requests[0].body["tools"] and {t["function"]["name"] for t in llm.requests[0].body["tools"]} >= {
        "read_file",
        "execute_command",
    }
    roles = [m["role"] for m in client.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]


def test_action_events_stream_around_each_tool(ws: ClientConnection, llm: FakeLLM) -> None:
    """Each tool call streams an action event when it starts and one when it ends, before complete."""
    llm.script(Reply.tool("list_files", {"path": "."}), Reply(text="listed"))
    ws.send(json.dumps({"text": "list", "model_id": "fake-openai"}))
    frames = until_end(ws)
    actions = [f["data"] for f in frames if f["event"] == "action"]
    assert [(a["action"], a["status"]) for a in actions] == [("list_files", "started"), ("list_files", "completed")]
    assert actions[1]["arguments"] == {"path": "."} and isinstance(actions[1]["result"], str)
    assert frames[-1]["data"]["action_results"][0]["action"] == "list_files"


@pytest.mark.parametrize(
    "arguments",
    [{"path": "../outside.txt"}, {"path": "/etc/passwd"}, {"path": "link-out/hostname"}],
)
def test_paths_out_of_the_workspace_are_refused(
    client: httpx.Client, server: Server, llm: FakeLLM, arguments: dict[str, str]
) -> None:
    """../, absolute paths and a symlink out of the workspace give error results; nothing outside is read."""
    link = server.settings.workspace / "link-out"
    if not link.exists():
        os.symlink("/etc", link)
    llm.script(Reply.tool("read_file", arguments), Reply(text="could not"))
    body = chat(client, "read it")
    assert body["action_results"][0]["status"] == "error"
    assert "outside" in body["action_results"][0]["result"]
    assert "root:x:0" not in json.dumps(llm.requests[-1].body)


def test_a_tool_that_times_out(client: httpx.Client, llm: FakeLLM) -> None:
    """A command over its timeout is stopped and reported as an error result."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 30", "timeout_s": 1}), Reply(text="too slow"))
    started = time.monotonic()
    body = chat(client, "wait")
    assert time.monotonic() - started < 15
    assert body["action_results"][0]["status"] == "error" and "timed out" in body["action_results"][0]["result"]


def test_huge_output_is_capped(client: httpx.Client, server: Server, llm: FakeLLM) -> None:
    """A command printing 10 MB gives a result capped at the configured size."""
    command = "python3 -c \"import sys; sys.stdout.write('x' * 10_000_000)\""
    llm.script(Reply.tool("execute_command", {"command": command}), Reply(text="that was long"))
    body = chat(client, "print a lot")
    result = body["action_results"][0]["result"]
    assert len(result.encode()) <= server.settings.tools.output_cap_bytes
    assert "bytes of output left out" in result and result.rstrip().endswith("[exit code 0]")


def test_max_iterations_is_reported(client: httpx.Client, llm: FakeLLM) -> None:
    """When max_iterations is reached with the model still calling tools, the response says so."""
    llm.script(*[Reply.tool("list_files", {"path": "."}) for _ in range(3)])
    body = chat(client, "loop", max_iterations=2)
    assert body["stop_reason"] == "max_iterations" and body["iterations"] == 2
    assert "max_iterations" in body["response"] and len(body["action_results"]) == 2


def test_cancel_during_a_long_tool(ws: ClientConnection, client: httpx.Client, llm: FakeLLM) -> None:
    """Cancel during a running tool ends the turn promptly; the call gets a result; the next turn works."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 20"}))
    ws.send(json.dumps({"text": "sleep", "model_id": "fake-openai"}))
    while json.loads(ws.recv(timeout=30))["event"] != "action":
        pass
    started = time.monotonic()
    ws.send(json.dumps({"type": "cancel"}))
    frames = until_end(ws)
    assert frames[-1]["data"]["cancelled"] and time.monotonic() - started < 5
    conversation = frames[-1]["conversation_id"]
    messages = client.get(f"/api/v1/conversations/{conversation}").json()["messages"]
    assert messages[-1]["role"] == "tool" and "cancelled" in messages[-1]["content"]
    llm.script(Reply(text="fine again"))
    assert chat(client, "next", conversation_id=conversation)["response"] == "fine again"


def test_crash_between_call_and_result_then_anthropic_turn(
    ws: ClientConnection, client: httpx.Client, llm: FakeLLM
) -> None:
    """An actor killed while its tool runs: on re-activation the call gets an 'outcome unknown' result,
    so the next turn is valid for the Anthropic API."""
    llm.script(Reply.tool("execute_command", {"command": "sleep 20"}))
    ws.send(json.dumps({"text": "sleep", "model_id": "fake-anthropic"}))
    start = json.loads(ws.recv(timeout=30))
    while json.loads(ws.recv(timeout=30))["event"] != "action":
        pass
    conversation = start["conversation_id"]
    ray.kill(host_actor(conversation), no_restart=True)
    assert until_end(ws)[-1]["data"]["code"] == "conversation_lost"
    llm.script(Reply(text="recovered"))
    body = chat(client, "are you there?", conversation_id=conversation, model_id="fake-anthropic")
    assert body["response"] == "recovered"
    messages = client.get(f"/api/v1/conversations/{conversation}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user", "assistant"]
    assert "outcome of this tool call is unknown" in messages[2]["content"]


def test_a_note_kept_in_one_conversation_is_found_from_another(client: httpx.Client, llm: FakeLLM) -> None:
    """add_note in one conversation, then memory_search from a new one finds the note and the other's message,
    but not the searching conversation's own question."""
    llm.script(Reply.tool("add_note", {"text": "The staging database is called marmoset-db."}), Reply(text="noted"))
    first = chat(client, "remember: staging marmoset")
    assert [(a["action"], a["status"]) for a in first["action_results"]] == [("add_note", "completed")]

    llm.script(Reply.tool("memory_search", {"query": "marmoset staging"}), Reply(text="found it"))
    second = chat(client, "what was the marmoset thing?")
    (found,) = tool_results(llm)
    assert "[note note_" in found and "The staging database is called marmoset-db." in found
    assert f"[user message in conversation {first['conversation_id']}" in found
    assert "remember: staging marmoset" in found
    assert "what was the marmoset thing?" not in found
    assert second["action_results"][0]["status"] == "completed"
