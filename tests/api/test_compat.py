"""Clients written for the original Penguin server: its field names, shapes and events, and idempotent sends."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray
from websockets.sync.client import ClientConnection, connect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.api.test_files import png
from tests.support import Server, host_actor

pytestmark = [pytest.mark.ray, pytest.mark.both_modes]


@pytest.fixture
def ws(server: Server) -> Iterator[ClientConnection]:
    with connect(server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream", open_timeout=30) as socket:
        yield socket


def until_end(socket: ClientConnection, timeout: float = 30) -> list[dict[str, Any]]:
    frames = [json.loads(socket.recv(timeout=timeout))]
    while frames[-1]["event"] not in ("complete", "error"):
        frames.append(json.loads(socket.recv(timeout=timeout)))
    return frames


def stored(client: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]  # type: ignore[no-any-return]


def title(client: httpx.Client, conversation_id: str) -> str:
    return str(client.get(f"/api/v1/conversations/{conversation_id}").json()["title"])


def test_a_conversation_is_created_with_name_or_title_and_an_untitled_one_takes_its_first_words(
    client: httpx.Client, ws: ClientConnection
) -> None:
    named = client.post("/api/v1/conversations/create", json={"name": "From the original page"})
    assert named.status_code == 201 and named.json()["title"] == "From the original page"
    both = client.post("/api/v1/conversations/create", json={"name": "a", "title": "b"})
    assert both.status_code == 422
    for transport in ("http", "ws"):
        untitled = client.post("/api/v1/conversations/create", json={}).json()["conversation_id"]
        assert title(client, untitled) == "New conversation"
        text = f"Plan the   {transport} migration of the billing service to the new queue, step by step please"
        if transport == "http":
            assert client.post("/api/v1/chat/message", json={"text": text, "session_id": untitled}).is_success
        else:
            ws.send(json.dumps({"text": text, "session_id": untitled}))
            until_end(ws)
        assert title(client, untitled) == " ".join(text.split())[:60]
        client.post("/api/v1/chat/message", json={"text": "and something else", "conversation_id": untitled})
        assert title(client, untitled) == " ".join(text.split())[:60]  # only the first message names it


def test_capabilities_have_the_original_flat_shape_too(client: httpx.Client) -> None:
    body = client.get("/api/v1/capabilities").json()
    assert body["capabilities"]["vision_enabled"] is body["vision_enabled"] is True  # the session's sim sees
    assert body["streaming_enabled"] is True and body["version"] == body["penguin_version"]
    assert body["model"] == body["current_model"]["model"] == "sim/penguin-sim"
    assert body["reasoning_supported"] is False and body["reasoning_enabled"] is False


def test_messages_carry_timestamp_and_their_turn(client: httpx.Client) -> None:
    answer = client.post("/api/v1/chat/message", json={"text": "time me"}).json()
    assert answer["session_id"] == answer["conversation_id"] and answer["aborted"] is False
    messages = stored(client, answer["conversation_id"])
    assert [m["turn_id"] for m in messages] == [answer["turn_id"]] * 2
    assert all(m["timestamp"] == m["created_at"] for m in messages)


def test_the_original_chat_fields_are_accepted_and_others_refused(client: httpx.Client, llm: FakeLLM) -> None:
    llm.script(Reply(text="seen"))
    paths = [client.post("/api/v1/upload", files={"file": (f"{i}.png", png(), "image/png")}).json()["path"]
             for i in range(2)]  # fmt: skip
    body = {"text": "two pictures", "model": "fake-openai", "image_paths": paths, "agent_id": "default"}
    answer = client.post("/api/v1/chat/message", json=body)
    assert answer.status_code == 200, answer.text
    parts = llm.requests[-1].body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    for wrong, named in (
        ({"agent_id": "planner"}, "agent_id"),
        ({"flavour": "vanilla"}, "flavour"),
        ({"model": "sim", "model_id": "blind"}, "model_id and model"),
        ({"image_paths": ["x.png"] * 11}, "image_paths"),
    ):
        refused = client.post("/api/v1/chat/message", json={"text": "hi", **wrong})
        assert refused.status_code == 422 and named in refused.json()["detail"], refused.text


def test_reasoning_is_streamed_when_asked_for(ws: ClientConnection, llm: FakeLLM) -> None:
    llm.script(Reply(text="It is 4.", reasoning="two and two make four"), Reply(text="It is 4.", reasoning="hidden"))
    ws.send(json.dumps({"text": "2 + 2?", "model": "fake-anthropic", "include_reasoning": True}))
    frames = until_end(ws)
    thoughts = "".join(f["data"]["token"] for f in frames if f["event"] == "reasoning")
    assert thoughts == "two and two make four" == frames[-1]["data"]["reasoning"]
    assert frames[-1]["data"]["response"] == "It is 4."
    ws.send(json.dumps({"text": "2 + 2?", "model": "fake-anthropic"}))  # not asked: not sent
    frames = until_end(ws)
    assert "reasoning" not in {f["event"] for f in frames} and "reasoning" not in frames[-1]["data"]


def test_a_new_model_step_says_so_with_progress(ws: ClientConnection, llm: FakeLLM) -> None:
    llm.script(Reply.tool("list_files", {"path": "."}), Reply(text="done looking"))
    ws.send(json.dumps({"text": "look around", "model": "fake-openai", "max_iterations": 4}))
    frames = until_end(ws)
    progress = [f["data"] for f in frames if f["event"] == "progress"]
    assert [(p["iteration"], p["max_iterations"]) for p in progress] == [(2, 4)]
    events = [f["event"] for f in frames]
    assert events.index("progress") > events.index("action")


def test_errors_carry_detail(client: httpx.Client) -> None:
    body = client.get("/api/v1/conversations/conv_missing").json()
    assert body["error"]["code"] == "not_found" and body["detail"] == body["error"]["message"]


def test_projects_are_created_on_the_original_route_too(client: httpx.Client) -> None:
    name = f"compat {uuid.uuid4().hex[:6]}"
    created = client.post("/api/v1/projects", json={"name": name, "description": "x"})
    assert created.status_code == 201 and created.json()["name"] == name
    assert client.post("/api/v1/projects/create", json={"name": name}).status_code == 409


def test_a_repeated_send_starts_nothing_new(client: httpx.Client) -> None:
    """The same client_message_id (or Idempotency-Key) answers the first turn; another text with it is 409."""
    conversation = client.post("/api/v1/conversations/create", json={}).json()["conversation_id"]
    body = {"text": "once only", "conversation_id": conversation, "client_message_id": "msg-1"}
    first = client.post("/api/v1/chat/message", json=body)
    again = client.post("/api/v1/chat/message", json=body)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["turn_id"] == first.json()["turn_id"] and again.json()["response"] == first.json()["response"]
    keyed = {"text": "by header", "conversation_id": conversation}
    one = client.post("/api/v1/chat/message", json=keyed, headers={"Idempotency-Key": "k-1"})
    two = client.post("/api/v1/chat/message", json=keyed, headers={"Idempotency-Key": "k-1"})
    assert one.json()["turn_id"] == two.json()["turn_id"]
    other = client.post("/api/v1/chat/message", json=body | {"text": "something else"})
    assert other.status_code == 409 and "client_message_id" in other.json()["detail"]
    users = [m["content"] for m in stored(client, conversation) if m["role"] == "user"]
    assert users == ["once only", "by header"]


def test_a_repeated_send_after_passivation_answers_from_the_store(client: httpx.Client) -> None:
    conversation = client.post("/api/v1/conversations/create", json={}).json()["conversation_id"]
    body = {"text": "remember me", "conversation_id": conversation, "client_message_id": "msg-passive"}
    first = client.post("/api/v1/chat/message", json=body).json()
    directory = ray.get_actor("directory", namespace="penguin")
    assert ray.get(directory.passivate.remote(conversation))
    again = client.post("/api/v1/chat/message", json=body).json()
    assert (again["turn_id"], again["response"], again["restored"]) == (first["turn_id"], first["response"], True)
    assert len(stored(client, conversation)) == 2


def test_a_retry_after_the_host_died_mid_turn_leaves_one_user_message(
    client: httpx.Client, ws: ClientConnection
) -> None:
    conversation = client.post("/api/v1/conversations/create", json={}).json()["conversation_id"]
    message = {"text": "slow and doomed", "conversation_id": conversation, "model_id": "sim-slow"}
    ws.send(json.dumps(message | {"client_message_id": "msg-doomed"}))
    first = [json.loads(ws.recv(timeout=30)) for _ in range(2)]
    assert [f["event"] for f in first] == ["start", "token"]  # the user message is acknowledged
    ray.kill(host_actor(conversation), no_restart=True)
    assert until_end(ws)[-1]["data"]["code"] == "conversation_lost"
    deadline = time.monotonic() + 60
    while True:  # the client retries, as it would after a dropped connection
        retry = client.post("/api/v1/chat/message", json=message | {"client_message_id": "msg-doomed"})
        if retry.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert retry.status_code == 200, retry.text
    assert retry.json()["turn_id"] == first[0]["turn_id"] and retry.json()["stop_reason"] == "interrupted"
    users = [m for m in stored(client, conversation) if m["role"] == "user"]
    assert [m["content"] for m in users] == ["slow and doomed"]
