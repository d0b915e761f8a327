"""WebSocket /chat/stream through Serve: framing, many messages per socket, cancel, resume, bad frames, crashes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import Server, host_actor, is_active

pytestmark = [pytest.mark.ray, pytest.mark.both_modes]


@pytest.fixture
def ws(server: Server) -> Iterator[ClientConnection]:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream"
    with connect(url, open_timeout=30) as socket:
        yield socket


def receive(socket: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=timeout))  # type: ignore[no-any-return]


def until_end(socket: ClientConnection, timeout: float = 30) -> list[dict[str, Any]]:
    """Frames up to and including a terminal one (complete, or error)."""
    frames = []
    while True:
        frame = receive(socket, timeout)
        frames.append(frame)
        if frame["event"] in ("complete", "error"):
            return frames


def send(socket: ClientConnection, **message: Any) -> None:
    socket.send(json.dumps(message))


def test_every_message_on_one_socket_streams_tokens(ws: ClientConnection) -> None:
    """Three messages in a row on one socket each stream start, tokens and complete, with numbered frames."""
    conversation = None
    for text in ("one", "two", "three"):
        send(ws, text=text, **({"conversation_id": conversation} if conversation else {}))
        frames = until_end(ws)
        assert frames[0]["event"] == "start" and frames[-1]["event"] == "complete"
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        assert len({f["turn_id"] for f in frames}) == 1
        tokens = [f["data"]["token"] for f in frames if f["event"] == "token"]
        assert tokens and "".join(tokens) == frames[-1]["data"]["response"]
        conversation = conversation or frames[0]["conversation_id"]
        assert {f["conversation_id"] for f in frames} == {conversation}


def test_tokens_are_coalesced_into_few_frames(ws: ClientConnection, llm: FakeLLM) -> None:
    """A fast 300-token reply arrives in far fewer token frames than tokens."""
    llm.script(Reply(text=" ".join(f"w{i}" for i in range(300))))
    send(ws, text="long please", model_id="fake-openai")
    frames = until_end(ws)
    token_frames = [f for f in frames if f["event"] == "token"]
    assert "".join(f["data"]["token"] for f in token_frames).split() == [f"w{i}" for i in range(300)]
    assert len(token_frames) <= 300 / 4


def test_cancel_stops_the_running_turn(ws: ClientConnection) -> None:
    """{"type": "cancel"} ends a streaming turn with complete marked cancelled, well before its natural end."""
    send(ws, text="talk for a while", model_id="sim-slow")
    assert receive(ws)["event"] == "start"
    assert receive(ws)["event"] == "token"
    started = time.monotonic()
    send(ws, type="cancel")
    frames = until_end(ws)
    assert frames[-1]["event"] == "complete" and frames[-1]["data"]["cancelled"] is True
    assert time.monotonic() - started < 2.0
    send(ws, text="still here?", conversation_id=frames[-1]["conversation_id"])
    assert until_end(ws)[-1]["event"] == "complete"


def test_status_shows_streaming_while_a_turn_streams(ws: ClientConnection, client: httpx.Client) -> None:
    """streaming_active is true while a turn is relayed to a client, false once it ended."""
    send(ws, text="slow", model_id="sim-slow")
    receive(ws)
    assert client.get("/api/v1/system/status").json()["streaming_active"] is True
    send(ws, type="cancel")
    until_end(ws)
    deadline = time.monotonic() + 5
    while client.get("/api/v1/system/status").json()["streaming_active"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_second_socket_resumes_a_running_turn(server: Server, ws: ClientConnection) -> None:
    """Another socket resuming after seq N gets frames N+1… live; both sockets see the same complete."""
    send(ws, text="slow one", model_id="sim-slow")
    start = receive(ws)
    first_token = receive(ws)
    url = server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream"
    with connect(url) as other:
        send(other, type="resume", conversation_id=start["conversation_id"], turn_id=start["turn_id"], after_seq=0)
        resumed = until_end(other)
    original = [start, first_token, *until_end(ws)]
    assert resumed == original[1:]


def test_resume_after_a_dropped_connection(server: Server, ws: ClientConnection) -> None:
    """A client that drops mid-turn reconnects and resumes from the last seq it saw, missing nothing."""
    send(ws, text="slow again", model_id="sim-slow")
    start = receive(ws)
    seen = [start, receive(ws)]
    ws.close()
    url = server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream"
    with connect(url) as again:
        send(again, type="resume", conversation_id=start["conversation_id"], turn_id=start["turn_id"], after_seq=1)
        rest = until_end(again)
    frames = seen + rest
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert "".join(f["data"]["token"] for f in frames if f["event"] == "token") == frames[-1]["data"]["response"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid"),
        ('{"type": "dance"}', "invalid"),
        ('{"text": ""}', "validation_error"),
        ('{"text": "hi", "max_iterations": 99}', "validation_error"),
        ('{"text": "hi", "conversation_id": "conv_ghost"}', "not_found"),
        ('{"type": "resume", "conversation_id": "conv_ghost", "turn_id": "t"}', "not_found"),
    ],
)
def test_bad_frames_get_an_error_and_the_socket_stays_usable(ws: ClientConnection, payload: str, code: str) -> None:
    """A bad frame answers one error event with a code; the next message on the socket works."""
    ws.send(payload)
    error = receive(ws)
    assert error["event"] == "error" and error["data"]["code"] == code, error
    send(ws, text="after the bad frame")
    assert until_end(ws)[-1]["event"] == "complete"


def test_binary_frames_are_refused(ws: ClientConnection) -> None:
    """A binary frame answers an invalid error; the socket stays open."""
    ws.send(b"\x00\x01")
    assert receive(ws)["data"]["code"] == "invalid"
    send(ws, text="still fine")
    assert until_end(ws)[-1]["event"] == "complete"


def test_an_oversized_frame_closes_the_socket_with_1009(server: Server, ws: ClientConnection) -> None:
    """A frame over ws_max_frame_bytes, through Serve, answers a too_large error, then close 1009."""
    ws.send("x" * (server.settings.limits.ws_max_frame_bytes + 10))
    assert receive(ws)["data"]["code"] == "too_large"
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=30)
    assert ws.close_code == 1009


def test_reject_strategy_answers_conflict(ws: ClientConnection) -> None:
    """With multitask_strategy reject, a second message during a turn gets an error with code conflict."""
    send(ws, text="slow", model_id="sim-slow")
    start = receive(ws)
    send(ws, text="me too", conversation_id=start["conversation_id"], multitask_strategy="reject")
    frames = []
    while not any(f["event"] == "error" for f in frames):
        frames.append(receive(ws))
    assert frames[-1]["data"]["code"] == "conflict"
    send(ws, type="cancel")
    until_end(ws)


def test_interrupt_strategy_replaces_the_running_turn(ws: ClientConnection) -> None:
    """With interrupt, the running turn completes cancelled and the new one runs to its end."""
    send(ws, text="slow", model_id="sim-slow")
    start = receive(ws)
    receive(ws)
    send(ws, text="now this", conversation_id=start["conversation_id"], multitask_strategy="interrupt")
    seen: dict[str, list[dict[str, Any]]] = {}
    while len([t for t, fs in seen.items() if fs[-1]["event"] in ("complete", "error")]) < 2:
        frame = receive(ws)
        seen.setdefault(frame["turn_id"], []).append(frame)
    first, second = seen[start["turn_id"]], next(v for k, v in seen.items() if k != start["turn_id"])
    assert first[-1]["data"]["cancelled"] and first[-1]["data"]["stop_reason"] == "interrupted"
    assert second[-1]["event"] == "complete" and not second[-1]["data"]["cancelled"]


def test_killed_actor_mid_turn_reports_error_and_loses_nothing(ws: ClientConnection, client: httpx.Client) -> None:
    """Killing the actor mid-stream gives an error event; the next message works; stored messages stay."""
    send(ws, text="first", model_id="sim")
    first = until_end(ws)
    conversation = first[0]["conversation_id"]
    send(ws, text="second, slow", model_id="sim-slow", conversation_id=conversation)
    assert receive(ws)["event"] == "start"
    receive(ws)
    ray.kill(host_actor(conversation), no_restart=True)
    frames = until_end(ws)
    assert frames[-1]["event"] == "error" and frames[-1]["data"]["code"] == "conversation_lost"
    send(ws, text="third", conversation_id=conversation)
    assert until_end(ws)[-1]["event"] == "complete"
    messages = client.get(f"/api/v1/conversations/{conversation}").json()["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users == ["first", "second, slow", "third"]
    assert messages[1]["content"] == first[-1]["data"]["response"]


def test_provider_failure_mid_stream(ws: ClientConnection, client: httpx.Client, llm: FakeLLM) -> None:
    """A provider connection cut mid-stream ends the turn with an error event; the message stays; chat goes on."""
    llm.script(Reply.dropped(after=3, text="one two three four five six"))
    send(ws, text="doomed", model_id="fake-openai")
    frames = until_end(ws)
    assert [f["event"] for f in frames][:2] == ["start", "token"]
    assert frames[-1]["event"] == "error" and frames[-1]["data"]["code"] == "provider_error"
    conversation = frames[-1]["conversation_id"]
    llm.script(Reply(text="back again"))
    send(ws, text="retry", model_id="fake-openai", conversation_id=conversation)
    assert until_end(ws)[-1]["data"]["response"] == "back again"
    users = [m["content"] for m in client.get(f"/api/v1/conversations/{conversation}").json()["messages"]]
    assert users[0] == "doomed" and users[-2:] == ["retry", "back again"]


def test_passivated_conversation_keeps_its_history(ws: ClientConnection, llm: FakeLLM) -> None:
    """After its actor is passivated, the conversation re-activates with the whole history."""
    send(ws, text="remember the word zebra", model_id="fake-openai")
    conversation = until_end(ws)[0]["conversation_id"]
    directory = ray.get_actor("directory", namespace="penguin")
    assert ray.get(directory.passivate.remote(conversation))
    assert not is_active(conversation)
    send(ws, text="what was the word?", model_id="fake-openai", conversation_id=conversation)
    assert until_end(ws)[-1]["event"] == "complete"
    assert "zebra" in json.dumps(llm.requests[-1].body["messages"])


def test_concurrent_sockets_on_different_conversations(server: Server) -> None:
    """Eight sockets chatting at once each get their own complete, in parallel."""
    url = server.base_url.replace("http://", "ws://") + "/api/v1/chat/stream"
    results: dict[int, str] = {}

    def one(i: int) -> None:
        with connect(url) as socket:
            send(socket, text=f"socket{i}")
            results[i] = until_end(socket)[-1]["data"]["response"]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(f"socket{i}" in results[i] for i in range(8))
