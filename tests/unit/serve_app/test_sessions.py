"""Browser login: the session cookie made from the API key, what it authenticates, and what it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from serve_app.app import create_app
from serve_app.sessions import COOKIE, LIFETIME_S, new_session, valid_session
from tests.support import make_settings

KEY = "k-" + "s" * 30
LISTED = "http://ui.test"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(make_settings(tmp_path, **{"server.api_key": KEY, "server.cors_origins": [LISTED]}))
    return TestClient(app, base_url="http://penguin.test")


def logged_in(client: TestClient) -> str:
    answer = client.post("/api/v1/auth/session", json={"token": KEY})
    assert answer.status_code == 200, answer.text
    return str(answer.cookies[COOKIE])


def test_a_session_value_is_signed_with_the_key_and_expires() -> None:
    key, now = SecretStr(KEY), 1_000_000.0
    value, expires = new_session(key, clock=lambda: now)
    assert expires == now + LIFETIME_S and KEY not in value
    assert valid_session(value, key, clock=lambda: now + 60)
    assert not valid_session(value, key, clock=lambda: now + LIFETIME_S + 1)  # expired
    assert not valid_session(value, SecretStr("another key"), clock=lambda: now)  # a new key ends sessions
    forged = value.rsplit(".", 1)[0] + "." + "0" * 64
    assert not valid_session(forged, key, clock=lambda: now)
    assert not valid_session("v1.9999999999.x", key) and not valid_session("", key)


def test_logging_in_sets_an_http_only_strict_cookie(client: TestClient) -> None:
    answer = client.post("/api/v1/auth/session", json={"token": KEY})
    assert answer.status_code == 200 and answer.json()["authenticated"] is True
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and f"max-age={LIFETIME_S}" in cookie
    assert "path=/" in cookie and "secure" not in cookie  # plain HTTP here: Secure only over HTTPS
    assert KEY not in answer.headers["set-cookie"]


def test_a_wrong_token_is_401_with_detail_and_sets_nothing(client: TestClient) -> None:
    answer = client.post("/api/v1/auth/session", json={"token": "wrong"})
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    body = answer.json()
    assert body["error"]["code"] == "unauthorized" and body["detail"] == body["error"]["message"]
    assert client.post("/api/v1/auth/session", json={}).status_code == 422


def test_the_cookie_authenticates_requests_of_its_own_origin_only(client: TestClient) -> None:
    """The cookie lets a request through (to validation: 422 for an empty body, no Ray asked); a request from
    another origin with the same cookie is refused, a listed origin's is not."""
    logged_in(client)
    assert client.post("/api/v1/chat/message", json={}).status_code == 422
    assert client.get("/api/v1/auth/session").json()["authenticated"] is True
    foreign = client.post("/api/v1/chat/message", json={}, headers={"Origin": "http://evil.test"})
    assert foreign.status_code == 401
    listed = client.post("/api/v1/chat/message", json={}, headers={"Origin": LISTED})
    assert listed.status_code == 422
    own = client.post("/api/v1/chat/message", json={}, headers={"Origin": "http://penguin.test"})
    assert own.status_code == 422


def test_the_cookie_authenticates_a_websocket_and_a_foreign_page_s_socket_is_refused(client: TestClient) -> None:
    cookie = {"Cookie": f"{COOKIE}={logged_in(client)}"}  # as a browser sends it with the handshake
    with client.websocket_connect("/api/v1/chat/stream", headers=cookie) as socket:
        socket.send_text("not json")
        assert socket.receive_json()["data"]["code"] == "invalid_json"  # a session, not a refusal
    foreign = cookie | {"Origin": "http://evil.test"}
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/v1/chat/stream", headers=foreign) as socket,
    ):
        assert socket.receive_json()["data"]["code"] == "unauthorized"
        socket.receive_json()
    assert closed.value.code == 1008


def test_the_original_clients_header_is_accepted(client: TestClient) -> None:
    assert client.post("/api/v1/chat/message", json={}, headers={"X-API-Key": KEY}).status_code == 422
    assert client.post("/api/v1/chat/message", json={}, headers={"X-API-Key": "wrong"}).status_code == 401


def test_logging_out_removes_the_cookie(client: TestClient) -> None:
    logged_in(client)
    for method, path in (("DELETE", "/api/v1/auth/session"), ("POST", "/api/v1/auth/logout")):
        answer = client.request(method, path)
        assert answer.status_code == 200 and answer.json() == {
            "authenticated": False,
            "method": None,
            "subject": None,
            "expires_at": None,
        }
        assert f'{COOKIE}=""' in answer.headers["set-cookie"] and "max-age=0" in answer.headers["set-cookie"].lower()
        logged_in(client)
    client.delete("/api/v1/auth/session")
    assert client.post("/api/v1/chat/message", json={}).status_code == 401


def test_a_server_without_a_key_says_logging_in_is_not_needed(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path)))
    answer = client.post("/api/v1/auth/session", json={"token": "anything"})
    assert answer.status_code == 400 and "no API key" in answer.json()["detail"]
    assert client.get("/api/v1/auth/session").json()["authenticated"] is True
