"""One JSON error shape for every failure, with a true status code and no stack trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from penguin_actors import errors
from serve_app.app import create_app
from serve_app.errors import RateLimited
from tests.support import make_settings


class Body(BaseModel):
    text: str = Field(min_length=1)


def _app(tmp_path: Path, **overrides: object) -> FastAPI:
    app = create_app(make_settings(tmp_path, **overrides))

    @app.get("/api/v1/_raise/{kind}")
    async def raise_kind(kind: str) -> None:
        if kind == "bug":
            raise RuntimeError("secret internal detail")
        raise getattr(errors, kind)(f"{kind} happened: do the right thing")

    @app.post("/api/v1/_echo")
    async def echo(body: Body) -> Body:
        return body

    return app


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(tmp_path), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("NotFound", 404, "not_found"),
        ("Conflict", 409, "conflict"),
        ("Invalid", 400, "invalid"),
        ("TooLarge", 413, "too_large"),
        ("Unavailable", 503, "unavailable"),
        ("ProviderError", 502, "provider_error"),
    ],
)
async def test_runtime_errors_map_to_their_status(http: httpx.AsyncClient, kind: str, status: int, code: str) -> None:
    """Each runtime error kind answers its own status with the error body."""
    response = await http.get(f"/api/v1/_raise/{kind}")
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, f"{kind} happened: do the right thing")


async def test_unexpected_error_is_500_without_trace(http: httpx.AsyncClient) -> None:
    """A bug answers 500 with a generic message: no exception text, no traceback."""
    response = await http.get("/api/v1/_raise/bug")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "secret" not in response.text and "Traceback" not in response.text


async def test_unknown_route_is_404_json(http: httpx.AsyncClient) -> None:
    """An unknown route answers 404 in the error shape and points at the docs."""
    response = await http.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/api/docs" in response.json()["error"]["message"]


async def test_wrong_method_is_405_json(http: httpx.AsyncClient) -> None:
    """A known route with the wrong method answers 405 in the error shape."""
    response = await http.delete("/api/v1/capabilities")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"text": ""}', {"content-type": "application/json"}),
        (b'{"txt": "x"}', {"content-type": "application/json"}),
        (b"{not json", {"content-type": "application/json"}),
    ],
)
async def test_validation_is_422_with_the_field(
    http: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    """Bad input answers 422, names where it is wrong, and lists each problem."""
    response = await http.post("/api/v1/_echo", content=content, headers=headers)
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert body["details"] and all({"loc", "msg", "type"} <= set(p) for p in body["details"])
    assert body["message"].startswith("body")


async def test_declared_oversized_body_is_413(tmp_path: Path) -> None:
    """A body declared over the limit is refused before it is read."""
    transport = httpx.ASGITransport(app=_app(tmp_path, **{"limits.max_body_bytes": 1024}))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/api/v1/_echo", content=b"x" * 2048, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


async def test_streamed_oversized_body_is_413(tmp_path: Path) -> None:
    """A chunked body with no length is cut off once it passes the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 512

    transport = httpx.ASGITransport(app=_app(tmp_path, **{"limits.max_body_bytes": 1024}))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/api/v1/_echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


async def test_unparseable_body_is_400_saying_what_to_send(http: httpx.AsyncClient) -> None:
    """A body that is not UTF-8 answers 400 invalid with what to send, and the API docs list 400 on every route."""
    response = await http.post("/api/v1/_echo", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "the request body cannot be parsed: send UTF-8 JSON (multipart/form-data to /upload)",
    }
    paths = (await http.get("/api/openapi.json")).json()["paths"]
    assert all("400" in operation["responses"] for path in paths.values() for operation in path.values())


async def test_rate_limited_error_is_429_with_retry_after(tmp_path: Path) -> None:
    """A RateLimited error answers 429, code rate_limited, an integer Retry-After and retry_after_s."""
    app = _app(tmp_path)

    @app.get("/api/v1/_limited")
    async def limited() -> None:
        raise RateLimited("slow down: retry after 7 s", retry_after_s=7)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/api/v1/_limited")
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"] == {
        "code": "rate_limited",
        "message": "slow down: retry after 7 s",
        "details": {"retry_after_s": 7},
    }
