"""Authentication, CORS and limits: request size, request rate, WebSockets per client."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import FastAPI, HTTPException, WebSocket, status
from fastapi.middleware.cors import CORSMiddleware
from pydantic import SecretStr
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from penguin_actors.config import Settings
from serve_app.errors import RateLimited, error_response, penguin_error_response
from serve_app.limits import ConnectionCounter, RateLimiter, retry_after_s
from serve_app.schemas import ErrorResponse
from serve_app.sessions import has_session

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
API_PREFIX = "/api/v1"
# Probes must keep working when a client is over its limit.
RATE_EXEMPT_PATHS = frozenset({"/api/v1/health"})


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def presented_key(conn: HTTPConnection) -> str | None:
    """The key a client presented: ``Authorization: Bearer <key>``, ``X-API-Key`` (the original's clients send
    it), or a ``token`` query parameter (browsers' WebSockets)."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return conn.headers.get("x-api-key") or conn.query_params.get("token")


def key_matches(given: str, api_key: SecretStr) -> bool:
    """``given`` is the key (compared in constant time)."""
    return hmac.compare_digest(given.encode(), api_key.get_secret_value().encode())


def has_valid_key(conn: HTTPConnection, api_key: SecretStr | None) -> bool:
    """The connection presents ``api_key``, or a browser session made with it from the page's own origin;
    False when no key is configured."""
    if api_key is None:
        return False
    given = presented_key(conn)
    if given is not None:
        return key_matches(given, api_key)
    settings: Settings | None = getattr(conn.app.state, "settings", None)
    return has_session(conn, api_key, settings.server.cors_origins if settings is not None else [])


def client_id(conn: HTTPConnection, api_key: SecretStr | None) -> str:
    """Who a connection counts as for limits: the API key when configured and given, else the client's IP.

    The key is kept only as a short hash. The IP is what the Serve proxy reports: uvicorn there takes
    it from ``X-Forwarded-For`` when the peer is in ``FORWARDED_ALLOW_IPS`` (loopback by default).
    """
    if api_key is not None and has_valid_key(conn, api_key):
        return "key:" + hashlib.sha256(api_key.get_secret_value().encode()).hexdigest()[:16]
    return "ip:" + (conn.client.host if conn.client else "unknown")


class SocketRefused(Exception):
    """A WebSocket refused before its session starts: it is accepted, told why in an ``error`` frame, and closed
    with ``close_code``, so that a browser sees that code rather than a failed handshake (1006)."""

    def __init__(self, code: str, message: str, close_code: int, reason: str) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code, self.reason = code, message, close_code, reason


async def refuse_socket(websocket: WebSocket, exc: Exception) -> None:
    assert isinstance(exc, SocketRefused)
    await websocket.accept()
    await websocket.send_json({"event": "error", "data": {"message": exc.message, "code": exc.code}})
    await websocket.close(code=exc.close_code, reason=exc.reason)


async def require_api_key(conn: HTTPConnection) -> None:
    """Refuse a request without the configured API key; with no key configured, allow all."""
    settings: Settings = conn.app.state.settings
    if settings.server.api_key is None or has_valid_key(conn, settings.server.api_key):
        return
    if conn.scope["type"] == "websocket":
        message = "API key required: pass ?token=<key>, or log in (POST /api/v1/auth/session) and connect again"
        raise SocketRefused("unauthorized", message, status.WS_1008_POLICY_VIOLATION, "API key required")
    raise HTTPException(
        status_code=401,
        detail="API key required: send 'Authorization: Bearer <key>' (or X-API-Key), or POST /api/v1/auth/session",
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


class RequestRateLimit:
    """Answer 429 with ``Retry-After`` to a client over its request rate on ``/api/v1`` (health exempt).

    Clients are told apart by ``client_id``; the limiter belongs to this process (one ingress replica).
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, api_key: SecretStr | None) -> None:
        self.app = app
        self.limiter = limiter
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._limited(scope["path"]):
            await self.app(scope, receive, send)
            return
        wait = self.limiter.check(client_id(HTTPConnection(scope), self.api_key))
        if not wait:
            await self.app(scope, receive, send)
            return
        seconds = retry_after_s(wait)
        message = (
            f"too many requests: this client may make {self.limiter.per_minute} a minute "
            f"(bursts of {self.limiter.burst}); retry after {seconds} s"
        )
        await penguin_error_response(RateLimited(message, retry_after_s=seconds))(scope, receive, send)

    @staticmethod
    def _limited(path: str) -> bool:
        return path.startswith(API_PREFIX) and path not in RATE_EXEMPT_PATHS


RATE_LIMITED_RESPONSE: dict[str, Any] = {
    "model": ErrorResponse,
    "description": "over limits.requests_per_minute (never on /health); retry after Retry-After seconds",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
}


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add the limits and CORS to ``app``; call it before the routers are included (it documents 429)."""
    limits = settings.limits
    # An upload's multipart body carries a little framing besides the file itself.
    upload_bytes = limits.max_upload_bytes + 64 * 1024
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes, per_path={"/api/v1/upload": upload_bytes})
    limiter = RateLimiter(limits.requests_per_minute, limits.requests_burst)
    if limiter.enabled:
        app.add_middleware(RequestRateLimit, limiter=limiter, api_key=settings.server.api_key)
        app.router.responses.setdefault(429, RATE_LIMITED_RESPONSE)
    app.state.websocket_clients = ConnectionCounter(limits.max_websockets_per_client)
    app.add_exception_handler(SocketRefused, refuse_socket)
    if settings.server.cors_origins:
        cors: dict[str, Any] = {
            "allow_origins": settings.server.cors_origins,
            "allow_credentials": True,
            "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "allow_headers": ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key"],
            "expose_headers": ["Retry-After", "Idempotent-Replayed"],  # a 429's wait, a repeated send
        }
        app.add_middleware(CORSMiddleware, **cors)
