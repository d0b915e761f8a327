"""Authentication, CORS and exposure rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.app import create_app
from serve_app.cli import check_exposure
from serve_app.routes import api_routes
from tests.support import make_settings

KEY = "k-" + "x" * 30


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, **{"server.api_key": KEY, "server.cors_origins": ["http://ui.test"]}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_missing_or_wrong_key_is_401(http: httpx.AsyncClient) -> None:
    """With a key configured, a request without it, or with another, answers 401 in the error shape."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
        response = await http.get("/api/v1/capabilities", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
        assert KEY not in response.text


async def test_bearer_header_or_token_parameter_is_accepted(http: httpx.AsyncClient) -> None:
    """The key may come as a bearer header, or as a token parameter (for browsers' WebSockets).

    The request is let through to validation (422 for its empty body), so no handler, and no Ray, runs.
    """
    headers = {"Authorization": f"Bearer {KEY}"}
    assert (await http.post("/api/v1/chat/message", json={}, headers=headers)).status_code == 422
    assert (await http.post("/api/v1/chat/message", json={}, params={"token": KEY})).status_code == 422
    assert (await http.post("/api/v1/chat/message", json={})).status_code == 401


async def test_ui_and_docs_stay_open(http: httpx.AsyncClient) -> None:
    """The page and the API docs need no key: they hold no data."""
    for path in ("/", "/api/docs", "/api/openapi.json", "/static/style.css"):
        assert (await http.get(path)).status_code == 200, path


async def test_every_api_route_requires_the_key(tmp_path: Path) -> None:
    """Walk the route table: no /api/v1 route or WebSocket answers without the key."""
    app = create_app(make_settings(tmp_path, **{"server.api_key": KEY}))
    routes = [r for r in api_routes(app) if not r.path.startswith("/api/v1/auth/")]  # logging in needs no key
    assert len(routes) >= 4
    with TestClient(app) as client:
        for route in routes:
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            if route.websocket:  # accepted, told why, closed with 1008 (a browser sees 1008, not 1006)
                with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(path) as socket:
                    refusal = socket.receive_json()
                    assert refusal["event"] == "error" and refusal["data"]["code"] == "unauthorized", route.path
                    socket.receive_json()
                assert info.value.code == 1008, route.path
                continue
            for method in route.methods - {"HEAD"}:
                response = client.request(method, path, json={})
                assert response.status_code == 401, f"{method} {route.path} answered {response.status_code}"


async def test_cors_allows_only_listed_origins(http: httpx.AsyncClient) -> None:
    """A listed origin gets CORS headers (never '*'); another origin gets none."""
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    allowed = await http.options("/api/v1/capabilities", headers={"Origin": "http://ui.test", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "http://ui.test"
    denied = await http.options("/api/v1/capabilities", headers={"Origin": "http://evil.test", **preflight})
    assert "access-control-allow-origin" not in denied.headers


@pytest.mark.parametrize(
    ("host", "key", "insecure", "allowed"),
    [
        ("127.0.0.1", None, False, True),
        ("localhost", None, False, True),
        ("0.0.0.0", None, False, False),
        ("0.0.0.0", KEY, False, True),
        ("0.0.0.0", None, True, True),
    ],
)
def test_exposure_needs_a_key_or_insecure(
    tmp_path: Path, host: str, key: str | None, insecure: bool, allowed: bool
) -> None:
    """A non-loopback bind without an API key is refused unless --insecure says so."""
    settings = make_settings(tmp_path, **{"server.host": host, "server.api_key": key, "server.insecure": insecure})
    if allowed:
        check_exposure(settings)
    else:
        with pytest.raises(Exception, match="refusing to bind"):
            check_exposure(settings)
