"""Limits of the chat WebSocket, without Ray: frame size, message rate, sockets per client.

Frames that need no actor (bad ones) are enough to drive the limits, so the real app serves here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from serve_app.app import create_app
from serve_app.streaming import REFUSALS_BEFORE_CLOSE
from tests.support import make_settings

STREAM = "/api/v1/chat/stream"
BAD_FRAME = '{"type": "dance"}'  # answered with an "invalid" error, no actor involved


def app_with(tmp_path: Path, **limits: Any) -> FastAPI:
    return create_app(make_settings(tmp_path, **{f"limits.{k}": v for k, v in limits.items()}))


@pytest.fixture
def client(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    limits = getattr(request, "param", {})
    with TestClient(app_with(tmp_path, **limits)) as test_client:
        yield test_client


def closed_with(socket: WebSocketTestSession) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info:
        socket.receive_json()
    return info.value


@pytest.mark.parametrize("client", [{"ws_max_frame_bytes": 1024}], indirect=True)
@pytest.mark.parametrize("frame", ["x" * 1025, b"\x00" * 1025, '{"text": "' + "é" * 600 + '"}'])
def test_an_oversized_frame_closes_with_1009(client: TestClient, frame: str | bytes) -> None:
    """A text or binary frame over ws_max_frame_bytes (counted in bytes) gets a too_large error, then close 1009."""
    with client.websocket_connect(STREAM) as socket:
        socket.send_bytes(frame) if isinstance(frame, bytes) else socket.send_text(frame)
        error = socket.receive_json()
        assert error["event"] == "error" and error["data"]["code"] == "too_large"
        assert "ws_max_frame_bytes" in error["data"]["message"]
        assert closed_with(socket).code == 1009


@pytest.mark.parametrize("client", [{"ws_max_frame_bytes": 1024}], indirect=True)
def test_a_frame_at_the_limit_is_read(client: TestClient) -> None:
    """A frame of exactly ws_max_frame_bytes is handled as usual."""
    with client.websocket_connect(STREAM) as socket:
        socket.send_text(BAD_FRAME + " " * (1024 - len(BAD_FRAME)))
        assert socket.receive_json()["data"]["code"] == "invalid"


@pytest.mark.parametrize("client", [{"ws_messages_per_minute": 600, "ws_messages_burst": 2}], indirect=True)
def test_over_the_message_rate_is_an_error_and_the_socket_stays(client: TestClient) -> None:
    """A frame over the rate is dropped with a rate_limited error and retry_after_s; later frames are served."""
    with client.websocket_connect(STREAM) as socket:
        for _ in range(2):
            socket.send_text(BAD_FRAME)
            assert socket.receive_json()["data"]["code"] == "invalid"
        socket.send_text(BAD_FRAME)
        error = socket.receive_json()
        assert error["event"] == "error" and error["data"]["code"] == "rate_limited"
        assert error["data"]["retry_after_s"] == 1 and "dropped" in error["data"]["message"]
        time.sleep(0.25)  # 600 a minute: a token every 0.1 s
        socket.send_text(BAD_FRAME)
        assert socket.receive_json()["data"]["code"] == "invalid"


@pytest.mark.parametrize("client", [{"ws_messages_per_minute": 1, "ws_messages_burst": 1}], indirect=True)
def test_sending_on_while_limited_closes_with_1013(client: TestClient) -> None:
    """A client that ignores rate_limited errors for REFUSALS_BEFORE_CLOSE frames in a row is closed with 1013
    (try again later), never 1008, which says the API key is missing."""
    with client.websocket_connect(STREAM) as socket:
        socket.send_text(BAD_FRAME)
        assert socket.receive_json()["data"]["code"] == "invalid"
        for _ in range(REFUSALS_BEFORE_CLOSE):
            socket.send_text(BAD_FRAME)
            assert socket.receive_json()["data"]["code"] == "rate_limited"
        socket.send_text(BAD_FRAME)
        assert socket.receive_json()["data"]["code"] == "rate_limited"
        closed = closed_with(socket)
        assert closed.code == 1013 and closed.reason == "message rate exceeded"


@pytest.mark.parametrize("client", [{"ws_messages_per_minute": 0}], indirect=True)
def test_zero_messages_per_minute_limits_nothing(client: TestClient) -> None:
    """ws_messages_per_minute 0 serves every frame."""
    with client.websocket_connect(STREAM) as socket:
        for _ in range(50):
            socket.send_text(BAD_FRAME)
            assert socket.receive_json()["data"]["code"] == "invalid"


@pytest.mark.parametrize("client", [{"max_websockets_per_client": 2}], indirect=True)
def test_a_socket_over_the_per_client_limit_is_told_and_closed_with_1013(client: TestClient) -> None:
    """The client's extra socket gets a too_many_websockets error, then close 1013; closing one makes room."""
    counter = client.app.state.websocket_clients
    with client.websocket_connect(STREAM) as first, client.websocket_connect(STREAM) as second:
        for socket in (first, second):  # both are served
            socket.send_text(BAD_FRAME)
            assert socket.receive_json()["data"]["code"] == "invalid"
        with client.websocket_connect(STREAM) as third:
            error = third.receive_json()
            assert error["event"] == "error" and error["data"]["code"] == "too_many_websockets"
            assert "limit 2" in error["data"]["message"]
            closed = closed_with(third)
            assert closed.code == 1013 and closed.reason == "too many open WebSockets"
        first.close()
        deadline = time.monotonic() + 5
        while counter.count("ip:testclient") > 1:
            assert time.monotonic() < deadline, "the closed socket was never released"
            time.sleep(0.01)
        with client.websocket_connect(STREAM) as again:
            again.send_text(BAD_FRAME)
            assert again.receive_json()["data"]["code"] == "invalid"
    while counter.count("ip:testclient"):
        assert time.monotonic() < deadline + 5
        time.sleep(0.01)


def test_the_per_client_default_is_below_the_replica_slots(tmp_path: Path) -> None:
    """By default one client cannot hold every max_ongoing_requests slot of a replica with open sockets."""
    settings = make_settings(tmp_path)
    assert 0 < settings.limits.max_websockets_per_client < settings.serve.max_ongoing_requests
