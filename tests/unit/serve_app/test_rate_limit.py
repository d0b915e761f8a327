"""The request rate limit: 429 with Retry-After and the error body, per client, health exempt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from serve_app.app import create_app
from serve_app.errors import install_error_handlers
from serve_app.limits import RateLimiter
from serve_app.schemas import ErrorResponse
from serve_app.security import RequestRateLimit, client_id
from tests.support import make_settings
from tests.unit.serve_app.test_limits import FakeClock

KEY = "k-" + "r" * 30
Client = Callable[..., httpx.AsyncClient]


def limited_app(clock: FakeClock, per_minute: int = 6, burst: int = 2, api_key: str | None = None) -> FastAPI:
    """A tiny app behind the rate limit, with a health route and a route outside /api/v1."""
    app = FastAPI()
    install_error_handlers(app)
    limiter = RateLimiter(per_minute, burst, clock=clock)
    app.add_middleware(RequestRateLimit, limiter=limiter, api_key=SecretStr(api_key) if api_key else None)

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.get("/api/v1/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/page")
    async def page() -> dict[str, str]:
        return {"page": "yes"}

    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def connect() -> AsyncIterator[Client]:
    """Make clients of an app, each from its own address."""
    clients: list[httpx.AsyncClient] = []

    def make(app: FastAPI, ip: str = "192.0.2.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_over_the_limit_is_429_with_retry_after(clock: FakeClock, connect: Client) -> None:
    """Past its burst a client gets 429, an integer Retry-After and the rate_limited error body."""
    http = connect(limited_app(clock))
    assert [(await http.get("/api/v1/thing")).status_code for _ in range(2)] == [200, 200]
    response = await http.get("/api/v1/thing")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "10"
    error = ErrorResponse.model_validate(response.json()).error
    assert error.code == "rate_limited" and "retry after 10 s" in error.message
    assert error.details == {"retry_after_s": 10}


async def test_the_limit_lifts_once_tokens_come_back(clock: FakeClock, connect: Client) -> None:
    """After Retry-After seconds the client may send again, one request per refilled token."""
    http = connect(limited_app(clock))
    for _ in range(2):
        await http.get("/api/v1/thing")
    retry = int((await http.get("/api/v1/thing")).headers["retry-after"])
    clock.now += retry
    assert (await http.get("/api/v1/thing")).status_code == 200
    assert (await http.get("/api/v1/thing")).status_code == 429


async def test_health_and_pages_are_never_limited(clock: FakeClock, connect: Client) -> None:
    """/api/v1/health (probes) and routes outside /api/v1 answer even when the client is limited."""
    http = connect(limited_app(clock, burst=1))
    await http.get("/api/v1/thing")
    assert (await http.get("/api/v1/thing")).status_code == 429
    for _ in range(20):
        assert (await http.get("/api/v1/health")).status_code == 200
        assert (await http.get("/page")).status_code == 200


async def test_clients_are_limited_apart_by_address(clock: FakeClock, connect: Client) -> None:
    """Without an API key, each client address has its own bucket."""
    app = limited_app(clock, burst=1)
    first, second = connect(app, "192.0.2.1"), connect(app, "192.0.2.2")
    assert (await first.get("/api/v1/thing")).status_code == 200
    assert (await first.get("/api/v1/thing")).status_code == 429
    assert (await second.get("/api/v1/thing")).status_code == 200


async def test_the_api_key_is_the_client_when_given(clock: FakeClock, connect: Client) -> None:
    """With a key configured, the right key is one bucket from any address; a wrong key counts by IP."""
    app = limited_app(clock, burst=1, api_key=KEY)
    with_key = {"Authorization": f"Bearer {KEY}"}
    assert (await connect(app, "192.0.2.1").get("/api/v1/thing", headers=with_key)).status_code == 200
    assert (await connect(app, "192.0.2.2").get("/api/v1/thing", headers=with_key)).status_code == 429
    wrong = {"Authorization": "Bearer not-the-key"}
    assert (await connect(app, "192.0.2.3").get("/api/v1/thing", headers=wrong)).status_code == 200
    assert (await connect(app, "192.0.2.4").get("/api/v1/thing", headers=wrong)).status_code == 200


def test_client_id_never_holds_the_key() -> None:
    """A client named by its key is named by a short hash of it; otherwise by its IP."""
    scope = {"type": "http", "headers": [(b"authorization", f"Bearer {KEY}".encode())], "client": ("192.0.2.9", 1)}
    named = client_id(HTTPConnection(scope), SecretStr(KEY))
    assert named.startswith("key:") and KEY not in named
    assert client_id(HTTPConnection(scope), None) == "ip:192.0.2.9"
    assert client_id(HTTPConnection(scope | {"client": None}), None) == "ip:unknown"


async def test_settings_turn_the_limit_on_in_the_app(tmp_path: Path, connect: Client) -> None:
    """limits.requests_per_minute > 0 limits the real app's /api/v1 routes, and the API docs list 429."""
    settings = make_settings(tmp_path, **{"limits.requests_per_minute": 60, "limits.requests_burst": 2})
    http = connect(create_app(settings))
    answers = [(await http.post("/api/v1/render", json={"texts": ["*hi*"]})).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    schema = (await http.get("/api/openapi.json")).json()
    too_many = schema["paths"]["/api/v1/render"]["post"]["responses"]["429"]
    assert "Retry-After" in too_many["headers"]


async def test_zero_turns_the_limit_off(tmp_path: Path, connect: Client) -> None:
    """requests_per_minute 0 (the default) limits nothing and documents no 429."""
    http = connect(create_app(make_settings(tmp_path)))
    for _ in range(80):
        assert (await http.post("/api/v1/render", json={"texts": ["x"]})).status_code == 200
    schema = (await http.get("/api/openapi.json")).json()
    assert "429" not in schema["paths"]["/api/v1/render"]["post"]["responses"]


async def test_a_429_carries_cors_headers_for_a_listed_origin(tmp_path: Path, connect: Client) -> None:
    """A page on a listed origin can read the 429 (and its Retry-After) instead of a CORS failure."""
    overrides = {
        "limits.requests_per_minute": 60,
        "limits.requests_burst": 1,
        "server.cors_origins": ["http://ui.test"],
    }
    http = connect(create_app(make_settings(tmp_path, **overrides)))
    origin = {"Origin": "http://ui.test"}
    await http.post("/api/v1/render", json={"texts": ["x"]}, headers=origin)
    response = await http.post("/api/v1/render", json={"texts": ["x"]}, headers=origin)
    assert response.status_code == 429
    assert response.headers["access-control-allow-origin"] == "http://ui.test"
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()
