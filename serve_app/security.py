"""Authentication, CORS and request-size limits."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import FastAPI, HTTPException, WebSocketException, status
from fastapi.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from penguin_actors.config import Settings
from serve_app.errors import error_response

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def presented_key(conn: HTTPConnection) -> str | None:
    """The key a client presented: ``Authorization: Bearer <key>`` or a ``token`` query parameter."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return conn.query_params.get("token")


async def require_api_key(conn: HTTPConnection) -> None:
    """Refuse a request without the configured API key; with no key configured, allow all."""
    settings: Settings = conn.app.state.settings
    if settings.server.api_key is None:
        return
    expected = settings.server.api_key.get_secret_value()
    given = presented_key(conn)
    if given is not None and hmac.compare_digest(given.encode(), expected.encode()):
        return
    if conn.scope["type"] == "websocket":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="API key required")
    raise HTTPException(
        status_code=401,
        detail="API key required: send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


class BodySizeLimit:
    """Answer 413 to an HTTP request whose body exceeds its limit, declared or streamed.

    ``max_bytes`` applies everywhere but the paths named in ``per_path`` (uploads).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default_bytes)
        await _Limited(self.app, limit)(scope, receive, send)


class _Limited:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _message(self) -> str:
        return f"request body over {self.max_bytes} bytes: send less, or raise the limit in settings.limits"

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, "too_large", self._message())(scope, receive, send)


def install_security(app: FastAPI, settings: Settings) -> None:
    # An upload's multipart body carries a little framing besides the file itself.
    upload_bytes = settings.limits.max_upload_bytes + 64 * 1024
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.limits.max_body_bytes, per_path={"/api/v1/upload": upload_bytes}
    )
    if settings.server.cors_origins:
        cors: dict[str, Any] = {
            "allow_origins": settings.server.cors_origins,
            "allow_credentials": True,
            "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "allow_headers": ["Authorization", "Content-Type"],
        }
        app.add_middleware(CORSMiddleware, **cors)
